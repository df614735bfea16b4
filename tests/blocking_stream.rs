//! The blocking adapter's authenticated stream and deadline over real
//! sockets: a whole-handshake deadline a dripping peer cannot stretch (and
//! the socket's own timeouts put back), `recv_bytes` that resumes after a
//! read timeout, the leftover read first, `send_bytes` in one write.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{
    client_authenticate_within, drive, send_bytes, server_authenticate_within, AuthError,
    AuthStream, Deadline,
};
use hmac_handshake::{multiprocessing, recipe, ClientHandshake, Handshake, Key, ServerHandshake};

const SECRET: &[u8] = b"blocking stream test key";
const WITHIN: Duration = Duration::from_secs(5);

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (server, client)
}

/// The case: a peer that drips a byte every 40 ms under a 200 ms
/// read timeout never trips the timeout; the deadline cuts it at 300 ms.
#[test]
fn a_dripping_peer_is_cut_at_the_deadline_and_timeouts_are_put_back() {
    let (server, mut client) = pair();
    let per_read = Duration::from_millis(200);
    server.set_read_timeout(Some(per_read)).unwrap();
    let dripper = thread::spawn(move || {
        let mut challenge = [0u8; 64];
        let _ = client.read(&mut challenge);
        for b in [0u8, 0, 0, 48]
            .into_iter()
            .chain(std::iter::repeat(b'x'))
            .take(60)
        {
            if client.write_all(&[b]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(40));
        }
    });
    let deadline = Duration::from_millis(300);
    let started = Instant::now();
    let result = server_authenticate_within(
        &server,
        Key::new(SECRET),
        multiprocessing::Config::new(),
        deadline,
    );
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(AuthError::Timeout)), "{result:?}");
    assert!(
        elapsed >= deadline && elapsed < deadline + per_read,
        "cut after {elapsed:?}; deadline {deadline:?}"
    );
    assert_eq!(server.read_timeout().unwrap(), Some(per_read), "put back");
    assert_eq!(server.write_timeout().unwrap(), None, "put back");
    drop(server);
    dripper.join().unwrap();
}

#[test]
fn a_deadline_view_refuses_once_the_time_is_up() {
    let (server, _client) = pair();
    let mut view = Deadline::new(&server, Duration::from_millis(30));
    assert!(view.left().unwrap() <= Duration::from_millis(30));
    let mut buf = [0u8; 1];
    let e = view.read(&mut buf).unwrap_err();
    assert!(matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ));
    thread::sleep(Duration::from_millis(40));
    assert_eq!(
        view.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    assert_eq!(
        view.write(b"x").unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
}

/// Both ends of a multiprocessing handshake over loopback.
fn authenticated() -> (AuthStream<TcpStream>, AuthStream<TcpStream>) {
    let (server, client) = pair();
    let config = multiprocessing::Config::new();
    let server = thread::spawn(move || {
        server_authenticate_within(server, Key::new(SECRET), config, WITHIN).unwrap()
    });
    let client = client_authenticate_within(client, Key::new(SECRET), config, WITHIN).unwrap();
    (server.join().unwrap(), client)
}

#[test]
fn recv_bytes_resumes_after_a_read_timeout() {
    let (mut server, mut client) = authenticated();
    server
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let message = b"half now, half after the timeout";
    let mut frame = (message.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(message);
    for cut in [1, 4, 11] {
        client.write_all(&frame[..cut]).unwrap();
        let e = server.recv_bytes(1024).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e:?}"
        );
        assert_eq!(server.leftover(), &frame[..cut], "nothing lost");
        client.write_all(&frame[cut..]).unwrap();
        assert_eq!(server.recv_bytes(1024).unwrap().unwrap(), message);
    }
    // The echo the other way, with the stream's own framing methods.
    server.send_bytes(b"pong").unwrap();
    assert_eq!(client.recv_bytes(16).unwrap().unwrap(), b"pong");
    drop(client);
    server.get_ref().set_read_timeout(None).unwrap();
    assert_eq!(server.recv_bytes(1024).unwrap(), None, "a clean end");
}

/// A stream of fixed input that records each write.
struct Script {
    input: io::Cursor<Vec<u8>>,
    writes: Vec<Vec<u8>>,
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.push(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The client's response and application bytes arrive in one read: `Read`
/// hands out the application bytes first, then the rest of the stream.
#[test]
fn read_yields_the_leftover_first() {
    let key = Key::new(SECRET);
    let config = recipe::Config::default();
    let challenge = [5u8; 32];
    let mut server = ServerHandshake::with_pinned_random(&key, config, &challenge);
    let mut client = ClientHandshake::with_pinned_random(&key, config, &[]);
    let mut wire = [0u8; 64];
    let n = server.write_output(&mut wire);
    assert_eq!(client.receive(&wire[..n]), 32);
    let n = client.write_output(&mut wire);
    let mut input = wire[..n].to_vec();
    input.extend_from_slice(b"application bytes");
    let server = ServerHandshake::with_pinned_random(&key, config, &challenge);
    let script = Script {
        input: io::Cursor::new(input),
        writes: Vec::new(),
    };
    let mut auth = drive(server, script).unwrap();
    assert!(auth.outcome.peer_authenticated);
    assert_eq!(auth.leftover(), b"application bytes");
    let mut first = [0u8; 11];
    auth.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"application");
    let mut rest = Vec::new();
    auth.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b" bytes");
    let (script, parts) = auth.into_parts();
    assert!(parts.leftover.is_empty());
    assert_eq!(
        script.writes,
        vec![challenge.to_vec()],
        "the challenge, once"
    );
}

#[test]
fn send_bytes_writes_prefix_and_payload_at_once_up_to_16_kib() {
    let mut script = Script {
        input: io::Cursor::new(Vec::new()),
        writes: Vec::new(),
    };
    send_bytes(&mut script, b"hello").unwrap();
    send_bytes(&mut script, &[1u8; 16384]).unwrap();
    send_bytes(&mut script, &[2u8; 16385]).unwrap();
    let lens: Vec<usize> = script.writes.iter().map(Vec::len).collect();
    assert_eq!(lens, vec![4 + 5, 4 + 16384, 4, 16385]);
    assert_eq!(script.writes[0], b"\0\0\0\x05hello");
    assert_eq!(script.writes[2], 16385u32.to_be_bytes());
}
