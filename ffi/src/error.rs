//! Error numbers: 0 is success, the rest stable (they never change once
//! released; new errors get new numbers), and `hh_error_name` gives each
//! its stable code.
//!
//! - 1 to 63: the peer's bytes made the handshake fail
//!   (`Origin::Peer`);
//! - 64 to 127: this program's settings or calls, as the Rust crate
//!   reports them (`Error::number`);
//! - 128 to 191: this C layer's own checks of its arguments and calls.

use std::ffi::{c_char, CStr};

/// Success.
pub const HH_OK: i32 = 0;

// Peer errors (the handshake failed): `hmac_handshake::Error`, 1 to 63.
/// `bad_tag`: the peer's MAC did not verify.
pub const HH_ERR_BAD_TAG: i32 = 1;
/// `peer_rejected`: the peer rejected our proof (`#FAILURE#`, native `03 01`).
pub const HH_ERR_PEER_REJECTED: i32 = 2;
/// `tag_length`: a reply of the wrong length for its digest.
pub const HH_ERR_TAG_LENGTH: i32 = 3;
/// `unknown_digest`: no `{digest}` prefix we know, and not legacy.
pub const HH_ERR_UNKNOWN_DIGEST: i32 = 4;
/// `md5_not_allowed`: the peer uses HMAC-MD5 and `HH_FLAG_ALLOW_MD5` is off.
pub const HH_ERR_MD5_NOT_ALLOWED: i32 = 5;
/// `message_too_long`: a length prefix over the receive limit.
pub const HH_ERR_MESSAGE_TOO_LONG: i32 = 6;
/// `bad_length`: a negative length prefix other than -1.
pub const HH_ERR_BAD_LENGTH: i32 = 7;
/// `missing_challenge`: the first frame is not `#CHALLENGE#`.
pub const HH_ERR_MISSING_CHALLENGE: i32 = 8;
/// `challenge_too_short`: a challenge under 20 bytes.
pub const HH_ERR_CHALLENGE_TOO_SHORT: i32 = 9;
/// `unexpected_verdict`: a verdict that is neither accept nor reject.
pub const HH_ERR_UNEXPECTED_VERDICT: i32 = 10;
/// `not_native`: no `HMHS` magic: not the native protocol.
pub const HH_ERR_NOT_NATIVE: i32 = 11;
/// `version_mismatch`: another native protocol version.
pub const HH_ERR_VERSION_MISMATCH: i32 = 12;
/// `suite_not_allowed`: a native suite this client holds no key for.
pub const HH_ERR_SUITE_NOT_ALLOWED: i32 = 13;
/// `unexpected_message`: a native message of the wrong type.
pub const HH_ERR_UNEXPECTED_MESSAGE: i32 = 14;
/// `key_id_length`: a key id outside 1 to 32 bytes in `ClientProof`.
pub const HH_ERR_KEY_ID_LENGTH: i32 = 15;
/// `unknown_key_id`: a key id the server does not hold.
pub const HH_ERR_UNKNOWN_KEY_ID: i32 = 16;
/// `reflected_nonce`: the peer's nonce equals ours.
pub const HH_ERR_REFLECTED_NONCE: i32 = 17;
/// `forward_secrecy_required`: one side requires the native X25519 mode and the other does not use it.
pub const HH_ERR_FORWARD_SECRECY_REQUIRED: i32 = 18;
/// `unknown_mode`: a native `ServerHello` mode byte other than `00`, `01`, `02`.
pub const HH_ERR_UNKNOWN_MODE: i32 = 19;
/// `zero_shared_secret`: the X25519 shared secret is all zeros (a low-order share).
pub const HH_ERR_ZERO_SHARED_SECRET: i32 = 20;

// Caller errors of the Rust crate: `hmac_handshake::Error`, 64 to 127.
/// `sent_too_much`: `hh_handshake_sent(n)` with `n` over the pending output.
pub const HH_ERR_SENT_TOO_MUCH: i32 = 64;
/// `not_finished`: `hh_handshake_finish`, or a session call, before the handshake is over.
pub const HH_ERR_NOT_FINISHED: i32 = 65;
/// `invalid_key_id`: a key id outside 1 to 32 bytes.
pub const HH_ERR_INVALID_KEY_ID: i32 = 66;
/// `key_too_short`: a native pre-shared key under 16 bytes.
pub const HH_ERR_KEY_TOO_SHORT: i32 = 67;
/// `empty_keyring`: no native key given.
pub const HH_ERR_EMPTY_KEYRING: i32 = 68;
/// `duplicate_key_id`: a server keyring holding the same key id twice.
pub const HH_ERR_DUPLICATE_KEY_ID: i32 = 69;
/// `suite_mismatch`: a server keyring mixing keys of different suites.
pub const HH_ERR_SUITE_MISMATCH: i32 = 70;
/// `unsupported_digest`: a multiprocessing digest CPython does not allow (sha512).
pub const HH_ERR_UNSUPPORTED_DIGEST: i32 = 71;
/// `md5_disabled`: MD5 (or a legacy challenge) without `HH_FLAG_ALLOW_MD5`.
pub const HH_ERR_MD5_DISABLED: i32 = 72;
/// `export_too_long`: an exporter label over 255 bytes or output over `255 * L`.
pub const HH_ERR_EXPORT_TOO_LONG: i32 = 73;
/// `server_name_too_long`: a native server name over 255 bytes.
pub const HH_ERR_SERVER_NAME_TOO_LONG: i32 = 74;

