//! `ClientHandshake`: the side that connected.

use crate::handshake::handshake_type;

handshake_type! {
    /// The client side (the side that connected) as a sans-IO state machine;
    /// the mirror of [`ServerHandshake`](crate::ServerHandshake), with the
    /// same methods.
    ///
    /// `K` is how the machine holds its keys: `Arc<Key>` (or any
    /// `Borrow<Key>`) for the recipe and multiprocessing profiles, a
    /// [`ClientKeys`](crate::native::ClientKeys) handle such as
    /// `Arc<NativeKey>` for the native one.
    /// [`ClientProfile`](crate::ClientProfile) lists what each profile
    /// takes. Not `Clone`: a copy of a machine would reuse its nonce.
    ClientHandshake, ClientProfile, client, "its challenge or nonce (if the profile draws one)",
    "use std::sync::Arc;\nuse hmac_handshake::native::{self, NativeKey, Suite};\nuse hmac_handshake::ClientHandshake;\n\n# let secret = [7u8; 32];\n// secret: the 32 bytes of this client's key file (`hmac-handshake keygen`)\nlet key = Arc::new(NativeKey::new(b\"k1\", &secret, Suite::HmacSha256).unwrap());\nlet client = ClientHandshake::new(key, native::Config::new(b\"billing/v3\"), &mut getrandom::SysRng)?;"
}
