//! What the bench targets of this bench-only crate share (`benches/peers.rs`
//! and `benches/floor.rs`): one copy of each piece of setup and reporting.
//!
//! - [`report`]: criterion's estimates read back, the summary table, the
//!   machine it ran on;
//! - [`machines`]: the crate's machines driven against each other in
//!   memory, and the one place a [`Finished`](hmac_handshake::Finished)'s
//!   session is taken ([`machines::session_of`]);
//! - [`noise`] and [`tls`]: snow's `Noise_NNpsk0` and rustls' TLS 1.3 in
//!   memory;
//! - [`bare`]: the crypto each profile must do, written directly with the
//!   RustCrypto crates, and its check against the machines' wire bytes;
//! - [`e2e`]: loopback TCP servers and clients for every kind.

pub mod bare;
pub mod e2e;
pub mod machines;
pub mod noise;
pub mod report;
pub mod tls;
