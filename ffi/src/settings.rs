//! What a C caller passes in: `hh_settings` (profile, role and their
//! options) and `hh_native_key` (one native pre-shared key), and their
//! translation into the crate's settings. Every enum travels as a `uint32_t`
//! checked against the constants here, never as a Rust enum, so that any
//! value a caller writes is defined behaviour and an unknown one is
//! `HH_ERR_INVALID_ARGUMENT`.

use hmac_handshake::native::{ForwardSecrecy, NativeKey, Suite};
use hmac_handshake::{multiprocessing, native, recipe, Digest};

use crate::error::{number, HH_ERR_INVALID_ARGUMENT, HH_ERR_MD5_DISABLED};

/// `hh_settings.profile`: the recipe ("authenticating clients simply": a
/// 32-byte challenge answered with a raw HMAC tag, no verdict).
pub const HH_PROFILE_RECIPE: u32 = 1;
/// `hh_settings.profile`: CPython `multiprocessing.connection` authkey
/// authentication (`deliver_challenge` / `answer_challenge`), both
/// generations.
pub const HH_PROFILE_MULTIPROCESSING: u32 = 2;
/// `hh_settings.profile`: the crate's native protocol (PROTOCOL.md).
pub const HH_PROFILE_NATIVE: u32 = 3;

/// `hh_settings.role`: the side that accepts the connection (a
/// multiprocessing `Listener`).
pub const HH_ROLE_SERVER: u32 = 1;
/// `hh_settings.role`: the side that connects (a multiprocessing `Client`).
pub const HH_ROLE_CLIENT: u32 = 2;

/// `hh_settings.digest`: the profile's default (recipe: SHA-256;
/// multiprocessing: `{sha256}` challenges, as CPython 3.12+; native: always
/// this, the suite comes from the keys).
pub const HH_DIGEST_DEFAULT: u32 = 0;
/// HMAC-MD5, 16-byte tags (recipe as written for Python <= 3.7;
/// multiprocessing `{md5}`, needs `HH_FLAG_ALLOW_MD5`).
pub const HH_DIGEST_MD5: u32 = 1;
/// HMAC-SHA-256, 32-byte tags.
pub const HH_DIGEST_SHA256: u32 = 2;
/// HMAC-SHA-384, 48-byte tags.
pub const HH_DIGEST_SHA384: u32 = 3;
/// HMAC-SHA-512, 64-byte tags (not a multiprocessing digest: CPython's
/// `_ALLOWED_DIGESTS` lacks it).
pub const HH_DIGEST_SHA512: u32 = 4;
/// HMAC-SHA3-256, 32-byte tags.
pub const HH_DIGEST_SHA3_256: u32 = 5;
/// HMAC-SHA3-384, 48-byte tags.
pub const HH_DIGEST_SHA3_384: u32 = 6;
/// Multiprocessing only: a legacy challenge, 20 unprefixed random bytes
/// answered with a raw HMAC-MD5, as Python 2.7 to 3.11 deliver (needs
/// `HH_FLAG_ALLOW_MD5`).
pub const HH_DIGEST_LEGACY: u32 = 16;

/// `hh_settings.flags`, multiprocessing only: produce and accept HMAC-MD5
/// (legacy challenges and replies, `{md5}`), for Python 2.7 to 3.11 peers.
pub const HH_FLAG_ALLOW_MD5: u32 = 1;

/// `hh_settings.forward_secrecy`, native only: no ephemeral keys (default).
pub const HH_FORWARD_SECRECY_OFF: u32 = 0;
/// Ephemeral X25519 when the peer takes it (PROTOCOL.md, "Forward secrecy").
pub const HH_FORWARD_SECRECY_OFFERED: u32 = 1;
/// Ephemeral X25519 always; a peer without it fails
/// (`HH_ERR_FORWARD_SECRECY_REQUIRED`). A server that requires it announces
/// mode `02`: a client that will not use it fails at the `ServerHello` and
/// sends nothing (the server then sees the connection close); a client
/// that requires it fails on a server's mode `00` the same way. A server
/// refuses a proof without a share with `03 01`.
pub const HH_FORWARD_SECRECY_REQUIRED: u32 = 2;

