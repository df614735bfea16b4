//! `hh_config`: one side's settings and keys, made once and shared by the
//! handshakes made from it; its keys can be replaced (rotation) while
//! handshakes run, each keeping the keys it started with.

use std::sync::Arc;

use arc_swap::ArcSwap;
use hmac_handshake::native::{Keyring, NativeKey, SharedKeyring};
use hmac_handshake::{multiprocessing, native, recipe, Key};

use crate::error::{
    number, HH_ERR_DUPLICATE_SUITE, HH_ERR_EMPTY_KEY, HH_ERR_EMPTY_KEYRING,
    HH_ERR_INVALID_ARGUMENT, HH_ERR_WRONG_PROFILE,
};
use crate::guard::{guard, guard_void};
use crate::ptr;
use crate::settings::{self, hh_native_key, hh_settings, Profile, Role};

/// One side's settings and keys (opaque). Made by `hh_config_new` or
/// `hh_config_new_native`, freed by `hh_config_free`; safe to use from
/// several threads at once.
pub struct hh_config {
    pub(crate) role: Role,
    pub(crate) profile: Profile,
    pub(crate) keys: Keys,
}

/// The keys of a config, each behind an atomic pointer a handshake loads once.
pub(crate) enum Keys {
    /// The recipe's or multiprocessing's shared secret (CPython's authkey).
    Secret(ArcSwap<Key>),
    /// A native server's keyring: one suite, each key id once.
    Ring(SharedKeyring),
    /// A native client's keys: at most one per suite.
    Client(ArcSwap<Vec<NativeKey>>),
}

/// Randomness a handshake of this role and profile draws, in bytes.
pub(crate) fn random_len(config: &hh_config) -> usize {
    match (config.profile, config.role) {
        (Profile::Recipe(_), Role::Server) => recipe::CHALLENGE_LEN,
        (Profile::Recipe(_), Role::Client) => 0,
        (Profile::Multiprocessing(_), _) => multiprocessing::message::MESSAGE_LENGTH,
        (Profile::Native(_), _) => native::RANDOM_LEN,
    }
}

/// Reads `settings` and its byte fields.
///
/// # Safety
/// As `hh_config_new` asks of `settings`.
unsafe fn read_settings(settings: *const hh_settings) -> Result<(Role, Profile), i32> {
    // SAFETY: the caller's contract on `settings` (hh_config_new, # Safety).
    let s = unsafe { ptr::sized(settings) }?;
    // SAFETY: the settings' contract: `context_len` bytes at `context`.
    let context = unsafe { ptr::bytes(s.context, s.context_len) }?;
    // SAFETY: likewise, `server_name_len` bytes at `server_name`.
    let server_name = unsafe { ptr::bytes(s.server_name, s.server_name_len) }?;
    settings::parse(s, context, server_name)
}

/// The secret of the recipe or multiprocessing profile.
fn secret_key(secret: &[u8]) -> Result<Key, i32> {
    if secret.is_empty() {
        return Err(HH_ERR_EMPTY_KEY);
    }
    Ok(Key::new(secret))
}

/// The native keys of `specs`, checked for `role`.
///
/// # Safety
/// `specs` points to `count` `hh_native_key`s, as `hh_config_new_native` asks.
unsafe fn native_keys(
    role: Role,
    specs: *const hh_native_key,
    count: usize,
) -> Result<NativeKeys, i32> {
    // SAFETY: the caller's contract on `keys` and `count`.
    let specs = unsafe { ptr::sized_array(specs, count) }?;
    if specs.is_empty() {
        return Err(HH_ERR_EMPTY_KEYRING);
    }
    let mut keys = Vec::with_capacity(specs.len());
    for spec in specs {
        // SAFETY: each hh_native_key's contract: `key_id_len` bytes at
        // `key_id`, `secret_len` bytes at `secret`.
        let id = unsafe { ptr::bytes(spec.key_id, spec.key_id_len) }?;
        // SAFETY: as above.
        let secret = unsafe { ptr::bytes(spec.secret, spec.secret_len) }?;
        keys.push(settings::native_key(id, secret, spec.suite)?);
    }
    match role {
        Role::Server => Keyring::new(keys).map(NativeKeys::Ring).map_err(number),
        Role::Client => {
            for (i, k) in keys.iter().enumerate() {
                if keys[..i].iter().any(|other| other.suite() == k.suite()) {
                    return Err(HH_ERR_DUPLICATE_SUITE);
                }
            }
            Ok(NativeKeys::Client(keys))
        }
    }
}

