//! The native profile's settings, shared by both roles, and the profile
//! traits that build its machines.

use core::fmt;

use super::client::Client;
use super::ephemeral::ForwardSecrecy;
use super::hash::hash;
use super::lookup::{ClientKeys, KeyLookup};
use super::server::Server;
use super::suite::Suite;
use super::{MAX_SERVER_NAME_LEN, RANDOM_LEN};
use crate::machine::{Machine, Proto};
use crate::profile::{sealed, ClientProfile, Profile, ServerProfile};
use crate::Error;

/// Settings of the native profile, the same on both sides: the application
/// `context` and the server name (PROTOCOL.md, "Transcript and tags"), each
/// hashed when the settings are built so that no handshake hashes it again.
/// Neither is ever sent.
///
/// The suite is not a setting: it is the suite the keys are keyed for (the
/// server's [`KeyLookup::suite`], the client's [`ClientKeys`]). Both roles
/// draw 64 random bytes (`[u8; 64]`): the 32-byte nonce, then the 32-byte
/// ephemeral X25519 secret of the forward-secrecy mode.
///
/// Size: 353 bytes inline (two hashes under each of the four suites, the
/// forward-secrecy setting).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Config {
    context: ContextHash,
    server_name: ContextHash,
    forward_secrecy: ForwardSecrecy,
}

/// `H(x)` under every suite (176 bytes, not secret): of the context or of
/// the server name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContextHash {
    sha256: [u8; 32],
    sha384: [u8; 48],
    sha512: [u8; 64],
    sha3_256: [u8; 32],
}

impl ContextHash {
    fn new(context: &[u8]) -> ContextHash {
        let h = |suite| hash(suite, context);
        let mut c = ContextHash {
            sha256: [0; 32],
            sha384: [0; 48],
            sha512: [0; 64],
            sha3_256: [0; 32],
        };
        c.sha256.copy_from_slice(h(Suite::HmacSha256).as_bytes());
        c.sha384.copy_from_slice(h(Suite::HmacSha384).as_bytes());
        c.sha512.copy_from_slice(h(Suite::HmacSha512).as_bytes());
        c.sha3_256
            .copy_from_slice(h(Suite::HmacSha3_256).as_bytes());
        c
    }

    /// `H(context)` under `suite`: `L` bytes.
    pub(crate) fn get(&self, suite: Suite) -> &[u8] {
        match suite {
            Suite::HmacSha256 => &self.sha256,
            Suite::HmacSha384 => &self.sha384,
            Suite::HmacSha512 => &self.sha512,
            Suite::HmacSha3_256 => &self.sha3_256,
        }
    }
}

impl Config {
    /// Settings with the application `context`, e.g. `b"billing-workers/v3"`:
    /// any length, never sent, and both sides must pass the same bytes (a
    /// different context fails the handshake, like Noise's prologue). Hashes
    /// it under each suite (four hash calls, once).
    /// The server name is empty (see [`Config::with_server_name`]).
    #[must_use]
    pub fn new(context: &[u8]) -> Config {
        Config {
            context: ContextHash::new(context),
            server_name: ContextHash::new(b""),
            forward_secrecy: ForwardSecrecy::Off,
        }
    }

    /// These settings with a server name of 0 to 255 bytes (e.g. `b"billing-a"`),
    /// bound into the transcript like the context and never sent
    /// (PROTOCOL.md, "Server names"). On a server it is the server's own
    /// name; on a client, the name of the server it means to reach. The two
    /// must be equal (both empty by default): a server that is not the one
    /// the client meant fails the handshake as a wrong key does (the server
    /// with `bad_tag`, the client with [`Error::PeerRejected`]).
    ///
    /// Set it whenever one key is shared by more than two nodes, or a node
    /// both accepts and connects with the same key: without it, an attacker
    /// can redirect a node's connection to another holder of the key, or
    /// back to the node's own listener (a selfie attack), and both sides
    /// complete. Hashes the name under each suite (four hash calls, once).
    ///
    /// # Errors
    /// [`Error::ServerNameTooLong`] for a name over 255 bytes
    /// ([`MAX_SERVER_NAME_LEN`]).
    pub fn with_server_name(self, name: &[u8]) -> Result<Config, Error> {
        if name.len() > MAX_SERVER_NAME_LEN {
            return Err(Error::ServerNameTooLong { len: name.len() });
        }
        Ok(Config {
            server_name: ContextHash::new(name),
            ..self
        })
    }

    /// These settings with the forward-secrecy mode `setting` (ephemeral
    /// X25519 mixed into the session keys; PROTOCOL.md, "Forward secrecy").
    /// Off by default. See [`ForwardSecrecy`] for what each setting does on
    /// either side; sides that disagree fail with
    /// [`Error::ForwardSecrecyRequired`] only when one requires it.
    #[must_use]
    pub fn with_forward_secrecy(self, setting: ForwardSecrecy) -> Config {
        Config {
            forward_secrecy: setting,
            ..self
        }
    }

    /// The forward-secrecy setting ([`Config::with_forward_secrecy`]).
    #[must_use]
    pub fn forward_secrecy(&self) -> ForwardSecrecy {
        self.forward_secrecy
    }

    /// `H(context)` under `suite`: `L` bytes.
    pub(crate) fn context_hash(&self, suite: Suite) -> &[u8] {
        self.context.get(suite)
    }

    /// `H(server_name)` under `suite`: `L` bytes.
    pub(crate) fn server_name_hash(&self, suite: Suite) -> &[u8] {
        self.server_name.get(suite)
    }
}

impl Default for Config {
    /// An empty context.
    fn default() -> Config {
        Config::new(b"")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("context_sha256", &self.context.sha256)
            .field("server_name_sha256", &self.server_name.sha256)
            .field("forward_secrecy", &self.forward_secrecy)
            .finish_non_exhaustive()
    }
}

impl sealed::Sealed for Config {}

/// The native server: any [`KeyLookup`] (a `Keyring`, one `NativeKey`, an
/// application's store, or a handle to one); 64 random bytes, the server
/// nonce then its ephemeral secret.
impl<S: KeyLookup> ServerProfile<S> for Config {
    type Random = [u8; RANDOM_LEN];
    const PROFILE: Profile = Profile::Native;

    #[inline(always)]
    fn server(self, keys: S, random: &[u8; RANDOM_LEN]) -> Machine<S> {
        Machine::new(keys, |keys, core| {
            let server = Server::new(keys, &self, random, core);
            Proto::NativeServer(server, |k: &S| -> &dyn KeyLookup { k })
        })
    }
}

/// The native client: any [`ClientKeys`] (one `NativeKey` per suite it
/// accepts, or a handle to them); 64 random bytes, the client nonce then
/// its ephemeral secret.
impl<K: ClientKeys> ClientProfile<K> for Config {
    type Random = [u8; RANDOM_LEN];
    const PROFILE: Profile = Profile::Native;

    #[inline(always)]
    fn client(self, keys: K, random: &[u8; RANDOM_LEN]) -> Machine<K> {
        Machine::new(keys, |_, _| {
            Proto::NativeClient(Client::new(self, random), |k: &K| -> &dyn ClientKeys { k })
        })
    }
}
