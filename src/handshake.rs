//! `ServerHandshake` and `ClientHandshake`: one sans-IO API over every profile.

use rand_core::CryptoRng;

use crate::status::{Outcome, Status};
use crate::{multiprocessing, native, recipe, Error, Key};

/// Largest `random_len()` of any profile and role, in bytes.
pub const MAX_RANDOM_LEN: usize = 64;

/// The wire format a handshake speaks, with its settings; chosen at
/// construction and fixed for the handshake's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// The "authenticating clients simply" recipe: see [`recipe`].
    Recipe(recipe::Config),
    /// CPython `multiprocessing.connection`: see [`multiprocessing`].
    Multiprocessing(multiprocessing::Config),
}

impl Profile {
    /// Random bytes a server of this profile needs: 32 (recipe), 40 or 20
    /// (multiprocessing modern or legacy challenge).
    #[must_use]
    pub fn server_random_len(&self) -> usize {
        match self {
            Profile::Recipe(_) => recipe::CHALLENGE_LEN,
            Profile::Multiprocessing(c) => c.random_len(),
        }
    }

    /// Random bytes a client of this profile needs: 0 (recipe), 40 or 20
    /// (multiprocessing: the client delivers a challenge too).
    #[must_use]
    pub fn client_random_len(&self) -> usize {
        match self {
            Profile::Recipe(_) => 0,
            Profile::Multiprocessing(c) => c.random_len(),
        }
    }

    fn check(&self, random: &[u8], expected: usize) -> Result<(), Error> {
        if let Profile::Multiprocessing(c) = self {
            c.check()?;
        }
        if random.len() != expected {
            return Err(Error::RandomLength {
                expected,
                got: random.len(),
            });
        }
        Ok(())
    }

    /// The profile name used by the CLI and the vectors.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Recipe(_) => "recipe",
            Profile::Multiprocessing(_) => "multiprocessing",
        }
    }
}

impl From<recipe::Config> for Profile {
    fn from(c: recipe::Config) -> Profile {
        Profile::Recipe(c)
    }
}

impl From<multiprocessing::Config> for Profile {
    fn from(c: multiprocessing::Config) -> Profile {
        Profile::Multiprocessing(c)
    }
}

/// The sans-IO interface every handshake machine shares.
///
/// A driving loop matches on [`status`](Self::status):
/// [`Status::Send`] → write the bytes, call [`sent`](Self::sent);
/// [`Status::NeedInput`] → read, call [`receive`](Self::receive) and keep
/// the bytes it did not consume; [`Status::Done`] / [`Status::Failed`] → stop.
pub trait Handshake {
    /// What the machine needs next. Cheap; call it as often as you like.
    fn status(&self) -> Status<'_>;

    /// Feeds bytes read from the peer; returns how many were handshake
    /// bytes (0 to `input.len()`). Bytes not consumed are the caller's: keep
    /// them and pass them again after the pending output has been sent, or
    /// hand them to the application once the status is [`Status::Done`].
    /// Partial messages are buffered inside (fixed size, bounded lengths).
    fn receive(&mut self, input: &[u8]) -> usize;

    /// Reports that the first `n` bytes of the [`Status::Send`] slice were
    /// written (partial writes are fine).
    ///
    /// # Errors
    /// [`Error::SentTooMuch`] if `n` exceeds the pending output (nothing changes).
    fn sent(&mut self, n: usize) -> Result<(), Error>;

    /// Copies pending output into `out` and marks it sent; returns the
    /// number of bytes copied (0 when nothing is pending).
    fn write_output(&mut self, out: &mut [u8]) -> usize {
        let n = match self.status() {
            Status::Send(bytes) => {
                let n = bytes.len().min(out.len());
                out[..n].copy_from_slice(&bytes[..n]);
                n
            }
            _ => return 0,
        };
        match self.sent(n) {
            Ok(()) => n,
            Err(_) => 0,
        }
    }

    /// The native profile's session secrets, once the status is
    /// [`Status::Done`]; `None` for the other profiles.
    fn session(&self) -> Option<&native::Session> {
        None
    }

    /// The outcome, once the status is [`Status::Done`].
    fn outcome(&self) -> Option<Outcome> {
        match self.status() {
            Status::Done(o) => Some(o),
            _ => None,
        }
    }
}

