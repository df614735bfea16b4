//! The multiprocessing profile against CPython's own
//! `multiprocessing.connection` (`tests/peers/mp_peer.py`), both directions,
//! through the blocking adapter.

use std::net::{Shutdown, TcpStream};

use hmac_handshake::adapter::blocking::{
    client_authenticate, recv_bytes, send_bytes, server_authenticate, AuthError, Authenticated,
};
use hmac_handshake::multiprocessing::Config;
use hmac_handshake::{Confirmation, Digest, Error, Key, Scheme};

use crate::python::{
    bind, connect, echo_lines, eq, handshake_error, hex, io, outcome_eq, pythons, run_matrix, Case,
    Expected, Peer, Python, Script,
};

/// The shared key (not empty: a <= 3.12 Listener skips auth on an empty key).
pub const KEY: &[u8] = b"interop \x00\x01\xfe\xff shared secret";
/// A key one bit away from [`KEY`].
pub const WRONG_KEY: &[u8] = b"interop \x00\x01\xfe\xff shared secreu";
/// A key longer than the HMAC block (64 bytes), so HMAC hashes it first.
pub const LONG_KEY: &[u8] = &[0x5a; 131];
/// `recv_bytes` limit for the echo.
const MAX_MESSAGE: u64 = 1 << 20;

/// The echoed messages: every byte value, then an empty message.
pub fn messages() -> [Vec<u8>; 2] {
    let mut first: Vec<u8> = (0..=255u8).collect();
    first.extend_from_slice(b" multiprocessing interop");
    [first, Vec::new()]
}

/// What a peer of this version proves with, and whether it is legacy:
/// HMAC-MD5 (raw reply, 20-byte challenge) up to 3.11, `{sha256}` after.
pub fn peer_proof(py: &Python) -> (Digest, bool) {
    if py.at_least(3, 12) {
        (Digest::Sha256, false)
    } else {
        (Digest::Md5, true)
    }
}

/// Handshake bytes received from a peer of this version, whichever side we
/// are: its challenge frame (4 + 11 + 20, or 4 + 11 + 8 + 40), its reply
/// (4 + 16, or 4 + 8 + 32) and its `#WELCOME#` (4 + 9).
pub fn peer_handshake_bytes(py: &Python) -> usize {
    if py.at_least(3, 12) {
        63 + 44 + 13
    } else {
        35 + 20 + 13
    }
}

fn check_outcome(py: &Python, auth: &Authenticated) -> Result<(), String> {
    let (digest, legacy) = peer_proof(py);
    outcome_eq(
        "outcome",
        auth.outcome,
        Expected {
            peer_authenticated: true,
            confirmation: Confirmation::Confirmed,
            scheme: Scheme::Multiprocessing { digest, legacy },
            consumed: peer_handshake_bytes(py),
        },
    )
}

fn config_for(py: &Python) -> Config {
    if py.at_least(3, 12) {
        Config::new()
    } else {
        Config::with_md5()
    }
}

fn every_python(pythons: &[Python]) -> Vec<Case<'_>> {
    pythons.iter().map(|py| Case { py, variant: "" }).collect()
}

/// `mp_peer.py --role client` holding `key`: connects to 127.0.0.1:`port`,
/// sends each of `messages` and waits for its echo.
pub fn mp_client(
    py: &Python,
    port: &str,
    key: &[u8],
    messages: &[Vec<u8>],
) -> Result<Peer, String> {
    let key_hex = hex(key);
    let hexes: Vec<String> = messages.iter().map(|m| hex(m)).collect();
    let mut args = vec!["--role", "client", "--port", port, "--key-hex", &key_hex];
    args.push("--message-hex");
    args.extend(hexes.iter().map(String::as_str));
    Peer::spawn(py, Script::Mp, &args)
}

