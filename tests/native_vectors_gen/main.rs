//! Generator of `vectors/handshake/native.json`: conformance vectors for the
//! native protocol (PROTOCOL.md), made by running our own server and client
//! machines against each other with pinned nonces and fixed keys.
//!
//! Honest runs record every message. Invalid cases tamper one message in
//! transit (a relay between the two machines), feed it to the receiving
//! machine and record exactly what it sends back and how it ends. When a
//! message was changed, the two sides saw different transcripts, so each
//! side's view becomes its own test ("(server view)", "(client view)").
//! The generator asserts every machine ends as PROTOCOL.md says, so a
//! change of behaviour fails here instead of silently rewriting a vector.
//!
//! The server of a case holds its keyring as a `Keyring` of keys of its
//! suite; the client holds one `NativeKey` per suite it allows (the
//! vectors' `allowed`), all with the same key id and secret.
//!
//! The forward-secrecy cases also need peers that are not our machines: a
//! hostile client or server that holds the key and sends a low-order share
//! (or a proof type the other side's mode refuses) under a tag that
//! verifies. [`fs_peer`] (`tests/support/fs_peer.rs`, shared with
//! `tests/forward_secrecy.rs`) builds such messages per PROTOCOL.md with
//! the hmac, sha2 and sha3 crates; the relay delivers them in place of our
//! machine's message, and only the receiving side's view is a test.
//!
//! Modules: [`model`] (parties, relay, runs, cases), [`fixtures`] (keys,
//! ids, contexts, nonces, ephemeral secrets), [`tamper`] (what the relay
//! does), [`machines`] (the live run), [`cases`] (valid, then invalid by
//! class, then the forward-secrecy mode's), [`fs_peer`] (the hostile key
//! holder), [`writer`] (the JSON document).
//!
//! `cargo test --test native_vectors_gen -- --ignored` rewrites the file;
//! the non-ignored test checks that the committed file is exactly what the
//! code produces. `tests/handshake_vectors.rs` replays the file.

mod cases;
mod fixtures;
#[path = "../support/fs_peer.rs"]
mod fs_peer;
mod machines;
mod model;
mod tamper;
mod writer;

use std::path::PathBuf;

use serde_json::Value;

use writer::generate;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/handshake/native.json")
}

#[test]
#[ignore = "rewrites vectors/handshake/native.json"]
fn regenerate_native_vectors() {
    let out = generate();
    std::fs::write(path(), &out).unwrap();
    let n = serde_json::from_str::<Value>(&out).unwrap()["numberOfTests"].clone();
    println!("wrote {} ({n} tests)", path().display());
}

#[test]
fn native_vectors_are_current() {
    let on_disk = std::fs::read_to_string(path()).unwrap_or_default();
    assert!(
        on_disk == generate(),
        "{} differs from what the generator produces; run \
         `cargo test --test native_vectors_gen -- --ignored` and review the diff",
        path().display()
    );
}
