//! Every profile and role through the C functions: both sides authenticate,
//! the outcome says what ran, the native sessions agree, and the bytes are
//! the Rust crate's own for the same randomness.

mod common;

use std::sync::Arc;

use common::*;
use hmac_handshake::native::{self, ForwardSecrecy, NativeKey, Suite};
use hmac_handshake::{multiprocessing, recipe, ClientHandshake, Handshake, Key, ServerHandshake};
use hmac_handshake_ffi::error::*;
use hmac_handshake_ffi::handshake::*;
use hmac_handshake_ffi::outcome::*;
use hmac_handshake_ffi::settings::*;

const SECRET: &[u8] = b"a shared secret of 32 bytes, ok.";

/// A server and a client config for the recipe or multiprocessing profile.
fn secret_pair(profile: u32, digest: u32, flags: u32) -> (Config, Config) {
    let mut s = settings(profile, HH_ROLE_SERVER);
    s.digest = digest;
    s.flags = flags;
    let server = secret_config(&s, SECRET).unwrap();
    s.role = HH_ROLE_CLIENT;
    let client = secret_config(&s, SECRET).unwrap();
    (server, client)
}

fn run(server: &Config, client: &Config, chunk: usize) -> (hh_outcome, hh_outcome, Hs, Hs) {
    let (s, c) = (Hs::new(server), Hs::new(client));
    let (_, rs, rc) = drive(&s, &c, chunk);
    assert_eq!((rs, rc), (HH_OK, HH_OK));
    assert_eq!(s.status().0, HH_STATUS_DONE);
    assert_eq!(c.status().0, HH_STATUS_DONE);
    let (so, co) = (s.finish().unwrap(), c.finish().unwrap());
    assert_eq!(s.status(), (HH_STATUS_FINISHED, HH_OK));
    (so, co, s, c)
}

#[test]
fn recipe_both_digests() {
    for (digest, expect) in [
        (HH_DIGEST_DEFAULT, HH_DIGEST_SHA256),
        (HH_DIGEST_MD5, HH_DIGEST_MD5),
    ] {
        let (server, client) = secret_pair(HH_PROFILE_RECIPE, digest, 0);
        for chunk in [1, 7, 4096] {
            let (so, co, s, _) = run(&server, &client, chunk);
            assert_eq!((so.profile, so.digest), (HH_PROFILE_RECIPE, expect));
            assert!(so.peer_authenticated && !co.peer_authenticated);
            assert_eq!(so.confirmation, HH_CONFIRMATION_NOT_APPLICABLE);
            assert_eq!(co.confirmation, HH_CONFIRMATION_UNKNOWN);
            assert_eq!(so.consumed, if expect == HH_DIGEST_MD5 { 16 } else { 32 });
            assert_eq!(co.consumed, 32);
            assert!(!so.has_session && so.key_id_len == 0 && so.suite == 0);
            assert_eq!(s.session().unwrap_err(), HH_ERR_NO_SESSION);
        }
    }
}

#[test]
fn multiprocessing_every_generation() {
    // (digest, flags, digest of the reply the server verified, legacy)
    for (digest, flags, expect, legacy) in [
        (HH_DIGEST_DEFAULT, 0, HH_DIGEST_SHA256, false),
        (
            HH_DIGEST_DEFAULT,
            HH_FLAG_ALLOW_MD5,
            HH_DIGEST_SHA256,
            false,
        ),
        (HH_DIGEST_SHA3_384, 0, HH_DIGEST_SHA3_384, false),
        (HH_DIGEST_MD5, HH_FLAG_ALLOW_MD5, HH_DIGEST_MD5, false),
        (HH_DIGEST_LEGACY, HH_FLAG_ALLOW_MD5, HH_DIGEST_MD5, true),
    ] {
        let (server, client) = secret_pair(HH_PROFILE_MULTIPROCESSING, digest, flags);
        let (so, co, _, _) = run(&server, &client, 5);
        for o in [so, co] {
            assert_eq!(
                (o.profile, o.digest, o.legacy),
                (HH_PROFILE_MULTIPROCESSING, expect, legacy)
            );
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, HH_CONFIRMATION_CONFIRMED);
        }
    }
}