// This layer's own errors, 128 to 191.
/// `null_pointer`: a pointer that must not be NULL is NULL (a NULL byte pointer is fine with length 0).
pub const HH_ERR_NULL_POINTER: i32 = 128;
/// `struct_size`: a struct's `struct_size` is not `sizeof` of that struct in this header: a caller built against another version.
pub const HH_ERR_STRUCT_SIZE: i32 = 129;
/// `invalid_argument`: a value no constant of this header names (profile, role, digest, flag bit, suite, forward-secrecy setting), or a setting the profile does not have, or a length over `PTRDIFF_MAX`.
pub const HH_ERR_INVALID_ARGUMENT: i32 = 130;
/// `wrong_state`: a call the handshake's status does not allow: `hh_handshake_receive` while output is pending or once the handshake is over.
pub const HH_ERR_WRONG_STATE: i32 = 131;
/// `finished`: a call on a handshake already finished (`hh_handshake_finish`), other than the session calls and `hh_handshake_free`.
pub const HH_ERR_FINISHED: i32 = 132;
/// `random_length`: `hh_handshake_new_pinned` with randomness of another length than `hh_config_random_len` gives.
pub const HH_ERR_RANDOM_LENGTH: i32 = 133;
/// `rng_failed`: the operating system's random generator failed.
pub const HH_ERR_RNG_FAILED: i32 = 134;
/// `no_session`: a session call on a handshake that has none: not native, or failed.
pub const HH_ERR_NO_SESSION: i32 = 135;
/// `empty_key`: an empty recipe or multiprocessing key (CPython treats an empty authkey as no authentication).
pub const HH_ERR_EMPTY_KEY: i32 = 136;
/// `duplicate_suite`: native client keys with two keys of one suite.
pub const HH_ERR_DUPLICATE_SUITE: i32 = 137;
/// `misaligned`: a pointer not aligned for its type.
pub const HH_ERR_MISALIGNED: i32 = 138;
/// `wrong_profile`: a call for keys of another kind than the config's: `hh_config_replace_secret` on a native config, `hh_config_replace_keys` on another.
pub const HH_ERR_WRONG_PROFILE: i32 = 139;
/// `panic`: a bug in this library, caught before it crossed the boundary (the handle may be freed).
pub const HH_ERR_PANIC: i32 = 140;

