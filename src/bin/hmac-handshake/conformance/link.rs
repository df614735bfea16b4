//! One TCP connection of the tester: writes whole, byte by byte or
//! half-closed, and reads bounded by a deadline, each telling how the
//! peer ended when it did not give what was asked.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Pause between the bytes of a byte-at-a-time write (1 ms), so that each
/// travels in its own segment (`TCP_NODELAY` is set).
const BYTE_GAP: Duration = Duration::from_millis(1);

/// The most [`Link::peek_for`] keeps, in bytes (64 KiB).
const PEEK_CAP: usize = 64 * 1024;

/// How a read ended without what it asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The peer closed its side (EOF) after sending `.0` bytes of it.
    Closed(usize),
    /// Nothing more came within the deadline, after `.0` bytes of it.
    Silent(usize),
    /// The connection failed (reset, or another error).
    Broken(String),
    /// A multiprocessing frame header announced `.0` bytes, over the
    /// bound of the read.
    TooLong(u64),
    /// The peer kept sending: `.0` bytes came, the most a read keeps.
    Flooded(usize),
    /// A multiprocessing frame header of negative length `.0` (other than
    /// `-1`, which announces the long form).
    Negative(i32),
}

impl End {
    /// The peer refused, in any way but acceptance: it closed, reset or
    /// stayed silent.
    pub fn describe(&self) -> String {
        match self {
            End::Closed(0) => "closed the connection".into(),
            End::Closed(n) => format!("closed the connection after {n} bytes of a message"),
            End::Silent(0) => "sent nothing more within the timeout".into(),
            End::Silent(n) => {
                format!("sent {n} bytes of a message, then nothing within the timeout")
            }
            End::Broken(e) => format!("the connection failed: {e}"),
            End::TooLong(n) => {
                // Text read as a length: another protocol's first bytes.
                let bytes = u32::try_from(*n).unwrap_or(0).to_be_bytes();
                let named = match &bytes {
                    b"HMHS" => " (that is HMHS: the native protocol; use --profile native)",
                    b"HTTP" => " (that is HTTP)",
                    _ => "",
                };
                format!("sent a frame header announcing {n} bytes{named}")
            }
            End::Flooded(n) => format!("kept sending (over {n} bytes, where none should come)"),
            End::Negative(n) => format!("sent a frame header of negative length {n}"),
        }
    }
}

/// How a case writes its messages: one shared notion for every profile
/// and role, so that "one byte at a time" means the same everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Each message in one write (with a pause where the protocol gives no
    /// answer to wait for).
    Whole,
    /// Every byte of ours in its own write.
    Bytewise,
    /// Application bytes right behind our last handshake message.
    Pipelined,
    /// Client cases: as `Whole`, but the echo is another message than the
    /// client's own.
    WrongEcho,
}

/// A connection under test.
pub struct Link {
    stream: TcpStream,
    timeout: Duration,
    /// Bytes read beyond what was asked for, kept for the next read.
    held: Vec<u8>,
}

impl Link {
    /// Wraps `stream` (connected or accepted) with `timeout` for each wait.
    pub fn new(stream: TcpStream, timeout: Duration) -> Link {
        let _ = stream.set_nodelay(true);
        Link {
            stream,
            timeout,
            held: Vec::new(),
        }
    }

