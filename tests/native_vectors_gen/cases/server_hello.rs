//! Invalid cases: the ServerHello changed in transit.

use hmac_handshake::multiprocessing::Config as MpConfig;
use hmac_handshake::{Key, ServerHandshake};

use crate::fixtures::*;
use crate::machines::{drain, honest_messages};
use crate::model::{invalid, Case, Role};
use crate::tamper::{flip, replace, set_byte, truncate};

/// Invalid: ServerHello changed in transit.
pub fn cases(v: &mut Vec<Case>) {
    use Role::{Client as C, Server as S};
    let both = &[S, C][..];
    v.push(invalid(
        "Bit flipped in the magic (HMHS -> IMHS)",
        &["BitFlip", "NotNative"],
        base(),
        flip(HELLO, 0, 0x01),
        &[C],
        ("incomplete", "not_native"),
    ));
    let mp_key = Key::new(b"abracadabra");
    // A {sha256} challenge, MD5 refused: CPython 3.12+'s defaults.
    let mp_random: [u8; 40] = pattern(40, 0, 1).try_into().unwrap();
    let mut mp = ServerHandshake::with_pinned_random(&mp_key, MpConfig::new(), &mp_random);
    let mp_challenge = drain(&mut mp);
    v.push(invalid(
        "The server speaks the multiprocessing profile: its #CHALLENGE# frame (made by our multiprocessing server) instead of a ServerHello",
        &["NotNative", "CrossProfile"],
        base(),
        replace(HELLO, mp_challenge),
        &[C],
        ("incomplete", "not_native"),
    ));
    v.push(invalid(
        "Bit flipped in the version byte (01 -> 00)",
        &["BitFlip", "VersionMismatch"],
        base(),
        flip(HELLO, 4, 0x01),
        &[C],
        ("incomplete", "version_mismatch"),
    ));
    v.push(invalid(
        "ServerHello with version 2",
        &["ModifiedMessage", "VersionMismatch"],
        base(),
        set_byte(HELLO, 4, 0x02),
        &[C],
        ("incomplete", "version_mismatch"),
    ));
    v.push(invalid(
        "Bit flipped in the suite byte (01 -> 00, no such suite)",
        &["BitFlip", "SuiteNotAllowed"],
        base(),
        flip(HELLO, 5, 0x01),
        &[C],
        ("incomplete", "suite_not_allowed"),
    ));
    let (s, mut c) = base();
    c.allowed = vec![SHA256];
    v.push(invalid(
        "Bit flipped in the suite byte (01 -> 03, HMAC-SHA-512) to a client that allows only HMAC-SHA-256",
        &["BitFlip", "SuiteNotAllowed", "AllowedSuites"],
        (s, c),
        flip(HELLO, 5, 0x02),
        &[C],
        ("incomplete", "suite_not_allowed"),
    ));
    v.push(invalid(
        "Bit flipped in the suite byte (01 -> 03) to a client that allows all suites: it proves with HMAC-SHA-512 over the hello it saw; the SHA-256 server reads a SHA-256-sized proof, which does not verify",
        &["BitFlip", "SuiteChanged"],
        base(),
        flip(HELLO, 5, 0x02),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the server nonce: the client signs the hello it saw, so the server's check fails",
        &["BitFlip"],
        base(),
        flip(HELLO, 38, 0x80),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "ServerHello cut after 38 of its 39 bytes, then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(HELLO, 38),
        &[C],
        ("incomplete", "incomplete"),
    ));
    v.push(invalid(
        "Bit flipped in the mode byte (00 -> 01, X25519 offered) to a client without the mode: it sends its plain proof over the hello it saw, so the server's check fails",
        &["BitFlip", "ModeAdded"],
        base(),
        flip(HELLO, 6, 0x01),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the mode byte (00 -> 80, no such mode): the client sends nothing",
        &["BitFlip", "UnknownMode"],
        base(),
        flip(HELLO, 6, 0x80),
        &[C],
        ("incomplete", "unknown_mode"),
    ));
    v.push(invalid(
        "ServerHello cut after the mode byte (7 bytes), then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(HELLO, 7),
        &[C],
        ("incomplete", "incomplete"),
    ));
    v.push(invalid(
        "ServerHello cut inside the magic (3 bytes), then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(HELLO, 3),
        &[C],
        ("incomplete", "incomplete"),
    ));
    let (s, c) = base();
    let mut reflected = s.clone();
    reflected.random = c.random;
    let own_hello = honest_messages(&reflected, &c)[HELLO].clone();
    v.push(invalid(
        "ServerHello replaced by one carrying the client's own nonce",
        &["ReflectedNonce", "ModifiedMessage"],
        (s, c),
        replace(HELLO, own_hello),
        &[C],
        ("incomplete", "reflected_nonce"),
    ));
}
