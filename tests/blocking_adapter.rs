//! The blocking adapter over awkward streams: reads and writes of one byte,
//! interrupted calls (EINTR), early close, and bytes read past the handshake.

use std::io::{self, Read, Write};

use hmac_handshake::adapter::blocking::{drive, recv_bytes, send_bytes, AuthError};
use hmac_handshake::{recipe, Digest, Error, Key, Profile, ServerHandshake};

/// Serves `input` and records output, `chunk` bytes per call, and fails
/// every other call with `Interrupted`.
struct Awkward {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
    chunk: usize,
    calls: usize,
}

impl Awkward {
    fn new(input: Vec<u8>, chunk: usize) -> Self {
        Awkward {
            input,
            pos: 0,
            output: Vec::new(),
            chunk,
            calls: 0,
        }
    }

    fn interrupt(&mut self) -> bool {
        self.calls += 1;
        self.calls % 2 == 1
    }
}

impl Read for Awkward {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.interrupt() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = self.chunk.min(buf.len()).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Awkward {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.interrupt() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = self.chunk.min(buf.len());
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn recipe_server_over(
    chunk: usize,
    client_bytes: Vec<u8>,
) -> (Result<Vec<u8>, AuthError>, Awkward) {
    let key = Key::new(b"adapter test key");
    let challenge = [7u8; 32];
    let profile = Profile::Recipe(recipe::Config::default());
    let mut machine = ServerHandshake::new(&key, profile, &challenge).unwrap();
    let mut stream = Awkward::new(client_bytes, chunk);
    let result = drive(&mut machine, &mut stream).map(|auth| {
        assert!(auth.outcome.peer_authenticated);
        auth.leftover
    });
    (result, stream)
}

#[test]
fn pipelined_bytes_survive_any_read_size_and_eintr() {
    let key = Key::new(b"adapter test key");
    let tag = key.tag(Digest::Sha256, &[7u8; 32]);
    let app = b"first application bytes".to_vec();
    let mut wire = tag.as_bytes().to_vec();
    wire.extend_from_slice(&app);
    for chunk in [1, 3, 32, 33, 4096] {
        let (result, stream) = recipe_server_over(chunk, wire.clone());
        let leftover = result.unwrap();
        assert_eq!(stream.output, vec![7u8; 32], "chunk {chunk}: the challenge");
        let mut rest = leftover;
        rest.extend_from_slice(&stream.input[stream.pos..]);
        assert_eq!(rest, app, "chunk {chunk}: application bytes intact");
    }
}

#[test]
fn close_mid_handshake_is_closed_not_a_protocol_error() {
    let (result, _) = recipe_server_over(5, vec![1, 2, 3]);
    assert!(matches!(result, Err(AuthError::Closed)), "{result:?}");
    let (result, _) = recipe_server_over(64, vec![0; 32]);
    assert!(
        matches!(result, Err(AuthError::Handshake(Error::BadTag))),
        "{result:?}"
    );
}

#[test]
fn send_and_recv_bytes_round_trip_with_pending_bytes() {
    let mut wire = Vec::new();
    send_bytes(&mut wire, b"hello").unwrap();
    send_bytes(&mut wire, b"").unwrap();
    send_bytes(&mut wire, &[0xab; 300]).unwrap();
    // The first 7 bytes were already read by the handshake.
    let mut pending = wire[..7].to_vec();
    let mut rest = &wire[7..];
    assert_eq!(
        recv_bytes(&mut rest, &mut pending, 1024).unwrap().unwrap(),
        b"hello"
    );
    assert_eq!(
        recv_bytes(&mut rest, &mut pending, 1024).unwrap().unwrap(),
        b""
    );
    assert_eq!(
        recv_bytes(&mut rest, &mut pending, 1024).unwrap().unwrap(),
        vec![0xab; 300]
    );
    assert_eq!(recv_bytes(&mut rest, &mut pending, 1024).unwrap(), None);
    // Over the limit: refused before the payload is read.
    let mut big = Vec::new();
    send_bytes(&mut big, &[0; 2000]).unwrap();
    let mut pending = Vec::new();
    let err = recv_bytes(&mut &big[..], &mut pending, 1024).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    // Cut inside the prefix: UnexpectedEof, not a clean end.
    let mut pending = Vec::new();
    let err = recv_bytes(&mut &[0u8, 0][..], &mut pending, 1024).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn recv_bytes_retries_eintr_and_reads_odd_sizes() {
    let mut wire = Vec::new();
    send_bytes(&mut wire, b"first").unwrap();
    send_bytes(&mut wire, &[7u8; 5000]).unwrap();
    for chunk in [1, 3, 4096] {
        let mut stream = Awkward::new(wire.clone(), chunk);
        let mut pending = Vec::new();
        let first = recv_bytes(&mut stream, &mut pending, 1 << 20).unwrap();
        assert_eq!(first.as_deref(), Some(&b"first"[..]), "chunk {chunk}");
        let second = recv_bytes(&mut stream, &mut pending, 1 << 20).unwrap();
        assert_eq!(second, Some(vec![7u8; 5000]), "chunk {chunk}");
        assert_eq!(
            recv_bytes(&mut stream, &mut pending, 1 << 20).unwrap(),
            None
        );
    }
}

#[test]
fn recv_bytes_does_not_reserve_the_announced_length() {
    // -1, then an 8-byte length of 16 TiB, then 3 payload bytes and the end:
    // with no limit that is a valid prefix, and only the 3 bytes may be held.
    let mut wire = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0, 0, 0, 0, 0];
    wire.extend_from_slice(b"abc");
    let mut pending = Vec::new();
    let err = recv_bytes(&mut &wire[..], &mut pending, u64::MAX).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}
