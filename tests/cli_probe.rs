#![cfg(feature = "cli")]
//! `hmac-handshake probe ADDR` (issue 12, item 4): what a server speaks,
//! on one line, from the bytes it sends first, and with a key whether it
//! takes it. Against our own `serve` in each profile, CPython's
//! `Listener` of both multiprocessing generations (3.11: legacy HMAC-MD5;
//! 3.13: `{sha256}`), a `Listener` without an authkey, an HTTP server
//! (which waits for its client) and a server that answers in HTTP at once.

#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use kit::{cpython, python};
use support::cli::{run, speaks_first, Server};
use support::process::WAIT;

const KEY: &str = "abracadabra-abracadabra";

/// `probe ADDR EXTRA...` with `key` (if any) in the environment: exit code
/// and stdout.
fn probe(addr: &str, key: Option<&str>, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["probe", addr, "--timeout", "1"];
    args.extend_from_slice(extra);
    let r = run(&args, key);
    assert_eq!(r.stderr, "", "{r:?}");
    (r.code, r.stdout().to_string())
}

#[test]
fn our_servers_in_each_profile() {
    for (profile, line) in [
        ("native", "profile=native version=1 suite=hmac-sha256"),
        (
            "multiprocessing",
            "profile=multiprocessing format=modern digest=sha256",
        ),
        ("recipe", "profile=recipe"),
    ] {
        let server = Server::spawn(profile, &[], Some(KEY));
        let addr = server.port();
        assert_eq!(probe(&addr, None, &[]), (Some(0), format!("{line}\n")));
        assert_eq!(
            probe(&addr, Some(KEY), &[]),
            (Some(0), format!("{line} key=accepted\n")),
            "{profile}"
        );
        assert_eq!(
            probe(&addr, Some("another key, 16+ bytes"), &[]),
            (Some(0), format!("{line} key=rejected\n")),
            "{profile}"
        );
    }
    // The native suite as the server chose it.
    let server = Server::spawn("native", &["--suite", "hmac-sha3_256"], Some(KEY));
    assert_eq!(
        probe(&server.port(), Some(KEY), &[]),
        (
            Some(0),
            "profile=native version=1 suite=hmac-sha3_256 key=accepted\n".into()
        )
    );
}

/// A CPython `Listener` holding `authkey` (`None`: no authkey), serving one
/// connection after another; its port.
const LISTENER: &str = r#"
authkey = None if sys.argv[1] == "none" else KEY
with Listener(("127.0.0.1", 0), authkey=authkey) as listener:
    print(listener.address[1], flush=True)
    while True:
        try:
            with listener.accept() as conn:
                conn.poll(5)
        except Exception:
            pass
"#;

/// The first interpreter of `major.minor`, or `None` (skipped, printed).
fn interpreter(test: &str, version: (u32, u32)) -> Option<std::path::PathBuf> {
    let found = python::pythons(test)?;
    let py = found
        .iter()
        .find(|p| (p.version.0, p.version.1) == version)
        .map(|p| p.path.clone());
    if py.is_none() {
        println!("{test}: skipped: no CPython {}.{}", version.0, version.1);
    }
    py
}

#[test]
fn cpython_listeners_of_both_generations() {
    let test = "cpython_listeners_of_both_generations";
    for (version, line) in [
        ((3, 11), "profile=multiprocessing format=legacy digest=md5"),
        (
            (3, 13),
            "profile=multiprocessing format=modern digest=sha256",
        ),
    ] {
        let Some(py) = interpreter(test, version) else {
            continue;
        };
        let listener = cpython::PyChild::start(&py, LISTENER, &["key"], KEY);
        let port = listener.lines.recv_timeout(WAIT).expect("port");
        let addr = format!("127.0.0.1:{port}");
        assert_eq!(probe(&addr, None, &[]), (Some(0), format!("{line}\n")));
        assert_eq!(
            probe(&addr, Some(KEY), &[]),
            (Some(0), format!("{line} key=accepted\n")),
            "{version:?}"
        );
        assert_eq!(
            probe(&addr, Some("not the key"), &[]),
            (Some(0), format!("{line} key=rejected\n")),
            "{version:?}"
        );
    }
}

