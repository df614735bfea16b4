//! The main demo: for each profile, an authenticated echo server on
//! loopback, one client with the right key and one with a wrong key.
//!
//! Run: `cargo run --example demo`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use getrandom::rand_core::TryRng;
use getrandom::SysRng;
use hmac_handshake::adapter::blocking::{
    client_authenticate_within, server_authenticate_within, AuthError, AuthStream,
};
use hmac_handshake::native::{self, Keyring, NativeKey, Suite};
use hmac_handshake::{multiprocessing, recipe, ClientProfile, Key, Profile, ServerProfile};

const TIMEOUT: Duration = Duration::from_secs(5);

/// 32 random bytes from the OS generator, the norm for a shared key
/// (`hmac-handshake keygen`).
fn secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    SysRng
        .try_fill_bytes(&mut secret)
        .expect("OS random generator");
    secret
}

/// Serves `clients` connections: authenticate, then echo one message. Each
/// handshake holds the key through its own `Arc`.
fn serve<P: ServerProfile<Arc<Key>>>(
    listener: TcpListener,
    key: Arc<Key>,
    config: P,
    clients: usize,
) {
    for stream in listener.incoming().take(clients) {
        let stream = stream.expect("accept");
        stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let peer = stream.peer_addr().expect("peer");
        // The whole handshake must end within TIMEOUT, however slow the peer.
        match server_authenticate_within(&stream, Arc::clone(&key), config, TIMEOUT) {
            Ok(mut auth) => {
                let scheme = auth.outcome.scheme;
                println!("  server: accepted {peer} digest={}", scheme.digest());
                echo_once(&mut auth, scheme.profile());
            }
            Err(e) => println!("  server: rejected {peer}: {e}"),
        }
    }
}

/// Echoes one message: raw bytes after the recipe, one `recv_bytes` /
/// `send_bytes` frame after the multiprocessing and native handshakes. The
/// authenticated stream hands out bytes that came with the handshake first.
fn echo_once(conn: &mut AuthStream<&TcpStream>, profile: Profile) {
    match profile {
        Profile::Recipe => {
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap_or(0);
            let _ = conn.write_all(&buf[..n]);
        }
        _ => {
            if let Ok(Some(msg)) = conn.recv_bytes(1 << 20) {
                let _ = conn.send_bytes(&msg);
            }
        }
    }
}

/// Connects, authenticates holding `key`, sends `text`, returns the echo.
fn client<P: ClientProfile<Key>>(
    addr: SocketAddr,
    key: Key,
    config: P,
    text: &str,
) -> Result<String, String> {
    let err = |e: AuthError| e.to_string();
    let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    // The handshake takes the key and drops it when it ends.
    let mut auth = client_authenticate_within(stream, key, config, TIMEOUT).map_err(err)?;
    let reply = match auth.outcome.scheme.profile() {
        Profile::Recipe => {
            auth.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
            let mut reply = vec![0u8; text.len()];
            // The recipe gives the client no verdict: a server that rejected
            // us closes, and this read says so.
            auth.read_exact(&mut reply).map_err(|_| {
                "the server closed the connection after our proof: \
                 it rejected our key (the recipe sends no verdict)"
            })?;
            reply
        }
        _ => {
            auth.send_bytes(text.as_bytes())
                .map_err(|e| e.to_string())?;
            auth.recv_bytes(1 << 20)
                .map_err(|e| e.to_string())?
                .ok_or("the server closed the connection")?
        }
    };
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// One profile: a server thread for two connections, a good and a bad client.
fn demo<P>(name: &str, config: P)
where
    P: ServerProfile<Arc<Key>> + ClientProfile<Key> + Send + 'static,
{
    println!("profile {name}:");
    let shared = secret();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let key = Arc::new(Key::new(&shared));
    let server = thread::spawn(move || serve(listener, key, config, 2));

    match client(addr, Key::new(&shared), config, "hello from a good client") {
        Ok(echo) => println!("  good client: authenticated, echo {echo:?}"),
        Err(e) => println!("  good client: FAILED: {e}"),
    }
    // Another random secret: a wrong key.
    match client(addr, Key::new(&secret()), config, "hello from a bad client") {
        Ok(echo) => println!("  bad client: UNEXPECTEDLY authenticated, echo {echo:?}"),
        Err(e) => println!("  bad client: refused as expected: {e}"),
    }
    server.join().expect("server thread");
}

fn main() {
    demo("recipe (HMAC-SHA256)", recipe::Config::default());
    demo(
        "multiprocessing ({sha256}, Python 3.12+)",
        multiprocessing::Config::new(),
    );
    native_demo();
}

/// The native profile: a keyring of two keys; clients prove a key id.
fn native_demo() {
    println!("profile native (mutual, key ids, session keys):");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = native::Config::new(b"demo/v1");
    let suite = Suite::HmacSha256;
    let (old, current) = (secret(), secret());
    let keyring = Keyring::new([
        NativeKey::new(b"2026-11", &old, suite).expect("key"),
        NativeKey::new(b"2026-12", &current, suite).expect("key"),
    ])
    .expect("keyring");
    let keyring = Arc::new(keyring);
    let server = thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let stream = stream.expect("accept");
            stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
            let peer = stream.peer_addr().expect("peer");
            match server_authenticate_within(&stream, Arc::clone(&keyring), config, TIMEOUT) {
                Ok(mut auth) => {
                    let session = auth.session.as_ref().expect("native session");
                    println!("  server: accepted {peer} key_id={}", session.key_id());
                    echo_once(&mut auth, Profile::Native);
                }
                Err(e) => println!("  server: rejected {peer}: {e}"),
            }
        }
    });
    // The bad client names a key id the server holds, with another secret.
    for (who, bytes) in [("good client", current), ("bad client", secret())] {
        let key = NativeKey::new(b"2026-12", &bytes, suite).expect("key");
        let result = TcpStream::connect(addr)
            .map_err(AuthError::from)
            .and_then(|stream| {
                stream.set_read_timeout(Some(TIMEOUT))?;
                let mut auth = client_authenticate_within(stream, key, config, TIMEOUT)?;
                auth.send_bytes(b"hello over native")?;
                let echo = auth.recv_bytes(1 << 20)?.ok_or(AuthError::Closed)?;
                Ok((auth.session.expect("native session"), echo))
            });
        match result {
            Ok((session, echo)) => println!(
                "  {who}: authenticated as {} with {}, handshake hash {}.., echo {:?}",
                session.key_id(),
                session.suite(),
                hex8(session.handshake_hash()),
                String::from_utf8_lossy(&echo)
            ),
            Err(e) => println!("  {who}: refused: {e}"),
        }
    }
    server.join().expect("server thread");
}

fn hex8(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
