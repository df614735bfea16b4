//! The tokio adapter: every profile both ways over loopback TCP, the
//! pipelined leftover handed out first, a whole-handshake deadline that a
//! dripping peer cannot stretch, a `recv_bytes` that survives cancellation,
//! `send_bytes` in one write, and the futures being `Send + 'static`.

#![cfg(feature = "tokio")]

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use getrandom::SysRng;
use hmac_handshake::adapter::tokio::{
    client_authenticate, drive, server_authenticate, AuthError, AuthStream,
};
use hmac_handshake::native::{self, KeyId, KeyLookup, Keyring, Lookup, NativeKey, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, ClientProfile, Digest, Error, Handshake, Key, Scheme,
    ServerProfile, Status,
};
use tokio::io::{duplex, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};

const WITHIN: Duration = Duration::from_secs(5);
const SECRET: &[u8] = b"tokio adapter test key";

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (accepted.unwrap().0, client.unwrap())
}

/// Authenticates both ends over loopback, then the client sends a frame and
/// the server echoes it; returns both outcomes' schemes.
async fn round_trip<SK, CK, SP, CP>(server_keys: SK, client_keys: CK, sp: SP, cp: CP) -> Scheme
where
    SK: Send + 'static,
    CK: Send + 'static,
    SP: ServerProfile<SK> + Send + 'static,
    CP: ClientProfile<CK> + Send + 'static,
{
    let (server_end, client_end) = pair().await;
    // Spawned: the future and everything it holds are Send + 'static.
    let server = tokio::spawn(async move {
        let mut conn = server_authenticate(server_end, server_keys, sp, WITHIN).await?;
        let message = conn.recv_bytes(1024).await?.expect("a message");
        conn.send_bytes(&message).await?;
        Ok::<_, AuthError>(conn.outcome)
    });
    let mut conn = client_authenticate(client_end, client_keys, cp, WITHIN)
        .await
        .unwrap();
    conn.send_bytes(b"hello, tokio").await.unwrap();
    assert_eq!(
        conn.recv_bytes(1024).await.unwrap().unwrap(),
        b"hello, tokio"
    );
    let server_outcome = server.await.unwrap().unwrap();
    assert!(server_outcome.peer_authenticated);
    assert_eq!(server_outcome.scheme, conn.outcome.scheme);
    conn.outcome.scheme
}

#[tokio::test]
async fn every_profile_authenticates_and_frames_over_tcp() {
    let key = Arc::new(Key::new(SECRET));
    let scheme = round_trip(
        Arc::clone(&key),
        Key::new(SECRET),
        recipe::Config::default(),
        recipe::Config::default(),
    )
    .await;
    assert_eq!(
        scheme,
        Scheme::Recipe {
            digest: Digest::Sha256
        }
    );
    let mp = multiprocessing::Config::new();
    let scheme = round_trip(Arc::clone(&key), Key::new(SECRET), mp, mp).await;
    assert_eq!(
        scheme,
        Scheme::Multiprocessing {
            digest: Digest::Sha256,
            legacy: false
        }
    );
    let legacy = multiprocessing::Config::legacy();
    let scheme = round_trip(Arc::clone(&key), Key::new(SECRET), legacy, legacy).await;
    assert_eq!(
        scheme,
        Scheme::Multiprocessing {
            digest: Digest::Md5,
            legacy: true
        }
    );
    let ring = Arc::new(
        Keyring::new([
            NativeKey::new(b"k1", &[1; 32], Suite::HmacSha384).unwrap(),
            NativeKey::new(b"k2", &[2; 32], Suite::HmacSha384).unwrap(),
        ])
        .unwrap(),
    );
    let config = native::Config::new(b"tokio");
    let client_key = NativeKey::new(b"k2", &[2; 32], Suite::HmacSha384).unwrap();
    let scheme = round_trip(ring, client_key, config, config).await;
    assert_eq!(
        scheme,
        Scheme::Native {
            suite: Suite::HmacSha384,
            key_id: KeyId::new(b"k2").unwrap()
        }
    );
}

