//! Invalid cases: the ServerFinish changed in transit.

use crate::fixtures::*;
use crate::model::{invalid, Case, Role};
use crate::tamper::{flip, replace, truncate};

/// Invalid: ServerFinish changed in transit.
pub fn cases(v: &mut Vec<Case>) {
    use Role::Client as C;
    v.push(invalid(
        "Bit flipped in the ServerFinish type byte (03 -> 02)",
        &["BitFlip", "UnexpectedMessage"],
        base(),
        flip(FINISH, 0, 0x01),
        &[C],
        ("ok", "unexpected_message"),
    ));
    v.push(invalid(
        "Bit flipped in the ServerFinish verdict (accept 00 -> reject 01)",
        &["BitFlip"],
        base(),
        flip(FINISH, 1, 0x01),
        &[C],
        ("ok", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the ServerFinish verdict (00 -> 80)",
        &["BitFlip", "UnexpectedVerdict"],
        base(),
        flip(FINISH, 1, 0x80),
        &[C],
        ("ok", "unexpected_verdict"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the server tag",
        &["BitFlip"],
        base(),
        flip(FINISH, 33, 0x01),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of the server tag (HMAC-SHA-512, binary key id)",
        &["BitFlip"],
        pair(SHA512, &id_binary(), key64(), ctx300()),
        flip(FINISH, 2, 0x01),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "ServerFinish cut after 20 of its 34 bytes, then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(FINISH, 20),
        &[C],
        ("ok", "incomplete"),
    ));
    let (s, mut c) = base();
    c.key = pattern(32, 0x41, 1);
    v.push(invalid(
        "Wrong key, and the reject 03 01 flipped to 03 00 in transit: the client waits for a server tag that never comes",
        &["WrongKey", "BitFlip", "Incomplete"],
        (s, c),
        flip(FINISH, 1, 0x01),
        &[C],
        ("bad_tag", "incomplete"),
    ));
    let (s, mut c) = base();
    c.key = pattern(32, 0x41, 1);
    let mut forged = vec![0x03, 0x00];
    forged.extend_from_slice(&[0u8; 32]);
    v.push(invalid(
        "Wrong key, and the reject 03 01 replaced by an accept with an all-zero server tag",
        &["WrongKey", "ModifiedMessage"],
        (s, c),
        replace(FINISH, forged),
        &[C],
        ("bad_tag", "bad_tag"),
    ));
}