const NONE: &str = "profile=none (no byte within 1s: the server may not require \
                    authentication, expects the client to speak first, or is too busy to \
                    accept)\n";

#[test]
fn a_listener_without_an_authkey_and_an_http_server_say_nothing() {
    let test = "a_listener_without_an_authkey_and_an_http_server_say_nothing";
    let Some(py) = cpython::python313(test) else {
        return;
    };
    let listener = cpython::PyChild::start(&py, LISTENER, &["none"], KEY);
    let port = listener.lines.recv_timeout(WAIT).expect("port");
    assert_eq!(
        probe(&format!("127.0.0.1:{port}"), Some(KEY), &[]),
        (Some(1), NONE.into())
    );
    let http = r#"
import http.server, threading
server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
    let server = cpython::PyChild::start(&py, http, &[], KEY);
    let port = server.lines.recv_timeout(WAIT).expect("port");
    assert_eq!(
        probe(&format!("127.0.0.1:{port}"), None, &[]),
        (Some(1), NONE.into())
    );
}

/// A server that closes at once says so; one that sends 32 bytes and
/// closes is no recipe server (which waits for the answer).
#[test]
fn a_server_that_closes_is_not_silent() {
    let (addr, server) = speaks_first(b"");
    let (code, line) = probe(&addr, None, &[]);
    server.join().unwrap();
    assert_eq!(
        (code, line.as_str()),
        (
            Some(1),
            "profile=none (the server closed the connection without a byte: it may be at its \
             connection limit, or refuse this address)\n"
        )
    );
    let (addr, server) = speaks_first(&[0x42; 32]);
    let (code, line) = probe(&addr, None, &[]);
    server.join().unwrap();
    assert_eq!(
        (code, line.as_str()),
        (
            Some(1),
            "profile=unknown (first bytes 42424242424242424242424242424242...)\n"
        )
    );
}

/// A recipe server of another digest: `--digest` picks the one the key
/// check assumes; a keyed check that cannot conclude still names the
/// server (exit 0, ` key=unknown`, why on stderr).
#[test]
fn the_recipe_key_check_takes_a_digest() {
    let server = Server::spawn("recipe", &["--digest", "md5"], Some(KEY));
    let addr = server.port();
    assert_eq!(
        probe(&addr, Some(KEY), &["--digest", "md5"]),
        (Some(0), "profile=recipe key=accepted\n".into())
    );
    let mp = Server::spawn(
        "multiprocessing",
        &["--digest", "md5", "--allow-md5"],
        Some(KEY),
    );
    assert_eq!(
        probe(&mp.port(), Some(KEY), &[]),
        (
            Some(0),
            "profile=multiprocessing format=modern digest=md5 key=accepted\n".into()
        )
    );
    // Without --digest, SHA-256 is assumed (the help says so): the MD5
    // server takes our 32-byte tag for a wrong 16-byte one.
    assert_eq!(
        probe(&addr, Some(KEY), &[]),
        (Some(0), "profile=recipe key=rejected\n".into())
    );
    let native = Server::spawn("native", &[], Some(KEY));
    let r = run(
        &["probe", &native.port(), "--timeout", "1", "--key-id", "a b"],
        Some(KEY),
    );
    assert_eq!(
        (r.code, r.stdout()),
        (
            Some(0),
            "profile=native version=1 suite=hmac-sha256 key=unknown\n"
        ),
        "{r:?}"
    );
    assert!(
        r.stderr
            .starts_with("probe: the key could not be checked: --key-id \"a b\""),
        "{r:?}"
    );
}

/// A server that speaks first in HTTP (a proxy's error page, say): named.
#[test]
fn a_server_that_answers_in_http_is_named() {
    let (addr, server) = speaks_first(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    let (code, line) = probe(&addr, None, &[]);
    server.join().unwrap();
    assert_eq!(
        (code, line.as_str()),
        (
            Some(1),
            "profile=unknown (HTTP, first bytes 485454502f312e312034303020426164...)\n"
        )
    );
}