/// A store of the application's own behind the key-lookup seam.
struct Store(Mutex<HashMap<KeyId, NativeKey>>, NativeKey);

impl KeyLookup for Store {
    fn suite(&self) -> Suite {
        Suite::HmacSha256
    }

    fn lookup(&self, id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
        let keys = self.0.lock().unwrap();
        match keys.get(id) {
            Some(key) => found(Lookup { key, known: true }),
            None => found(Lookup {
                key: &self.1,
                known: false,
            }),
        }
    }
}

#[tokio::test]
async fn native_through_the_key_lookup_seam_with_sessions_that_agree() {
    let id = KeyId::new(b"db-7").unwrap();
    let key = || NativeKey::new(b"db-7", &[7; 32], Suite::HmacSha256).unwrap();
    let stand_in = NativeKey::new(b"none", &[0; 32], Suite::HmacSha256).unwrap();
    let store = Arc::new(Store(Mutex::new(HashMap::from([(id, key())])), stand_in));
    let config = native::Config::new(b"seam");
    let (server_end, client_end) = pair().await;
    let server = tokio::spawn(server_authenticate(server_end, store, config, WITHIN));
    let client = client_authenticate(client_end, key(), config, WITHIN)
        .await
        .unwrap();
    let server = server.await.unwrap().unwrap();
    let (s, c) = (server.session.unwrap(), client.session.unwrap());
    assert_eq!(s.key_id().as_bytes(), b"db-7");
    assert_eq!(s.handshake_hash(), c.handshake_hash());
    assert_eq!(s.client_to_server_key(), c.client_to_server_key());
    assert_eq!(s.server_to_client_key(), c.server_to_client_key());
}

#[tokio::test]
async fn a_wrong_key_fails_both_sides_with_typed_errors() {
    let (server_end, client_end) = pair().await;
    let mp = multiprocessing::Config::new();
    let server = tokio::spawn(server_authenticate(
        server_end,
        Key::new(b"server key"),
        mp,
        WITHIN,
    ));
    let client = client_authenticate(client_end, Key::new(b"client key"), mp, WITHIN).await;
    assert!(matches!(
        server.await.unwrap(),
        Err(AuthError::Handshake(Error::BadTag))
    ));
    // CPython's answer_challenge: the server says #FAILURE#.
    assert!(
        matches!(client, Err(AuthError::Handshake(Error::PeerRejected))),
        "{client:?}"
    );
}

/// Bytes pipelined right behind the client's last handshake message, in the
/// same write, come out of the server's stream first, then what follows.
#[tokio::test]
async fn pipelined_bytes_come_first_through_async_read() {
    for one_write in [false, true] {
        let (mut client_end, server_end) = duplex(4096);
        let config = native::Config::new(b"pipelined");
        let ring =
            Arc::new(Keyring::new(NativeKey::new(b"k", &[9; 32], Suite::HmacSha256)).unwrap());
        let server = tokio::spawn(server_authenticate(server_end, ring, config, WITHIN));
        let mut client = ClientHandshake::new(
            NativeKey::new(b"k", &[9; 32], Suite::HmacSha256).unwrap(),
            config,
            &mut SysRng,
        )
        .unwrap();
        let mut wire = [0u8; 256];
        let mut n = 0;
        let hello = native::SERVER_HELLO_LEN;
        while n < hello {
            n += client_end.read(&mut wire[n..hello]).await.unwrap();
        }
        assert_eq!(client.receive(&wire[..n]), hello);
        let mut proof = vec![0u8; 256];
        let len = client.write_output(&mut proof);
        assert!(client.may_send_application_data());
        proof.truncate(len);
        proof.extend_from_slice(b"first line\n");
        if one_write {
            // The proof and the line in one write.
            client_end.write_all(&proof).await.unwrap();
        } else {
            client_end.write_all(&proof[..len]).await.unwrap();
            client_end.write_all(b"first line\n").await.unwrap();
        }
        let mut conn = server.await.unwrap().unwrap();
        client_end.write_all(b"second line\n").await.unwrap();
        let mut got = vec![0u8; 23];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"first line\nsecond line\n");
        // The server's ServerFinish is on the wire for the client.
        let n = client_end.read(&mut wire).await.unwrap();
        assert_eq!(client.receive(&wire[..n]), 34);
        assert!(client.finish().is_ok());
        // And AsyncWrite goes straight through.
        conn.write_all(b"reply").await.unwrap();
        conn.flush().await.unwrap();
        let mut reply = [0u8; 5];
        client_end.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
    }
}

