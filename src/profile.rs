//! Profiles: the wire formats, and the traits that let each profile's
//! settings build a machine with the key handle that profile needs.

use core::fmt;

use crate::machine::Machine;

/// The wire formats this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// The "authenticating clients simply" recipe: see [`recipe`](crate::recipe).
    Recipe,
    /// CPython `multiprocessing.connection`: see [`multiprocessing`](crate::multiprocessing).
    Multiprocessing,
    /// This crate's own protocol (PROTOCOL.md): see [`native`](crate::native).
    Native,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 3] = [Profile::Recipe, Profile::Multiprocessing, Profile::Native];

    /// The name used by the CLI and the vectors: `recipe`, `multiprocessing`, `native`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Recipe => "recipe",
            Profile::Multiprocessing => "multiprocessing",
            Profile::Native => "native",
        }
    }

    /// The profile called `name` (as [`Profile::name`] gives it), if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// Fixed-length random bytes: a byte array, `[u8; N]`.
pub trait Randomness: sealed::Sealed + AsRef<[u8]> {
    /// Length in bytes.
    const LEN: usize;
    #[doc(hidden)]
    fn zeroed() -> Self;
    #[doc(hidden)]
    fn bytes_mut(&mut self) -> &mut [u8];
}

impl<const N: usize> sealed::Sealed for [u8; N] {}

impl<const N: usize> Randomness for [u8; N] {
    const LEN: usize = N;

    fn zeroed() -> Self {
        [0; N]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// Settings that build a [`ServerHandshake`](crate::ServerHandshake)
/// holding keys through `K`. Implemented by each profile's configuration:
///
/// | settings | `K` must be | `Random` |
/// |---|---|---|
/// | [`recipe::Config`](crate::recipe::Config) | `Borrow<Key>` | `[u8; 32]`: the challenge |
/// | [`multiprocessing::Config`](crate::multiprocessing::Config) | `Borrow<Key>` | `[u8; 40]`: the challenge (a legacy one uses the first 20) |
/// | [`native::Config`](crate::native::Config) | [`KeyLookup`](crate::native::KeyLookup) | `[u8; 64]`: the server nonce, then its ephemeral X25519 secret |
///
/// `Borrow<Key>` covers `&Key`, `Key`, `Box<Key>`, `Rc<Key>` and
/// `Arc<Key>`; `KeyLookup` covers [`Keyring`](crate::native::Keyring), a
/// single [`NativeKey`](crate::native::NativeKey), an application's own
/// store, and references and `Box` / `Rc` / `Arc` of them. Sealed: the
/// profiles are this crate's.
pub trait ServerProfile<K>: Copy + sealed::Sealed {
    /// The random bytes a server of this profile draws.
    type Random: Randomness;
    /// The profile.
    const PROFILE: Profile;
    #[doc(hidden)]
    fn server(self, keys: K, random: &Self::Random) -> Machine<K>;
}

/// Settings that build a [`ClientHandshake`](crate::ClientHandshake)
/// holding keys through `K`:
///
/// | settings | `K` must be | `Random` |
/// |---|---|---|
/// | [`recipe::Config`](crate::recipe::Config) | `Borrow<Key>` | `[u8; 0]`: the recipe's client draws nothing |
/// | [`multiprocessing::Config`](crate::multiprocessing::Config) | `Borrow<Key>` | `[u8; 40]`: the client's own challenge (a legacy one uses the first 20) |
/// | [`native::Config`](crate::native::Config) | [`ClientKeys`](crate::native::ClientKeys) | `[u8; 64]`: the client nonce, then its ephemeral X25519 secret |
pub trait ClientProfile<K>: Copy + sealed::Sealed {
    /// The random bytes a client of this profile draws.
    type Random: Randomness;
    /// The profile.
    const PROFILE: Profile;
    #[doc(hidden)]
    fn client(self, keys: K, random: &Self::Random) -> Machine<K>;
}