/// `mp_peer.py --role listener` holding `key`: prints `PORT n`, then echoes
/// every message until its client closes.
pub fn mp_listener(py: &Python, key: &[u8]) -> Result<Peer, String> {
    let key_hex = hex(key);
    Peer::spawn(
        py,
        Script::Mp,
        &["--role", "listener", "--key-hex", &key_hex],
    )
}

/// Rust server, Python client: runs `server_authenticate` with `config`
/// against `mp_peer.py --role client` holding `peer_key` (which sends
/// `messages()`), then hands the result, the connection and the still
/// running peer to `body`.
fn rust_server(
    case: &Case<'_>,
    config: Config,
    peer_key: &[u8],
    body: impl FnOnce(&mut Peer, Result<Authenticated, AuthError>, &mut TcpStream) -> Result<(), String>,
) -> Result<(), String> {
    let (listener, port) = bind()?;
    let mut peer = mp_client(case.py, &port, peer_key, &messages())?;
    peer.check(|peer| {
        let mut stream = peer.accept(&listener)?;
        let key = Key::new(KEY);
        let result = server_authenticate(&mut stream, &key, config).map(|a| a.into_parts().1);
        body(peer, result, &mut stream)
    })
}

/// Echoes `messages()` back to the Python client, then expects its close.
pub fn serve_echo(stream: &mut TcpStream, mut pending: Vec<u8>) -> Result<(), String> {
    for want in messages() {
        let got = io("recv_bytes", recv_bytes(stream, &mut pending, MAX_MESSAGE))?;
        eq(
            "message from the Python client",
            got.as_deref(),
            Some(&want[..]),
        )?;
        io("send_bytes", send_bytes(stream, &want))?;
    }
    let end = io(
        "recv_bytes at the end",
        recv_bytes(stream, &mut pending, MAX_MESSAGE),
    )?;
    eq("after the last echo (clean EOF)", end, None)
}

/// Sends `messages()` to the Python listener and checks each echo, then
/// half-closes and expects the listener's close.
pub fn client_echo(stream: &mut TcpStream, mut pending: Vec<u8>) -> Result<(), String> {
    for m in messages() {
        io("send_bytes", send_bytes(stream, &m))?;
        let echo = io("recv_bytes", recv_bytes(stream, &mut pending, MAX_MESSAGE))?;
        eq(
            "echo from the Python listener",
            echo.as_deref(),
            Some(&m[..]),
        )?;
    }
    io("shutdown", stream.shutdown(Shutdown::Write))?;
    let end = io(
        "recv_bytes at the end",
        recv_bytes(stream, &mut pending, MAX_MESSAGE),
    )?;
    eq("after our shutdown (clean EOF)", end, None)
}

/// After [`rust_server`]: we accepted the client and served its echo, and
/// it ended cleanly.
fn server_accepted_and_echoed(
    py: &Python,
    peer: &mut Peer,
    result: Result<Authenticated, AuthError>,
    stream: &mut TcpStream,
) -> Result<(), String> {
    let auth = result.map_err(|e| format!("server_authenticate: {e:?}"))?;
    check_outcome(py, &auth)?;
    serve_echo(stream, auth.leftover)?;
    peer.expect_exit(0, &echo_lines(&messages()))
}

/// After [`rust_server`]: we refused the client with `want`, and it was
/// told so (`#FAILURE#`).
fn server_refused(
    peer: &mut Peer,
    result: Result<Authenticated, AuthError>,
    want: Error,
) -> Result<(), String> {
    handshake_error(result, want)?;
    peer.expect_exit(
        3,
        &["AUTH_FAILED AuthenticationError: digest sent was rejected".to_string()],
    )
}

/// Case 1: Rust `server_authenticate` (MD5 allowed) and a Python `Client`
/// with the right key authenticate each other, then echo two messages.
#[test]
fn rust_server_python_client_echo() {
    let test = "multiprocessing::rust_server_python_client_echo";
    let Some(pythons) = pythons(test) else { return };
    run_matrix(test, every_python(pythons), |case| {
        rust_server(case, Config::with_md5(), KEY, |peer, result, stream| {
            server_accepted_and_echoed(case.py, peer, result, stream)
        })
    });
}

