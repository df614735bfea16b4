//! The main demo: for each profile, an authenticated echo server on
//! loopback, one client with the right key and one with a wrong key.
//!
//! Run: `cargo run --example demo`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use hmac_handshake::adapter::blocking::{
    client_authenticate, client_authenticate_native, recv_bytes, send_bytes, server_authenticate,
    server_authenticate_native, AuthError,
};
use hmac_handshake::native::{self, NativeKey};
use hmac_handshake::{multiprocessing, recipe, Key, Profile};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `clients` connections: authenticate, then echo one message.
fn serve(listener: TcpListener, key: Key, profile: Profile, clients: usize) {
    for stream in listener.incoming().take(clients) {
        let mut stream = stream.expect("accept");
        stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let peer = stream.peer_addr().expect("peer");
        match server_authenticate(&mut stream, &key, profile) {
            Ok(auth) => {
                println!("  server: accepted {peer} digest={}", auth.outcome.digest);
                echo_once(&mut stream, profile, auth.leftover);
            }
            Err(e) => println!("  server: rejected {peer}: {e}"),
        }
    }
}

fn echo_once(stream: &mut TcpStream, profile: Profile, mut pending: Vec<u8>) {
    match profile {
        Profile::Multiprocessing(_) => {
            if let Ok(Some(msg)) = recv_bytes(stream, &mut pending, 1 << 20) {
                let _ = send_bytes(stream, &msg);
            }
        }
        _ => {
            let mut buf = [0u8; 1024];
            let n = if pending.is_empty() {
                stream.read(&mut buf).unwrap_or(0)
            } else {
                buf[..pending.len()].copy_from_slice(&pending);
                pending.len()
            };
            let _ = stream.write_all(&buf[..n]);
        }
    }
}

/// Connects, authenticates, sends `text`, returns the echo.
fn client(
    addr: std::net::SocketAddr,
    key: &Key,
    profile: Profile,
    text: &str,
) -> Result<String, String> {
    let err = |e: AuthError| e.to_string();
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let auth = client_authenticate(&mut stream, key, profile).map_err(err)?;
    let mut pending = auth.leftover;
    let reply = match profile {
        Profile::Multiprocessing(_) => {
            send_bytes(&mut stream, text.as_bytes()).map_err(|e| e.to_string())?;
            recv_bytes(&mut stream, &mut pending, 1 << 20)
                .map_err(|e| e.to_string())?
                .ok_or("the server closed the connection")?
        }
        _ => {
            stream
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
            let mut reply = vec![0u8; text.len()];
            // The recipe gives the client no verdict: a server that rejected
            // us closes, and this read says so.
            stream.read_exact(&mut reply).map_err(|_| {
                "the server closed the connection after our proof: \
                 it rejected our key (the recipe sends no verdict)"
            })?;
            reply
        }
    };
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

fn main() {
    let profiles = [
        (
            "recipe (HMAC-SHA256)",
            Profile::Recipe(recipe::Config::default()),
        ),
        (
            "multiprocessing ({sha256}, Python 3.12+)",
            Profile::Multiprocessing(multiprocessing::Config::default()),
        ),
    ];
    // 32 random bytes, the norm for a shared key (`hmac-handshake keygen`).
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("OS random generator");
    for (name, profile) in profiles {
        println!("profile {name}:");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = thread::spawn(move || serve(listener, Key::new(&secret), profile, 2));

        let good = Key::new(&secret);
        match client(addr, &good, profile, "hello from a good client") {
            Ok(echo) => println!("  good client: authenticated, echo {echo:?}"),
            Err(e) => println!("  good client: FAILED: {e}"),
        }
        let bad = Key::new(b"wrong key");
        match client(addr, &bad, profile, "hello from a bad client") {
            Ok(echo) => println!("  bad client: UNEXPECTEDLY authenticated, echo {echo:?}"),
            Err(e) => println!("  bad client: refused as expected: {e}"),
        }
        server.join().expect("server thread");
    }
    native_demo();
}

/// The native profile: a keyring of two keys; clients prove a key id.
fn native_demo() {
    println!("profile native (mutual, key ids, session keys):");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let context: &[u8] = b"demo/v1";
    let server = thread::spawn(move || {
        let keyring = [
            NativeKey::new(b"2026-11", &[0x11; 32]).expect("key"),
            NativeKey::new(b"2026-12", &[0x12; 32]).expect("key"),
        ];
        let config = native::ServerConfig {
            context,
            ..native::ServerConfig::default()
        };
        for stream in listener.incoming().take(2) {
            let mut stream = stream.expect("accept");
            stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
            let peer = stream.peer_addr().expect("peer");
            match server_authenticate_native(&mut stream, &keyring, config) {
                Ok(auth) => {
                    let session = auth.session.as_ref().expect("native session");
                    println!("  server: accepted {peer} key_id={}", session.key_id());
                    echo_once(
                        &mut stream,
                        Profile::Multiprocessing(Default::default()),
                        auth.leftover,
                    );
                }
                Err(e) => println!("  server: rejected {peer}: {e}"),
            }
        }
    });
    let config = native::ClientConfig {
        context,
        ..native::ClientConfig::default()
    };
    for (who, key) in [
        (
            "good client",
            NativeKey::new(b"2026-12", &[0x12; 32]).expect("key"),
        ),
        (
            "bad client",
            NativeKey::new(b"2026-12", &[0x99; 32]).expect("key"),
        ),
    ] {
        let result = TcpStream::connect(addr)
            .map_err(AuthError::from)
            .and_then(|mut stream| {
                stream.set_read_timeout(Some(TIMEOUT))?;
                let auth = client_authenticate_native(&mut stream, &key, config)?;
                send_bytes(&mut stream, b"hello over native")?;
                let mut pending = auth.leftover;
                let echo =
                    recv_bytes(&mut stream, &mut pending, 1 << 20)?.ok_or(AuthError::Closed)?;
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
