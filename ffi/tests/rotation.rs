//! Keys replaced while handshakes run: a handshake keeps the keys it
//! started with, later ones get the new keys, and freeing the config does
//! not end the handshakes made from it.

mod common;

use common::*;
use hmac_handshake_ffi::config::*;
use hmac_handshake_ffi::error::*;
use hmac_handshake_ffi::settings::*;

const OLD: &[u8] = b"the old secret, 32 bytes long...";
const NEW: &[u8] = b"the new secret, 32 bytes long...";

#[test]
fn a_replaced_secret_applies_to_later_handshakes() {
    for profile in [HH_PROFILE_RECIPE, HH_PROFILE_MULTIPROCESSING] {
        let server = secret_config(&settings(profile, HH_ROLE_SERVER), OLD).unwrap();
        let old_client = secret_config(&settings(profile, HH_ROLE_CLIENT), OLD).unwrap();
        let new_client = secret_config(&settings(profile, HH_ROLE_CLIENT), NEW).unwrap();
        let started = Hs::new(&server);
        // SAFETY: a live config, readable bytes.
        assert_eq!(
            unsafe { hh_config_replace_secret(server.0, NEW.as_ptr(), NEW.len()) },
            HH_OK
        );
        assert_eq!(
            drive(&started, &Hs::new(&old_client), 8).1,
            HH_OK,
            "kept its key"
        );
        assert_eq!(drive(&Hs::new(&server), &Hs::new(&new_client), 8).1, HH_OK);
        assert_eq!(
            drive(&Hs::new(&server), &Hs::new(&old_client), 8).1,
            HH_ERR_BAD_TAG
        );
    }
}

#[test]
fn a_replaced_keyring_applies_to_later_handshakes() {
    let s = settings(HH_PROFILE_NATIVE, HH_ROLE_SERVER);
    let c = settings(HH_PROFILE_NATIVE, HH_ROLE_CLIENT);
    let old = native_key(b"2026-11", OLD, HH_SUITE_HMAC_SHA256);
    let new = native_key(b"2026-12", NEW, HH_SUITE_HMAC_SHA256);
    let server = native_config(&s, &[old]).unwrap();
    let old_client = native_config(&c, &[old]).unwrap();
    let new_client = native_config(&c, &[new]).unwrap();
    let started = Hs::new(&server);
    // The overlap: the old key and the new one.
    // SAFETY: a live config, two readable keys.
    assert_eq!(
        unsafe { hh_config_replace_keys(server.0, [old, new].as_ptr(), 2) },
        HH_OK
    );
    assert_eq!(drive(&Hs::new(&server), &Hs::new(&new_client), 64).1, HH_OK);
    assert_eq!(drive(&Hs::new(&server), &Hs::new(&old_client), 64).1, HH_OK);
    // The old key retired; the handshake made before both changes keeps the first ring.
    // SAFETY: as above.
    assert_eq!(unsafe { hh_config_replace_keys(server.0, &new, 1) }, HH_OK);
    assert_eq!(
        drive(&Hs::new(&server), &Hs::new(&old_client), 64).1,
        HH_ERR_UNKNOWN_KEY_ID
    );
    // Freeing the configs leaves the handshakes their keys.
    let client_hs = Hs::new(&old_client);
    drop(server);
    drop(old_client);
    assert_eq!(drive(&started, &client_hs, 64).1, HH_OK);
    // A client's keys rotate the same way.
    let client = native_config(&c, &[old]).unwrap();
    // SAFETY: a live config, one readable key.
    assert_eq!(unsafe { hh_config_replace_keys(client.0, &new, 1) }, HH_OK);
    let new_server = native_config(&s, &[new]).unwrap();
    assert_eq!(drive(&Hs::new(&new_server), &Hs::new(&client), 64).1, HH_OK);
}
