//! CPython `multiprocessing.connection` framing: `send_bytes` / `recv_bytes`.
//!
//! A frame is a length prefix and the payload. The prefix is a 4-byte
//! big-endian *signed* length (`struct.pack("!i", n)`); payloads over
//! `0x7fffffff` bytes are announced by `-1` followed by an 8-byte big-endian
//! unsigned length (`Connection._send_bytes` / `_recv_bytes`, Python 3.8+).
//! Any other negative length is an error here ([`Error::BadLength`]).

use crate::buf::Fill;
use crate::Error;

/// Receive limit of every handshake message, in bytes: CPython's
/// `connection.recv_bytes(256)` in `deliver_challenge` / `answer_challenge`.
pub const HANDSHAKE_MAX_MESSAGE: usize = 256;

/// Longest length prefix, in bytes: `-1` (4 bytes) then an 8-byte length.
pub const MAX_HEADER_LEN: usize = 12;

/// The length prefix `send_bytes` writes before a payload of a given length.
///
/// ```
/// use hmac_handshake::multiprocessing::FrameHeader;
/// assert_eq!(FrameHeader::new(9).as_bytes(), &[0, 0, 0, 9]);
/// assert_eq!(FrameHeader::new(0x8000_0000).as_bytes().len(), 12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: usize,
}

impl FrameHeader {
    /// The prefix for a payload of `payload_len` bytes: 4 bytes up to
    /// `0x7fffffff`, else `ff ff ff ff` and the 8-byte length (12 bytes).
    #[must_use]
    pub fn new(payload_len: u64) -> FrameHeader {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        match u32::try_from(payload_len) {
            Ok(n) if n <= 0x7fff_ffff => {
                bytes[..4].copy_from_slice(&n.to_be_bytes());
                FrameHeader { bytes, len: 4 }
            }
            _ => {
                bytes[..4].copy_from_slice(&(-1i32).to_be_bytes());
                bytes[4..].copy_from_slice(&payload_len.to_be_bytes());
                FrameHeader { bytes, len: 12 }
            }
        }
    }

    /// The prefix bytes: 4 or 12 of them.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Incremental decoder of one length prefix, as `recv_bytes(maxsize)` reads it.
///
/// Feed it bytes with [`HeaderDecoder::decode`] until it returns the payload
/// length; the payload (that many bytes) follows on the stream. A length over
/// `maxsize` is refused before any payload is read, like CPython's
/// `_bad_message_length`.
#[derive(Clone)]
pub struct HeaderDecoder {
    buf: Fill<MAX_HEADER_LEN>,
    maxsize: u64,
}

impl core::fmt::Debug for HeaderDecoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeaderDecoder")
            .field("buffered", &self.buf.len())
            .field("maxsize", &self.maxsize)
            .finish()
    }
}

/// Progress of a [`HeaderDecoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input that belong to the prefix (0 to 12).
    pub consumed: usize,
    /// `Some(payload length in bytes)` once the prefix is complete.
    pub len: Option<u64>,
}

impl HeaderDecoder {
    /// A decoder that accepts payloads of at most `maxsize` bytes.
    #[must_use]
    pub const fn new(maxsize: u64) -> HeaderDecoder {
        HeaderDecoder {
            buf: Fill::new(),
            maxsize,
        }
    }

    /// Consumes prefix bytes from `input`. Never reads past the prefix.
    ///
    /// # Errors
    /// [`Error::BadLength`] for a negative length other than -1, and
    /// [`Error::MessageTooLong`] for a length over `maxsize`.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        let mut consumed = self.buf.fill(input, 4);
        if self.buf.len() < 4 {
            return Ok(Decoded {
                consumed,
                len: None,
            });
        }
        let b = self.buf.bytes();
        let short = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let len = match short {
            0.. => u64::from(short.unsigned_abs()),
            -1 => {
                consumed += self.buf.fill(&input[consumed..], MAX_HEADER_LEN);
                if self.buf.len() < MAX_HEADER_LEN {
                    return Ok(Decoded {
                        consumed,
                        len: None,
                    });
                }
                let mut long = [0u8; 8];
                long.copy_from_slice(&self.buf.bytes()[4..]);
                u64::from_be_bytes(long)
            }
            n => return Err(Error::BadLength(n)),
        };
        if len > self.maxsize {
            return Err(Error::MessageTooLong {
                len,
                max: usize::try_from(self.maxsize).unwrap_or(usize::MAX),
            });
        }
        Ok(Decoded {
            consumed,
            len: Some(len),
        })
    }

    /// Prefix bytes held so far (0 to 12): nonzero means a frame has begun.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets a decoded prefix, ready for the next frame.
    pub fn reset(&mut self) {
        self.buf.clear();
    }
}

/// Reads one whole handshake frame (payload at most
/// [`HANDSHAKE_MAX_MESSAGE`] bytes) into a fixed buffer.
#[derive(Clone)]
pub(crate) struct MessageReader {
    header: HeaderDecoder,
    len: Option<usize>,
    payload: Fill<HANDSHAKE_MAX_MESSAGE>,
}

impl MessageReader {
    pub(crate) const fn new() -> MessageReader {
        MessageReader {
            header: HeaderDecoder::new(HANDSHAKE_MAX_MESSAGE as u64),
            len: None,
            payload: Fill::new(),
        }
    }

    /// Consumes bytes of one frame. Returns the bytes consumed and whether
    /// the frame is complete; then [`MessageReader::message`] holds it.
    pub(crate) fn read(&mut self, input: &[u8]) -> (usize, Result<bool, Error>) {
        let mut consumed = 0;
        let before = self.header.buf.len();
        let len = match self.len {
            Some(len) => len,
            None => match self.header.decode(input) {
                Err(e) => return (self.header.buf.len() - before, Err(e)),
                Ok(Decoded { consumed: c, len }) => {
                    consumed = c;
                    match len {
                        None => return (consumed, Ok(false)),
                        // Bounded by HANDSHAKE_MAX_MESSAGE in the decoder.
                        Some(len) => {
                            let len = usize::try_from(len).unwrap_or(HANDSHAKE_MAX_MESSAGE);
                            self.len = Some(len);
                            len
                        }
                    }
                }
            },
        };
        consumed += self.payload.fill(&input[consumed..], len);
        (consumed, Ok(self.payload.len() == len))
    }

    pub(crate) fn message(&self) -> &[u8] {
        self.payload.bytes()
    }

    pub(crate) fn reset(&mut self) {
        self.header.reset();
        self.len = None;
        self.payload.clear();
    }
}