/// What `native_keys` builds.
enum NativeKeys {
    Ring(Keyring),
    Client(Vec<NativeKey>),
}

/// A config for the recipe or multiprocessing profile: `settings`, and the
/// shared secret (CPython's `authkey`), `secret_len` bytes at `secret`,
/// copied into the crate's key type (zeroized when the config and its
/// handshakes are gone). On success `*out` is the new config.
///
/// Returns 0, or: `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_STRUCT_SIZE`, `HH_ERR_INVALID_ARGUMENT` (a bad setting, the
/// native profile: use `hh_config_new_native`, or a length over
/// `PTRDIFF_MAX`), `HH_ERR_EMPTY_KEY`,
/// `HH_ERR_UNSUPPORTED_DIGEST`, `HH_ERR_MD5_DISABLED`; `*out` is then
/// untouched.
///
/// # Safety
/// `settings` is NULL or points to an initialized `hh_settings` (at least
/// its `struct_size`), whose byte pointers point to as many bytes as their
/// lengths say; `secret` points to `secret_len` bytes (or is anything when
/// `secret_len` is 0); `out` is NULL or writable. All only during the call.
#[no_mangle]
pub unsafe extern "C" fn hh_config_new(
    settings: *const hh_settings,
    secret: *const u8,
    secret_len: usize,
    out: *mut *mut hh_config,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract (# Safety above).
        let (role, profile) = unsafe { read_settings(settings) }?;
        if matches!(profile, Profile::Native(_)) {
            return Err(HH_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: the caller's contract on `secret`.
        let key = secret_key(unsafe { ptr::bytes(secret, secret_len) }?)?;
        let config = hh_config {
            role,
            profile,
            keys: Keys::Secret(ArcSwap::from_pointee(key)),
        };
        // SAFETY: the caller's contract on `out`.
        unsafe { ptr::publish(config, out) }
    })
}

/// A config for the native profile: `settings`, and `count` keys at
/// `keys`. A server takes them as its keyring (one suite, each key id
/// once: the suite it announces); a client as the keys it proves with, at
/// most one per suite (the server's suite picks one). Each secret is
/// turned into keyed hash states at once; nothing is kept of the pointers.
///
/// Returns 0, or: `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_STRUCT_SIZE` (of `settings` or of a key), `HH_ERR_INVALID_ARGUMENT`
/// (a bad setting or suite, another profile, a length over `PTRDIFF_MAX`,
/// or a `count` of keys that would reach past it), `HH_ERR_EMPTY_KEYRING`,
/// `HH_ERR_INVALID_KEY_ID`, `HH_ERR_KEY_TOO_SHORT`, `HH_ERR_DUPLICATE_KEY_ID`,
/// `HH_ERR_SUITE_MISMATCH` (server), `HH_ERR_DUPLICATE_SUITE` (client),
/// `HH_ERR_SERVER_NAME_TOO_LONG`; `*out` is then untouched.
///
/// # Safety
/// As `hh_config_new` for `settings` and `out`; `keys` points to `count`
/// initialized `hh_native_key`s whose byte pointers point to as many bytes
/// as their lengths say, during the call.
#[no_mangle]
pub unsafe extern "C" fn hh_config_new_native(
    settings: *const hh_settings,
    keys: *const hh_native_key,
    count: usize,
    out: *mut *mut hh_config,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract (# Safety above).
        let (role, profile) = unsafe { read_settings(settings) }?;
        if !matches!(profile, Profile::Native(_)) {
            return Err(HH_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: the caller's contract on `keys` and `count`.
        let keys = match unsafe { native_keys(role, keys, count) }? {
            NativeKeys::Ring(ring) => Keys::Ring(SharedKeyring::new(ring)),
            NativeKeys::Client(keys) => Keys::Client(ArcSwap::from_pointee(keys)),
        };
        // SAFETY: the caller's contract on `out`.
        unsafe {
            ptr::publish(
                hh_config {
                    role,
                    profile,
                    keys,
                },
                out,
            )
        }
    })
}

/// Replaces the shared secret of a recipe or multiprocessing config:
/// handshakes made from now on use `secret`; those already made keep the
/// key they started with. Safe while other threads use the config: the
/// config is `const` because it is shared, and the replacement is an
/// atomic swap inside it.
///
/// Returns 0, or `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_EMPTY_KEY`, `HH_ERR_INVALID_ARGUMENT` (`secret_len` over
/// `PTRDIFF_MAX`), `HH_ERR_WRONG_PROFILE` (a native config); the config is
/// then unchanged.
///
/// # Safety
/// `config` is NULL or a live config of `hh_config_new` (not freed);
/// `secret` points to `secret_len` bytes during the call.
#[no_mangle]
pub unsafe extern "C" fn hh_config_replace_secret(
    config: *const hh_config,
    secret: *const u8,
    secret_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `config`.
        let config = unsafe { ptr::handle(config) }?;
        let Keys::Secret(current) = &config.keys else {
            return Err(HH_ERR_WRONG_PROFILE);
        };
        // SAFETY: the caller's contract on `secret`.
        let key = secret_key(unsafe { ptr::bytes(secret, secret_len) }?)?;
        current.store(Arc::new(key));
        Ok(())
    })
}

