//! The C functions given what a careless or hostile caller gives: NULL
//! pointers, wrong `struct_size`s, misaligned structs, values no constant
//! names, settings of another profile, calls out of order or after
//! finish. Each is a clear error number, never a crash, and changes
//! nothing it should not. Runs under Miri too (`ffi/ci.sh miri`).

mod common;

use std::ptr::{null, null_mut};

use common::*;
use hmac_handshake_ffi::config::*;
use hmac_handshake_ffi::error::*;
use hmac_handshake_ffi::handshake::*;
use hmac_handshake_ffi::outcome::*;
use hmac_handshake_ffi::settings::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn mp_pair() -> (Config, Config) {
    let server = secret_config(
        &settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER),
        SECRET,
    )
    .unwrap();
    let client = secret_config(
        &settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_CLIENT),
        SECRET,
    )
    .unwrap();
    (server, client)
}

#[test]
fn null_pointers() {
    let (server, _) = mp_pair();
    let s = settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER);
    let mut out = null_mut();
    // SAFETY (every call below): the pointers are valid or NULL, which the
    // functions must refuse.
    unsafe {
        assert_eq!(
            hh_config_new(null(), SECRET.as_ptr(), 32, &mut out),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(hh_config_new(&s, null(), 32, &mut out), HH_ERR_NULL_POINTER);
        assert_eq!(
            hh_config_new(&s, SECRET.as_ptr(), 32, null_mut()),
            HH_ERR_NULL_POINTER
        );
        assert!(out.is_null());
        let ns = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
        assert_eq!(
            hh_config_new_native(&ns, null(), 1, &mut out),
            HH_ERR_NULL_POINTER
        );
        let no_id = hh_native_key {
            key_id: null(),
            ..native_key(b"k", SECRET, HH_SUITE_HMAC_SHA256)
        };
        assert_eq!(
            hh_config_new_native(&ns, &no_id, 1, &mut out),
            HH_ERR_NULL_POINTER
        );
        let mut ctx = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
        ctx.context_len = 4;
        let k = native_key(b"k", SECRET, HH_SUITE_HMAC_SHA256);
        assert_eq!(
            hh_config_new_native(&ctx, &k, 1, &mut out),
            HH_ERR_NULL_POINTER
        );
        assert!(out.is_null());
        assert_eq!(
            hh_config_replace_secret(null(), SECRET.as_ptr(), 32),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(hh_config_replace_keys(null(), &k, 1), HH_ERR_NULL_POINTER);
        let mut len = 0;
        assert_eq!(hh_config_random_len(null(), &mut len), HH_ERR_NULL_POINTER);
        assert_eq!(
            hh_config_random_len(server.0, null_mut()),
            HH_ERR_NULL_POINTER
        );
        let mut h = null_mut();
        assert_eq!(hh_handshake_new(null(), &mut h), HH_ERR_NULL_POINTER);
        assert_eq!(hh_handshake_new(server.0, null_mut()), HH_ERR_NULL_POINTER);
        assert_eq!(
            hh_handshake_new_pinned(server.0, null(), 40, &mut h),
            HH_ERR_NULL_POINTER
        );
        assert!(h.is_null());

        let hs = Hs::new(&server);
        let mut st = 0;
        assert_eq!(hh_handshake_status(null(), &mut st), HH_ERR_NULL_POINTER);
        assert_eq!(hh_handshake_status(hs.0, null_mut()), HH_ERR_NULL_POINTER);
        let (mut data, mut n) = (null(), 0usize);
        assert_eq!(
            hh_handshake_pending_output(null(), &mut data, &mut n),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(
            hh_handshake_pending_output(hs.0, null_mut(), &mut n),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(
            hh_handshake_pending_output(hs.0, &mut data, null_mut()),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(hh_handshake_sent(null_mut(), 1), HH_ERR_NULL_POINTER);
        let mut consumed = 7;
        assert_eq!(
            hh_handshake_receive(null_mut(), b"x".as_ptr(), 1, &mut consumed),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(consumed, 0, "consumed is written first");
        assert_eq!(
            hh_handshake_receive(hs.0, b"x".as_ptr(), 1, null_mut()),
            HH_ERR_NULL_POINTER
        );
        let mut b = false;
        assert_eq!(
            hh_handshake_peer_verified(null(), &mut b),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(
            hh_handshake_may_send_application_data(hs.0, null_mut()),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(
            hh_handshake_finish(null_mut(), null_mut()),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(hh_handshake_session(hs.0, null_mut()), HH_ERR_NULL_POINTER);
        let mut e = [0u8; 8];
        assert_eq!(
            hh_handshake_export(hs.0, null(), 3, null(), 0, e.as_mut_ptr(), 8),
            HH_ERR_NULL_POINTER
        );
        assert_eq!(
            hh_handshake_export(hs.0, null(), 0, null(), 0, null_mut(), 8),
            HH_ERR_NULL_POINTER
        );
        // Nothing above changed the handshake: the challenge is still pending.
        assert_eq!(hs.status(), (HH_STATUS_SEND, HH_OK));
        // NULL is no handle to free.
        hh_handshake_free(null_mut());
        hh_config_free(null_mut());
        // A NULL byte pointer is fine with length 0.
        assert_eq!(
            hh_handshake_receive(hs.0, null(), 0, &mut consumed),
            HH_ERR_WRONG_STATE
        );
    }
}

#[test]
fn wrong_struct_sizes() {
    let (server, client) = mp_pair();
    let mut out = null_mut();
    for size in [
        0,
        8,
        size_of::<hh_settings>() - 1,
        size_of::<hh_settings>() + 8,
        usize::MAX,
    ] {
        let s = hh_settings {
            struct_size: size,
            ..settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER)
        };
        // SAFETY: a whole hh_settings behind the pointer.
        assert_eq!(
            unsafe { hh_config_new(&s, SECRET.as_ptr(), 32, &mut out) },
            HH_ERR_STRUCT_SIZE,
            "{size}"
        );
    }
    // A caller built against a smaller struct: only its first size_t is read.
    let short: usize = 16;
    // SAFETY: one readable size_t, which is all a wrong size lets it read.
    let rc = unsafe {
        hh_config_new(
            (&short as *const usize).cast(),
            SECRET.as_ptr(),
            32,
            &mut out,
        )
    };
    assert_eq!(rc, HH_ERR_STRUCT_SIZE);
    let ns = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    let keys = [
        native_key(b"a", SECRET, HH_SUITE_HMAC_SHA256),
        hh_native_key {
            struct_size: 3,
            ..native_key(b"b", SECRET, HH_SUITE_HMAC_SHA256)
        },
    ];
    // SAFETY: two whole keys.
    assert_eq!(
        unsafe { hh_config_new_native(&ns, keys.as_ptr(), 2, &mut out) },
        HH_ERR_STRUCT_SIZE
    );
    assert!(out.is_null());
    // Outcome and session structs.
    let (s, c) = (Hs::new(&server), Hs::new(&client));
    assert_eq!(drive(&s, &c, 100).1, HH_OK);
    let mut o = empty_outcome();
    o.struct_size -= 1;
    // SAFETY: a whole hh_outcome.
    assert_eq!(
        unsafe { hh_handshake_finish(s.0, &mut o) },
        HH_ERR_STRUCT_SIZE
    );
    assert_eq!(
        s.status().0,
        HH_STATUS_DONE,
        "a refused finish changes nothing"
    );
    assert_eq!(o.profile, 0, "nothing written");
    assert!(s.finish().is_ok());
    let mut ses = empty_session();
    ses.struct_size = 0;
    // SAFETY: a whole hh_session.
    assert_eq!(
        unsafe { hh_handshake_session(s.0, &mut ses) },
        HH_ERR_STRUCT_SIZE
    );
}

#[test]
fn misaligned_structs() {
    let (server, _) = mp_pair();
    // A settings struct one byte off its alignment, inside a big buffer.
    let mut buf = vec![0u64; 32];
    let base = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: inside `buf`.
    let odd = unsafe { base.add(1) };
    let mut out = null_mut();
    // SAFETY: readable bytes behind it; the function must refuse the alignment.
    let rc = unsafe { hh_config_new(odd.cast::<hh_settings>(), SECRET.as_ptr(), 32, &mut out) };
    assert_eq!(rc, HH_ERR_MISALIGNED);
    let mut len = 0usize;
    // SAFETY: as above, an odd address for a size_t out.
    assert_eq!(
        unsafe { hh_config_random_len(server.0, odd.cast()) },
        HH_ERR_MISALIGNED
    );
    // SAFETY: a misaligned config pointer is refused before use.
    assert_eq!(
        unsafe { hh_config_random_len(odd.cast(), &mut len) },
        HH_ERR_MISALIGNED
    );
}

#[test]
fn values_no_constant_names() {
    let mut out = null_mut();
    let base = settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER);
    let bad = [
        hh_settings { profile: 0, ..base },
        hh_settings { profile: 4, ..base },
        hh_settings {
            profile: u32::MAX,
            ..base
        },
        hh_settings { role: 0, ..base },
        hh_settings { role: 3, ..base },
        hh_settings { digest: 7, ..base },
        hh_settings {
            digest: u32::MAX,
            ..base
        },
        hh_settings { flags: 2, ..base },
        hh_settings {
            flags: HH_FLAG_ALLOW_MD5 | 0x100,
            ..base
        },
        // native-only settings on multiprocessing
        hh_settings {
            forward_secrecy: HH_FORWARD_SECRECY_OFFERED,
            ..base
        },
        hh_settings {
            context: b"x".as_ptr(),
            context_len: 1,
            ..base
        },
        hh_settings {
            server_name: b"x".as_ptr(),
            server_name_len: 1,
            ..base
        },
        // multiprocessing-only settings on the recipe
        hh_settings {
            profile: HH_PROFILE_RECIPE,
            flags: HH_FLAG_ALLOW_MD5,
            ..base
        },
        hh_settings {
            profile: HH_PROFILE_RECIPE,
            digest: HH_DIGEST_LEGACY,
            ..base
        },
        // the native profile through hh_config_new
        hh_settings {
            profile: HH_PROFILE_NATIVE,
            ..base
        },
    ];
    for s in &bad {
        // SAFETY: valid pointers.
        assert_eq!(
            unsafe { hh_config_new(s, SECRET.as_ptr(), 32, &mut out) },
            HH_ERR_INVALID_ARGUMENT,
            "{s:?}"
        );
    }
    // The crate's own refusals keep their numbers.
    for (s, e) in [
        (
            hh_settings {
                digest: HH_DIGEST_SHA512,
                ..base
            },
            HH_ERR_UNSUPPORTED_DIGEST,
        ),
        (
            hh_settings {
                digest: HH_DIGEST_MD5,
                ..base
            },
            HH_ERR_MD5_DISABLED,
        ),
        (
            hh_settings {
                digest: HH_DIGEST_LEGACY,
                ..base
            },
            HH_ERR_MD5_DISABLED,
        ),
    ] {
        // SAFETY: valid pointers.
        assert_eq!(
            unsafe { hh_config_new(&s, SECRET.as_ptr(), 32, &mut out) },
            e,
            "{s:?}"
        );
    }
    // SAFETY: valid pointers.
    assert_eq!(
        unsafe { hh_config_new(&base, SECRET.as_ptr(), 0, &mut out) },
        HH_ERR_EMPTY_KEY
    );
    assert!(out.is_null());

    let ns = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    let k = |id: &'static [u8], secret: &'static [u8], suite| native_key(id, secret, suite);
    let long_id = [b'i'; 33];
    for (s, keys, e) in [
        (
            hh_settings {
                digest: HH_DIGEST_SHA256,
                ..ns
            },
            vec![k(b"a", SECRET, 1)],
            HH_ERR_INVALID_ARGUMENT,
        ),
        (
            hh_settings {
                flags: HH_FLAG_ALLOW_MD5,
                ..ns
            },
            vec![k(b"a", SECRET, 1)],
            HH_ERR_INVALID_ARGUMENT,
        ),
        (
            hh_settings {
                forward_secrecy: 3,
                ..ns
            },
            vec![k(b"a", SECRET, 1)],
            HH_ERR_INVALID_ARGUMENT,
        ),
        (
            hh_settings {
                server_name: [0u8; 256].as_ptr(),
                server_name_len: 256,
                ..ns
            },
            vec![k(b"a", SECRET, 1)],
            HH_ERR_SERVER_NAME_TOO_LONG,
        ),
        (
            hh_settings {
                profile: HH_PROFILE_RECIPE,
                ..ns
            },
            vec![k(b"a", SECRET, 1)],
            HH_ERR_INVALID_ARGUMENT,
        ),
        (ns, vec![k(b"a", SECRET, 0)], HH_ERR_INVALID_ARGUMENT),
        (ns, vec![k(b"a", SECRET, 5)], HH_ERR_INVALID_ARGUMENT),
        (ns, vec![k(b"a", SECRET, 0x101)], HH_ERR_INVALID_ARGUMENT),
        (ns, vec![], HH_ERR_EMPTY_KEYRING),
        (ns, vec![k(b"", SECRET, 1)], HH_ERR_INVALID_KEY_ID),
        (
            ns,
            vec![native_key(&long_id, SECRET, 1)],
            HH_ERR_INVALID_KEY_ID,
        ),
        (ns, vec![k(b"a", &SECRET[..15], 1)], HH_ERR_KEY_TOO_SHORT),
        (
            ns,
            vec![k(b"a", SECRET, 1), k(b"a", SECRET, 1)],
            HH_ERR_DUPLICATE_KEY_ID,
        ),
        (
            ns,
            vec![k(b"a", SECRET, 1), k(b"b", SECRET, 2)],
            HH_ERR_SUITE_MISMATCH,
        ),
        (
            hh_settings {
                role: HH_ROLE_CLIENT,
                ..ns
            },
            vec![k(b"a", SECRET, 1), k(b"b", SECRET, 1)],
            HH_ERR_DUPLICATE_SUITE,
        ),
    ] {
        assert_eq!(native_config(&s, &keys).unwrap_err(), e, "{s:?} {keys:?}");
    }
}

#[test]
fn calls_out_of_order() {
    let (server, client) = mp_pair();
    let (s, c) = (Hs::new(&server), Hs::new(&client));
    // The server's challenge is pending: receiving now is out of order.
    assert_eq!(s.status(), (HH_STATUS_SEND, HH_OK));
    assert_eq!(s.receive(b"abc"), (0, HH_ERR_WRONG_STATE));
    let challenge = s.pending().unwrap();
    assert_eq!(s.sent(challenge.len() + 1), HH_ERR_SENT_TOO_MUCH);
    assert_eq!(
        s.pending().unwrap(),
        challenge,
        "a refused sent changes nothing"
    );
    assert_eq!(s.finish().unwrap_err(), HH_ERR_NOT_FINISHED);
    assert_eq!(s.session().unwrap_err(), HH_ERR_NOT_FINISHED);
    assert_eq!(s.export(b"l", b"", 8).unwrap_err(), HH_ERR_NOT_FINISHED);
    // The client waits: nothing pending, sent(0) is fine, sent(1) is not.
    assert_eq!(c.pending().unwrap(), Vec::<u8>::new());
    assert_eq!(c.sent(0), HH_OK);
    assert_eq!(c.sent(1), HH_ERR_SENT_TOO_MUCH);
    // Partial writes.
    assert_eq!(s.sent(3), HH_OK);
    assert_eq!(s.pending().unwrap(), challenge[3..]);
    assert_eq!(s.sent(challenge.len() - 3), HH_OK);
    let (consumed, rc) = c.receive(&challenge);
    assert_eq!((consumed, rc), (challenge.len(), HH_OK));
    // Finish the handshake, then misuse it.
    assert_eq!(drive(&s, &c, 2).1, HH_OK);
    // At DONE the bytes are the application's.
    assert_eq!(s.receive(b"app"), (0, HH_ERR_WRONG_STATE));
    assert!(s.finish().is_ok());
    assert_eq!(s.finish().unwrap_err(), HH_ERR_FINISHED);
    assert_eq!(s.receive(b"x"), (0, HH_ERR_FINISHED));
    assert_eq!(s.sent(0), HH_ERR_FINISHED);
    assert_eq!(s.pending().unwrap_err(), HH_ERR_FINISHED);
    let mut b = true;
    // SAFETY: a live handshake and a writable bool.
    assert_eq!(
        unsafe { hh_handshake_peer_verified(s.0, &mut b) },
        HH_ERR_FINISHED
    );
    assert_eq!(s.status(), (HH_STATUS_FINISHED, HH_OK));
    assert_eq!(s.session().unwrap_err(), HH_ERR_NO_SESSION);
    // A finish without an outcome pointer is fine.
    // SAFETY: a live handshake; NULL outcome is allowed.
    assert_eq!(unsafe { hh_handshake_finish(c.0, null_mut()) }, HH_OK);
}

#[test]
fn a_failed_handshake_sends_its_failure_then_finishes_with_the_error() {
    let server = secret_config(
        &settings(HH_PROFILE_MULTIPROCESSING, HH_ROLE_SERVER),
        SECRET,
    )
    .unwrap();
    // A 32-byte reply with no {digest} prefix (and not a 16-byte legacy
    // one), framed: a 4-byte length, then the bytes.
    let mut reply = 32u32.to_be_bytes().to_vec();
    reply.extend_from_slice(&[0x55; 32]);
    let failed = || {
        let s = Hs::new(&server);
        let n = s.pending().unwrap().len();
        assert_eq!(s.sent(n), HH_OK);
        // Consumed whole, and the error named at once, with #FAILURE# pending.
        assert_eq!(s.receive(&reply), (36, HH_ERR_UNKNOWN_DIGEST));
        assert_eq!(s.status(), (HH_STATUS_SEND, HH_ERR_UNKNOWN_DIGEST));
        assert_eq!(s.receive(b"more"), (0, HH_ERR_UNKNOWN_DIGEST));
        s
    };
    let s = failed();
    let failure = s.pending().unwrap();
    assert_eq!(&failure[4..], b"#FAILURE#");
    assert_eq!(s.sent(failure.len()), HH_OK);
    assert_eq!(s.status(), (HH_STATUS_FAILED, HH_ERR_UNKNOWN_DIGEST));
    assert_eq!(s.receive(b"more"), (0, HH_ERR_UNKNOWN_DIGEST));
    let mut o = empty_outcome();
    o.profile = 0xdead;
    // SAFETY: a live handshake, a writable outcome.
    assert_eq!(
        unsafe { hh_handshake_finish(s.0, &mut o) },
        HH_ERR_UNKNOWN_DIGEST
    );
    assert_eq!(o.profile, 0xdead, "not written on failure");
    assert_eq!(s.finish().unwrap_err(), HH_ERR_FINISHED);
    assert_eq!(s.status(), (HH_STATUS_FINISHED, HH_ERR_UNKNOWN_DIGEST));
    assert_eq!(s.session().unwrap_err(), HH_ERR_NO_SESSION);
    // A peer that hung up: the failure message need not be sent to finish.
    let s = failed();
    assert_eq!(s.finish().unwrap_err(), HH_ERR_UNKNOWN_DIGEST);
    assert_eq!(s.pending().unwrap_err(), HH_ERR_FINISHED);
}

#[test]
fn pinned_randomness_of_the_wrong_length() {
    let (server, client) = mp_pair();
    let mut len = 0;
    // SAFETY: a live config, a writable size_t.
    assert_eq!(unsafe { hh_config_random_len(server.0, &mut len) }, HH_OK);
    assert_eq!(len, 40);
    for n in [0, 20, 39, 41, 64] {
        assert_eq!(
            Hs::pinned(&client, &vec![1; n]).unwrap_err(),
            HH_ERR_RANDOM_LENGTH,
            "{n}"
        );
    }
    assert!(Hs::pinned(&client, &[1; 40]).is_ok());
    let recipe = secret_config(&settings(HH_PROFILE_RECIPE, HH_ROLE_CLIENT), SECRET).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { hh_config_random_len(recipe.0, &mut len) }, HH_OK);
    assert_eq!(len, 0);
    assert_eq!(Hs::pinned(&recipe, &[1]).unwrap_err(), HH_ERR_RANDOM_LENGTH);
    assert!(Hs::pinned(&recipe, &[]).is_ok());
}

#[test]
fn keys_of_another_kind_and_exports_too_long() {
    let (server, _) = mp_pair();
    let k = native_key(b"a", SECRET, HH_SUITE_HMAC_SHA256);
    // SAFETY: a live config, one readable key.
    assert_eq!(
        unsafe { hh_config_replace_keys(server.0, &k, 1) },
        HH_ERR_WRONG_PROFILE
    );
    let mut ns = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    let native_server = native_config(&ns, &[k]).unwrap();
    // SAFETY: a live config, readable bytes.
    assert_eq!(
        unsafe { hh_config_replace_secret(native_server.0, SECRET.as_ptr(), 32) },
        HH_ERR_WRONG_PROFILE
    );
    // SAFETY: as above: an empty secret is refused, the old one stays.
    assert_eq!(
        unsafe { hh_config_replace_secret(server.0, SECRET.as_ptr(), 0) },
        HH_ERR_EMPTY_KEY
    );
    // A refused ring leaves the old one.
    let two = [k, native_key(b"b", SECRET, HH_SUITE_HMAC_SHA512)];
    // SAFETY: two readable keys.
    assert_eq!(
        unsafe { hh_config_replace_keys(native_server.0, two.as_ptr(), 2) },
        HH_ERR_SUITE_MISMATCH
    );
    ns.role = HH_ROLE_CLIENT;
    let native_client = native_config(&ns, &[k]).unwrap();
    let (s, c) = (Hs::new(&native_server), Hs::new(&native_client));
    assert_eq!(
        drive(&s, &c, 64).1,
        HH_OK,
        "the old ring still authenticates"
    );
    assert!(s.finish().is_ok());
    assert_eq!(
        s.export(&[0; 256], b"", 16).unwrap_err(),
        HH_ERR_EXPORT_TOO_LONG
    );
    assert_eq!(
        s.export(b"l", b"", 255 * 32 + 1).unwrap_err(),
        HH_ERR_EXPORT_TOO_LONG
    );
    assert_eq!(s.export(b"l", b"", 0).unwrap(), Vec::<u8>::new());
}

#[test]
fn bytes_of_a_failed_peer_are_counted() {
    // A native server fed a non-native hello: the bad byte is consumed and
    // named, the rest stays the caller's.
    let mut ns = settings(HH_PROFILE_NATIVE, HH_ROLE_CLIENT);
    ns.forward_secrecy = HH_FORWARD_SECRECY_OFF;
    let client = native_config(&ns, &[native_key(b"a", SECRET, HH_SUITE_HMAC_SHA256)]).unwrap();
    let c = Hs::new(&client);
    let (consumed, rc) = c.receive(b"HTTP/1.1 200 OK\r\n");
    assert_eq!(rc, HH_ERR_NOT_NATIVE);
    assert!((1..=4).contains(&consumed), "{consumed}");
    assert_eq!(c.status(), (HH_STATUS_FAILED, HH_ERR_NOT_NATIVE));
}
