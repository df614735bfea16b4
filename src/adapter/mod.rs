//! Adapters that run the sans-IO machines over real I/O (feature `std`):
//! [`blocking`] over `Read + Write`, and [`tokio`] (feature `tokio`) over
//! `AsyncRead + AsyncWrite`. Both return an authenticated stream that
//! hands out the pipelined leftover bytes first, and speak CPython's
//! `send_bytes` / `recv_bytes` framing.

pub mod blocking;
mod deadline;
mod error;
mod frames;
mod stream;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use error::AuthError;
pub use stream::Authenticated;
