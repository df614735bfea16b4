//! Empty: this crate exists for its bench, `benches/peers.rs`
//! (`cargo bench -p hmac-handshake-peer-bench`).
