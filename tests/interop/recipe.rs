//! The recipe profile against the Cookbook recipe 11.9 in Python
//! (`tests/peers/recipe_peer.py`), both roles, through the blocking adapter.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use hmac_handshake::adapter::blocking::{
    client_authenticate, server_authenticate, AuthError, Authenticated,
};
use hmac_handshake::{recipe, Confirmation, Digest, Error, Key, Scheme};

use crate::multiprocessing::{KEY, LONG_KEY, WRONG_KEY};
use crate::python::{
    after_port, bind, connect, echo_lines, eq, handshake_error, hex, io, outcome_eq, pythons,
    run_matrix, Case, Expected, Peer, Python, Script,
};

/// The digest variants for one interpreter: the recipe's bare
/// `hmac.new(key, msg)` (`--digest default`, HMAC-MD5) where Python still
/// allows it (< 3.8), and `--digest sha256` everywhere.
fn digest_cases<'a>(pythons: &'a [Python], variants: &[&'static str]) -> Vec<Case<'a>> {
    let mut cases = Vec::new();
    for py in pythons {
        for &variant in variants {
            if variant.starts_with("default") && py.at_least(3, 8) {
                continue;
            }
            cases.push(Case { py, variant });
        }
    }
    cases
}

/// `--digest` argument and our digest for a variant named `default...` or
/// `sha256...`.
fn digest_of(case: &Case<'_>) -> (&'static str, Digest) {
    if case.variant.starts_with("default") {
        ("default", Digest::Md5)
    } else {
        ("sha256", Digest::Sha256)
    }
}

fn config(digest: Digest) -> recipe::Config {
    recipe::Config { digest }
}

/// Application bytes: `len` bytes of a pattern that covers every value.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// The server's outcome: the client's tag verified; the recipe gives the
/// server nothing to prove.
fn server_outcome(digest: Digest) -> Expected {
    Expected {
        peer_authenticated: true,
        confirmation: Confirmation::NotApplicable,
        scheme: Scheme::Recipe { digest },
        consumed: digest.tag_len(),
    }
}

/// The client's outcome: 32 challenge bytes read, the verdict unknown.
fn client_outcome(digest: Digest) -> Expected {
    Expected {
        peer_authenticated: false,
        confirmation: Confirmation::Unknown,
        scheme: Scheme::Recipe { digest },
        consumed: recipe::CHALLENGE_LEN,
    }
}

/// Reads exactly `len` application bytes: `pending` (the handshake's
/// leftover) first, then the stream.
fn read_app(stream: &mut TcpStream, mut pending: Vec<u8>, len: usize) -> Result<Vec<u8>, String> {
    if pending.len() > len {
        return Err(format!(
            "leftover has {} bytes, more than the {len} the peer sent",
            pending.len()
        ));
    }
    let start = pending.len();
    pending.resize(len, 0);
    io(
        "read application bytes",
        stream.read_exact(&mut pending[start..]),
    )?;
    Ok(pending)
}

/// `recipe_peer.py ROLE... --key-hex HEX(peer_key) --digest D EXTRA...`,
/// with the `--digest` of `case`'s variant; returns it with our digest.
fn recipe_peer(
    case: &Case<'_>,
    role: &[&str],
    peer_key: &[u8],
    extra: &[&str],
) -> Result<(Peer, Digest), String> {
    let (digest_arg, digest) = digest_of(case);
    let key_hex = hex(peer_key);
    let mut args = role.to_vec();
    args.extend_from_slice(&["--key-hex", &key_hex, "--digest", digest_arg]);
    args.extend_from_slice(extra);
    Ok((Peer::spawn(case.py, Script::Recipe, &args)?, digest))
}

/// The Rust client's handshake holding `key`: it completes with the verdict
/// unknown (the recipe sends none) and nothing read past the challenge.
fn client_handshake(
    stream: &mut (impl Read + Write),
    key: &[u8],
    digest: Digest,
) -> Result<(), String> {
    let auth = client_authenticate(stream, &Key::new(key), config(digest))
        .map(|a| a.into_parts().1)
        .map_err(|e| format!("client_authenticate: {e:?}"))?;
    outcome_eq("outcome", auth.outcome, client_outcome(digest))?;
    eq("leftover", auth.leftover, Vec::new())
}

/// Rust server, Python client: `server_authenticate` against
/// `recipe_peer.py --role client` holding `peer_key`, with `extra`
/// arguments; then hands the result, the connection and the still running
/// peer to `body`.
fn rust_server(
    case: &Case<'_>,
    peer_key: &[u8],
    extra: &[&str],
    body: impl FnOnce(&mut Peer, Result<Authenticated, AuthError>, &mut TcpStream) -> Result<(), String>,
) -> Result<(), String> {
    let (listener, port) = bind()?;
    let (mut peer, digest) = recipe_peer(
        case,
        &["--role", "client", "--port", &port],
        peer_key,
        extra,
    )?;
    peer.check(|peer| {
        let mut stream = peer.accept(&listener)?;
        let key = Key::new(KEY);
        let result =
            server_authenticate(&mut stream, &key, config(digest)).map(|a| a.into_parts().1);
        body(peer, result, &mut stream)
    })
}

/// Case 4: Rust server, Python client, same key: the client's tag verifies,
/// then the client's message comes through and is echoed back intact.
#[test]
fn recipe_rust_server_python_client_echo() {
    let test = "recipe::recipe_rust_server_python_client_echo";
    let Some(pythons) = pythons(test) else { return };
    let message = payload(300);
    let message_hex = hex(&message);
    let cases = digest_cases(pythons, &["default", "sha256"]);
    run_matrix(test, cases, |case| {
        let digest = digest_of(case).1;
        rust_server(
            case,
            KEY,
            &["--message-hex", &message_hex],
            |peer, result, stream| {
                let auth = result.map_err(|e| format!("server_authenticate: {e:?}"))?;
                outcome_eq("outcome", auth.outcome, server_outcome(digest))?;
                let got = read_app(stream, auth.leftover, message.len())?;
                eq("message from the Python client", hex(&got), hex(&message))?;
                io("echo", stream.write_all(&got))?;
                let mut rest = Vec::new();
                io("read to EOF", stream.read_to_end(&mut rest))?;
                eq("bytes after the message", rest, Vec::new())?;
                peer.expect_exit(0, &echo_lines(&[&message]))
            },
        )
    });
}

/// Case 4: Rust server, Python client with another key: `BadTag`; we close,
/// and the client (which never learns a verdict) reads nothing back.
#[test]
fn recipe_rust_server_python_client_wrong_key_bad_tag() {
    let test = "recipe::recipe_rust_server_python_client_wrong_key_bad_tag";
    let Some(pythons) = pythons(test) else { return };
    let message_hex = hex(&payload(300));
    let cases = digest_cases(pythons, &["default", "sha256"]);
    run_matrix(test, cases, |case| {
        rust_server(
            case,
            WRONG_KEY,
            &["--message-hex", &message_hex],
            |peer, result, stream| {
                handshake_error(result, Error::BadTag)?;
                io("close", stream.shutdown(Shutdown::Both))?;
                // Nothing came back: an empty ECHO.
                peer.expect_exit(
                    0,
                    &[
                        "AUTH_OK".to_string(),
                        "ECHO ".to_string(),
                        "DONE".to_string(),
                    ],
                )
            },
        )
    });
}

/// Rust client, Python server: connects to `recipe_peer.py --role server`
/// holding `peer_key`, with `extra` arguments, and hands over to `body`.
fn rust_client(
    case: &Case<'_>,
    peer_key: &[u8],
    extra: &[&str],
    body: impl FnOnce(&mut Peer, &mut TcpStream, Digest) -> Result<(), String>,
) -> Result<(), String> {
    let (mut peer, digest) = recipe_peer(case, &["--role", "server"], peer_key, extra)?;
    peer.check(|peer| {
        let port = peer.port()?;
        let mut stream = connect(port)?;
        body(peer, &mut stream, digest)
    })
}

/// After a successful Rust client handshake: sends `message`, half-closes,
/// reads the echo to EOF; checks the server's transcript.
fn client_echo(peer: &mut Peer, stream: &mut TcpStream, message: &[u8]) -> Result<(), String> {
    io("send", stream.write_all(message))?;
    io("shutdown", stream.shutdown(Shutdown::Write))?;
    let mut echo = Vec::new();
    io("read echo to EOF", stream.read_to_end(&mut echo))?;
    eq("echo from the Python server", hex(&echo), hex(message))?;
    let fin = peer.finish()?;
    eq("peer exit code", fin.code, Some(0))?;
    // The server echoes recv(4096) chunks as they come: join them.
    let lines = after_port(&fin.lines);
    let (first, last) = (lines.first(), lines.last());
    eq(
        "first line after PORT",
        first.map(String::as_str),
        Some("AUTH_OK"),
    )?;
    eq("last line", last.map(String::as_str), Some("DONE"))?;
    let middle = &lines[1..lines.len() - 1];
    let mut echoed = String::new();
    for line in middle {
        let chunk = line
            .strip_prefix("ECHO ")
            .ok_or_else(|| format!("unexpected peer line {line:?}"))?;
        echoed.push_str(chunk);
    }
    eq("ECHO lines joined", echoed, hex(message))
}

/// Case 4: Rust client, Python server, same (131-byte) key: the handshake ends with the
/// verdict unknown (the recipe sends none), and the echo comes back.
#[test]
fn recipe_rust_client_python_server_echo() {
    let test = "recipe::recipe_rust_client_python_server_echo";
    let Some(pythons) = pythons(test) else { return };
    let message = payload(5000);
    let cases = digest_cases(pythons, &["default", "sha256"]);
    run_matrix(test, cases, |case| {
        rust_client(case, LONG_KEY, &[], |peer, stream, digest| {
            client_handshake(stream, LONG_KEY, digest)?;
            client_echo(peer, stream, &message)
        })
    });
}

/// Case 4: Rust client with another key: our handshake itself succeeds
/// (`Confirmation::Unknown`, nothing to verify), the server says
/// `AUTH_FAILED bad digest` and closes, and our next read sees EOF.
#[test]
fn recipe_rust_client_python_server_wrong_key_sees_eof() {
    let test = "recipe::recipe_rust_client_python_server_wrong_key_sees_eof";
    let Some(pythons) = pythons(test) else { return };
    let cases = digest_cases(pythons, &["default", "sha256"]);
    run_matrix(test, cases, |case| {
        rust_client(case, KEY, &[], |peer, stream, digest| {
            client_handshake(stream, WRONG_KEY, digest)?;
            let mut buf = [0u8; 64];
            let n = io("first read after the handshake", stream.read(&mut buf))?;
            eq("bytes read after a rejected handshake (EOF)", n, 0)?;
            peer.expect_exit_after_port(3, &["AUTH_FAILED bad digest".to_string()])
        })
    });
}

/// Case 5: the Python client sends its tag and its first application bytes
/// in one `sendall`: the bytes our handshake read past the tag come back
/// in `Authenticated::leftover`, and leftover + the rest is the message,
/// intact. 300 bytes fit in the handshake's read; 10000 do not (4096-byte
/// reads).
#[test]
fn recipe_pipelined_reply_lands_in_leftover() {
    let test = "recipe::recipe_pipelined_reply_lands_in_leftover";
    let Some(pythons) = pythons(test) else { return };
    let cases = digest_cases(pythons, &["default 300B", "sha256 300B", "sha256 10000B"]);
    run_matrix(test, cases, |case| {
        let digest = digest_of(case).1;
        let len = if case.variant.ends_with("10000B") {
            10_000
        } else {
            300
        };
        let message = payload(len);
        let message_hex = hex(&message);
        rust_server(
            case,
            KEY,
            &["--message-hex", &message_hex, "--pipelined"],
            |peer, result, stream| {
                let auth = result.map_err(|e| format!("server_authenticate: {e:?}"))?;
                outcome_eq("outcome", auth.outcome, server_outcome(digest))?;
                let leftover = auth.leftover.clone();
                if leftover.is_empty() {
                    return Err(
                        "leftover is empty: the pipelined bytes did not arrive with \
                                the tag, so this run did not test pipelining"
                            .to_string(),
                    );
                }
                eq(
                    "leftover is the message's start",
                    hex(&leftover),
                    hex(&message[..leftover.len().min(len)]),
                )?;
                let got = read_app(stream, auth.leftover, len)?;
                eq("leftover + rest", hex(&got), message_hex.clone())?;
                io("echo", stream.write_all(&got))?;
                peer.expect_exit(0, &echo_lines(&[&message]))
            },
        )
    });
}

/// Counts the reads that returned bytes.
struct CountingStream<'s> {
    inner: &'s mut TcpStream,
    reads: usize,
}

impl Read for CountingStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.reads += 1;
        }
        Ok(n)
    }
}

impl Write for CountingStream<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Case 6: the Python server sends its 32-byte challenge one byte at a time,
/// 20 ms apart: our client gathers it over many reads, authenticates, and
/// the echo works.
#[test]
fn recipe_trickled_challenge() {
    let test = "recipe::recipe_trickled_challenge";
    let Some(pythons) = pythons(test) else { return };
    let message = payload(100);
    let cases = digest_cases(pythons, &["default", "sha256"]);
    run_matrix(test, cases, |case| {
        rust_client(
            case,
            KEY,
            &["--trickle-ms", "20"],
            |peer, stream, digest| {
                let mut counting = CountingStream {
                    inner: stream,
                    reads: 0,
                };
                client_handshake(&mut counting, KEY, digest)?;
                // 32 bytes 20 ms apart: far more than a couple of reads.
                if counting.reads < 8 {
                    return Err(format!(
                        "challenge came in {} reads: the trickle did not trickle",
                        counting.reads
                    ));
                }
                client_echo(peer, stream, &message)
            },
        )
    });
}
