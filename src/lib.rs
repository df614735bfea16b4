//! Shared-secret connection authentication without TLS: a peer proves it
//! holds a key by answering a random challenge with an HMAC (RFC 2104).
//!
//! The handshakes are sans-IO state machines, [`ServerHandshake`] and
//! [`ClientHandshake`], driven through the [`Handshake`] trait: bytes in,
//! bytes out, no sockets, no clock, no allocation, randomness from the
//! caller. Profiles ([`Profile`]) pick the wire format:
//! - [`recipe`]: the classic "authenticating clients simply" exchange;
//! - [`multiprocessing`]: CPython `multiprocessing.connection` `authkey`
//!   authentication, legacy (HMAC-MD5, Python 2.7 to 3.11) and modern
//!   (`{sha256}`, Python 3.12+), byte-exact.
//! - [`native`]: this crate's own protocol (`PROTOCOL.md`): mutual,
//!   role-separated, transcript-bound, with key ids and session keys
//!   ([`ServerHandshake::native`], [`ClientHandshake::native`]).
//!
//! Authentication is not encryption: after the handshake, bytes travel in
//! clear unless the application protects them.
//!
//! ```
//! use hmac_handshake::{ClientHandshake, Handshake, Key, Profile, ServerHandshake, Status};
//! use hmac_handshake::multiprocessing::Config;
//!
//! let key = Key::new(b"abracadabra");
//! let profile = Profile::Multiprocessing(Config::default());
//! let mut server = ServerHandshake::new(&key, profile, &[7; 40])?;
//! let mut client = ClientHandshake::new(&key, profile, &[9; 40])?;
//! let mut wire = [0u8; 128];
//! while server.outcome().is_none() || client.outcome().is_none() {
//!     let n = server.write_output(&mut wire);
//!     assert_eq!(client.receive(&wire[..n]), n);
//!     let n = client.write_output(&mut wire);
//!     assert_eq!(server.receive(&wire[..n]), n);
//! }
//! assert!(server.outcome().unwrap().peer_authenticated);
//! # Ok::<(), hmac_handshake::Error>(())
//! ```
//!
//! Key material: [`Key`] keeps only keyed hash states, zeroized on drop
//! (`hmac`, `sha2`, `md-5` and `sha3` built with `zeroize`), and its `Debug`
//! prints nothing of them. One gap is upstream: `hmac` 0.13's `SimpleHmac`,
//! used for the SHA-3 digests, keeps a copy of `K XOR opad` that it does
//! not wipe on drop.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod adapter;
mod buf;
mod digest;
mod error;
mod handshake;
mod key;
pub mod multiprocessing;
pub mod native;
pub mod recipe;
mod status;

pub use digest::{Digest, Tag, MAX_TAG_LEN};
pub use error::Error;
pub use handshake::{ClientHandshake, Handshake, Profile, ServerHandshake, MAX_RANDOM_LEN};
pub use key::Key;
pub use status::{Confirmation, Outcome, Status};

/// The README's code blocks, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
