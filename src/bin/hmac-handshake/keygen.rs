//! `keygen`: a fresh random key, in hex or raw.

use std::io::{self, IsTerminal, Write};

use zeroize::Zeroizing;

use crate::args::KeygenArgs;
use crate::failure::Failure;

/// Bytes in a generated key.
pub const KEY_LEN: usize = 32;

/// Prints a fresh [`KEY_LEN`]-byte key from the OS RNG on stdout: lowercase
/// hex and a newline, or the raw bytes with `--raw`.
///
/// # Errors
/// The RNG fails, stdout cannot be written, or `--raw` with stdout on a
/// terminal.
pub fn run(args: &KeygenArgs) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    if args.raw && out.is_terminal() {
        return Err(Failure::Other(
            "refusing to write raw key bytes to a terminal; redirect stdout to a file \
             (e.g. keygen --raw > key.bin)"
                .into(),
        ));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(key.as_mut_slice())
        .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    let written = if args.raw {
        out.write_all(key.as_slice())
    } else {
        let mut text = Zeroizing::new([0u8; 2 * KEY_LEN + 1]);
        hex::encode_to_slice(key.as_slice(), &mut text[..2 * KEY_LEN])
            .map_err(|e| format!("cannot encode the key: {e}"))?;
        text[2 * KEY_LEN] = b'\n';
        out.write_all(text.as_slice())
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Other(format!("cannot write the key to stdout: {e}")))
}