#[test]
fn native_every_suite_and_mode() {
    let suites = [
        (HH_SUITE_HMAC_SHA256, HH_DIGEST_SHA256, 32),
        (HH_SUITE_HMAC_SHA384, HH_DIGEST_SHA384, 48),
        (HH_SUITE_HMAC_SHA512, HH_DIGEST_SHA512, 64),
        (HH_SUITE_HMAC_SHA3_256, HH_DIGEST_SHA3_256, 32),
    ];
    for (suite, digest, len) in suites {
        for (fs_server, fs_client, fs) in [
            (HH_FORWARD_SECRECY_OFF, HH_FORWARD_SECRECY_OFF, false),
            (HH_FORWARD_SECRECY_OFFERED, HH_FORWARD_SECRECY_OFFERED, true),
            (
                HH_FORWARD_SECRECY_REQUIRED,
                HH_FORWARD_SECRECY_OFFERED,
                true,
            ),
        ] {
            let mut s = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
            s.context = b"ffi-tests/v1".as_ptr();
            s.context_len = 12;
            s.server_name = b"node-a".as_ptr();
            s.server_name_len = 6;
            s.forward_secrecy = fs_server;
            let ring = [
                native_key(b"2026-11", SECRET, suite),
                native_key(b"2026-12", &SECRET[1..], suite),
            ];
            let server = native_config(&s, &ring).unwrap();
            s.role = HH_ROLE_CLIENT;
            s.forward_secrecy = fs_client;
            // The client holds a key of another suite too: the server's picks.
            let other = if suite == HH_SUITE_HMAC_SHA256 {
                HH_SUITE_HMAC_SHA512
            } else {
                HH_SUITE_HMAC_SHA256
            };
            let keys = [
                native_key(b"other", &[7; 32], other),
                native_key(b"2026-12", &SECRET[1..], suite),
            ];
            let client = native_config(&s, &keys).unwrap();
            let (so, co, sh, ch) = run(&server, &client, 3);
            for o in [so, co] {
                assert_eq!(
                    (o.profile, o.suite, o.digest),
                    (HH_PROFILE_NATIVE, suite, digest)
                );
                assert_eq!(&o.key_id[..usize::from(o.key_id_len)], b"2026-12");
                assert!(o.key_id[7..].iter().all(|&b| b == 0));
                assert!(o.peer_authenticated && o.has_session);
            }
            assert_eq!(so.confirmation, HH_CONFIRMATION_UNKNOWN);
            assert_eq!(co.confirmation, HH_CONFIRMATION_CONFIRMED);
            assert_eq!(
                (so.reserved, co.reserved),
                ([0; 4], [0; 4]),
                "written as zeros"
            );
            let (a, b) = (sh.session().unwrap(), ch.session().unwrap());
            assert_eq!(a.reserved, [0; 3]);
            assert_eq!((a.suite, a.len, a.forward_secrecy), (suite, len, fs));
            assert_eq!(a.handshake_hash, b.handshake_hash);
            assert_eq!(a.client_to_server_key, b.client_to_server_key);
            assert_eq!(a.server_to_client_key, b.server_to_client_key);
            assert_ne!(a.client_to_server_key, a.server_to_client_key);
            assert!(a.handshake_hash[len..].iter().all(|&x| x == 0));
            assert!(a.client_to_server_key[..len].iter().any(|&x| x != 0));
            let e = sh.export(b"label", b"ctx", 40).unwrap();
            assert_eq!(e, ch.export(b"label", b"ctx", 40).unwrap());
            assert_ne!(e, ch.export(b"label", b"ctx2", 40).unwrap());
            // The session is derived once and stays.
            assert_eq!(sh.session().unwrap().handshake_hash, a.handshake_hash);
        }
    }
}

