#![cfg(feature = "cli")]
//! End-to-end tests of `--forward-secrecy` (`serve` and `connect
//! --profile native`; PROTOCOL.md, "Forward secrecy"), over loopback TCP:
//! the four flag combinations, every suite, what each side says when the
//! other lacks the mode, and `connect` without the flag against library
//! servers of every setting. Every wait is bounded; every server is killed
//! when its test ends (also on panic).

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use hmac_handshake::adapter::blocking::{client_authenticate, server_authenticate, AuthError};
use hmac_handshake::native::{self, ForwardSecrecy, NativeKey, Suite};
use hmac_handshake::Error;
use support::cli::{
    accepted_tail, connect_args, rejected_reason, run, serve_args, tcp, Run, Server, CLOSED_EARLY,
    NOWHERE, WAIT,
};

/// The key, given to both sides as HMAC_HANDSHAKE_KEY (key id `default`).
const KEY: &str = "forward secrecy key, 16+ bytes";

/// What `connect --forward-secrecy` says of a server without the mode.
const CLIENT_REFUSES: &str = "error: the server does not use forward secrecy, and \
    --forward-secrecy requires it: start the server with `serve --forward-secrecy`, or leave \
    --forward-secrecy out to accept a session without it\n";

/// What `serve --forward-secrecy` says of a proof without a share.
const SERVER_REFUSES: &str = "the client's proof carries no forward-secrecy share, and this \
    server requires one (--forward-secrecy): connect with --forward-secrecy, or use a client \
    that supports forward secrecy";

/// What `serve --forward-secrecy` says of a client that hangs up during
/// the handshake.
const CLOSED_UNDER_THE_MODE: &str = " (if it hung up right after the server's hello, it may \
    be a client without forward secrecy, which this server requires: connect --forward-secrecy)";

/// `serve --profile native` with `extra`, keyed with [`KEY`].
fn serve(extra: &[&str]) -> Server {
    Server::spawn("native", extra, Some(KEY))
}

/// `connect --profile native SERVER --message MESSAGE EXTRA...` with [`KEY`].
fn connect(server: &Server, message: &str, extra: &[&str]) -> Run {
    support::cli::connect(server, "native", message, KEY, extra)
}

/// `--forward-secrecy` when `on`, else nothing.
fn flag(on: bool) -> &'static [&'static str] {
    if on {
        &["--forward-secrecy"]
    } else {
        &[]
    }
}

/// [`support::cli::assert_authenticated`] for key id `default`.
#[track_caller]
fn assert_authenticated(
    r: &Run,
    message: &str,
    suite: &str,
    hash_len: usize,
    forward_secrecy: bool,
) -> String {
    support::cli::assert_authenticated(r, message, "default", suite, hash_len, forward_secrecy)
}

/// `accepted 127.0.0.1:PORT suite=hmac-DIGEST key_id=default`: the line
/// does not change with the mode (the server's flag alone decides it).
#[track_caller]
fn assert_accepted(line: &str, digest: &str) {
    assert_eq!(
        accepted_tail(line),
        format!("suite=hmac-{digest} key_id=default"),
        "{line:?}"
    );
}

/// Both flags on, off, and each on one side only. `connect` without the
/// flag follows the server: forward secrecy with `serve
/// --forward-secrecy`, none without. `connect --forward-secrecy` refuses a
/// server without it before proving anything: exit 1 (a configuration
/// mismatch, like a suite mismatch), a message naming `serve
/// --forward-secrecy`, and the server sees the client hang up.
#[test]
fn the_four_flag_combinations() {
    for serve_flag in [false, true] {
        let server = serve(flag(serve_flag));
        for connect_flag in [false, true] {
            let what = format!("serve {serve_flag}, connect {connect_flag}");
            let r = connect(&server, "fs", flag(connect_flag));
            let line = server.next_line();
            if connect_flag && !serve_flag {
                assert_eq!(
                    (r.code, r.stdout(), r.stderr.as_str()),
                    (Some(1), "", CLIENT_REFUSES),
                    "{what}"
                );
                assert_eq!(rejected_reason(&line), CLOSED_EARLY, "{what}");
            } else {
                assert_authenticated(&r, "fs", "hmac-sha256", 32, serve_flag);
                assert_accepted(&line, "sha256");
            }
        }
        // The server keeps serving after each.
        let r = connect(&server, "again", &[]);
        assert_authenticated(&r, "again", "hmac-sha256", 32, serve_flag);
        assert_accepted(&server.next_line(), "sha256");
    }
}

/// The mode over every suite: both flags on, and `connect` without the flag.
/// Two sessions never share a handshake hash (fresh nonces and ephemeral
/// secrets).
#[test]
fn every_suite_with_forward_secrecy() {
    let cases = [
        ("hmac-sha256", "sha256", 32),
        ("hmac-sha384", "sha384", 48),
        ("hmac-sha512", "sha512", 64),
        ("hmac-sha3_256", "sha3_256", 32),
    ];
    for (suite, digest, len) in cases {
        let server = serve(&["--suite", suite, "--forward-secrecy"]);
        let r = connect(&server, suite, &["--suite", suite, "--forward-secrecy"]);
        let first = assert_authenticated(&r, suite, suite, len, true);
        assert_accepted(&server.next_line(), digest);
        let r = connect(&server, suite, &[]);
        let second = assert_authenticated(&r, suite, suite, len, true);
        assert_accepted(&server.next_line(), digest);
        assert_ne!(first, second, "{suite}");
    }
}