/// `hh_native_key.suite` and `hh_outcome.suite`: the native suite's wire id
/// (PROTOCOL.md, "Suites"), HMAC-SHA-256, 32-byte tags and keys.
pub const HH_SUITE_HMAC_SHA256: u32 = 1;
/// HMAC-SHA-384, 48-byte tags and keys.
pub const HH_SUITE_HMAC_SHA384: u32 = 2;
/// HMAC-SHA-512, 64-byte tags and keys.
pub const HH_SUITE_HMAC_SHA512: u32 = 3;
/// HMAC-SHA3-256, 32-byte tags and keys.
pub const HH_SUITE_HMAC_SHA3_256: u32 = 4;

/// The settings of one side, read once by `hh_config_new` /
/// `hh_config_new_native` (nothing is kept of the pointers).
///
/// Zero it (`hh_settings s = {0};`), set `struct_size = sizeof(hh_settings)`,
/// `profile` and `role`; the other fields default to zero:
/// - `digest`: `HH_DIGEST_*`; recipe and multiprocessing only;
/// - `flags`: `HH_FLAG_*` bits; multiprocessing only;
/// - `forward_secrecy`: `HH_FORWARD_SECRECY_*`; native only;
/// - `context` (`context_len` bytes, any length) and `server_name`
///   (0 to 255 bytes): native only, the same bytes on both sides, never
///   sent (PROTOCOL.md, "Transcript and tags", "Server names"). A pointer
///   may be NULL when its length is 0.
///
/// A setting the profile does not have, set non-zero, is
/// `HH_ERR_INVALID_ARGUMENT`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hh_settings {
    /// `sizeof(hh_settings)`: a caller built against another layout gets
    /// `HH_ERR_STRUCT_SIZE`.
    pub struct_size: usize,
    /// `HH_PROFILE_*`.
    pub profile: u32,
    /// `HH_ROLE_*`.
    pub role: u32,
    /// `HH_DIGEST_*`.
    pub digest: u32,
    /// `HH_FLAG_*` bits.
    pub flags: u32,
    /// `HH_FORWARD_SECRECY_*`.
    pub forward_secrecy: u32,
    /// The native application context: `context_len` bytes.
    pub context: *const u8,
    /// Length of `context` in bytes.
    pub context_len: usize,
    /// The native server name: `server_name_len` bytes, 0 to 255.
    pub server_name: *const u8,
    /// Length of `server_name` in bytes.
    pub server_name_len: usize,
}

/// One native pre-shared key, read by `hh_config_new_native` and
/// `hh_config_replace_keys` (nothing is kept of the pointers; the secret
/// is turned into keyed hash states at once, PROTOCOL.md "Key schedule").
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hh_native_key {
    /// `sizeof(hh_native_key)`.
    pub struct_size: usize,
    /// The key id: `key_id_len` bytes, 1 to 32, any bytes, sent in clear
    /// (the CLI's keyrings use 1 to 32 printable ASCII characters without
    /// spaces: keep to those to share keyrings with it).
    pub key_id: *const u8,
    /// Length of `key_id` in bytes.
    pub key_id_len: usize,
    /// The secret: `secret_len` bytes, at least 16 (32 random bytes advised).
    pub secret: *const u8,
    /// Length of `secret` in bytes.
    pub secret_len: usize,
    /// `HH_SUITE_*`: the suite the key is keyed for.
    pub suite: u32,
}

/// A side's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// The profile's settings, as the crate has them.
#[derive(Clone, Copy, Debug)]
#[allow(clippy::large_enum_variant, reason = "one per config, made once")]
pub(crate) enum Profile {
    Recipe(recipe::Config),
    Multiprocessing(multiprocessing::Config),
    Native(native::Config),
}

