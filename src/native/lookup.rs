//! Where the native machines find their keys: the server asks a
//! [`KeyLookup`] by key id, the client asks its [`ClientKeys`] by suite.

use subtle::ConstantTimeEq;

use super::key::{KeyId, NativeKey};
use super::suite::Suite;

/// What [`KeyLookup::lookup`] found.
#[derive(Clone, Copy, Debug)]
pub struct Lookup<'a> {
    /// The key named by the id, or, when the store does not hold the id, a
    /// stand-in key of the store's suite: the server checks the proof with
    /// it all the same, so an unknown id costs the same work as a known one.
    pub key: &'a NativeKey,
    /// Whether `key` is the one the id names. A proof is accepted only when
    /// it is; otherwise it is rejected as
    /// [`Error::UnknownKeyId`](crate::Error::UnknownKeyId).
    pub known: bool,
}

/// The key-lookup seam of the native server: asked once per handshake, by
/// the key id in `ClientProof`, so keys can come from a [`Keyring`], a map
/// the application keeps (behind a lock, if it changes in place), or a
/// store reloaded at run time.
///
/// The key is handed to a callback rather than returned, so a store can
/// lend it from inside a lock guard or a cache entry: the server uses it
/// only during the call (it checks the proof, makes its own tag and keeps
/// a copy of the key's HKDF PRK for the session, which `finish()` hands on
/// to the [`Finished`](crate::Finished) until the session is derived), so a
/// key replaced or revoked afterwards does not change a handshake already
/// accepted.
///
/// A server holds its lookup through the handle it was built with (an
/// `Arc<Keyring>` snapshot, say), so a handshake keeps the keys it started
/// with while the application swaps in new ones for the next handshakes.
///
/// # Contract
/// - `lookup` calls `found` exactly once. A lookup that never calls it
///   rejects the proof (as an unknown key id); later calls are ignored.
/// - Every key it passes is keyed for [`suite`](Self::suite); a key of
///   another suite is treated as unknown.
/// - It should take the same time, and touch memory the same way, for
///   every id, known or not: the id comes from an unauthenticated peer. A
///   store that does not tells that peer which ids exist. [`Keyring`] reads
///   the same number of index slots for every id and, for an unknown one,
///   checks the proof against a real key of the ring picked by the id's
///   hash, so that a fresh unknown id reaches cold memory like a fresh
///   known one does.
///
/// Without the `std` feature there is no `Keyring`: a single `NativeKey` is
/// a store, or the application implements this trait over its own table.
///
/// [`Keyring`]: super::Keyring
pub trait KeyLookup {
    /// The suite the server announces in `ServerHello`.
    fn suite(&self) -> Suite;

    /// Calls `found` once with the key named `id`, or a stand-in (see
    /// [`Lookup`]).
    fn lookup(&self, id: &KeyId, found: &mut dyn FnMut(Lookup<'_>));
}

/// One key is a keyring of one: the stand-in for another id is the key
/// itself (the proof is then rejected as an unknown key id).
impl KeyLookup for NativeKey {
    fn suite(&self) -> Suite {
        NativeKey::suite(self)
    }

    fn lookup(&self, id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
        found(Lookup {
            key: self,
            known: self.id().ct_eq(id).into(),
        });
    }
}

/// The keys a native client may prove with: one [`NativeKey`] per suite it
/// accepts. A server whose suite has no key here is refused
/// ([`Error::SuiteNotAllowed`](crate::Error::SuiteNotAllowed)), so holding
/// keys of one suite only is how a client insists on that suite.
///
/// Contract: `key_for(suite)` returns a key of that `suite` (another is
/// refused like a missing one), and the same key for as long as a
/// handshake holds the handle: the client asks again to check the
/// server's tag and, at `finish()`, for the PRK its session comes from.
///
/// Implemented for one key, arrays, slices and (with `alloc`) vectors of
/// keys (the first of a suite is used), and references and `Box` / `Rc` /
/// `Arc` of them.
pub trait ClientKeys {
    /// The key to prove with when the server announces `suite`.
    fn key_for(&self, suite: Suite) -> Option<&NativeKey>;
}

impl ClientKeys for NativeKey {
    fn key_for(&self, suite: Suite) -> Option<&NativeKey> {
        (self.suite() == suite).then_some(self)
    }
}

impl ClientKeys for [NativeKey] {
    fn key_for(&self, suite: Suite) -> Option<&NativeKey> {
        self.iter().find(|k| k.suite() == suite)
    }
}

impl<const N: usize> ClientKeys for [NativeKey; N] {
    fn key_for(&self, suite: Suite) -> Option<&NativeKey> {
        self.as_slice().key_for(suite)
    }
}

/// Implements both traits for a pointer type by delegating to its target.
macro_rules! delegate_to_target {
    ($($ptr:ty),+) => {$(
        impl<T: KeyLookup + ?Sized> KeyLookup for $ptr {
            fn suite(&self) -> Suite {
                (**self).suite()
            }

            fn lookup(&self, id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
                (**self).lookup(id, found)
            }
        }

        impl<T: ClientKeys + ?Sized> ClientKeys for $ptr {
            fn key_for(&self, suite: Suite) -> Option<&NativeKey> {
                (**self).key_for(suite)
            }
        }
    )+};
}

delegate_to_target!(&T);

#[cfg(feature = "alloc")]
mod with_alloc {
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use alloc::sync::Arc;
    use alloc::vec::Vec;

    use super::{ClientKeys, KeyId, KeyLookup, Lookup, NativeKey, Suite};

    delegate_to_target!(Box<T>, Rc<T>, Arc<T>);

    impl ClientKeys for Vec<NativeKey> {
        fn key_for(&self, suite: Suite) -> Option<&NativeKey> {
            self.as_slice().key_for(suite)
        }
    }
}