/// Replaces the keys of a native config (key rotation: a server's new
/// keyring, usually the old keys and the new one), checked as
/// `hh_config_new_native` checks them for the config's role: handshakes
/// made from now on use them; those already made keep the keys they
/// started with. Safe while other threads use the config.
///
/// Returns 0, or the errors of `hh_config_new_native` for keys, or
/// `HH_ERR_WRONG_PROFILE` (not a native config); the config is then unchanged.
///
/// # Safety
/// `config` is NULL or a live config; `keys` as `hh_config_new_native` asks.
#[no_mangle]
pub unsafe extern "C" fn hh_config_replace_keys(
    config: *const hh_config,
    keys: *const hh_native_key,
    count: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `config`.
        let config = unsafe { ptr::handle(config) }?;
        if matches!(config.keys, Keys::Secret(_)) {
            return Err(HH_ERR_WRONG_PROFILE);
        }
        // SAFETY: the caller's contract on `keys` and `count`.
        match (&config.keys, unsafe {
            native_keys(config.role, keys, count)
        }?) {
            (Keys::Ring(ring), NativeKeys::Ring(new)) => {
                ring.replace(new);
            }
            (Keys::Client(current), NativeKeys::Client(new)) => current.store(Arc::new(new)),
            _ => return Err(HH_ERR_WRONG_PROFILE),
        }
        Ok(())
    })
}

/// The randomness a handshake of this config draws, in bytes, written to
/// `*len`: recipe server 32 (the challenge), recipe client 0,
/// multiprocessing 40 (a legacy challenge uses the first 20), native 64
/// (the nonce, then the ephemeral X25519 secret). What
/// `hh_handshake_new_pinned` takes.
///
/// Returns 0, or `HH_ERR_NULL_POINTER` / `HH_ERR_MISALIGNED`.
///
/// # Safety
/// `config` is NULL or a live config; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_config_random_len(config: *const hh_config, len: *mut usize) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `config`.
        let config = unsafe { ptr::handle(config) }?;
        // SAFETY: the caller's contract on `len`.
        unsafe { ptr::write(len, random_len(config)) }
    })
}

/// Frees a config; NULL is ignored. Handshakes made from it stay valid
/// (they hold their keys themselves); the keys are zeroized once the last
/// of them is freed too.
///
/// # Safety
/// `config` is NULL or a live config, not in use by another thread, and
/// not used again.
#[no_mangle]
pub unsafe extern "C" fn hh_config_free(config: *mut hh_config) {
    // SAFETY: the caller's contract.
    guard_void(|| unsafe { ptr::free(config) });
}
