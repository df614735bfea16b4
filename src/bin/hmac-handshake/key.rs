//! The shared key: from `--key-file` or `HMAC_HANDSHAKE_KEY`, never argv.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use hmac_handshake::Key;
use zeroize::Zeroizing;

/// Environment variable holding the key (its UTF-8 bytes).
pub const KEY_ENV: &str = "HMAC_HANDSHAKE_KEY";

/// Loads the key bytes and keys HMAC with them; the raw bytes are wiped
/// when this returns.
///
/// # Errors
/// A message (never containing key bytes) when no key is given, the file
/// cannot be read, the variable is not UTF-8, or the key is empty.
pub fn load(key_file: Option<&Path>) -> Result<Key, String> {
    let (secret, source) = match key_file {
        Some(path) => (read_file(path)?, format!("--key-file {}", path.display())),
        None => (read_env()?, KEY_ENV.to_string()),
    };
    if secret.is_empty() {
        return Err(format!("the key from {source} is empty"));
    }
    Ok(Key::new(&secret))
}

fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let fail = |e: std::io::Error| format!("cannot read key file {}: {e}", path.display());
    let mut file = File::open(path).map_err(fail)?;
    // Size the buffer up front so reading does not leave reallocated copies.
    let hint = file
        .metadata()
        .ok()
        .and_then(|m| usize::try_from(m.len()).ok())
        .unwrap_or(0);
    let mut secret = Zeroizing::new(Vec::with_capacity(hint.saturating_add(1)));
    file.read_to_end(&mut secret).map_err(fail)?;
    Ok(secret)
}

fn read_env() -> Result<Zeroizing<Vec<u8>>, String> {
    match std::env::var(KEY_ENV) {
        Ok(text) => Ok(Zeroizing::new(text.into_bytes())),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "no key: pass --key-file PATH or set {KEY_ENV} (keys are never taken from the command line)"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{KEY_ENV} is not valid UTF-8; put a binary key in a file and pass --key-file"
        )),
    }
}
