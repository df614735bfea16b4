//! CPython's `send_bytes` / `recv_bytes` framing over a byte buffer, shared
//! by the blocking and the tokio adapters: the sans-IO half of them.
//!
//! A message is kept in the buffer until it has arrived whole, so a read
//! that times out or a future that is cancelled loses nothing: the next
//! call resumes where the last one stopped.

use std::io;
use std::vec::Vec;

use crate::multiprocessing::{FrameHeader, HeaderDecoder};

/// Largest payload, in bytes, that `send_bytes` writes in one call with its
/// length prefix; larger ones go as two writes. CPython's
/// `Connection._send_bytes` uses the same bound (16384).
pub const SINGLE_WRITE_MAX: usize = 16384;

/// Size of the reads both adapters make, in bytes.
pub const READ_CHUNK: usize = 4096;

/// What the buffer holds.
pub(crate) enum Frame {
    /// A whole message: its payload, removed from the buffer.
    Message(Vec<u8>),
    /// Not yet: read at most this many more bytes (1 to [`READ_CHUNK`]), so
    /// that nothing past this message is read before it is needed.
    Need(usize),
}

/// Takes one whole message off the front of `pending`, if it is all there.
///
/// The length prefix is checked against `maxsize` as soon as it is complete
/// (before any payload is read, like CPython's `_bad_message_length`), and
/// the buffer only grows with bytes that arrive.
///
/// # Errors
/// `InvalidData` for a negative length other than -1 or one over `maxsize`.
pub(crate) fn take(pending: &mut Vec<u8>, maxsize: u64) -> io::Result<Frame> {
    let decoded = HeaderDecoder::new(maxsize)
        .decode(pending)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let Some(len) = decoded.len else {
        return Ok(Frame::Need(READ_CHUNK));
    };
    // Bounded by `maxsize`; a length that does not fit memory is refused.
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    let end = decoded
        .consumed
        .checked_add(len)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
    if pending.len() < end {
        return Ok(Frame::Need((end - pending.len()).min(READ_CHUNK)));
    }
    let message = pending[decoded.consumed..end].to_vec();
    pending.drain(..end);
    Ok(Frame::Message(message))
}

/// Whether the stream may end here: nothing of a message has arrived.
pub(crate) fn clean_end(pending: &[u8]) -> io::Result<()> {
    if pending.is_empty() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the stream ended in the middle of a message",
        ))
    }
}

/// The bytes of one frame: the prefix and, up to [`SINGLE_WRITE_MAX`], the
/// payload in the same buffer (one write, as CPython does, so that Nagle's
/// algorithm does not hold the payload back for a delayed ACK); larger
/// payloads are written after it from the caller's slice.
pub(crate) fn head(payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader::new(payload.len() as u64);
    let mut out = Vec::with_capacity(header.as_bytes().len() + payload.len().min(SINGLE_WRITE_MAX));
    out.extend_from_slice(header.as_bytes());
    if payload.len() <= SINGLE_WRITE_MAX {
        out.extend_from_slice(payload);
    }
    out
}

/// The part of `payload` that [`head`] left out.
pub(crate) fn tail(payload: &[u8]) -> &[u8] {
    if payload.len() <= SINGLE_WRITE_MAX {
        &[]
    } else {
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = head(payload);
        out.extend_from_slice(tail(payload));
        out
    }

    #[test]
    fn a_message_is_taken_only_when_whole_and_resumes_byte_by_byte() {
        let mut wire = frame(b"hello");
        wire.extend_from_slice(&frame(b""));
        let mut pending = Vec::new();
        let mut got = Vec::new();
        for &b in &wire {
            pending.push(b);
            while let Frame::Message(m) = take(&mut pending, 100).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, vec![b"hello".to_vec(), Vec::new()]);
        assert!(pending.is_empty());
    }

    #[test]
    fn need_never_asks_past_the_message() {
        let mut pending = frame(&[7u8; 10]);
        pending.truncate(4 + 3);
        match take(&mut pending, 100).unwrap() {
            Frame::Need(n) => assert_eq!(n, 7),
            Frame::Message(_) => panic!("not whole yet"),
        }
        assert_eq!(pending.len(), 7, "nothing consumed");
        let mut empty = Vec::new();
        assert!(matches!(
            take(&mut empty, 100).unwrap(),
            Frame::Need(READ_CHUNK)
        ));
    }

    #[test]
    fn oversized_and_negative_lengths_are_refused_before_the_payload() {
        let mut big = frame(&[0u8; 101])[..4].to_vec();
        let e = take(&mut big, 100).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let mut negative = (-2i32).to_be_bytes().to_vec();
        assert_eq!(
            take(&mut negative, 100).err().unwrap().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn small_payloads_go_with_their_prefix_in_one_buffer() {
        let small = [1u8; SINGLE_WRITE_MAX];
        assert_eq!(head(&small).len(), 4 + SINGLE_WRITE_MAX);
        assert!(tail(&small).is_empty());
        let large = [1u8; SINGLE_WRITE_MAX + 1];
        assert_eq!(head(&large), ((SINGLE_WRITE_MAX + 1) as u32).to_be_bytes());
        assert_eq!(tail(&large).len(), SINGLE_WRITE_MAX + 1);
    }

    #[test]
    fn a_stream_may_end_only_between_messages() {
        assert!(clean_end(&[]).is_ok());
        assert_eq!(
            clean_end(&[0]).err().unwrap().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
