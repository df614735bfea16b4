//! Reading a file of secrets (a key file, a keyring) without ever
//! blocking on it: only a regular file is read, and it is opened with
//! `O_NONBLOCK`, so that a FIFO or a device swapped in between the check
//! and the open cannot hang the reader (the opened file is checked again).

use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroizing;

/// Why a file of secrets was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The system's error (missing, no permission, ...).
    Io(io::Error),
    /// The path (through symlinks) is not a regular file: what it is.
    NotRegular(&'static str),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::NotRegular(what) => {
                write!(f, "it is {what}, not a regular file: refusing to read it")
            }
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// Reads the regular file at `path` (through symlinks) into memory wiped
/// on drop.
///
/// # Errors
/// [`ReadError::NotRegular`] for anything but a regular file, checked
/// before the open and on the opened file; the system's errors.
pub fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    regular(std::fs::metadata(path)?.file_type())?;
    // O_NONBLOCK: opening a FIFO does not wait for a writer (and reading a
    // regular file is not affected); O_NOCTTY: a terminal does not become
    // ours.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    regular(file.metadata()?.file_type())?;
    read_all(&mut file)
}

/// Reads what is left of `file`.
fn read_all(file: &mut File) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    // Size the buffer up front so reading does not leave reallocated copies.
    let hint = file
        .metadata()
        .ok()
        .and_then(|m| usize::try_from(m.len()).ok())
        .unwrap_or(0);
    let mut secret = Zeroizing::new(Vec::with_capacity(hint.saturating_add(1)));
    file.read_to_end(&mut secret)?;
    Ok(secret)
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