    /// The per-wait deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Writes `bytes` in one call.
    ///
    /// # Errors
    /// The socket's.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.set_write_timeout(Some(self.timeout))?;
        self.stream.write_all(bytes)
    }

    /// Writes `bytes` one per write, [`BYTE_GAP`] apart.
    ///
    /// # Errors
    /// The socket's.
    pub fn send_bytewise(&mut self, bytes: &[u8]) -> io::Result<()> {
        for byte in bytes {
            self.send(std::slice::from_ref(byte))?;
            std::thread::sleep(BYTE_GAP);
        }
        Ok(())
    }

    /// Writes `bytes` at `pace`: byte by byte for [`Pace::Bytewise`], else
    /// in one write (pipelining is the caller's: it joins the bytes).
    ///
    /// # Errors
    /// The socket's, as a message.
    pub fn send_paced(&mut self, bytes: &[u8], pace: Pace) -> Result<(), String> {
        if pace == Pace::Bytewise {
            self.send_bytewise(bytes)
        } else {
            self.send(bytes)
        }
        .map_err(|e| format!("cannot send: {e}"))
    }

    /// Closes our sending side: the peer reads EOF and may still answer.
    pub fn half_close(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Exactly `n` bytes, within the timeout from now.
    ///
    /// # Errors
    /// How the peer ended first.
    pub fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, End> {
        self.read_exact_by(n, Instant::now() + self.timeout)
    }

    /// Exactly `n` bytes, by `deadline`: a message read piece by piece
    /// gets one deadline for all of it, however the peer paces its bytes.
    ///
    /// # Errors
    /// How the peer ended first.
    pub fn read_exact_by(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, End> {
        while self.held.len() < n {
            let before = self.held.len();
            match self.fill(deadline) {
                Ok(0) => return Err(End::Closed(before)),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(End::Silent(before)),
                Err(e) => return Err(End::Broken(e.to_string())),
            }
        }
        let rest = self.held.split_off(n);
        Ok(std::mem::replace(&mut self.held, rest))
    }

    /// One multiprocessing frame (`send_bytes`: a 4-byte big-endian signed
    /// length, `-1` then an 8-byte long form), payload at most `max` bytes.
    ///
    /// # Errors
    /// How the peer ended first; [`End::TooLong`] for a length over `max`
    /// (or negative other than `-1`), before any payload is read.
    pub fn read_frame(&mut self, max: usize) -> Result<Vec<u8>, End> {
        let head = self.read_exact(4)?;
        let short = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let len = match short {
            -1 => {
                let long = self.read_exact(8)?;
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&long);
                u64::from_be_bytes(bytes)
            }
            n if n < 0 => return Err(End::Negative(n)),
            n => u64::from(n.unsigned_abs()),
        };
        if len > max as u64 {
            return Err(End::TooLong(len));
        }
        self.read_exact(usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// Everything the peer sends until it closes, or until it has been
    /// silent for the timeout; at most `cap` bytes are kept.
    pub fn drain(&mut self, cap: usize) -> (Vec<u8>, End) {
        let deadline = Instant::now() + self.timeout;
        loop {
            if self.held.len() >= cap {
                let got = std::mem::take(&mut self.held);
                return (got, End::Flooded(cap));
            }
            match self.fill(deadline) {
                Ok(0) => return (std::mem::take(&mut self.held), End::Closed(0)),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return (std::mem::take(&mut self.held), End::Silent(0))
                }
                Err(e) => return (std::mem::take(&mut self.held), End::Broken(e.to_string())),
            }
        }
    }

    /// What has arrived within `wait` from now (at most 64 KiB are kept),
    /// left to be read again.
    pub fn peek_for(&mut self, wait: Duration) -> Vec<u8> {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline && self.held.len() < PEEK_CAP {
            match self.fill(deadline) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        self.held.clone()
    }

    /// One read into [`Link::held`], waiting until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut buf = [0u8; 4096];
        let n = self.stream.read(&mut buf)?;
        self.held.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A read that ended at its timeout.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A multiprocessing frame: `send_bytes`'s 4-byte big-endian length, then
/// `payload`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(payload);
    out
}

/// `bytes` with bit 0 of byte `at` flipped.
pub fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(byte) = out.get_mut(at) {
        *byte ^= 1;
    }
    out
}

/// Up to 16 bytes of `bytes` in hex, for what was seen.
pub fn show(bytes: &[u8]) -> String {
    let head: String = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 16 {
        format!("{head}.. ({} bytes)", bytes.len())
    } else if bytes.is_empty() {
        "nothing".into()
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use super::{End, Link};

    /// A link reading what `peer` sends, every wait 1 s.
    fn reading(peer: &[u8]) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        writer.write_all(peer).unwrap();
        drop(writer);
        Link::new(listener.accept().unwrap().0, Duration::from_secs(1))
    }

    /// Frame headers read as `send_bytes` writes them, and the bad ones
    /// refused before their payload, named for what they are.
    #[test]
    fn frame_headers() {
        assert_eq!(
            reading(b"\0\0\0\x03abc").read_frame(256),
            Ok(b"abc".to_vec())
        );
        let long = [&[0xff; 4][..], &3u64.to_be_bytes(), b"xyz"].concat();
        assert_eq!(reading(&long).read_frame(256), Ok(b"xyz".to_vec()));
        assert_eq!(
            reading(&(-2i32).to_be_bytes()).read_frame(256),
            Err(End::Negative(-2))
        );
        assert_eq!(
            reading(b"\0\0\x01\x01").read_frame(256),
            Err(End::TooLong(257))
        );
        let native = reading(b"HMHS\x01\x01\x00").read_frame(256).unwrap_err();
        assert!(
            native.describe().contains("HMHS: the native protocol"),
            "{native:?}"
        );
        assert_eq!(
            reading(b"\0\0\0\x05ab").read_frame(256),
            Err(End::Closed(2))
        );
        assert_eq!(
            End::Negative(-2).describe(),
            "sent a frame header of negative length -2"
        );
    }
}