/// A peer that sends a byte every 40 ms is cut at the deadline, not after a
/// timeout per byte.
#[tokio::test]
async fn a_dripping_peer_is_cut_at_the_whole_handshake_deadline() {
    let (server_end, mut client_end) = pair().await;
    let deadline = Duration::from_millis(300);
    let started = Instant::now();
    let server = tokio::spawn(server_authenticate(
        server_end,
        Key::new(SECRET),
        multiprocessing::Config::new(),
        deadline,
    ));
    let drip = tokio::spawn(async move {
        let mut challenge = [0u8; 64];
        let _ = client_end.read(&mut challenge).await;
        // A plausible length prefix, then the rest one byte at a time.
        for b in [0u8, 0, 0, 48]
            .into_iter()
            .chain(std::iter::repeat(b'x'))
            .take(60)
        {
            if client_end.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    let result = server.await.unwrap();
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(AuthError::Timeout)), "{result:?}");
    assert!(
        elapsed >= deadline && elapsed < deadline * 3,
        "cut after {elapsed:?}, the deadline is {deadline:?}"
    );
    drip.abort();
}

#[tokio::test]
async fn a_silent_peer_times_out_and_a_closing_one_is_closed() {
    let (server_end, _silent) = duplex(1024);
    let started = Instant::now();
    let result = server_authenticate(
        server_end,
        Key::new(SECRET),
        recipe::Config::default(),
        Duration::from_millis(100),
    )
    .await;
    assert!(matches!(result, Err(AuthError::Timeout)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let (server_end, gone) = duplex(1024);
    drop(gone);
    let result = server_authenticate(
        server_end,
        Key::new(SECRET),
        recipe::Config::default(),
        WITHIN,
    )
    .await;
    assert!(matches!(result, Err(AuthError::Closed)), "{result:?}");
}

/// A recipe pair over an in-memory duplex, authenticated: (server, client).
async fn authenticated() -> (AuthStream<DuplexStream>, AuthStream<DuplexStream>) {
    let (a, b) = duplex(64 * 1024);
    let config = recipe::Config::default();
    let (s, c) = tokio::join!(
        server_authenticate(a, Key::new(SECRET), config, WITHIN),
        client_authenticate(b, Key::new(SECRET), config, WITHIN)
    );
    (s.unwrap(), c.unwrap())
}

/// `recv_bytes` cancelled while half a frame has arrived keeps those bytes:
/// the next call returns the whole message.
#[tokio::test]
async fn recv_bytes_is_cancellation_safe() {
    let (mut server, mut client) = authenticated().await;
    let message = b"a message cut in two by a timeout";
    let mut frame = (message.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(message);
    for cut in [2, 4, 10] {
        client.write_all(&frame[..cut]).await.unwrap();
        let first = tokio::time::timeout(Duration::from_millis(50), server.recv_bytes(1024)).await;
        assert!(first.is_err(), "cut at {cut}: no whole message yet");
        assert_eq!(server.leftover(), &frame[..cut], "kept, not lost");
        client.write_all(&frame[cut..]).await.unwrap();
        let got = tokio::time::timeout(WITHIN, server.recv_bytes(1024))
            .await
            .expect("the rest completes the message kept so far")
            .unwrap()
            .unwrap();
        assert_eq!(got, message, "cut at {cut}");
        assert!(server.leftover().is_empty());
    }
    // Oversized prefixes are refused before the payload; a clean end is None.
    client.write_all(&2000u32.to_be_bytes()).await.unwrap();
    let e = server.recv_bytes(1024).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    drop(client);
    let (mut server, client) = authenticated().await;
    drop(client);
    assert_eq!(server.recv_bytes(1024).await.unwrap(), None);
}

/// Counts the writes that reach the stream.
struct CountWrites {
    writes: Vec<usize>,
}

impl AsyncWrite for CountWrites {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().writes.push(buf.len());
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for CountWrites {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An authenticated stream over `CountWrites`: a recipe client given its
/// challenge in memory, whose response `drive` writes before it is done.
async fn counting() -> AuthStream<CountWrites> {
    let config = recipe::Config::default();
    let mut client = ClientHandshake::with_pinned_random(Key::new(SECRET), config, &[]);
    assert_eq!(client.receive(&[0u8; 32]), 32);
    assert!(matches!(client.status(), Status::Send(_)));
    drive(client, CountWrites { writes: Vec::new() }, WITHIN)
        .await
        .unwrap()
}

#[tokio::test]
async fn send_bytes_writes_prefix_and_payload_at_once_up_to_16_kib() {
    let mut conn = counting().await;
    conn.get_mut().writes.clear();
    conn.send_bytes(b"hello").await.unwrap();
    conn.send_bytes(&[7u8; 16384]).await.unwrap();
    conn.send_bytes(&[7u8; 16385]).await.unwrap();
    assert_eq!(conn.get_ref().writes, vec![4 + 5, 4 + 16384, 4, 16385]);
}

/// A machine of the caller's own that hands out a 1,000-byte banner before
/// a recipe client's handshake: `drive` writes it in parts, no panic.
struct Banner {
    banner: Vec<u8>,
    sent: usize,
    inner: ClientHandshake<Key>,
}

impl Handshake for Banner {
    fn status(&self) -> Status<'_> {
        if self.sent < self.banner.len() {
            Status::Send(&self.banner[self.sent..])
        } else {
            self.inner.status()
        }
    }
    fn receive(&mut self, input: &[u8]) -> usize {
        self.inner.receive(input)
    }
    fn sent(&mut self, n: usize) -> Result<(), Error> {
        if self.sent < self.banner.len() {
            self.sent += n;
            Ok(())
        } else {
            self.inner.sent(n)
        }
    }
    fn may_send_application_data(&self) -> bool {
        self.inner.may_send_application_data()
    }
    fn peer_verified(&self) -> bool {
        self.inner.peer_verified()
    }
    fn finish(self) -> Result<hmac_handshake::Finished, Error> {
        self.inner.finish()
    }
}

#[tokio::test]
async fn a_machine_with_more_than_130_bytes_pending_is_written_in_parts() {
    let (client_end, mut server_end) = duplex(8192);
    let banner: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let machine = Banner {
        banner: banner.clone(),
        sent: 0,
        inner: ClientHandshake::with_pinned_random(
            Key::new(SECRET),
            recipe::Config::default(),
            &[],
        ),
    };
    let client = tokio::spawn(drive(machine, client_end, WITHIN));
    let mut got = vec![0u8; 1000];
    server_end.read_exact(&mut got).await.unwrap();
    assert_eq!(got, banner);
    // Then the recipe: a challenge in, the 32-byte response out.
    server_end.write_all(&[1u8; 32]).await.unwrap();
    let mut response = [0u8; 32];
    server_end.read_exact(&mut response).await.unwrap();
    let conn = client.await.unwrap().unwrap();
    assert!(
        !conn.outcome.peer_authenticated,
        "the recipe client gets no verdict"
    );
}
