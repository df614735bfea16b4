//! A party that holds the PSK and builds native messages itself, per
//! PROTOCOL.md ("Key schedule", "Transcript and tags"), with the hmac, sha2
//! and sha3 crates: no code of the library's machines. It plays a hostile
//! client or server of the forward-secrecy mode, one that sends whatever
//! share it likes (a low-order point, say) under a tag that verifies, so that
//! the peer's check of the X25519 result is what is tested, not its tag
//! check. Included with `#[path]` by `tests/forward_secrecy.rs`, the
//! vector generator `tests/native_vectors_gen/` and the fuzz harness
//! (`fuzz/src/native.rs`, as an oracle), so it needs only hmac, sha2, sha3
//! and the library.
#![allow(dead_code)]

use hmac::{KeyInit, Mac, SimpleHmac};
use hmac_handshake::native::Suite;
use sha2::Digest;

/// `"hmac-handshake v1"`: the HKDF-Extract salt, the transcript's start and
/// the constant of every `HkdfLabel`.
const PROTOCOL: &[u8] = b"hmac-handshake v1";

/// Runs `$body` with `$d` the type of the suite's hash `H`.
macro_rules! with_hash {
    ($suite:expr, $d:ident => $body:expr) => {
        match $suite {
            Suite::HmacSha256 => {
                type $d = sha2::Sha256;
                $body
            }
            Suite::HmacSha384 => {
                type $d = sha2::Sha384;
                $body
            }
            Suite::HmacSha512 => {
                type $d = sha2::Sha512;
                $body
            }
            Suite::HmacSha3_256 => {
                type $d = sha3::Sha3_256;
                $body
            }
            other => panic!("no hash for {other}"),
        }
    };
}

/// `H(data)`.
pub fn hash(suite: Suite, data: &[u8]) -> Vec<u8> {
    with_hash!(suite, D => D::digest(data).to_vec())
}

/// `HMAC(key, parts...)` (RFC 2104 with `H`; for SHA3-256 the block size
/// is the sponge rate, as `SimpleHmac` takes it from the hash).
pub fn hmac(suite: Suite, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    with_hash!(suite, D => {
        let mut mac = <SimpleHmac<D> as KeyInit>::new_from_slice(key).unwrap();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    })
}

/// RFC 5869 HKDF-Expand, written out.
fn hkdf_expand(suite: Suite, prk: &[u8], info: &[u8], n: usize) -> Vec<u8> {
    let (mut out, mut t) = (Vec::new(), Vec::new());
    let mut i = 1u8;
    while out.len() < n {
        t = hmac(suite, prk, &[&t, info, &[i]]);
        out.extend_from_slice(&t);
        i += 1;
    }
    out.truncate(n);
    out
}

/// `Expand(secret, label, context, n)` with PROTOCOL.md's `HkdfLabel`.
pub fn expand(suite: Suite, secret: &[u8], label: &[u8], context: &[u8], n: usize) -> Vec<u8> {
    let mut info = (n as u16).to_be_bytes().to_vec();
    info.extend_from_slice(PROTOCOL);
    info.push(suite.id());
    info.push(label.len() as u8);
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    hkdf_expand(suite, secret, &info, n)
}

/// A holder of one PSK, with the context and server name it passes.
pub struct KeyHolder {
    suite: Suite,
    client_key: Vec<u8>,
    server_key: Vec<u8>,
    /// `"hmac-handshake v1" || H(context) || H(server_name)`.
    prefix: Vec<u8>,
}

impl KeyHolder {
    pub fn new(suite: Suite, psk: &[u8], context: &[u8], server_name: &[u8]) -> KeyHolder {
        let l = suite.mac_len();
        // PRK = HKDF-Extract(salt = "hmac-handshake v1", ikm = PSK).
        let prk = hmac(suite, PROTOCOL, &[psk]);
        let mut prefix = PROTOCOL.to_vec();
        prefix.extend_from_slice(&hash(suite, context));
        prefix.extend_from_slice(&hash(suite, server_name));
        KeyHolder {
            suite,
            client_key: expand(suite, &prk, b"client key", b"", l),
            server_key: expand(suite, &prk, b"server key", b"", l),
            prefix,
        }
    }

    /// A `ClientProof` answering `hello` (as this party received it):
    /// type `0x04` with `share`, or `0x02` without, and a `client_tag`
    /// that verifies over `T1`.
    pub fn client_proof(
        &self,
        hello: &[u8],
        key_id: &[u8],
        nonce: &[u8; 32],
        share: Option<&[u8; 32]>,
    ) -> Vec<u8> {
        let mut head = vec![if share.is_some() { 0x04 } else { 0x02 }];
        head.push(key_id.len() as u8);
        head.extend_from_slice(key_id);
        head.extend_from_slice(nonce);
        if let Some(share) = share {
            head.extend_from_slice(share);
        }
        let th1 = hash(self.suite, &[&self.prefix[..], hello, &head].concat());
        let tag = hmac(self.suite, &self.client_key, &[b"client proof", &th1]);
        [head, tag].concat()
    }

    /// An accepting `ServerFinish` after `hello` and `proof` (as they
    /// travelled): `03 00 [|| share] || server_tag`, the tag verifying over
    /// `T2 = T1 || client_tag || 03 00 [|| share]`.
    pub fn server_finish(&self, hello: &[u8], proof: &[u8], share: Option<&[u8; 32]>) -> Vec<u8> {
        let mut head = vec![0x03, 0x00];
        if let Some(share) = share {
            head.extend_from_slice(share);
        }
        let th2 = hash(
            self.suite,
            &[&self.prefix[..], hello, proof, &head].concat(),
        );
        let tag = hmac(self.suite, &self.server_key, &[b"server finish", &th2]);
        [head, tag].concat()
    }
}

/// 32 bytes from their hex (a u-coordinate, little-endian as it travels).
fn le(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// X25519 shares whose X25519 with any secret is all zeros (RFC 7748
/// section 6.1; the list of Wycheproof's x25519 "LowOrderPublic" tests):
/// the points of order 1, 2, 4 and 8 on the curve and its twist, each
/// canonical, non-canonical (`p` and `p + 1`, which are 0 and 1 mod p),
/// and with bit 255 set (which X25519 masks, RFC 7748 section 5,
/// `decodeUCoordinate`). A name and the 32 bytes of each.
pub fn low_order_shares() -> Vec<(&'static str, [u8; 32])> {
    let top = |mut b: [u8; 32]| {
        b[31] |= 0x80;
        b
    };
    let base: [(&str, [u8; 32]); 7] = [
        ("0", [0; 32]),
        ("1", {
            let mut b = [0; 32];
            b[0] = 1;
            b
        }),
        (
            "325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)",
            le("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        ),
        (
            "39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)",
            le("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        ),
        (
            "p - 1",
            le("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ),
        (
            "p (0, non-canonical)",
            le("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ),
        (
            "p + 1 (1, non-canonical)",
            le("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ),
    ];
    let mut out: Vec<(&'static str, [u8; 32])> = base.to_vec();
    let with_top: [&'static str; 7] = [
        "0 with bit 255 set",
        "1 with bit 255 set",
        "the first order-8 point with bit 255 set",
        "the second order-8 point with bit 255 set",
        "p - 1 with bit 255 set",
        "p with bit 255 set",
        "p + 1 with bit 255 set",
    ];
    for ((_, b), name) in base.iter().zip(with_top) {
        out.push((name, top(*b)));
    }
    out
}
