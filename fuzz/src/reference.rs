//! Oracles written in the harness, not taken from the library: HMAC through
//! the RustCrypto crates directly, and CPython's framing and reply rules as
//! `multiprocessing/connection.py` states them.

use hmac::{KeyInit, Mac, SimpleHmac};
use hmac_handshake::Digest;

fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// HMAC-`digest`(key, msg), RFC 2104.
pub fn hmac(digest: Digest, key: &[u8], msg: &[u8]) -> Vec<u8> {
    match digest {
        Digest::Md5 => mac::<SimpleHmac<md5::Md5>>(key, msg),
        Digest::Sha256 => mac::<SimpleHmac<sha2::Sha256>>(key, msg),
        Digest::Sha384 => mac::<SimpleHmac<sha2::Sha384>>(key, msg),
        Digest::Sha512 => mac::<SimpleHmac<sha2::Sha512>>(key, msg),
        Digest::Sha3_256 => mac::<SimpleHmac<sha3::Sha3_256>>(key, msg),
        Digest::Sha3_384 => mac::<SimpleHmac<sha3::Sha3_384>>(key, msg),
        other => panic!("harness does not know digest {other:?}"),
    }
}

/// The digests CPython 3.12+ accepts in a `{name}` prefix.
pub const MP_DIGESTS: [Digest; 5] = [
    Digest::Md5,
    Digest::Sha256,
    Digest::Sha384,
    Digest::Sha3_256,
    Digest::Sha3_384,
];

/// Splits a byte stream into `send_bytes` frames: a 4-byte big-endian signed
/// length, or -1 and an 8-byte big-endian length. Returns the complete frames
/// and the number of bytes they span; stops at the first incomplete or
/// malformed frame.
pub fn frames(mut bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut used = 0;
    loop {
        if bytes.len() < 4 {
            return (out, used);
        }
        let short = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let (header, len) = match short {
            0.. => (4, short as u64),
            -1 => {
                if bytes.len() < 12 {
                    return (out, used);
                }
                let mut l = [0u8; 8];
                l.copy_from_slice(&bytes[4..12]);
                (12, u64::from_be_bytes(l))
            }
            _ => return (out, used),
        };
        let Ok(len) = usize::try_from(len) else {
            return (out, used);
        };
        if bytes.len() - header < len {
            return (out, used);
        }
        out.push(&bytes[header..header + len]);
        used += header + len;
        bytes = &bytes[header + len..];
    }
}

/// `#CHALLENGE#`, the first bytes of a challenge frame.
pub const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// The accept verdict frame.
pub const WELCOME: &[u8] = b"#WELCOME#";

/// The `{name}` a message starts with, and the rest; `None` without one.
fn named(message: &[u8]) -> Option<(Digest, &[u8])> {
    let rest = message.strip_prefix(b"{")?;
    let close = rest.iter().take(9).position(|&b| b == b'}')?;
    let name = &rest[..close];
    let d = MP_DIGESTS
        .into_iter()
        .find(|d| d.name().as_bytes() == name)?;
    Some((d, &rest[close + 1..]))
}

/// Is `reply` a correct answer, made with `key`, to the challenge payload
/// `own` (the bytes after `#CHALLENGE#`)? Either a raw 16-byte HMAC-MD5
/// (legacy; only with `allow_md5`) or `{name}` and HMAC-name over `own`.
/// Returns the digest and whether the reply was legacy.
pub fn mp_reply_ok(
    key: &[u8],
    own: &[u8],
    reply: &[u8],
    allow_md5: bool,
) -> Option<(Digest, bool)> {
    if reply.len() == 16 {
        return (allow_md5 && reply == hmac(Digest::Md5, key, own)).then_some((Digest::Md5, true));
    }
    let (d, tag) = named(reply)?;
    if d == Digest::Md5 && !allow_md5 {
        return None;
    }
    (tag == hmac(d, key, own)).then_some((d, false))
}

/// The reply an honest CPython 3.12+ peer sends to challenge payload
/// `challenge`: raw HMAC-MD5 for a 20-byte (legacy) challenge, else `{name}`
/// and HMAC-name over the whole payload. `None` when it would refuse it.
pub fn mp_honest_reply(key: &[u8], challenge: &[u8], allow_md5: bool) -> Option<Vec<u8>> {
    if challenge.len() == 20 {
        return allow_md5.then(|| hmac(Digest::Md5, key, challenge));
    }
    let (d, _) = named(challenge)?;
    if d == Digest::Md5 && !allow_md5 {
        return None;
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"{");
    out.extend_from_slice(d.name().as_bytes());
    out.extend_from_slice(b"}");
    out.extend_from_slice(&hmac(d, key, challenge));
    Some(out)
}
