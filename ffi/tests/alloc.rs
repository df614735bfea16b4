//! "No allocation per handshake beyond the handle": a counting allocator
//! sees exactly one allocation (the `hh_handshake` box) from
//! `hh_handshake_new` to `hh_handshake_free`, whole handshakes of every
//! profile and role included, native sessions and exports too (once a
//! thread has made its first handshake: arc-swap registers each thread once).
//! Counted per thread, so that the harness's own threads do not count.

mod common;

use common::*;
use hmac_handshake_ffi::error::HH_OK;
use hmac_handshake_ffi::settings::*;

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

/// Allocations made by `f` on this thread.
fn count(f: impl FnOnce()) -> usize {
    counting_alloc::allocations_in(f).1
}

/// Moves bytes between the two sides through fixed buffers (no Vec), and
/// finishes both: allocation-free but for the machines' own.
fn handshake(server: &Config, client: &Config, session: bool) {
    let (s, c) = (Hs::new(server), Hs::new(client));
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        for (from, to) in [(&s, &c), (&c, &s)] {
            let mut data = std::ptr::null();
            let mut len = 0;
            // SAFETY: live handshakes, writable outs; `len` bytes at `data`.
            unsafe {
                assert_eq!(
                    hmac_handshake_ffi::handshake::hh_handshake_pending_output(
                        from.0, &mut data, &mut len
                    ),
                    HH_OK
                );
                if len > 0 {
                    buf[..len].copy_from_slice(std::slice::from_raw_parts(data, len));
                }
            }
            if len > 0 {
                assert_eq!(from.sent(len), HH_OK);
                assert_eq!(to.receive(&buf[..len]), (len, HH_OK));
            }
        }
    }
    assert!(s.finish().is_ok() && c.finish().is_ok());
    if session {
        assert!(s.session().is_ok());
        let mut out = [0u8; 32];
        // SAFETY: a finished handshake, readable label, writable out.
        let rc = unsafe {
            hmac_handshake_ffi::outcome::hh_handshake_export(
                c.0,
                b"l".as_ptr(),
                1,
                std::ptr::null(),
                0,
                out.as_mut_ptr(),
                32,
            )
        };
        assert_eq!(rc, HH_OK);
    }
}

#[test]
fn one_allocation_per_handshake_the_handle() {
    let secret = [9u8; 32];
    let mut configs = Vec::new();
    for (profile, digest, flags) in [
        (HH_PROFILE_RECIPE, 0, 0),
        (HH_PROFILE_MULTIPROCESSING, 0, 0),
        (
            HH_PROFILE_MULTIPROCESSING,
            HH_DIGEST_LEGACY,
            HH_FLAG_ALLOW_MD5,
        ),
    ] {
        let mut s = settings(profile, HH_ROLE_SERVER);
        s.digest = digest;
        s.flags = flags;
        let server = secret_config(&s, &secret).unwrap();
        s.role = HH_ROLE_CLIENT;
        configs.push((server, secret_config(&s, &secret).unwrap(), false));
    }
    for fs in [HH_FORWARD_SECRECY_OFF, HH_FORWARD_SECRECY_REQUIRED] {
        let key = native_key(b"k1", &secret, HH_SUITE_HMAC_SHA512);
        let mut s = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
        s.forward_secrecy = fs;
        let server = native_config(&s, &[key]).unwrap();
        s.role = HH_ROLE_CLIENT;
        configs.push((server, native_config(&s, &[key]).unwrap(), true));
    }
    for (i, (server, client, session)) in configs.iter().enumerate() {
        // The first handshake of a thread also registers it with arc-swap
        // (a node per thread, once: the keys' atomic pointer).
        let first = count(|| handshake(server, client, *session));
        assert!(first == 2 || (i == 0 && first <= 4), "{i}: {first}");
        // Then two handshakes (server and client): two handles, nothing else.
        for _ in 0..3 {
            assert_eq!(count(|| handshake(server, client, *session)), 2, "{i}");
        }
    }
    // The counter counts: a config is an allocation or more.
    assert!(
        count(|| drop(secret_config(
            &settings(HH_PROFILE_RECIPE, HH_ROLE_SERVER),
            &secret
        ))) >= 1
    );
}