/// Case 1, the default configuration (MD5 refused): a <= 3.11 client, which
/// can only answer with raw HMAC-MD5, fails with `Md5NotAllowed` and is
/// told so (`#FAILURE#`); a 3.12+ client authenticates with `{sha256}`.
#[test]
fn rust_server_default_config_refuses_md5_peers() {
    let test = "multiprocessing::rust_server_default_config_refuses_md5_peers";
    let Some(pythons) = pythons(test) else { return };
    run_matrix(test, every_python(pythons), |case| {
        rust_server(case, Config::new(), KEY, |peer, result, stream| {
            if case.py.at_least(3, 12) {
                server_accepted_and_echoed(case.py, peer, result, stream)
            } else {
                server_refused(peer, result, Error::Md5NotAllowed)
            }
        })
    });
}

/// Case 3: a Python client holding another key: we see `BadTag` (its
/// reply does not verify) and it is told `#FAILURE#`.
#[test]
fn rust_server_python_client_wrong_key_bad_tag() {
    let test = "multiprocessing::rust_server_python_client_wrong_key_bad_tag";
    let Some(pythons) = pythons(test) else { return };
    run_matrix(test, every_python(pythons), |case| {
        rust_server(case, Config::with_md5(), WRONG_KEY, |peer, result, _| {
            server_refused(peer, result, Error::BadTag)
        })
    });
}

/// Rust client, Python listener: runs `client_authenticate` holding
/// `our_key`, with the config the listener's version needs (MD5 allowed up
/// to 3.11, the default after), against a listener holding `peer_key`; then
/// hands over to `body` as [`rust_server`] does.
fn rust_client(
    case: &Case<'_>,
    our_key: &[u8],
    peer_key: &[u8],
    body: impl FnOnce(&mut Peer, Result<Authenticated, AuthError>, &mut TcpStream) -> Result<(), String>,
) -> Result<(), String> {
    let mut peer = mp_listener(case.py, peer_key)?;
    peer.check(|peer| {
        let port = peer.port()?;
        let mut stream = connect(port)?;
        let key = Key::new(our_key);
        let result =
            client_authenticate(&mut stream, &key, config_for(case.py)).map(|a| a.into_parts().1);
        body(peer, result, &mut stream)
    })
}

/// Case 2: Rust `client_authenticate` and a Python `Listener` with the
/// same (131-byte) key; then `send_bytes` / `recv_bytes` round trips.
#[test]
fn rust_client_python_listener_echo() {
    let test = "multiprocessing::rust_client_python_listener_echo";
    let Some(pythons) = pythons(test) else { return };
    run_matrix(test, every_python(pythons), |case| {
        rust_client(case, LONG_KEY, LONG_KEY, |peer, result, stream| {
            let auth = result.map_err(|e| format!("client_authenticate: {e:?}"))?;
            check_outcome(case.py, &auth)?;
            eq("leftover", &auth.leftover[..], &[][..])?;
            client_echo(stream, auth.leftover)?;
            peer.expect_exit_after_port(0, &echo_lines(&messages()))
        })
    });
}

/// Case 2, wrong key: the Listener checks our reply first, so it sends
/// `#FAILURE#` and we get `PeerRejected`, never reaching its reply.
#[test]
fn rust_client_python_listener_wrong_key_rejected() {
    let test = "multiprocessing::rust_client_python_listener_wrong_key_rejected";
    let Some(pythons) = pythons(test) else { return };
    run_matrix(test, every_python(pythons), |case| {
        rust_client(case, WRONG_KEY, KEY, |peer, result, _| {
            handshake_error(result, Error::PeerRejected)?;
            peer.expect_exit_after_port(
                3,
                &["AUTH_FAILED AuthenticationError: digest received was wrong".to_string()],
            )
        })
    });
}
