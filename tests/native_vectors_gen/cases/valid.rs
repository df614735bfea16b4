//! Valid cases: honest runs of every suite with every key id, keyring,
//! context and key size, and the edge cases.

use hmac_handshake::native::Suite;

use crate::fixtures::*;
use crate::model::{valid, Case};
use crate::tamper::trailing;

/// Valid: every suite with every key id, keyring, context and key size.
pub fn every_suite(v: &mut Vec<Case>) {
    for suite in Suite::ALL {
        let name = suite_title(suite);
        let (s, c) = pair(suite, b"a", key16(), Vec::new());
        let mut t = valid(
            &format!("{name}, 1-byte key id, 16-byte key (the shortest allowed), one-key ring, empty context"),
            &["Honest", "KeyId", "KeySize"],
            s,
            c,
        );
        if suite == SHA256 {
            t.exports.push((Vec::new(), b"empty label".to_vec(), 64));
        }
        v.push(t);
        let (s, c) = pair(suite, &id32(), key32(), billing());
        v.push(valid(
            &format!(
                "{name}, 32-byte key id (the longest), 32-byte key, context \"billing-workers/v3\""
            ),
            &["Honest", "KeyId", "Context"],
            s,
            c,
        ));
        let (s, c) = pair(suite, &id_binary(), key64(), ctx300());
        v.push(valid(
            &format!("{name}, key id ff fe 00 80 c3 (not UTF-8), 64-byte key, 300-byte context"),
            &["Honest", "KeyId", "KeySize", "Context"],
            s,
            c,
        ));
        v.push(valid(
            &format!("{name}, three-key ring, the client uses the 2nd key (2026-q2, 32 bytes), context \"billing-workers/v3\""),
            &["Honest", "Keyring", "Context"],
            server(suite, billing(), keyring3()),
            client(b"2026-q2", key32(), billing()),
        ));
        v.push(valid(
            &format!("{name}, three-key ring, the client uses the 3rd key (2026-q3, 200 bytes), 300-byte context"),
            &["Honest", "Keyring", "KeySize", "Context"],
            server(suite, ctx300(), keyring3()),
            client(b"2026-q3", key200(), ctx300()),
        ));
        let mut t = valid(
            &format!("{name}: the client pipelines application bytes right behind its ClientProof; the server leaves them unconsumed"),
            &["Honest", "Pipelined", "Keyring", "Context"],
            server(suite, billing(), keyring3()),
            client(b"2026-q2", key32(), billing()),
        );
        t.tamper = trailing(PROOF, b"GET /status HTTP/1.1\r\n\r\n");
        v.push(t);
        let (s, c) = pair(suite, b"2026-q3", key32(), billing());
        let mut t = valid(
            &format!("{name}: application bytes right behind an accepting ServerFinish; the client leaves them unconsumed"),
            &["Honest", "TrailingData", "Context"],
            s,
            c,
        );
        t.tamper = trailing(FINISH, b"\x00\x00\x00\x05hello");
        v.push(t);
    }
}

/// Valid: edge cases.
pub fn edge_cases(v: &mut Vec<Case>) {
    let mut c = client(b"2026-q3", key200(), billing());
    c.allowed = vec![SHA512];
    v.push(valid(
        "HMAC-SHA-512, three-key ring, 3rd key; the client allows only HMAC-SHA-512",
        &["Honest", "Keyring", "KeySize", "AllowedSuites", "Context"],
        server(SHA512, billing(), keyring3()),
        c,
    ));
    let ring = vec![
        (id_binary(), key16()),
        (id32(), key200()),
        (b"k".to_vec(), key64()),
    ];
    let mut c = client(b"k", key64(), ctx300());
    c.allowed = vec![SHA3, SHA256];
    v.push(valid(
        "HMAC-SHA3-256, ring of a binary, a 32-byte and a 1-byte key id; the client uses the 3rd (\"k\", 64-byte key) and allows SHA3-256 and SHA-256",
        &["Honest", "Keyring", "KeyId", "KeySize", "AllowedSuites", "Context"],
        server(SHA3, ctx300(), ring),
        c,
    ));
    let ring = vec![
        (b"k".to_vec(), pattern(32, 0x10, 1)),
        (b"k1".to_vec(), key64()),
        (b"k12".to_vec(), pattern(32, 0x30, 1)),
    ];
    v.push(valid(
        "HMAC-SHA-256, key ids k, k1, k12 (prefixes of each other): the client's k1 matches exactly the 2nd",
        &["Honest", "Keyring", "KeyId", "KeySize"],
        server(SHA256, billing(), ring),
        client(b"k1", key64(), billing()),
    ));
    let (s, mut c) = pair(SHA384, b"2026-q3", key16(), Vec::new());
    c.allowed = vec![SHA384, SHA512];
    v.push(valid(
        "HMAC-SHA-384, 16-byte key, empty context; the client allows SHA-384 and SHA-512",
        &["Honest", "KeySize", "AllowedSuites"],
        s,
        c,
    ));
    let (mut s, mut c) = base();
    s.server_name = b"billing-a".to_vec();
    c.server_name = b"billing-a".to_vec();
    v.push(valid(
        "HMAC-SHA-256, server name \"billing-a\" on both sides (the server's own, the one the client expects), three-key ring, context \"billing-workers/v3\"",
        &["Honest", "ServerName", "Keyring", "Context"],
        s,
        c,
    ));
    let (mut s, mut c) = pair(SHA384, b"node-key", key32(), Vec::new());
    s.server_name = pattern(255, 0x61, 1);
    c.server_name = pattern(255, 0x61, 1);
    v.push(valid(
        "HMAC-SHA-384, a 255-byte server name (the longest) on both sides, empty context",
        &["Honest", "ServerName"],
        s,
        c,
    ));
    let (mut s, mut c) = pair(SHA3, &id_binary(), key64(), ctx300());
    s.server_name = vec![0x00, 0xff, 0x41];
    c.server_name = vec![0x00, 0xff, 0x41];
    v.push(valid(
        "HMAC-SHA3-256, server name 00 ff 41 (not UTF-8) on both sides, 300-byte context",
        &["Honest", "ServerName", "KeyId", "Context"],
        s,
        c,
    ));
    let (mut s, mut c) = pair(SHA256, b"edge", key32(), Vec::new());
    s.random = [0x00; 32];
    c.random = [0x00; 32];
    c.random[31] = 0x01;
    v.push(valid(
        "HMAC-SHA-256, nonces 00..00 and 00..01: they differ in one bit, which is not a reflection",
        &["Honest", "NonceEdge"],
        s,
        c,
    ));
}