#[test]
fn the_bytes_are_the_crates_for_the_same_randomness() {
    let random: Vec<u8> = (0..64u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    // recipe
    let (server, client) = secret_pair(HH_PROFILE_RECIPE, HH_DIGEST_DEFAULT, 0);
    let key = Arc::new(Key::new(SECRET));
    let ffi = drive(
        &Hs::pinned(&server, &random[..32]).unwrap(),
        &Hs::pinned(&client, &[]).unwrap(),
        64,
    )
    .0;
    let rust = rust_transcript(
        ServerHandshake::with_pinned_random(
            Arc::clone(&key),
            recipe::Config::default(),
            random[..32].try_into().unwrap(),
        ),
        ClientHandshake::with_pinned_random(Arc::clone(&key), recipe::Config::default(), &[]),
    );
    assert_eq!(ffi, rust);
    assert_eq!(ffi[0].1, random[..32]);
    // multiprocessing, with MD5 allowed
    let (server, client) = secret_pair(
        HH_PROFILE_MULTIPROCESSING,
        HH_DIGEST_DEFAULT,
        HH_FLAG_ALLOW_MD5,
    );
    let ffi = drive(
        &Hs::pinned(&server, &random[..40]).unwrap(),
        &Hs::pinned(&client, &random[24..64]).unwrap(),
        64,
    )
    .0;
    let c = multiprocessing::Config::with_md5();
    let rust = rust_transcript(
        ServerHandshake::with_pinned_random(Arc::clone(&key), c, random[..40].try_into().unwrap()),
        ClientHandshake::with_pinned_random(
            Arc::clone(&key),
            c,
            random[24..64].try_into().unwrap(),
        ),
    );
    assert_eq!(ffi, rust);
    assert_eq!(ffi.len(), 6);
    // native, forward secrecy offered
    let mut s = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    s.forward_secrecy = HH_FORWARD_SECRECY_OFFERED;
    let server = native_config(&s, &[native_key(b"k1", SECRET, HH_SUITE_HMAC_SHA384)]).unwrap();
    s.role = HH_ROLE_CLIENT;
    let client = native_config(&s, &[native_key(b"k1", SECRET, HH_SUITE_HMAC_SHA384)]).unwrap();
    let client_random: Vec<u8> = random.iter().rev().copied().collect();
    let ffi = drive(
        &Hs::pinned(&server, &random).unwrap(),
        &Hs::pinned(&client, &client_random).unwrap(),
        64,
    )
    .0;
    let c = native::Config::default().with_forward_secrecy(ForwardSecrecy::Offered);
    let nk = || NativeKey::new(b"k1", SECRET, Suite::HmacSha384).unwrap();
    let rust = rust_transcript(
        ServerHandshake::with_pinned_random(nk(), c, random[..].try_into().unwrap()),
        ClientHandshake::with_pinned_random(nk(), c, client_random[..].try_into().unwrap()),
    );
    assert_eq!(ffi, rust);
    assert_eq!(ffi.len(), 3);
}

/// The transcript of two Rust machines, whole messages.
fn rust_transcript(mut server: impl Handshake, mut client: impl Handshake) -> Transcript {
    let mut t = Transcript::new();
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        let n = server.write_output(&mut buf);
        if n > 0 {
            t.push((true, buf[..n].to_vec()));
            assert_eq!(client.receive(&buf[..n]), n);
        }
        let n = client.write_output(&mut buf);
        if n > 0 {
            t.push((false, buf[..n].to_vec()));
            assert_eq!(server.receive(&buf[..n]), n);
        }
    }
    t
}

#[test]
fn a_wrong_key_fails_both_sides_with_the_peer_error() {
    for profile in [HH_PROFILE_MULTIPROCESSING, HH_PROFILE_RECIPE] {
        let server = secret_config(&settings(profile, HH_ROLE_SERVER), SECRET).unwrap();
        let client = secret_config(&settings(profile, HH_ROLE_CLIENT), b"another key").unwrap();
        let (s, c) = (Hs::new(&server), Hs::new(&client));
        let (_, rs, rc) = drive(&s, &c, 9);
        assert_eq!(rs, HH_ERR_BAD_TAG);
        assert_eq!(s.status(), (HH_STATUS_FAILED, HH_ERR_BAD_TAG));
        assert_eq!(s.finish().unwrap_err(), HH_ERR_BAD_TAG);
        assert_eq!(s.status(), (HH_STATUS_FINISHED, HH_ERR_BAD_TAG));
        assert_eq!(s.session().unwrap_err(), HH_ERR_NO_SESSION);
        if profile == HH_PROFILE_MULTIPROCESSING {
            // #FAILURE# reached the client.
            assert_eq!(rc, HH_ERR_PEER_REJECTED);
        } else {
            // The recipe's client learns nothing from the handshake.
            assert_eq!((rc, c.status().0), (HH_OK, HH_STATUS_DONE));
        }
    }
    let mut st = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    let server = native_config(&st, &[native_key(b"k1", SECRET, HH_SUITE_HMAC_SHA256)]).unwrap();
    st.role = HH_ROLE_CLIENT;
    let client = native_config(&st, &[native_key(b"k2", SECRET, HH_SUITE_HMAC_SHA256)]).unwrap();
    let (_, rs, rc) = drive(&Hs::new(&server), &Hs::new(&client), 1);
    assert_eq!((rs, rc), (HH_ERR_UNKNOWN_KEY_ID, HH_ERR_PEER_REJECTED));
}
