//! What the native v1 key schedule and transcript bind (issue 9, items 1
//! and 2): the server name (PROTOCOL.md, "Server names"), which stops a
//! selfie (a node's own connection redirected to its own listener), and the
//! exporter's output length.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{client_authenticate, server_authenticate, AuthError};
use hmac_handshake::native::{self, Keyring, NativeKey, Session, Suite, MAX_SERVER_NAME_LEN};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};

/// The one key node A holds, 32 bytes: on its keyring (it accepts with it)
/// and as its client key (it connects with it).
const K: [u8; 32] = [0x4b; 32];

fn k() -> NativeKey {
    NativeKey::new(b"cluster", &K, Suite::HmacSha256).unwrap()
}

fn config(name: &[u8]) -> native::Config {
    native::Config::new(b"cluster/v1")
        .with_server_name(name)
        .unwrap()
}

fn with_timeouts(s: TcpStream) -> TcpStream {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Copies `from` to `to` until `from` ends, then ends `to`'s write half.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// What each side of the redirected connection ends with: the server's and
/// the client's result, each the session or the error.
type Ends = (Result<Session, AuthError>, Result<Session, AuthError>);

/// Node A's listener (server name `server_name`, keyring `[K]`), and node
/// A's client, which means to reach B (`expects`) with `K`; an attacker's
/// relay at "B's address" forwards A's connection to A's own listener.
fn selfie(server_name: &'static [u8], expects: &'static [u8]) -> Ends {
    let a_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a_addr = a_listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (conn, _) = a_listener.accept().unwrap();
        let ring = Arc::new(Keyring::new([k()]).unwrap());
        let mut conn = with_timeouts(conn);
        server_authenticate(&mut conn, ring, config(server_name))
            .map(|auth| auth.into_parts().1.session.unwrap())
    });
    // The attacker: what A believes is B's address relays to A itself.
    let relay = TcpListener::bind("127.0.0.1:0").unwrap();
    let b_addr = relay.local_addr().unwrap();
    thread::spawn(move || {
        let (victim, _) = relay.accept().unwrap();
        let to_a = TcpStream::connect(a_addr).unwrap();
        pipe(victim.try_clone().unwrap(), to_a.try_clone().unwrap());
        pipe(to_a, victim);
    });
    let mut conn = with_timeouts(TcpStream::connect(b_addr).unwrap());
    let client = client_authenticate(&mut conn, Arc::new(k()), config(expects))
        .map(|auth| auth.into_parts().1.session.unwrap());
    drop(conn);
    (server.join().unwrap(), client)
}

/// The attack v1 is open to without server names: A's connection to B,
/// relayed to A's own listener, completes on both sides with equal sessions
/// (A now talks to itself and believes it talks to B).
#[test]
fn selfie_without_server_names_completes() {
    let (server, client) = selfie(b"", b"");
    let (server, client) = (server.unwrap(), client.unwrap());
    assert_eq!(server.handshake_hash(), client.handshake_hash());
    assert_eq!(server.key_id().as_bytes(), b"cluster");
}

/// With server names set (A's listener is "A", A's client expects "B") the
/// redirect fails exactly as a wrong key does: A's server with `bad_tag`
/// (it sends `03 01`), A's client with `peer_rejected`.
#[test]
fn selfie_with_server_names_fails_like_a_wrong_key() {
    let (server, client) = selfie(b"A", b"B");
    assert!(
        matches!(server, Err(AuthError::Handshake(Error::BadTag))),
        "server: {server:?}"
    );
    assert!(
        matches!(client, Err(AuthError::Handshake(Error::PeerRejected))),
        "client: {client:?}"
    );
    // And B's real listener, named "B", accepts A's client.
    let (server, client) = selfie(b"B", b"B");
    assert_eq!(
        server.unwrap().handshake_hash(),
        client.unwrap().handshake_hash()
    );
}

/// A server name is 0 to 255 bytes; 256 is refused with a typed error.
#[test]
fn server_name_is_at_most_255_bytes() {
    let base = native::Config::new(b"ctx");
    assert_eq!(MAX_SERVER_NAME_LEN, 255);
    assert!(base.with_server_name(&[b'n'; 255]).is_ok());
    assert!(base.with_server_name(b"").is_ok());
    assert_eq!(
        base.with_server_name(&[b'n'; 256]),
        Err(Error::ServerNameTooLong { len: 256 })
    );
    assert_eq!(
        Error::ServerNameTooLong { len: 256 }.code(),
        "server_name_too_long"
    );
    // An empty server name is the default: the same settings as none.
    assert_eq!(base.with_server_name(b""), Ok(base));
    assert_ne!(base.with_server_name(b"A"), Ok(base));
}

/// Hands everything `from` has to send to `to`, which must take it all.
fn pass(from: &mut dyn Handshake, to: &mut dyn Handshake) {
    let mut out = Vec::new();
    while let Status::Send(b) = from.status() {
        let n = b.len();
        out.extend_from_slice(b);
        from.sent(n).unwrap();
    }
    assert_eq!(to.receive(&out), out.len());
}

/// An in-memory handshake with these settings; both sessions.
fn sessions(sconf: native::Config, cconf: native::Config) -> (Session, Session) {
    let mut s = ServerHandshake::with_pinned_random(k(), sconf, &[1; 64]);
    let mut c = ClientHandshake::with_pinned_random(k(), cconf, &[2; 64]);
    for _ in 0..4 {
        pass(&mut s, &mut c);
        pass(&mut c, &mut s);
    }
    (
        s.finish().unwrap().into_session().unwrap(),
        c.finish().unwrap().into_session().unwrap(),
    )
}

/// The output length is in the exporter's `HkdfLabel` (RFC 8446 section
/// 7.1): a 16-byte export is not the first 16 bytes of a 48-byte one with
/// the same label and context (it was before), while both sides agree on
/// each. The server name is in the handshake hash and so in every key.
#[test]
fn export_binds_its_length_and_sessions_bind_the_server_name() {
    let (s, c) = sessions(config(b"A"), config(b"A"));
    let export = |sess: &Session, n: usize| {
        let mut out = vec![0u8; n];
        sess.export(b"EXPORTER-test", b"ctx", &mut out).unwrap();
        out
    };
    let (short, long) = (export(&s, 16), export(&s, 48));
    assert_eq!(short, export(&c, 16));
    assert_eq!(long, export(&c, 48));
    assert_ne!(short[..], long[..16]);
    let (unnamed, _) = sessions(config(b""), config(b""));
    assert_ne!(unnamed.handshake_hash(), s.handshake_hash());
    assert_ne!(unnamed.client_to_server_key(), s.client_to_server_key());
}