fn native_nonce(nonce: &[u8]) -> Result<[u8; native::NONCE_LEN], Error> {
    nonce.try_into().map_err(|_| Error::RandomLength {
        expected: native::NONCE_LEN,
        got: nonce.len(),
    })
}

fn random_from<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> [u8; MAX_RANDOM_LEN] {
    let mut buf = [0u8; MAX_RANDOM_LEN];
    rng.fill_bytes(&mut buf[..len.min(MAX_RANDOM_LEN)]);
    buf
}

/// Every machine of every profile and role. Boxing the larger variants
/// would allocate; the machines are fixed-size by design.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Machine<'k> {
    RecipeServer(recipe::Server<'k>),
    RecipeClient(recipe::Client<'k>),
    Multiprocessing(multiprocessing::machine::Machine<'k>),
    NativeServer(native::server::Server<'k>),
    NativeClient(native::client::Client<'k>),
}

impl<'k> Machine<'k> {
    fn as_dyn(&self) -> &(dyn Handshake + 'k) {
        match self {
            Machine::RecipeServer(m) => m,
            Machine::RecipeClient(m) => m,
            Machine::Multiprocessing(m) => m,
            Machine::NativeServer(m) => m,
            Machine::NativeClient(m) => m,
        }
    }

    fn as_dyn_mut(&mut self) -> &mut (dyn Handshake + 'k) {
        match self {
            Machine::RecipeServer(m) => m,
            Machine::RecipeClient(m) => m,
            Machine::Multiprocessing(m) => m,
            Machine::NativeServer(m) => m,
            Machine::NativeClient(m) => m,
        }
    }
}

/// The [`Handshake`] methods of a public wrapper, delegated to its machine.
macro_rules! delegate_handshake {
    ($wrapper:ident) => {
        impl Handshake for $wrapper<'_> {
            fn status(&self) -> Status<'_> {
                self.inner.as_dyn().status()
            }

            fn receive(&mut self, input: &[u8]) -> usize {
                self.inner.as_dyn_mut().receive(input)
            }

            fn sent(&mut self, n: usize) -> Result<(), Error> {
                self.inner.as_dyn_mut().sent(n)
            }

            fn session(&self) -> Option<&native::Session> {
                self.inner.as_dyn().session()
            }
        }
    };
}

delegate_handshake!(ServerHandshake);
delegate_handshake!(ClientHandshake);

/// The server side (the side that accepted the connection) as a sans-IO
/// state machine: bytes in, bytes out, no socket, clock, RNG or allocator.
///
/// Drive it with [`status`](Self::status), [`receive`](Self::receive) and
/// [`sent`](Self::sent); see [`Status`] and the README's loop. It borrows the
/// [`Key`] (keyed once, shared by every handshake). Any chunking of the input
/// gives the same result; bytes after the last handshake message are left
/// unconsumed for the application. Errors are sticky.
#[derive(Clone)]
pub struct ServerHandshake<'k> {
    inner: Machine<'k>,
}

impl<'k> ServerHandshake<'k> {
    /// A native-protocol server (PROTOCOL.md) holding `keyring`: every key
    /// on it is accepted, so keys rotate with an overlap. `nonce` is the
    /// 32-byte server nonce from a CSPRNG.
    ///
    /// # Errors
    /// [`Error::EmptyKeyring`]; [`Error::RandomLength`] unless `nonce` is
    /// [`native::NONCE_LEN`] bytes.
    pub fn native(
        keyring: &'k [native::NativeKey],
        config: native::ServerConfig<'_>,
        nonce: &[u8],
    ) -> Result<Self, Error> {
        let nonce = native_nonce(nonce)?;
        Ok(ServerHandshake {
            inner: Machine::NativeServer(native::server::Server::new(keyring, config, nonce)?),
        })
    }

    /// Like [`native`](Self::native), drawing the nonce from `rng`.
    ///
    /// # Errors
    /// [`Error::EmptyKeyring`].
    pub fn native_from_rng<R: CryptoRng + ?Sized>(
        keyring: &'k [native::NativeKey],
        config: native::ServerConfig<'_>,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let random = random_from(rng, native::NONCE_LEN);
        Self::native(keyring, config, &random[..native::NONCE_LEN])
    }

    /// A server for `profile` whose challenge is `random`: exactly
    /// [`Profile::server_random_len`] bytes from a CSPRNG (pinned bytes
    /// reproduce a transcript).
    ///
    /// # Errors
    /// [`Error::RandomLength`] for the wrong number of random bytes; for the
    /// multiprocessing profile, what [`multiprocessing::Config::check`] returns.
    pub fn new(key: &'k Key, profile: Profile, random: &[u8]) -> Result<Self, Error> {
        profile.check(random, profile.server_random_len())?;
        let inner = match profile {
            Profile::Recipe(c) => {
                let mut challenge = [0u8; recipe::CHALLENGE_LEN];
                challenge.copy_from_slice(random);
                Machine::RecipeServer(recipe::Server::new(key, c, challenge))
            }
            Profile::Multiprocessing(c) => {
                Machine::Multiprocessing(multiprocessing::machine::Machine::new(
                    key,
                    c,
                    multiprocessing::machine::Role::Listener,
                    random,
                ))
            }
        };
        Ok(ServerHandshake { inner })
    }

    /// Like [`new`](Self::new), drawing the random bytes from `rng`.
    ///
    /// # Errors
    /// As [`new`](Self::new), less [`Error::RandomLength`].
    pub fn from_rng<R: CryptoRng + ?Sized>(
        key: &'k Key,
        profile: Profile,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let len = profile.server_random_len();
        let random = random_from(rng, len);
        Self::new(key, profile, &random[..len])
    }
}

/// The client side (the side that connected) as a sans-IO state machine;
/// the mirror of [`ServerHandshake`], with the same methods.
#[derive(Clone)]
pub struct ClientHandshake<'k> {
    inner: Machine<'k>,
}