/// Every error number and its code: the one table `hh_error_name` reads.
const NAMES: [(i32, &CStr); 45] = [
    (HH_OK, c"ok"),
    (HH_ERR_BAD_TAG, c"bad_tag"),
    (HH_ERR_PEER_REJECTED, c"peer_rejected"),
    (HH_ERR_TAG_LENGTH, c"tag_length"),
    (HH_ERR_UNKNOWN_DIGEST, c"unknown_digest"),
    (HH_ERR_MD5_NOT_ALLOWED, c"md5_not_allowed"),
    (HH_ERR_MESSAGE_TOO_LONG, c"message_too_long"),
    (HH_ERR_BAD_LENGTH, c"bad_length"),
    (HH_ERR_MISSING_CHALLENGE, c"missing_challenge"),
    (HH_ERR_CHALLENGE_TOO_SHORT, c"challenge_too_short"),
    (HH_ERR_UNEXPECTED_VERDICT, c"unexpected_verdict"),
    (HH_ERR_NOT_NATIVE, c"not_native"),
    (HH_ERR_VERSION_MISMATCH, c"version_mismatch"),
    (HH_ERR_SUITE_NOT_ALLOWED, c"suite_not_allowed"),
    (HH_ERR_UNEXPECTED_MESSAGE, c"unexpected_message"),
    (HH_ERR_KEY_ID_LENGTH, c"key_id_length"),
    (HH_ERR_UNKNOWN_KEY_ID, c"unknown_key_id"),
    (HH_ERR_REFLECTED_NONCE, c"reflected_nonce"),
    (HH_ERR_FORWARD_SECRECY_REQUIRED, c"forward_secrecy_required"),
    (HH_ERR_UNKNOWN_MODE, c"unknown_mode"),
    (HH_ERR_ZERO_SHARED_SECRET, c"zero_shared_secret"),
    (HH_ERR_SENT_TOO_MUCH, c"sent_too_much"),
    (HH_ERR_NOT_FINISHED, c"not_finished"),
    (HH_ERR_INVALID_KEY_ID, c"invalid_key_id"),
    (HH_ERR_KEY_TOO_SHORT, c"key_too_short"),
    (HH_ERR_EMPTY_KEYRING, c"empty_keyring"),
    (HH_ERR_DUPLICATE_KEY_ID, c"duplicate_key_id"),
    (HH_ERR_SUITE_MISMATCH, c"suite_mismatch"),
    (HH_ERR_UNSUPPORTED_DIGEST, c"unsupported_digest"),
    (HH_ERR_MD5_DISABLED, c"md5_disabled"),
    (HH_ERR_EXPORT_TOO_LONG, c"export_too_long"),
    (HH_ERR_SERVER_NAME_TOO_LONG, c"server_name_too_long"),
    (HH_ERR_NULL_POINTER, c"null_pointer"),
    (HH_ERR_STRUCT_SIZE, c"struct_size"),
    (HH_ERR_INVALID_ARGUMENT, c"invalid_argument"),
    (HH_ERR_WRONG_STATE, c"wrong_state"),
    (HH_ERR_FINISHED, c"finished"),
    (HH_ERR_RANDOM_LENGTH, c"random_length"),
    (HH_ERR_RNG_FAILED, c"rng_failed"),
    (HH_ERR_NO_SESSION, c"no_session"),
    (HH_ERR_EMPTY_KEY, c"empty_key"),
    (HH_ERR_DUPLICATE_SUITE, c"duplicate_suite"),
    (HH_ERR_MISALIGNED, c"misaligned"),
    (HH_ERR_WRONG_PROFILE, c"wrong_profile"),
    (HH_ERR_PANIC, c"panic"),
];

/// The stable code of error number `code` (`"ok"` for 0, `"bad_tag"` for
/// 1, ...), a static NUL-terminated string; `"unknown"` for a number no
/// error has. Never NULL, never to be freed.
#[no_mangle]
pub extern "C" fn hh_error_name(code: i32) -> *const c_char {
    NAMES
        .iter()
        .find(|(n, _)| *n == code)
        .map_or(c"unknown", |(_, name)| name)
        .as_ptr()
}

/// The version of this library (the `hmac-handshake` crate's), a static
/// NUL-terminated string such as `"0.1.0"`. Never NULL.
#[no_mangle]
pub extern "C" fn hh_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Whether `code` is a peer error, 1 to 63: the peer's bytes made the
/// handshake fail (a wrong key, tampering, another protocol), not a misuse
/// of this API (64 and up) nor success (0). A function, so that its
/// argument is evaluated once.
#[no_mangle]
pub extern "C" fn hh_is_peer_error(code: i32) -> bool {
    (1..64).contains(&code)
}

/// The number of a Rust crate error: 1 to 127.
pub(crate) fn number(e: hmac_handshake::Error) -> i32 {
    i32::from(e.number())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: i32) -> &'static str {
        // SAFETY: hh_error_name returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(hh_error_name(code)) }
            .to_str()
            .unwrap()
    }

    #[test]
    fn the_crate_numbers_are_the_crate_codes() {
        for n in 1..128u16 {
            match hmac_handshake::Error::code_for_number(n) {
                Some(code) => assert_eq!(name(i32::from(n)), code, "{n}"),
                None => assert_eq!(name(i32::from(n)), "unknown", "{n}"),
            }
        }
    }

    #[test]
    fn every_number_has_one_code() {
        for (i, (n, code)) in NAMES.iter().enumerate() {
            assert_eq!(name(*n), code.to_str().unwrap());
            assert!((0..192).contains(n));
            for (m, other) in &NAMES[i + 1..] {
                assert!(n != m && code != other, "{n} {m}");
            }
        }
        assert_eq!(name(-1), "unknown");
        assert_eq!(name(192), "unknown");
        assert_eq!(name(HH_ERR_NULL_POINTER), "null_pointer");
        for (n, _) in NAMES {
            let peer =
                hmac_handshake::Error::code_for_number(n as u16).is_some_and(|_| (n as u16) < 64);
            assert_eq!(hh_is_peer_error(n), peer, "{n}");
        }
        assert!(!hh_is_peer_error(-1) && !hh_is_peer_error(i32::MAX) && hh_is_peer_error(63));
    }

    #[test]
    fn the_version_is_the_crate_version() {
        // SAFETY: hh_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(hh_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
