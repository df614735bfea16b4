//! The shared key: from `--key-file` or `HMAC_HANDSHAKE_KEY`, never argv.

use std::path::Path;

use hmac_handshake::native::{NativeKey, Suite, MIN_KEY_LEN};
use hmac_handshake::Key;
use zeroize::Zeroizing;

use crate::secret_file;

/// Environment variable holding the key: its UTF-8 bytes, or with the
/// [`HEX_PREFIX`] the bytes its hex spells.
pub const KEY_ENV: &str = "HMAC_HANDSHAKE_KEY";

/// `hex:`: a [`KEY_ENV`] value that starts with it holds the key in hex,
/// the encoding `keygen` prints and a keyring line takes, so that
/// `HMAC_HANDSHAKE_KEY="hex:$(hmac-handshake keygen)"` and a keyring line
/// `k1 <the same hex>` are the same key. Without it the value's UTF-8
/// bytes are the key (CPython's `authkey=b"..."`).
pub const HEX_PREFIX: &str = "hex:";

/// Largest `--key-file` read, in bytes (64 KiB): far above any key (32
/// bytes is the norm), so a bigger file is a mistake, refused unread.
pub const KEY_FILE_MAX: u64 = 64 * 1024;

/// Loads the key bytes and keys HMAC with them; the raw bytes are wiped
/// when this returns.
///
/// # Errors
/// A message (never containing key bytes) when no key is given, the file
/// cannot be read, the variable is not UTF-8, or the key is empty.
pub fn load(key_file: Option<&Path>) -> Result<Key, String> {
    load_hinted(key_file).map(|(key, _)| key)
}

/// As [`load`], with the [`newline_hint`] of the key.
///
/// # Errors
/// As [`load`].
pub fn load_hinted(key_file: Option<&Path>) -> Result<(Key, Option<String>), String> {
    let (secret, _) = load_secret(key_file)?;
    Ok((Key::new(&secret), newline_hint(key_file, &secret)))
}

/// Loads the key bytes and derives from them the native key `key_id`
/// (already checked) once for each of `suites`, in that order; the raw
/// bytes are wiped when this returns.
///
/// # Errors
/// As [`load`], and a key under 16 bytes.
pub fn load_native(
    key_file: Option<&Path>,
    key_id: &str,
    suites: &[Suite],
) -> Result<Vec<NativeKey>, String> {
    load_native_hinted(key_file, key_id, suites).map(|(keys, _)| keys)
}

/// As [`load_native`], with the [`newline_hint`] of the key.
///
/// # Errors
/// As [`load_native`].
pub fn load_native_hinted(
    key_file: Option<&Path>,
    key_id: &str,
    suites: &[Suite],
) -> Result<(Vec<NativeKey>, Option<String>), String> {
    let (secret, source) = load_secret(key_file)?;
    if secret.len() < MIN_KEY_LEN {
        return Err(short_key(&source, secret.len()));
    }
    let keys = suites
        .iter()
        .map(|&suite| {
            NativeKey::new(key_id.as_bytes(), &secret, suite)
                .map_err(|e| format!("the key from {source}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok((keys, newline_hint(key_file, &secret)))
}

/// For a key read from `key_file` that ends in a newline: a hint, for a
/// failed handshake, that the newline is part of the key (every byte of
/// the file is), the classic mistake of a key file written by `echo` or an
/// editor. Says nothing of the key's other bytes.
fn newline_hint(key_file: Option<&Path>, secret: &[u8]) -> Option<String> {
    let path = key_file?;
    secret.ends_with(b"\n").then(|| {
        format!(
            "--key-file {} ends in a newline, and the newline is part of the key (every byte \
             of the file is): if the other side's key has no newline, write the file without \
             one (`printf %s KEY > FILE`, or `hmac-handshake keygen --raw --out FILE`)",
            path.display()
        )
    })
}

/// The message for a native key of `len` bytes from `source`.
pub fn short_key(source: &str, len: usize) -> String {
    format!(
        "the key from {source} is {len} bytes: --profile native needs at least \
         {MIN_KEY_LEN} (32 random bytes is the norm: see `hmac-handshake keygen`)"
    )
}

/// The raw key bytes (not empty), wiped on drop: `conformance` keys
/// HMAC, native keys of every suite and the command it runs with them.
///
/// # Errors
/// As [`load`].
pub fn load_secret_bytes(key_file: Option<&Path>) -> Result<Zeroizing<Vec<u8>>, String> {
    load_secret(key_file).map(|(secret, _)| secret)
}

/// The raw key bytes (not empty) and where they came from, for messages.
fn load_secret(key_file: Option<&Path>) -> Result<(Zeroizing<Vec<u8>>, String), String> {
    let (secret, source) = match key_file {
        Some(path) => (
            read_file(path, "key file", KEY_FILE_MAX)?,
            format!("--key-file {}", path.display()),
        ),
        None => (read_env()?, KEY_ENV.to_string()),
    };
    if secret.is_empty() {
        return Err(format!("the key from {source} is empty"));
    }
    Ok((secret, source))
}

/// The bytes of the hex after [`HEX_PREFIX`] (either case; a trailing
/// newline is dropped), wiped on drop.
///
/// # Errors
/// Odd length or a non-hex character: the message gives the position,
/// never the key.
fn decode_hex(hex: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    if let Some((at, _)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        // A position in characters, counted from 1; the character itself is
        // part of the key, so it is not shown.
        let nth = hex[..at].chars().count() + 1;
        return Err(format!(
            "{KEY_ENV} starts with {HEX_PREFIX}, and character {nth} after it is not a hex \
             digit (0-9, a-f, A-F)"
        ));
    }
    if !hex.len().is_multiple_of(2) {
        return Err(format!(
            "{KEY_ENV} starts with {HEX_PREFIX}, and the {} hex digits after it are an odd \
             count: not whole bytes",
            hex.len()
        ));
    }
    let mut out = Zeroizing::new(vec![0u8; hex.len() / 2]);
    hex::decode_to_slice(hex, &mut out[..]).map_err(|e| {
        format!("{KEY_ENV} starts with {HEX_PREFIX}, and its hex is not valid: {e}")
    })?;
    Ok(out)
}

/// Reads a file of secrets (a regular file only, see [`secret_file`]) of
/// at most `cap` bytes into memory wiped on drop; `what` names it in the
/// error message.
pub fn read_file(path: &Path, what: &str, cap: u64) -> Result<Zeroizing<Vec<u8>>, String> {
    secret_file::read(path, cap).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn read_env() -> Result<Zeroizing<Vec<u8>>, String> {
    match std::env::var(KEY_ENV) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            // `hex:` in any case: `HEX:` is not a text key by accident.
            let hex = text
                .get(..HEX_PREFIX.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(HEX_PREFIX))
                .map(|_| &text[HEX_PREFIX.len()..]);
            match hex {
                Some(hex) => decode_hex(hex.trim_end()),
                None => Ok(Zeroizing::new(text.as_bytes().to_vec())),
            }
        }
        Err(std::env::VarError::NotPresent) => Err(format!(
            "no key: pass --key-file PATH or set {KEY_ENV} (keys are never taken from the command line)"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{KEY_ENV} is not valid UTF-8; put a binary key in a file and pass --key-file"
        )),
    }
}