impl<'k> ClientHandshake<'k> {
    /// A native-protocol client (PROTOCOL.md) proving `key` under its key
    /// id. `nonce` is the 32-byte client nonce from a CSPRNG.
    ///
    /// # Errors
    /// [`Error::RandomLength`] unless `nonce` is [`native::NONCE_LEN`] bytes.
    pub fn native(
        key: &'k native::NativeKey,
        config: native::ClientConfig<'k>,
        nonce: &[u8],
    ) -> Result<Self, Error> {
        let nonce = native_nonce(nonce)?;
        Ok(ClientHandshake {
            inner: Machine::NativeClient(native::client::Client::new(key, config, nonce)),
        })
    }

    /// Like [`native`](Self::native), drawing the nonce from `rng`.
    ///
    /// # Errors
    /// None in practice; the signature matches [`native`](Self::native).
    pub fn native_from_rng<R: CryptoRng + ?Sized>(
        key: &'k native::NativeKey,
        config: native::ClientConfig<'k>,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let random = random_from(rng, native::NONCE_LEN);
        Self::native(key, config, &random[..native::NONCE_LEN])
    }

    /// A client for `profile`. `random` is exactly
    /// [`Profile::client_random_len`] bytes: none for the recipe, the
    /// client's own challenge for multiprocessing.
    ///
    /// # Errors
    /// As [`ServerHandshake::new`].
    pub fn new(key: &'k Key, profile: Profile, random: &[u8]) -> Result<Self, Error> {
        profile.check(random, profile.client_random_len())?;
        let inner = match profile {
            Profile::Recipe(c) => Machine::RecipeClient(recipe::Client::new(key, c)),
            Profile::Multiprocessing(c) => {
                Machine::Multiprocessing(multiprocessing::machine::Machine::new(
                    key,
                    c,
                    multiprocessing::machine::Role::Client,
                    random,
                ))
            }
        };
        Ok(ClientHandshake { inner })
    }

    /// Like [`new`](Self::new), drawing the random bytes from `rng`.
    ///
    /// # Errors
    /// As [`new`](Self::new), less [`Error::RandomLength`].
    pub fn from_rng<R: CryptoRng + ?Sized>(
        key: &'k Key,
        profile: Profile,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let len = profile.client_random_len();
        let random = random_from(rng, len);
        Self::new(key, profile, &random[..len])
    }
}