/// Reads `s` (its byte fields already turned into slices by the caller).
pub(crate) fn parse(
    s: &hh_settings,
    context: &[u8],
    server_name: &[u8],
) -> Result<(Role, Profile), i32> {
    let role = match s.role {
        HH_ROLE_SERVER => Role::Server,
        HH_ROLE_CLIENT => Role::Client,
        _ => return Err(HH_ERR_INVALID_ARGUMENT),
    };
    if s.flags & !HH_FLAG_ALLOW_MD5 != 0 {
        return Err(HH_ERR_INVALID_ARGUMENT);
    }
    let allow_md5 = s.flags & HH_FLAG_ALLOW_MD5 != 0;
    let native_only = s.forward_secrecy != 0 || !context.is_empty() || !server_name.is_empty();
    let profile = match s.profile {
        HH_PROFILE_RECIPE => {
            if native_only || allow_md5 {
                return Err(HH_ERR_INVALID_ARGUMENT);
            }
            let digest = match s.digest {
                HH_DIGEST_DEFAULT => Digest::Sha256,
                d => digest(d)?,
            };
            Profile::Recipe(recipe::Config { digest })
        }
        HH_PROFILE_MULTIPROCESSING => {
            if native_only {
                return Err(HH_ERR_INVALID_ARGUMENT);
            }
            let base = if allow_md5 {
                multiprocessing::Config::with_md5()
            } else {
                multiprocessing::Config::new()
            };
            Profile::Multiprocessing(match s.digest {
                HH_DIGEST_DEFAULT => base,
                HH_DIGEST_LEGACY if allow_md5 => multiprocessing::Config::legacy(),
                HH_DIGEST_LEGACY => return Err(HH_ERR_MD5_DISABLED),
                d => base.with_digest(digest(d)?).map_err(number)?,
            })
        }
        HH_PROFILE_NATIVE => {
            if s.digest != HH_DIGEST_DEFAULT || allow_md5 {
                return Err(HH_ERR_INVALID_ARGUMENT);
            }
            let forward_secrecy = match s.forward_secrecy {
                HH_FORWARD_SECRECY_OFF => ForwardSecrecy::Off,
                HH_FORWARD_SECRECY_OFFERED => ForwardSecrecy::Offered,
                HH_FORWARD_SECRECY_REQUIRED => ForwardSecrecy::Required,
                _ => return Err(HH_ERR_INVALID_ARGUMENT),
            };
            let config = native::Config::new(context)
                .with_server_name(server_name)
                .map_err(number)?
                .with_forward_secrecy(forward_secrecy);
            Profile::Native(config)
        }
        _ => return Err(HH_ERR_INVALID_ARGUMENT),
    };
    Ok((role, profile))
}

/// The digest `HH_DIGEST_*` names (not `DEFAULT`, not `LEGACY`).
fn digest(d: u32) -> Result<Digest, i32> {
    Ok(match d {
        HH_DIGEST_MD5 => Digest::Md5,
        HH_DIGEST_SHA256 => Digest::Sha256,
        HH_DIGEST_SHA384 => Digest::Sha384,
        HH_DIGEST_SHA512 => Digest::Sha512,
        HH_DIGEST_SHA3_256 => Digest::Sha3_256,
        HH_DIGEST_SHA3_384 => Digest::Sha3_384,
        _ => return Err(HH_ERR_INVALID_ARGUMENT),
    })
}

/// `HH_DIGEST_*` of `d` (0 for a digest this header does not name yet).
pub(crate) fn digest_number(d: Digest) -> u32 {
    match d {
        Digest::Md5 => HH_DIGEST_MD5,
        Digest::Sha256 => HH_DIGEST_SHA256,
        Digest::Sha384 => HH_DIGEST_SHA384,
        Digest::Sha512 => HH_DIGEST_SHA512,
        Digest::Sha3_256 => HH_DIGEST_SHA3_256,
        Digest::Sha3_384 => HH_DIGEST_SHA3_384,
        _ => 0,
    }
}

/// One native key from its parts.
pub(crate) fn native_key(id: &[u8], secret: &[u8], suite: u32) -> Result<NativeKey, i32> {
    let suite = u8::try_from(suite)
        .ok()
        .and_then(Suite::from_id)
        .ok_or(HH_ERR_INVALID_ARGUMENT)?;
    NativeKey::new(id, secret, suite).map_err(number)
}
