//! Shared-secret connection authentication without TLS: a peer proves it
//! holds a key by answering a random challenge with an HMAC (RFC 2104).
//!
//! The handshakes are sans-IO state machines, [`ServerHandshake`] and
//! [`ClientHandshake`], driven through the [`Handshake`] trait: bytes in,
//! bytes out, no sockets, no clock, no allocation, randomness from the
//! caller's RNG. Each profile's settings pick the wire format
//! ([`ServerProfile`], [`ClientProfile`]):
//! - [`recipe::Config`]: the classic "authenticating clients simply" exchange;
//! - [`multiprocessing::Config`]: CPython `multiprocessing.connection`
//!   `authkey` authentication, legacy (HMAC-MD5, Python 2.7 to 3.11) and
//!   modern (`{sha256}`, Python 3.12+), byte-exact;
//! - [`native::Config`]: this crate's own protocol (`PROTOCOL.md`): mutual,
//!   role-separated, transcript-bound, with key ids and session keys.
//!
//! A machine holds its keys through a handle of the caller's choice (`K`):
//! `Arc<Key>` or `Arc<Keyring>` for a machine that is `Send + 'static` and
//! keeps its keys through a rotation, `&'static Key` or an owned key without
//! an allocator.
//!
//! Authentication is not encryption: after the handshake, bytes travel in
//! clear unless the application protects them.
//!
//! ```
//! use std::sync::Arc;
//! use getrandom::SysRng;
//! use hmac_handshake::{multiprocessing, ClientHandshake, Handshake, Key, ServerHandshake};
//!
//! let key = Arc::new(Key::new(b"abracadabra"));
//! let config = multiprocessing::Config::new();
//! let mut server = ServerHandshake::new(Arc::clone(&key), config, &mut SysRng)?;
//! let mut client = ClientHandshake::new(key, config, &mut SysRng)?;
//! let mut wire = [0u8; 128];
//! for _ in 0..4 {
//!     // Six frames, three round trips; a failed side stops consuming.
//!     let n = server.write_output(&mut wire);
//!     assert_eq!(client.receive(&wire[..n]), n);
//!     let n = client.write_output(&mut wire);
//!     assert_eq!(server.receive(&wire[..n]), n);
//! }
//! assert!(server.finish()?.outcome.peer_authenticated);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Key material: [`Key`] and [`native::NativeKey`] keep only keyed hash
//! states, wiped whole on drop (the `zeroize` features of `hmac`, `sha2`,
//! `md-5` and `sha3`, then every byte of their room, padding and
//! `SimpleHmac`'s `K XOR opad` included); building one overwrites the stack
//! its key schedule used; their `Debug` prints nothing of them. What stays
//! (moved copies, per-handshake stack temporaries) is listed in the README's
//! "Assurance" section.
//!
//! Features: `std` (default: the blocking adapter, [`native::Keyring`],
//! the OS RNG), `alloc` (the `Box` / `Rc` / `Arc` key handles of the native
//! traits), `cli` (the command-line tool). Without them the crate is
//! `no_std` and needs no allocator.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod adapter;
mod buf;
mod client;
mod ct;
mod digest;
mod error;
mod handshake;
mod key;
mod mac;
mod machine;
pub mod multiprocessing;
pub mod native;
mod profile;
pub mod recipe;
mod server;
mod status;
mod wipe;

pub use client::ClientHandshake;
pub use digest::{Digest, Tag, MAX_TAG_LEN};
pub use error::{Error, Origin};
pub use handshake::Handshake;
pub use key::Key;
pub use profile::{ClientProfile, Profile, Randomness, ServerProfile};
pub use server::ServerHandshake;
pub use status::{Confirmation, Finished, Outcome, Scheme, Status};

/// The README's code blocks, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
