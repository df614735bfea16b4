//! `ServerHandshake`: the side that accepted the connection.

use crate::handshake::handshake_type;

handshake_type! {
    /// The server side (the side that accepted the connection) as a sans-IO
    /// state machine: bytes in, bytes out, no socket, clock, RNG or allocator.
    ///
    /// Drive it with [`Handshake`](crate::Handshake)'s `status`, `receive` and
    /// `sent`; see [`Status`](crate::Status) and the README's loop. Any
    /// chunking of the input gives the same result; bytes after the last
    /// handshake message are left unconsumed for the application. Errors are
    /// sticky.
    ///
    /// `K` is how the machine holds its keys, chosen by the caller: an
    /// `Arc<Key>` or `Arc<Keyring>` makes the machine `Send + 'static` (move
    /// it into a task, keep it in a slab beside the keys); a `&'static Key`,
    /// an owned `Key` or a `&Keyring` works without an allocator or with a
    /// borrow. [`ServerProfile`](crate::ServerProfile) lists what each
    /// profile takes. Not `Clone`: a copy of a machine would reuse its
    /// challenge or nonce.
    ServerHandshake, ServerProfile, server, "its challenge or nonce",
    "use std::sync::Arc;\nuse hmac_handshake::{multiprocessing, Key, ServerHandshake};\n\nlet key = Arc::new(Key::new(b\"abracadabra\"));\nlet server = ServerHandshake::new(key, multiprocessing::Config::new(), &mut getrandom::SysRng)?;"
}
