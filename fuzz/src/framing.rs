//! `framing`: the public `HeaderDecoder` / `FrameHeader` of the
//! multiprocessing profile, against a reference decoder written here.

use std::fmt;

use hmac_handshake::multiprocessing::{Decoded, FrameHeader, HeaderDecoder};
use hmac_handshake::Error;

use crate::reader::{Hex, Reader, Sizes};

/// Layout: `u8(sel) || u64(raw_max) || u64(raw_n) || lp8(chunks) || data`.
/// `maxsize` by `sel % 4`: `raw_max % 512`, `raw_max % 2^32`,
/// `0x7fff_fffe + raw_max % 3`, or `raw_max`. The round-trip length `n` is
/// `raw_n % (maxsize + 2)` when `sel & 4`, else `raw_n`.
pub struct FramingInput {
    pub maxsize: u64,
    pub n: u64,
    pub chunks: Vec<u8>,
    pub data: Vec<u8>,
}

impl FramingInput {
    pub fn decode(data: &[u8]) -> FramingInput {
        let mut r = Reader::new(data);
        let sel = r.u8();
        let raw_max = r.u64();
        let raw_n = r.u64();
        let maxsize = match sel % 4 {
            0 => raw_max % 512,
            1 => raw_max % (1 << 32),
            2 => 0x7fff_fffe + raw_max % 3,
            _ => raw_max,
        };
        let n = if sel & 4 != 0 {
            raw_n % maxsize.saturating_add(2).max(1)
        } else {
            raw_n
        };
        FramingInput {
            maxsize,
            n,
            chunks: r.lp8().to_vec(),
            data: r.rest().to_vec(),
        }
    }
}

crate::raw_input!(FramingInput);

impl fmt::Debug for FramingInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramingInput")
            .field("maxsize", &self.maxsize)
            .field("n", &self.n)
            .field("chunks", &self.chunks)
            .field("data", &Hex(&self.data))
            .finish()
    }
}

/// What decoding `data` must give: prefix bytes used and the result.
fn reference(data: &[u8], maxsize: u64) -> (usize, Result<Option<u64>, Error>) {
    let too_long = |len: u64| Error::MessageTooLong {
        len,
        max: usize::try_from(maxsize).unwrap_or(usize::MAX),
    };
    if data.len() < 4 {
        return (data.len(), Ok(None));
    }
    let short = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let (used, len) = match short {
        0.. => (4, u64::from(short as u32)),
        -1 if data.len() < 12 => return (data.len(), Ok(None)),
        -1 => {
            let mut l = [0u8; 8];
            l.copy_from_slice(&data[4..12]);
            (12, u64::from_be_bytes(l))
        }
        n => return (4, Err(Error::BadLength(n))),
    };
    if len > maxsize {
        (used, Err(too_long(len)))
    } else {
        (used, Ok(Some(len)))
    }
}

/// Feeds `data` to a fresh decoder in `chunks`; returns bytes used and the
/// last result, checking the per-call contract.
fn feed(
    dec: &mut HeaderDecoder,
    data: &[u8],
    chunks: &[u8],
) -> (usize, Result<Option<u64>, Error>) {
    let mut sizes = Sizes::new(chunks);
    let mut pos = 0usize;
    loop {
        let c = sizes
            .next(|| {
                let before = dec.buffered();
                let r = dec.decode(&[]);
                assert!(
                    matches!(r, Ok(Decoded { consumed: 0, .. }) | Err(_)),
                    "decode(&[]) consumed"
                );
                assert_eq!(dec.buffered(), before);
            })
            .unwrap_or(usize::MAX);
        let end = data.len().min(pos.saturating_add(c));
        let r = dec.decode(&data[pos..end]);
        match r {
            Ok(Decoded { consumed, len }) => {
                assert!(
                    consumed <= end - pos,
                    "decode consumed {consumed} of {}",
                    end - pos
                );
                pos += consumed;
                assert!(pos <= 12, "decode read past the prefix: {pos} bytes");
                assert_eq!(
                    dec.buffered(),
                    pos,
                    "buffered() is not what decode consumed"
                );
                if let Some(len) = len {
                    // Complete: later calls take nothing and say the same.
                    let again = dec.decode(&data[pos..]);
                    assert_eq!(
                        again,
                        Ok(Decoded {
                            consumed: 0,
                            len: Some(len)
                        })
                    );
                    return (pos, Ok(Some(len)));
                }
                if end == data.len() {
                    return (pos, Ok(None));
                }
            }
            Err(e) => {
                match e {
                    Error::BadLength(n) => assert!(n < -1),
                    Error::MessageTooLong { len, max } => {
                        assert!(len > input_max(dec));
                        assert_eq!(max as u64, input_max(dec).min(usize::MAX as u64));
                    }
                    other => panic!("decode returned {other:?}"),
                }
                let used = dec.buffered();
                assert!(used <= 12 && used >= pos);
                return (used, Err(e));
            }
        }
    }
}

fn input_max(dec: &HeaderDecoder) -> u64 {
    // The Debug output is the only public view of maxsize.
    let s = format!("{dec:?}");
    let tail = s.split("maxsize: ").nth(1).expect("Debug shows maxsize");
    tail.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .expect("a number")
}

pub fn run(input: &FramingInput) {
    // Arbitrary bytes, chunked and whole.
    let want = reference(&input.data, input.maxsize);
    let mut dec = HeaderDecoder::new(input.maxsize);
    let got = feed(&mut dec, &input.data, &input.chunks);
    assert_eq!(got, want, "chunked decode differs from the reference");
    let mut whole = HeaderDecoder::new(input.maxsize);
    assert_eq!(
        feed(&mut whole, &input.data, &[]),
        want,
        "whole decode differs from the reference"
    );

    // Round trip of FrameHeader::new(n), on the same decoder after reset().
    let header = FrameHeader::new(input.n);
    let bytes = header.as_bytes();
    assert_eq!(bytes.len(), if input.n <= 0x7fff_ffff { 4 } else { 12 });
    dec.reset();
    assert_eq!(dec.buffered(), 0);
    let got = feed(&mut dec, bytes, &input.chunks);
    if input.n <= input.maxsize {
        assert_eq!(
            got,
            (bytes.len(), Ok(Some(input.n))),
            "round trip of {}",
            input.n
        );
    } else {
        assert_eq!(got, reference(bytes, input.maxsize));
        assert!(matches!(got.1, Err(Error::MessageTooLong { len, .. }) if len == input.n));
    }
}
