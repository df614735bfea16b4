//! Key schedules leave none of their temporaries on the dead stack: after
//! `Key::new` and `NativeKey::new` return, a probe frame reads the stack
//! below the caller (where their callees ran) and looks for any 16-byte
//! run of the secret and of the values derived from it that only
//! temporaries hold: the key itself, `K XOR ipad` and `K XOR opad`, and
//! `K' XOR ipad` / `K' XOR opad` with `K' = H(K)` (the key is longer than
//! every block, so each digest hashes it first, RFC 2104 section 2), the
//! native PRK and its pads.
//!
//! Not looked for: `K' XOR opad` of SHA-3, which a live `Key` holds
//! (`hmac`'s `SimpleHmac`), and `PRK XOR opad` of the SHA3-256 suite,
//! which a live `NativeKey` holds: every moved copy of the returned value
//! has it (README, "Assurance").
//!
//! The probe reads memory no Rust value owns (stale stack), so it is not
//! something Rust defines; it is kept out of Miri and reads with
//! `read_volatile` so the compiler does not assume the bytes.

use std::mem::MaybeUninit;

use hmac::{KeyInit, Mac, SimpleHmac};
use hmac_handshake::native::{NativeKey, Suite};
use hmac_handshake::Key;
use sha2::Digest as _;

/// How much stack the probe reads below its caller: more than the scrub
/// covers, so that a scrub too short shows.
const PROBE: usize = 64 * 1024;

/// For each pattern, the number of places in the stale stack below the
/// caller that hold one of its 16-byte runs (runs of one repeated byte,
/// the pads' tails, are not secret and not looked for).
#[inline(never)]
fn probe(patterns: &[(&str, Vec<u8>)]) -> Vec<(String, usize)> {
    let mut area = MaybeUninit::<[u8; PROBE]>::uninit();
    let at = area.as_mut_ptr().cast::<u8>().cast_const();
    // SAFETY: `at` points to PROBE bytes of this frame; they are read as
    // they are (stale), never as a Rust value of their own.
    let stack: Vec<u8> = (0..PROBE)
        .map(|i| unsafe { core::ptr::read_volatile(at.add(i)) })
        .collect();
    patterns
        .iter()
        .map(|(name, pattern)| {
            let runs: Vec<&[u8]> = pattern
                .windows(16)
                .filter(|run| run.iter().any(|&b| b != run[0]))
                .collect();
            let n = stack.windows(16).filter(|w| runs.contains(w)).count();
            (name.to_string(), n)
        })
        .collect()
}

fn xor(bytes: &[u8], pad: u8) -> Vec<u8> {
    bytes.iter().map(|b| b ^ pad).collect()
}

#[inline(never)]
fn build_key(secret: &[u8]) -> Box<Key> {
    Box::new(Key::new(secret))
}

#[inline(never)]
fn build_native_key(secret: &[u8], suite: Suite) -> Box<NativeKey> {
    Box::new(NativeKey::new(b"k1", secret, suite).unwrap())
}

fn assert_clean(what: &str, found: &[(String, usize)]) {
    println!("after {what}: {found:?}");
    for (name, n) in found {
        assert_eq!(*n, 0, "{what} left {name} on the stack {n} times");
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads stale stack, which Miri rightly refuses")]
fn key_schedules_leave_no_temporaries_on_the_stack() {
    // 200 bytes: longer than every block (136 at most), so each digest
    // hashes it first.
    let secret: [u8; 200] = core::array::from_fn(|i| 0xa0 ^ (i as u8).wrapping_mul(37) ^ 0x11);
    let sha256 = sha2::Sha256::digest(secret).to_vec();
    let sha512 = sha2::Sha512::digest(secret).to_vec();
    let sha3 = sha3::Sha3_256::digest(secret).to_vec();
    let key_patterns = [
        ("the key", secret.to_vec()),
        ("K xor ipad", xor(&secret, 0x36)),
        ("K xor opad", xor(&secret, 0x5c)),
        ("H(K) xor ipad (SHA-256)", xor(&sha256, 0x36)),
        ("H(K) xor opad (SHA-256)", xor(&sha256, 0x5c)),
        ("H(K) xor ipad (SHA-512)", xor(&sha512, 0x36)),
        ("H(K) xor opad (SHA-512)", xor(&sha512, 0x5c)),
        ("H(K) xor ipad (SHA3-256)", xor(&sha3, 0x36)),
    ];
    let key = build_key(&secret);
    assert_clean("Key::new", &probe(&key_patterns));
    drop(key);

    for suite in Suite::ALL {
        let prk = prk_of(suite, &secret);
        let mut native_patterns = vec![
            ("the key", secret.to_vec()),
            ("the PRK", prk.clone()),
            ("PRK xor ipad", xor(&prk, 0x36)),
        ];
        // SHA3-256's PRK state is a `SimpleHmac`, which holds `PRK XOR
        // opad`: every moved copy of the returned key has it, as a `Key`
        // has its SHA-3 `K XOR opad`.
        if suite != Suite::HmacSha3_256 {
            native_patterns.push(("PRK xor opad", xor(&prk, 0x5c)));
        }
        let native = build_native_key(&secret, suite);
        assert_clean(
            &format!("NativeKey::new ({suite})"),
            &probe(&native_patterns),
        );
        drop(native);
    }
}

/// PROTOCOL.md "Key schedule": `PRK = HKDF-Extract("hmac-handshake v1", PSK)`,
/// that is `HMAC(salt, PSK)` (RFC 5869 section 2.2), with `hmac` directly.
fn prk_of(suite: Suite, psk: &[u8]) -> Vec<u8> {
    fn prk<D: hmac::digest::Digest + hmac::digest::block_api::BlockSizeUser + Clone>(
        psk: &[u8],
    ) -> Vec<u8> {
        let mut mac = SimpleHmac::<D>::new_from_slice(b"hmac-handshake v1").unwrap();
        mac.update(psk);
        mac.finalize().into_bytes().to_vec()
    }
    match suite {
        Suite::HmacSha256 => prk::<sha2::Sha256>(psk),
        Suite::HmacSha384 => prk::<sha2::Sha384>(psk),
        Suite::HmacSha512 => prk::<sha2::Sha512>(psk),
        _ => prk::<sha3::Sha3_256>(psk),
    }
}
