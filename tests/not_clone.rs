//! Security state is never copied by accident: no handshake machine, key,
//! keyring or session is `Clone` (a native server cloned after its hello
//! would accept a replayed proof and derive the same session keys twice).
//!
//! A compile-time check: `assert_not_clone!(T)` names an item of a trait
//! with two blanket impls, one for every type and one for `Clone` types, so
//! it is ambiguous, and the file does not build, when `T: Clone`. The same
//! trick as `static_assertions::assert_not_impl_any!`.

use std::sync::Arc;

use hmac_handshake::native::{Keyring, NativeKey, Session, SharedKeyring};
use hmac_handshake::{ClientHandshake, Key, ServerHandshake};

trait NotClone<Marker> {
    fn check() {}
}
impl<T: ?Sized> NotClone<()> for T {}
struct IsClone;
impl<T: Clone> NotClone<IsClone> for T {}

macro_rules! assert_not_clone {
    ($($t:ty),* $(,)?) => {
        $(<$t as NotClone<_>>::check();)*
    };
}

#[test]
fn machines_keys_and_sessions_are_not_clone() {
    assert_not_clone!(
        ServerHandshake<Arc<Key>>,
        ServerHandshake<&'static Key>,
        ServerHandshake<Key>,
        ServerHandshake<Arc<Keyring>>,
        ServerHandshake<NativeKey>,
        ClientHandshake<Arc<Key>>,
        ClientHandshake<Key>,
        ClientHandshake<NativeKey>,
        ClientHandshake<Arc<NativeKey>>,
        Key,
        NativeKey,
        Keyring,
        SharedKeyring,
        Session,
    );
}
