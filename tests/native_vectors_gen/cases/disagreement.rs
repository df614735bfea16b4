//! Invalid cases where no message changed: the two sides disagree (key,
//! key id, context, suites, nonces).

use crate::fixtures::*;
use crate::model::{invalid, Case, Role};
use crate::tamper::pass;

/// Invalid, no message changed: the two sides disagree.
pub fn cases(v: &mut Vec<Case>) {
    use Role::{Client as C, Server as S};
    let both = &[S, C][..];
    let (s, mut c) = base();
    c.key = pattern(32, 0x41, 1);
    v.push(invalid(
        "Wrong key: the client holds another secret under key id 2026-q2; the server sends 03 01",
        &["WrongKey"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = pair(SHA512, &id_binary(), key64(), ctx300());
    c.key = key16();
    v.push(invalid(
        "Wrong key with HMAC-SHA-512 (server 64-byte key, client 16-byte key)",
        &["WrongKey"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = base();
    c.key_id = b"2025-q4".to_vec();
    v.push(invalid(
        "Unknown key id 2025-q4 (rotated out): the server sends the same 03 01 as for a wrong key",
        &["UnknownKeyId", "Keyring"],
        (s, c),
        pass(),
        both,
        ("unknown_key_id", "peer_rejected"),
    ));
    let (s, mut c) = base();
    c.key_id = b"2026-q9".to_vec();
    c.key = keyring3()[0].1.clone();
    v.push(invalid(
        "Unknown key id 2026-q9 with the secret of the ring's 1st key: still rejected (an unknown id's proof is checked against a stand-in key)",
        &["UnknownKeyId", "Keyring"],
        (s, c),
        pass(),
        both,
        ("unknown_key_id", "peer_rejected"),
    ));
    let (s, mut c) = base();
    c.context = b"billing-workers/v2".to_vec();
    v.push(invalid(
        "Different contexts: server \"billing-workers/v3\", client \"billing-workers/v2\"",
        &["ContextMismatch"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = pair(SHA3, b"2026-q3", key32(), ctx300());
    c.context = Vec::new();
    v.push(invalid(
        "Different contexts: server 300 bytes, client empty (HMAC-SHA3-256)",
        &["ContextMismatch"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    // Server names that differ: (parties, the server's own, the client's expected, comment).
    let mismatches: [(_, &[u8], &[u8], &str); 4] = [
        (base(), b"A", b"B", "Server name mismatch: the server is \"A\", the client expects \"B\" (a selfie or a redirect to another holder of the key); the server sends 03 01 as for a wrong key"),
        (pair(SHA512, b"2026-q2", key32(), billing()), b"B", b"A", "Server name mismatch the other way: the server is \"B\", the client expects \"A\" (HMAC-SHA-512)"),
        (base(), b"billing-a", b"", "The server names itself \"billing-a\", the client sets no server name (empty)"),
        (pair(SHA3, b"2026-q3", key32(), Vec::new()), b"", b"billing-a", "The client expects \"billing-a\", the server sets no server name (empty; HMAC-SHA3-256)"),
    ];
    for ((mut s, mut c), own, expected, comment) in mismatches {
        s.server_name = own.to_vec();
        c.server_name = expected.to_vec();
        v.push(invalid(
            comment,
            &["ServerNameMismatch"],
            (s, c),
            pass(),
            both,
            ("bad_tag", "peer_rejected"),
        ));
    }
    let (s, mut c) = pair(SHA512, b"2026-q2", key32(), billing());
    c.allowed = vec![SHA256, SHA3];
    v.push(invalid(
        "The server uses HMAC-SHA-512, the client allows only SHA-256 and SHA3-256: the client sends nothing",
        &["SuiteNotAllowed", "AllowedSuites"],
        (s, c),
        pass(),
        both,
        ("incomplete", "suite_not_allowed"),
    ));
    let (mut s, c) = base();
    s.random = c.random;
    v.push(invalid(
        "The server's nonce equals the client's: the client refuses the hello and sends nothing",
        &["ReflectedNonce"],
        (s, c),
        pass(),
        both,
        ("incomplete", "reflected_nonce"),
    ));
}
