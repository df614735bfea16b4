//! Reading a file of secrets (a key file, a keyring) without ever
//! blocking on it: only a regular file is read, and it is opened with
//! `O_NONBLOCK`, so that a FIFO or a device swapped in between the check
//! and the open cannot hang the reader (the opened file is checked again);
//! and at most a cap of bytes is read, so a huge file (`truncate -s 100G`)
//! is refused instead of exhausting memory. A file that group or others
//! can write, or others can read, is refused too, before a byte is read
//! (as OpenSSH refuses such a private key): its secret may be known, or
//! replaced, by another user.

use std::fmt;
use std::fs::{FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Why a file of secrets was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The system's error (missing, no permission, ...).
    Io(io::Error),
    /// The path (through symlinks) is not a regular file: what it is.
    NotRegular(&'static str),
    /// The file holds more than `cap` bytes.
    TooLarge {
        /// The most read, in bytes.
        cap: u64,
    },
    /// Group or others can write the file, or others can read it.
    TooOpen {
        /// The file's permission bits.
        mode: u32,
        /// The path, for the `chmod` to run.
        path: PathBuf,
    },
}

/// The permission bits that make a file of secrets too open: written by
/// group (`020`) or others (`002`), read by others (`004`).
pub const TOO_OPEN: u32 = 0o026;

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::NotRegular(what) => {
                write!(f, "it is {what}, not a regular file: refusing to read it")
            }
            ReadError::TooLarge { cap } => write!(
                f,
                "it holds more than {cap} bytes ({} KiB), the most read: refusing it",
                cap / 1024
            ),
            ReadError::TooOpen { mode, path } => write!(
                f,
                "its permissions {mode:04o} are too open (group or others can write it, or \
                 others can read it): refusing it; run `chmod 600 {}`",
                path.display()
            ),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// Reads the regular file at `path` (through symlinks), at most `cap`
/// bytes of it, into memory wiped on drop.
///
/// # Errors
/// [`ReadError::NotRegular`] for anything but a regular file, checked
/// before the open and on the opened file; [`ReadError::TooOpen`] for a
/// file with any of the [`TOO_OPEN`] bits (checked on the opened file);
/// [`ReadError::TooLarge`] for a file over `cap` bytes; the system's errors.
pub fn read(path: &Path, cap: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    regular(std::fs::metadata(path)?.file_type())?;
    // O_NONBLOCK: opening a FIFO does not wait for a writer (and reading a
    // regular file is not affected); O_NOCTTY: a terminal does not become
    // ours.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    regular(meta.file_type())?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & TOO_OPEN != 0 {
        return Err(ReadError::TooOpen {
            mode,
            path: path.to_path_buf(),
        });
    }
    read_capped(&mut file, cap)
}

/// First size of the buffer, in bytes: a key file or a small keyring.
const FIRST_CAPACITY: usize = 4096;

/// Reads `reader` to its end, or refuses it past `cap` bytes: reads at most
/// `cap + 1` bytes, into a buffer that grows only with what arrives (the
/// size a file claims is never trusted), doubling by a copy into a new
/// buffer so the old one is wiped, not left behind by a reallocation.
fn read_capped(reader: impl Read, cap: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let mut reader = reader.take(cap.saturating_add(1));
    let mut buf = Zeroizing::new(Vec::with_capacity(FIRST_CAPACITY));
    loop {
        if buf.len() == buf.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(buf.capacity().saturating_mul(2)));
            bigger.extend_from_slice(&buf);
            buf = bigger;
        }
        let filled = buf.len();
        // Within the capacity: no reallocation.
        let capacity = buf.capacity();
        buf.resize(capacity, 0);
        let n = match reader.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => {
                buf.truncate(filled);
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e.into()),
        };
        buf.truncate(filled + n);
    }
    if !u64::try_from(buf.len()).is_ok_and(|len| len <= cap) {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(buf)
}

/// `Ok` for a regular file, else what the file is.
fn regular(kind: FileType) -> Result<(), ReadError> {
    if kind.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular(if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }))
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read};

    use super::{read_capped, ReadError, FIRST_CAPACITY};

    /// Yields `data` a few bytes at a time, with an interruption first.
    struct Trickle<'a> {
        data: &'a [u8],
        interrupted: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(1000);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn read(data: &[u8], cap: u64) -> Result<Vec<u8>, ReadError> {
        let reader = Trickle {
            data,
            interrupted: false,
        };
        read_capped(reader, cap).map(|buf| buf.to_vec())
    }

    #[test]
    fn up_to_the_cap_every_byte_in_order_and_one_more_is_refused() {
        let data: Vec<u8> = (0..3 * FIRST_CAPACITY + 7).map(|i| i as u8).collect();
        let len = data.len() as u64;
        assert_eq!(read(&data, len).unwrap(), data);
        assert_eq!(read(&data, u64::MAX).unwrap(), data);
        assert_eq!(read(b"", 0).unwrap(), b"");
        for cap in [0, 1, len - 1] {
            match read(&data, cap) {
                Err(ReadError::TooLarge { cap: said }) => assert_eq!(said, cap),
                other => panic!("cap {cap}: {other:?}"),
            }
        }
        let message = ReadError::TooLarge { cap: 64 * 1024 }.to_string();
        assert_eq!(
            message,
            "it holds more than 65536 bytes (64 KiB), the most read: refusing it"
        );
    }
}
