//! The native protocol, version 1: mutual, role-separated,
//! transcript-bound, with key ids and session keys. The byte-level
//! specification is `PROTOCOL.md` at the repository root; this module
//! follows it section by section.
//!
//! ```text
//! server -> client  ServerHello  = "HMHS" || 01 || suite || mode || server_nonce(32)
//! client -> server  ClientProof  = 02 || lp8(key_id) || client_nonce(32) || client_tag(L)
//!                                | 04 || lp8(key_id) || client_nonce(32) || client_share(32) || client_tag(L)
//! server -> client  ServerFinish = 03 00 || [server_share(32)] || server_tag(L)   |   03 01 (rejected)
//! ```
//!
//! The shares are the opt-in forward-secrecy mode ([`ForwardSecrecy`],
//! [`Config::with_forward_secrecy`]): ephemeral X25519, mixed into the
//! session keys.
//!
//! The server finds keys through a [`KeyLookup`], usually a [`Keyring`]
//! (several keys active at once for rotation, one suite); the client names
//! its key id and holds a [`NativeKey`] per suite it accepts
//! ([`ClientKeys`]). Both sides pass the same application context and
//! server name ([`Config`], [`Config::with_server_name`]), which are hashed
//! into every tag and never sent. On success
//! both sides hold the same [`Session`]: key id, suite, handshake hash,
//! per-direction session keys and an exporter.

pub(crate) mod client;
mod config;
mod ephemeral;
mod hash;
mod key;
#[cfg(feature = "std")]
mod keyring;
mod lookup;
pub(crate) mod server;
mod session;
mod suite;

pub use config::Config;
pub use ephemeral::{ForwardSecrecy, SHARE_LEN};
pub use key::{KeyId, NativeKey};
#[cfg(feature = "std")]
pub use keyring::{Keyring, SharedKeyring};
pub use lookup::{ClientKeys, KeyLookup, Lookup};
pub use session::Session;
pub(crate) use session::SessionSeed;
pub use suite::{Suite, MAX_LEN};

/// `MAGIC`: the first four bytes of `ServerHello`.
pub const MAGIC: [u8; 4] = *b"HMHS";
/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;
/// Nonce length in bytes, both sides.
pub const NONCE_LEN: usize = 32;
/// The randomness each role draws per handshake, in bytes (the profiles'
/// `Random`, `[u8; 64]`): the nonce, then the ephemeral X25519 secret (used
/// only in the forward-secrecy mode, zeroized either way).
pub const RANDOM_LEN: usize = NONCE_LEN + SHARE_LEN;
/// Longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 32;
/// Shortest pre-shared key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 16;
/// `ServerHello` length in bytes: magic, version, suite, mode, nonce.
pub const SERVER_HELLO_LEN: usize = 4 + 1 + 1 + 1 + NONCE_LEN;
/// Longest `ClientProof`, in bytes (32-byte key id, a share, 64-byte tag).
pub const MAX_CLIENT_PROOF_LEN: usize = 2 + MAX_KEY_ID_LEN + NONCE_LEN + SHARE_LEN + MAX_LEN;
/// Longest `ServerFinish`, in bytes (a share, 64-byte tag).
pub const MAX_SERVER_FINISH_LEN: usize = 2 + SHARE_LEN + MAX_LEN;

/// Message type bytes.
pub(crate) const CLIENT_PROOF: u8 = 0x02;
pub(crate) const CLIENT_PROOF_SHARE: u8 = 0x04;
pub(crate) const SERVER_FINISH: u8 = 0x03;
pub(crate) const ACCEPT: u8 = 0x00;
pub(crate) const REJECT: u8 = 0x01;

/// Longest server name ([`Config::with_server_name`]), in bytes.
pub const MAX_SERVER_NAME_LEN: usize = 255;

/// The fixed labels of PROTOCOL.md. The key schedule's labels (`CLIENT_KEY`
/// to `EXPORTER`) go into [`hash::Prk::expand_label`]'s `HkdfLabel`, which
/// adds the output length, [`PROTOCOL`](labels::PROTOCOL) and the suite id.
pub(crate) mod labels {
    /// `"hmac-handshake v1"` (17 bytes): the HKDF-Extract salt, the start of
    /// the transcript and of every `HkdfLabel`.
    pub(crate) const PROTOCOL: &[u8] = b"hmac-handshake v1";
    pub(crate) const CLIENT_KEY: &[u8] = b"client key";
    pub(crate) const SERVER_KEY: &[u8] = b"server key";
    pub(crate) const CLIENT_PROOF: &[u8] = b"client proof";
    pub(crate) const SERVER_FINISH: &[u8] = b"server finish";
    pub(crate) const C2S: &[u8] = b"c2s";
    pub(crate) const S2C: &[u8] = b"s2c";
    pub(crate) const EXPORTER: &[u8] = b"exporter";
    pub(crate) const DERIVED: &[u8] = b"derived";
}

/// Starts the transcript hash (PROTOCOL.md, "Transcript and tags"):
/// `"hmac-handshake v1" || H(context) || H(server_name)`, `17 + 2 * L` bytes.
pub(crate) fn transcript_start(suite: Suite, config: &Config) -> hash::Hasher {
    let mut t = hash::Hasher::new(suite);
    t.update(labels::PROTOCOL);
    t.update(config.context_hash(suite));
    t.update(config.server_name_hash(suite));
    t
}