/// A client that ignores the mode byte and sends a proof without a share
/// to `serve --forward-secrecy`: rejected (`03 01`) at the proof's type
/// byte, with a reason naming `connect --forward-secrecy`.
#[test]
fn serve_names_connect_forward_secrecy_for_a_proof_without_a_share() {
    let server = serve(&["--forward-secrecy"]);
    let mut stream = tcp(&server);
    let mut hello = [0u8; 39];
    stream.read_exact(&mut hello).unwrap();
    // Magic, version, suite 01, mode 02 (required).
    assert_eq!(&hello[..7], b"HMHS\x01\x01\x02");
    stream.write_all(&[0x02]).unwrap();
    let mut verdict = [0u8; 2];
    stream.read_exact(&mut verdict).unwrap();
    assert_eq!(verdict, [0x03, 0x01]);
    assert_eq!(rejected_reason(&server.next_line()), SERVER_REFUSES);
}

/// A library client with the mode off refuses `serve --forward-secrecy`
/// at the hello and hangs up; the server's line says that a client
/// without the mode does so.
#[test]
fn serve_explains_a_client_that_hangs_up_under_the_mode() {
    let server = serve(&["--forward-secrecy"]);
    let keys = Suite::ALL.map(|s| NativeKey::new(b"default", KEY.as_bytes(), s).unwrap());
    let mut stream = tcp(&server);
    let got = client_authenticate(&mut stream, &keys, native::Config::new(b"")).err();
    assert!(
        matches!(
            got,
            Some(AuthError::Handshake(Error::ForwardSecrecyRequired))
        ),
        "{got:?}"
    );
    drop(stream);
    assert_eq!(
        rejected_reason(&server.next_line()),
        format!("{CLOSED_EARLY}{CLOSED_UNDER_THE_MODE}")
    );
    // The same hang-up at a server without the flag gets the plain reason.
    let server = serve(&[]);
    let mut stream = tcp(&server);
    let mut hello = [0u8; 39];
    stream.read_exact(&mut hello).unwrap();
    drop(stream);
    assert_eq!(rejected_reason(&server.next_line()), CLOSED_EARLY);
}

/// Plays a library server with forward-secrecy `setting` on a fresh
/// listener: one handshake with [`KEY`] (id `default`, HMAC-SHA-256), then
/// one echoed frame. Runs `connect EXTRA...` against it and returns the run
/// and the server's session's `forward_secrecy()` (`None`: the handshake
/// failed).
fn connect_to_library_server(setting: ForwardSecrecy, extra: &[&str]) -> (Run, Option<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        let key = NativeKey::new(b"default", KEY.as_bytes(), Suite::HmacSha256).unwrap();
        let config = native::Config::new(b"").with_forward_secrecy(setting);
        let mut auth = server_authenticate(stream, &key, config).ok()?;
        let fs = auth.session.as_ref().expect("a session").forward_secrecy();
        let message = auth.recv_bytes(1 << 16).unwrap().expect("a message");
        auth.send_bytes(&message).unwrap();
        Some(fs)
    });
    let r = run(&connect_args("native", &addr, "lib", extra), Some(KEY));
    (r, server.join().expect("the library server"))
}

/// `connect` against library servers of every setting, with and without
/// the flag: without it, it uses the mode exactly when the server offers
/// or requires it; with it, also against `offered`, and it refuses `off`.
#[test]
fn connect_follows_library_servers_of_every_setting() {
    use ForwardSecrecy::{Off, Offered, Required};
    for (setting, connect_flag, expected) in [
        (Off, false, Some(false)),
        (Offered, false, Some(true)),
        (Required, false, Some(true)),
        (Off, true, None),
        (Offered, true, Some(true)),
        (Required, true, Some(true)),
    ] {
        let what = format!("{setting:?}, connect {connect_flag}");
        let (r, server_fs) = connect_to_library_server(setting, flag(connect_flag));
        assert_eq!(server_fs, expected, "{what}: {r:?}");
        match expected {
            Some(fs) => {
                assert_authenticated(&r, "lib", "hmac-sha256", 32, fs);
            }
            None => assert_eq!(
                (r.code, r.stdout(), r.stderr.as_str()),
                (Some(1), "", CLIENT_REFUSES),
                "{what}"
            ),
        }
    }
}

/// `--forward-secrecy` is a native option: refused with the other profiles
/// (exit 1), as `--suite` is.
#[test]
fn forward_secrecy_needs_the_native_profile() {
    for args in [
        serve_args("recipe", &["--forward-secrecy"]),
        serve_args("multiprocessing", &["--forward-secrecy"]),
        connect_args("recipe", NOWHERE, "x", &["--forward-secrecy"]),
        connect_args("multiprocessing", NOWHERE, "x", &["--forward-secrecy"]),
    ] {
        let r = run(&args, Some(KEY));
        assert_eq!(
            (r.code, r.stdout(), r.stderr.as_str()),
            (
                Some(1),
                "",
                "error: --forward-secrecy needs --profile native\n"
            ),
            "{args:?}"
        );
    }
}

/// `--help` of both subcommands documents the flag, what each side does
/// without it, and the success line's field.
#[test]
fn help_documents_forward_secrecy() {
    for cmd in ["serve", "connect"] {
        let r = run(&[cmd, "--help"], None);
        assert_eq!(r.code, Some(0), "{r:?}");
        let help = r.stdout();
        for needle in [
            "--forward-secrecy",
            "Native profile: require forward secrecy",
            "serve: accept only clients that use",
            "without the flag, use it whenever the server does",
            "forward_secrecy=yes|no",
            "without forward secrecy under",
        ] {
            assert!(help.contains(needle), "{cmd} --help lacks {needle:?}");
        }
    }
}
