//! `keygen`: a fresh random key, in hex or raw, on stdout or in a new file.

use std::fs::OpenOptions;
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::args::KeygenArgs;
use crate::failure::Failure;

/// Bytes in a generated key.
pub const KEY_LEN: usize = 32;

/// Writes a fresh [`KEY_LEN`]-byte key from the OS RNG: lowercase hex and
/// a newline, or the raw bytes with `--raw`; on stdout, or with `--out
/// FILE` in a new file of mode 0600 (never over an existing one).
///
/// # Errors
/// The RNG fails, the output cannot be written, `--out FILE` exists, or
/// `--raw` with stdout on a terminal.
pub fn run(args: &KeygenArgs) -> Result<(), Failure> {
    if args.raw && args.out.is_none() && io::stdout().is_terminal() {
        return Err(Failure::Other(
            "refusing to write raw key bytes to a terminal; redirect stdout to a file \
             (e.g. keygen --raw > key.bin) or pass --out FILE"
                .into(),
        ));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(key.as_mut_slice())
        .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    let mut text = Zeroizing::new([0u8; 2 * KEY_LEN + 1]);
    let bytes: &[u8] = if args.raw {
        key.as_slice()
    } else {
        hex::encode_to_slice(key.as_slice(), &mut text[..2 * KEY_LEN])
            .map_err(|e| format!("cannot encode the key: {e}"))?;
        text[2 * KEY_LEN] = b'\n';
        text.as_slice()
    };
    match args.out.as_deref() {
        Some(path) => write_new(path, bytes),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Other(format!("cannot write the key to stdout: {e}")))
        }
    }
}

/// Writes `bytes` to a file created at `path`, which must not exist, with
/// mode 0600 (whatever the umask leaves of it: never more).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Failure::Other(if e.kind() == io::ErrorKind::AlreadyExists {
                format!(
                    "--out {} exists: refusing to overwrite it (remove it first, or pick a new \
                     name)",
                    path.display()
                )
            } else {
                format!("cannot create --out {}: {e}", path.display())
            })
        })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Other(format!("cannot write the key to {}: {e}", path.display())))
}
