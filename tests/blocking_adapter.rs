//! The blocking adapter over awkward streams: reads and writes of one byte,
//! interrupted calls (EINTR), early close, and bytes read past the handshake;
//! and a native handshake through `server_authenticate` /
//! `client_authenticate` with shared key handles.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    client_authenticate, drive, recv_bytes, send_bytes, server_authenticate, AuthError,
};
use hmac_handshake::native::{self, KeyId, Keyring, NativeKey, Session, Suite};
use hmac_handshake::{recipe, Confirmation, Digest, Error, Key, Scheme, ServerHandshake};

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
    let machine = ServerHandshake::with_pinned_random(&key, recipe::Config::default(), &challenge);
    let mut stream = Awkward::new(client_bytes, chunk);
    let result = drive(machine, &mut stream).map(|auth| {
        assert!(auth.outcome.peer_authenticated);
        auth.leftover().to_vec()
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

/// One direction of an in-memory connection: the bytes in flight, and
/// whether the writing end is gone.
#[derive(Default)]
struct Pipe {
    state: Mutex<(VecDeque<u8>, bool)>,
    ready: Condvar,
}

impl Pipe {
    fn put(&self, bytes: &[u8]) {
        self.state.lock().unwrap().0.extend(bytes);
        self.ready.notify_all();
    }
}

/// One end of an in-memory connection. A read takes every byte in flight
/// (up to the buffer's size), so bytes written in one `write` arrive in one
/// read. A corked end holds what it writes (even through `flush`) until it
/// next reads or [`push`](End::push)es: like a socket whose kernel sends
/// the corked bytes when the program waits for its peer.
struct End {
    rx: Arc<Pipe>,
    tx: Arc<Pipe>,
    corked: Option<Vec<u8>>,
}

fn connection() -> (End, End) {
    let (a, b) = (Arc::new(Pipe::default()), Arc::new(Pipe::default()));
    let end = |rx: &Arc<Pipe>, tx: &Arc<Pipe>| End {
        rx: Arc::clone(rx),
        tx: Arc::clone(tx),
        corked: None,
    };
    (end(&a, &b), end(&b, &a))
}

impl End {
    fn corked(mut self) -> End {
        self.corked = Some(Vec::new());
        self
    }

    /// Sends the corked bytes, in one piece; the end stays corked.
    fn push(&mut self) {
        if let Some(held) = self.corked.as_mut() {
            self.tx.put(&std::mem::take(held));
        }
    }
}

impl Read for End {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.push();
        let mut state = self.rx.state.lock().unwrap();
        while state.0.is_empty() && !state.1 {
            let (next, timeout) = self
                .rx
                .ready
                .wait_timeout(state, Duration::from_secs(10))
                .unwrap();
            if timeout.timed_out() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            state = next;
        }
        let n = buf.len().min(state.0.len());
        for (b, byte) in buf.iter_mut().zip(state.0.drain(..n)) {
            *b = byte;
        }
        Ok(n)
    }
}

impl Write for End {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.corked.as_mut() {
            Some(held) => held.extend_from_slice(buf),
            None => self.tx.put(buf),
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for End {
    fn drop(&mut self) {
        self.push();
        self.tx.state.lock().unwrap().1 = true;
        self.tx.ready.notify_all();
    }
}

/// The two sides' sessions hold the same secrets.
fn assert_same_session(server: &Session, client: &Session) {
    assert_eq!(server.key_id(), client.key_id());
    assert_eq!(server.suite(), client.suite());
    assert_eq!(server.handshake_hash(), client.handshake_hash());
    assert_eq!(server.client_to_server_key(), client.client_to_server_key());
    assert_eq!(server.server_to_client_key(), client.server_to_client_key());
    assert_ne!(server.client_to_server_key(), server.server_to_client_key());
    let (mut a, mut b) = ([0u8; 40], [0u8; 40]);
    server.export(b"adapter test", b"ctx", &mut a).unwrap();
    client.export(b"adapter test", b"ctx", &mut b).unwrap();
    assert_eq!(a, b);
}

/// A native handshake through `server_authenticate` / `client_authenticate`
/// with shared handles (`Arc<Keyring>` on the server, `Arc<NativeKey>` on
/// the client, the server in its own thread): both sides end with the same
/// session, and the application bytes the server wrote right behind its
/// `ServerFinish` (arriving in the same read) are the client's leftover,
/// whole and in order.
#[test]
fn native_authenticate_with_shared_keys_gives_equal_sessions_and_leftover() {
    const SUITE: Suite = Suite::HmacSha384;
    let secret = |n: u8| [n; 32];
    let ring = Arc::new(
        Keyring::new([
            NativeKey::new(b"2026-q1", &secret(1), SUITE).unwrap(),
            NativeKey::new(b"2026-q2", &secret(2), SUITE).unwrap(),
            NativeKey::new(b"2026-q3", &secret(3), SUITE).unwrap(),
        ])
        .unwrap(),
    );
    let key = Arc::new(NativeKey::new(b"2026-q2", &secret(2), SUITE).unwrap());
    let config = native::Config::new(b"billing-workers/v3");
    let (server_end, mut client_end) = connection();
    let server = {
        let ring = Arc::clone(&ring);
        thread::spawn(move || {
            let mut end = server_end.corked();
            let auth = server_authenticate(&mut end, ring, config)
                .unwrap()
                .into_parts()
                .1;
            // Application data right behind ServerFinish, in the same write.
            send_bytes(&mut end, b"hello from the server").unwrap();
            end.push();
            let mut pending = auth.leftover;
            assert!(pending.is_empty(), "server leftover {pending:?}");
            let reply = recv_bytes(&mut end, &mut pending, 1024).unwrap();
            (auth.outcome, auth.session, reply)
        })
    };
    let auth = client_authenticate(&mut client_end, Arc::clone(&key), config)
        .unwrap()
        .into_parts()
        .1;
    let mut expected_leftover = Vec::new();
    send_bytes(&mut expected_leftover, b"hello from the server").unwrap();
    assert_eq!(auth.leftover, expected_leftover, "the client's leftover");
    let mut pending = auth.leftover;
    assert_eq!(
        recv_bytes(&mut client_end, &mut pending, 1024).unwrap(),
        Some(b"hello from the server".to_vec())
    );
    assert!(pending.is_empty());
    send_bytes(&mut client_end, b"hello from the client").unwrap();
    let (server_outcome, server_session, reply) = server.join().unwrap();
    assert_eq!(reply, Some(b"hello from the client".to_vec()));

    let scheme = Scheme::Native {
        suite: SUITE,
        key_id: KeyId::new(b"2026-q2").unwrap(),
    };
    assert_eq!(server_outcome.scheme, scheme);
    assert_eq!(auth.outcome.scheme, scheme);
    assert!(server_outcome.peer_authenticated && auth.outcome.peer_authenticated);
    assert_eq!(server_outcome.confirmation, Confirmation::Unknown);
    assert_eq!(auth.outcome.confirmation, Confirmation::Confirmed);
    // ClientProof: 2 + 7-byte key id + 32-byte nonce + 48-byte tag;
    // ServerHello (39) and an accepting ServerFinish (2 + 48).
    assert_eq!(server_outcome.consumed, 2 + 7 + 32 + 48);
    assert_eq!(auth.outcome.consumed, 39 + 2 + 48);
    let server_session = server_session.expect("the server's session");
    let client_session = auth.session.expect("the client's session");
    assert_eq!(server_session.key_id(), KeyId::new(b"2026-q2").unwrap());
    assert_eq!(server_session.suite(), SUITE);
    assert_same_session(&server_session, &client_session);
    // The handshakes kept their own handles: ours are the only ones left.
    assert_eq!(Arc::strong_count(&ring), 1);
    assert_eq!(Arc::strong_count(&key), 1);
}
