//! Fixed-capacity buffers shared by every profile: nothing here allocates.

use crate::Error;

/// Bytes waiting to be sent: one protocol message at a time, of at most
/// `N` bytes (`N` < 65,536: the positions are `u16`, which keeps every
/// machine within 1 KiB).
#[derive(Clone)]
pub(crate) struct Outbox<const N: usize> {
    buf: [u8; N],
    len: u16,
    pos: u16,
}

impl<const N: usize> Outbox<N> {
    pub(crate) const fn new() -> Self {
        assert!(
            N <= u16::MAX as usize,
            "an outbox holds at most 65,535 bytes"
        );
        Outbox {
            buf: [0; N],
            len: 0,
            pos: 0,
        }
    }

    /// Appends `parts` to the pending message. Capacities are sized at
    /// compile time for the largest message of each profile, so a part that
    /// would not fit is a bug in this crate; it is cut, never a panic.
    pub(crate) fn push(&mut self, parts: &[&[u8]]) {
        let mut len = usize::from(self.len);
        for part in parts {
            let room = N - len;
            let n = part.len().min(room);
            debug_assert_eq!(n, part.len(), "outbox capacity {N} too small");
            self.buf[len..len + n].copy_from_slice(&part[..n]);
            len += n;
        }
        // `len` <= N <= u16::MAX (checked in `new`).
        self.len = len as u16;
    }

    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[usize::from(self.pos)..usize::from(self.len)]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.len
    }

    /// Marks `n` pending bytes as written; the buffer resets once drained.
    pub(crate) fn sent(&mut self, n: usize) -> Result<(), Error> {
        let left = self.len - self.pos;
        let Ok(n) = u16::try_from(n) else {
            return Err(Error::SentTooMuch);
        };
        if n > left {
            return Err(Error::SentTooMuch);
        }
        self.pos += n;
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
        }
        Ok(())
    }
}

/// Accumulates exactly `want` bytes across any number of `fill` calls.
#[derive(Clone)]
pub(crate) struct Fill<const N: usize> {
    buf: [u8; N],
    have: usize,
}

impl<const N: usize> Fill<N> {
    pub(crate) const fn new() -> Self {
        Fill {
            buf: [0; N],
            have: 0,
        }
    }

    /// Copies up to `want - have` bytes from `input` (`want` is clamped to
    /// `N`) and returns how many it took.
    pub(crate) fn fill(&mut self, input: &[u8], want: usize) -> usize {
        let want = want.min(N);
        let n = want.saturating_sub(self.have).min(input.len());
        self.buf[self.have..self.have + n].copy_from_slice(&input[..n]);
        self.have += n;
        n
    }

    pub(crate) fn len(&self) -> usize {
        self.have
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.have]
    }

    pub(crate) fn clear(&mut self) {
        self.have = 0;
    }
}

/// Up to 64 public bytes, inline, not zeroized: a transcript hash
/// (`H(T1)`, `H(T2)`, `H(context)`) or a tag that goes on the wire. Never a
/// secret: wiping the handful a handshake makes would cost more than a
/// tenth of its time outside the hash function.
#[derive(Clone, Copy)]
pub(crate) struct Public64 {
    bytes: [u8; 64],
    len: u8,
}

impl Public64 {
    /// The first 64 bytes of `data`.
    pub(crate) fn from_slice(data: &[u8]) -> Public64 {
        let mut out = Public64 {
            bytes: [0; 64],
            len: 0,
        };
        let n = data.len().min(64);
        out.bytes[..n].copy_from_slice(&data[..n]);
        // n <= 64.
        out.len = n as u8;
        out
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}
