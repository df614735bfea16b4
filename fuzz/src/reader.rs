//! The fuzzer input formats: an explicit byte layout read front to back.
//!
//! Every read is total: a field past the end of the input reads as zeros (or
//! as a shorter slice), so any byte string is a valid input and a seed is
//! easy to write by hand or from a script (`seed_corpus.py` writes the same
//! layout). Each target's layout is documented on its `decode` function.

use std::fmt;

/// Reads fields from the front of the fuzzer's bytes.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    /// One byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// Exactly `N` bytes, zero-padded at the end of the input.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let b = self.bytes(N);
        out[..b.len()].copy_from_slice(b);
        out
    }

    /// `u8` length, then that many bytes.
    pub fn lp8(&mut self) -> &'a [u8] {
        let n = self.u8();
        self.bytes(usize::from(n))
    }

    /// `u16` (little-endian) length taken modulo `max + 1`, then that many bytes.
    pub fn lp16(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u16()) % (max + 1);
        self.bytes(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.data;
        self.data = &[];
        r
    }
}

/// Hex for `Debug` output of inputs (`cargo fuzz fmt`).
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str("\"")
    }
}

/// How bytes move: receive chunk sizes and write sizes, plus API probes.
///
/// Layout: `lp8(chunks) || lp8(writes) || u8(pokes)`.
/// - `chunks`: sizes of the slices offered to `receive`, cycled. Empty means
///   "everything available at once". A 0 entry makes an extra `receive(&[])`
///   (which must consume nothing and change nothing) before the next entry.
/// - `writes`: sizes of the buffers given to `write_output`, cycled. Empty
///   means "the whole pending message". A 0 entry makes an extra
///   `write_output(&mut [])` (must return 0 and change nothing).
/// - `pokes` bits: 1 = also offer input while output is pending; 2 = call
///   `sent(pending + 1)` (must fail with `SentTooMuch` and change nothing);
///   4 = call `sent(1)` when nothing is pending (same). Bits 3 to 7
///   (`pokes >> 3`, 0 to 31) place the `finish()` probe: a replay stopped at
///   status check `(pokes >> 3) * checks / 32` of the run (0 = the fresh
///   machine) and finished there.
#[derive(Clone, Default)]
pub struct Plan {
    pub chunks: Vec<u8>,
    pub writes: Vec<u8>,
    pub pokes: u8,
}

impl Plan {
    pub fn decode(r: &mut Reader<'_>) -> Plan {
        Plan {
            chunks: r.lp8().to_vec(),
            writes: r.lp8().to_vec(),
            pokes: r.u8(),
        }
    }

    pub fn pending_input(&self) -> bool {
        self.pokes & 1 != 0
    }

    pub fn oversent(&self) -> bool {
        self.pokes & 2 != 0
    }

    pub fn idle_sent(&self) -> bool {
        self.pokes & 4 != 0
    }

    /// Where the `finish()` probe stops, in 32nds of the run.
    pub fn finish_probe(&self) -> u8 {
        self.pokes >> 3
    }
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("chunks", &self.chunks)
            .field("writes", &self.writes)
            .field("pokes", &format_args!("{:#04x}", self.pokes))
            .finish()
    }
}

/// A cycling list of sizes; `None` means unlimited.
pub struct Sizes<'a> {
    list: &'a [u8],
    at: usize,
}

impl<'a> Sizes<'a> {
    pub fn new(list: &'a [u8]) -> Sizes<'a> {
        Sizes { list, at: 0 }
    }

    /// The next non-zero size; `on_zero` runs once per 0 entry skipped.
    /// `None` when the list is empty or all zeros (unlimited).
    pub fn next(&mut self, mut on_zero: impl FnMut()) -> Option<usize> {
        for _ in 0..self.list.len() {
            let s = self.list[self.at % self.list.len()];
            self.at = self.at.wrapping_add(1);
            if s == 0 {
                on_zero();
            } else {
                return Some(usize::from(s));
            }
        }
        None
    }
}
