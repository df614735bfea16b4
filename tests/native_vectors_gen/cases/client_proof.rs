//! Invalid cases: the ClientProof changed in transit.

use crate::fixtures::*;
use crate::machines::honest_messages;
use crate::model::{invalid, Case, Role};
use crate::tamper::{at, flip, replace, set_byte, truncate};

/// Invalid: ClientProof changed in transit.
pub fn cases(v: &mut Vec<Case>) {
    use Role::Server as S;
    v.push(invalid(
        "Bit flipped in the ClientProof type byte (02 -> 03)",
        &["BitFlip", "UnexpectedMessage"],
        base(),
        flip(PROOF, 0, 0x01),
        &[S],
        ("unexpected_message", "peer_rejected"),
    ));
    v.push(invalid(
        "ClientProof with type byte 07",
        &["ModifiedMessage", "UnexpectedMessage"],
        base(),
        set_byte(PROOF, 0, 0x07),
        &[S],
        ("unexpected_message", "peer_rejected"),
    ));
    for (len, what) in [(0u8, "0"), (33, "33 (one over the limit)"), (255, "255")] {
        v.push(invalid(
            &format!(
                "ClientProof key id length byte {what}: rejected before anything more is read"
            ),
            &["ModifiedMessage", "KeyIdLength"],
            base(),
            set_byte(PROOF, 1, len),
            &[S],
            ("key_id_length", "peer_rejected"),
        ));
    }
    v.push(invalid(
        "Bit flipped in the ClientProof key id (2026-q2 -> 2026-q6, not on the ring)",
        &["BitFlip", "UnknownKeyId"],
        base(),
        flip(PROOF, P_ID + 6, 0x04),
        &[S],
        ("unknown_key_id", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the ClientProof key id (2026-q2 -> 2026-q3, another key on the ring): the tag does not verify under that key",
        &["BitFlip", "Keyring"],
        base(),
        flip(PROOF, P_ID + 6, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of the client nonce",
        &["BitFlip"],
        base(),
        flip(PROOF, P_NONCE, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the client tag",
        &["BitFlip"],
        base(),
        flip(PROOF, P_LEN - 1, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of the client tag (HMAC-SHA-384, 32-byte key id)",
        &["BitFlip"],
        pair(SHA384, &id32(), key32(), billing()),
        flip(PROOF, 2 + 32 + 32, 0x80),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    for (len, what) in [
        (1, "the type byte"),
        (20, "20 bytes"),
        (P_LEN - 1, "72 of its 73 bytes"),
    ] {
        v.push(invalid(
            &format!("ClientProof cut after {what}, then end of stream"),
            &["Truncated", "Incomplete"],
            base(),
            truncate(PROOF, len),
            &[S],
            ("incomplete", "incomplete"),
        ));
    }
    let (s, _) = base();
    v.push(invalid(
        "Client nonce replaced by the server's nonce (a reflected ClientProof)",
        &["ReflectedNonce", "ModifiedMessage"],
        base(),
        at(PROOF, move |m| {
            let mut m = m.to_vec();
            m[P_NONCE..P_TAG].copy_from_slice(&s.random);
            m
        }),
        &[S],
        ("reflected_nonce", "peer_rejected"),
    ));
    let (s, c) = base();
    let server_tag = honest_messages(&s, &c)[FINISH][2..].to_vec();
    v.push(invalid(
        "The client tag replaced by the server tag of the honest run with the same nonces (role separation)",
        &["RoleReflection"],
        (s, c),
        at(PROOF, move |m| {
            let mut m = m.to_vec();
            m[P_TAG..].copy_from_slice(&server_tag);
            m
        }),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    let (s, c) = base();
    let mut other = s.clone();
    other.random = nonce(0x20);
    let old_proof = honest_messages(&other, &c)[PROOF].clone();
    v.push(invalid(
        "Replay: a ClientProof recorded in an accepted handshake with server nonce 20 21 .. 3f, replayed to this server (nonce 00 01 .. 1f)",
        &["Replay"],
        (s, c),
        replace(PROOF, old_proof),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
}
