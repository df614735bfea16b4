#![cfg(feature = "cli")]
//! End-to-end tests of the `hmac-handshake` binary: `serve` and `connect`
//! over loopback TCP, both profiles. Every wait is bounded; every server is
//! killed when its test ends (also on panic).

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{client_authenticate, recv_bytes, send_bytes};
use hmac_handshake::multiprocessing::{self, FrameHeader};
use hmac_handshake::{Digest, Key};
use support::cli::{
    accepted_tail, assert_connect_rejects_impostor, connect, connect_args, connect_to_fake,
    rejected_reason, run, serve_args, tcp, write_private, Fake, Server, BAD_MAC, CLOSED_EARLY,
    NOWHERE, WAIT,
};

const KEY: &str = "correct horse battery staple";
const PROFILES: [&str; 2] = ["recipe", "multiprocessing"];

const RECIPE_REJECTED: &str = "authentication failed: the server closed the connection after \
    our proof: it most likely rejected our key, or uses another --digest (the recipe sends no \
    verdict)\n";
const MP_REJECTED: &str = "authentication failed: the server rejected our proof (#FAILURE#): \
    the two sides hold different keys\n";
const TIMED_OUT_1S: &str = "handshake timed out after 1s: the client was silent or too slow";
const MD5_REFUSED: &str = "error: the server uses HMAC-MD5 (Python <= 3.11 multiprocessing?): \
    pass --allow-md5 to talk to it\n";
const NOT_AN_ECHO: &str =
    "error: the server's reply is not our message: not an echo server of this profile?\n";
const KEY_REFUSED: &str = "error: keys are never taken from the command line: use --key-file \
    PATH or HMAC_HANDSHAKE_KEY\n";
const BAD_TIMEOUT: &str = "the timeout must be 0.001 to 86400 seconds";

/// `connect --profile recipe`'s stderr when the server sent `n` bytes with
/// its challenge.
fn beyond_the_challenge(n: usize) -> String {
    format!(
        "error: the server sent {n} bytes beyond the 32-byte challenge before our proof: not a \
         recipe server (wrong --profile?)\n"
    )
}

impl Server {
    /// `serve --profile PROFILE` with `extra`, and [`KEY`] in the environment.
    fn start(profile: &str, extra: &[&str]) -> Server {
        Server::spawn(profile, extra, Some(KEY))
    }
}

/// `accepted 127.0.0.1:PORT digest=NAME`, any client port.
#[track_caller]
fn assert_accepted(line: &str, digest: &str) {
    let tail = accepted_tail(line);
    assert_eq!(tail, format!("digest={digest}"), "line {line:?}");
}

#[test]
fn right_key_echoes_the_message() {
    for profile in PROFILES {
        let server = Server::start(profile, &[]);
        for message in ["hello, world", "second client: ünïcödé"] {
            let r = connect(&server, profile, message, KEY, &[]);
            assert_eq!(r.code, Some(0), "{profile}: {r:?}");
            assert_eq!(r.stdout(), format!("{message}\n"), "{profile}");
            assert_eq!(r.stderr, "", "{profile}");
            assert_accepted(&server.next_line(), "sha256");
        }
    }
}

#[test]
fn every_digest_works_when_both_sides_agree() {
    let cases: [(&str, &[&str]); 4] = [
        ("recipe", &["--digest", "md5"]),
        ("recipe", &["--digest", "sha3_384"]),
        ("multiprocessing", &["--digest", "sha384"]),
        ("multiprocessing", &["--digest", "md5", "--allow-md5"]),
    ];
    for (profile, opts) in cases {
        let server = Server::start(profile, opts);
        let r = connect(&server, profile, "digest check", KEY, opts);
        assert_eq!(r.code, Some(0), "{profile} {opts:?}: {r:?}");
        assert_eq!(r.stdout(), "digest check\n");
        assert_accepted(&server.next_line(), opts[1]);
    }
}

#[test]
fn wrong_key_exits_3_and_the_server_rejects() {
    for profile in PROFILES {
        let server = Server::start(profile, &[]);
        let r = connect(&server, profile, "let me in", "not the key", &[]);
        assert_eq!(r.code, Some(3), "{profile}: {r:?}");
        assert_eq!(r.stdout(), "", "{profile}");
        let expected = if profile == "recipe" {
            RECIPE_REJECTED
        } else {
            MP_REJECTED
        };
        assert_eq!(r.stderr, expected, "{profile}");
        assert_eq!(rejected_reason(&server.next_line()), BAD_MAC, "{profile}");
        // The server keeps serving.
        let r = connect(&server, profile, "after", KEY, &[]);
        assert_eq!((r.code, r.stdout()), (Some(0), "after\n"), "{profile}");
        assert_accepted(&server.next_line(), "sha256");
    }
}

#[test]
fn silent_and_vanishing_clients_do_not_block_a_good_one() {
    for profile in PROFILES {
        let server = Server::start(profile, &["--timeout", "1"]);
        // Connects and sends nothing.
        let silent = tcp(&server);
        // Reads the first bytes of the challenge, then hangs up mid-handshake.
        let vanishing = tcp(&server);
        let mut first = [0u8; 4];
        (&vanishing)
            .read_exact(&mut first)
            .expect("challenge bytes");
        let vanishing_addr = vanishing.local_addr().unwrap();
        drop(vanishing);

        let r = connect(&server, profile, "not blocked", KEY, &["--timeout", "5"]);
        assert_eq!(r.code, Some(0), "{profile}: {r:?}");
        assert_eq!(r.stdout(), "not blocked\n", "{profile}");

        let lines = server.lines(3);
        let silent_line = format!("rejected {}: {TIMED_OUT_1S}", silent.local_addr().unwrap());
        let vanishing_line = format!("rejected {vanishing_addr}: {CLOSED_EARLY}");
        assert!(lines.contains(&vanishing_line), "{profile}: {lines:?}");
        // The good client was served while the silent one still waited out
        // its deadline: its line comes first.
        let good = lines
            .iter()
            .position(|l| l.starts_with("accepted "))
            .unwrap();
        let timed_out = lines.iter().position(|l| *l == silent_line);
        assert_eq!(timed_out, Some(2), "{profile}: {lines:?}");
        assert!(good < 2, "{profile}: {lines:?}");
        assert_accepted(&lines[good], "sha256");
        // The server closed the silent connection at the deadline.
        let mut rest = Vec::new();
        let n = (&silent).read_to_end(&mut rest).unwrap_or(0);
        let challenge_len = if profile == "recipe" {
            32
        } else {
            4 + 11 + 8 + 40
        };
        assert_eq!(n, challenge_len, "{profile}: the challenge, then EOF");
    }
}

#[test]
fn a_dripping_client_is_cut_off_at_the_deadline_not_per_read() {
    let server = Server::start("recipe", &["--timeout", "1"]);
    let stream = tcp(&server);
    let addr = stream.local_addr().unwrap();
    let mut challenge = [0u8; 32];
    (&stream).read_exact(&mut challenge).unwrap();
    let start = Instant::now();
    // 31 bytes of a 32-byte tag, one every 200 ms: 6 s in all if each read
    // had its own 1 s timeout.
    let dripper = thread::spawn(move || {
        for _ in 0..31 {
            if (&stream).write_all(b"x").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let line = server.next_line();
    let took = start.elapsed();
    assert_eq!(line, format!("rejected {addr}: {TIMED_OUT_1S}"));
    assert!(took < Duration::from_secs(3), "cut off after {took:?}");
    dripper.join().unwrap();
}

#[test]
fn authenticated_connections_over_the_cap_are_rejected_with_a_line() {
    let server = Server::start(
        "multiprocessing",
        &["--timeout", "1", "--max-connections", "1"],
    );
    // The holder authenticates and stays connected: it holds the one place.
    let mut holder = tcp(&server);
    let key = Key::new(KEY.as_bytes());
    client_authenticate(&mut holder, &key, multiprocessing::Config::new()).unwrap();
    assert_accepted(&server.next_line(), "sha256");
    let extra = tcp(&server);
    assert_eq!(
        server.next_line(),
        format!(
            "rejected {}: too many authenticated connections (limit 1, --max-connections)",
            extra.local_addr().unwrap()
        )
    );
    let mut buf = Vec::new();
    assert_eq!((&extra).read_to_end(&mut buf).unwrap_or(0), 0);
    // The place is free again once the server has seen the holder close.
    drop(holder);
    let start = Instant::now();
    loop {
        let r = connect(&server, "multiprocessing", "place free", KEY, &[]);
        let line = server.next_line();
        if r.code == Some(0) {
            assert_eq!(r.stdout(), "place free\n", "{r:?}");
            assert_accepted(&line, "sha256");
            break;
        }
        assert!(line.contains("too many authenticated"), "{line:?}");
        assert!(start.elapsed() < WAIT, "the place stayed taken: {r:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn multiprocessing_server_echoes_each_frame() {
    let server = Server::start("multiprocessing", &[]);
    let mut stream = tcp(&server);
    let key = Key::new(KEY.as_bytes());
    let auth = client_authenticate(&mut stream, &key, multiprocessing::Config::new())
        .unwrap()
        .into_parts()
        .1;
    assert!(auth.outcome.peer_authenticated);
    let mut pending = auth.leftover;
    let big = vec![0xa5u8; 1 << 20];
    for payload in [b"one".as_slice(), b"", &big, b"last"] {
        send_bytes(&mut stream, payload).unwrap();
        let reply = recv_bytes(&mut stream, &mut pending, 2 << 20).unwrap();
        assert_eq!(reply.as_deref(), Some(payload));
    }
    assert_accepted(&server.next_line(), "sha256");
}

#[test]
fn recipe_server_echoes_bytes_sent_with_the_proof_first() {
    let server = Server::start("recipe", &[]);
    let mut stream = tcp(&server);
    let mut challenge = [0u8; 32];
    stream.read_exact(&mut challenge).unwrap();
    let tag = Key::new(KEY.as_bytes()).tag(Digest::Sha256, &challenge);
    // Proof and data in one write: the data lands in the server's leftover.
    let mut wire = tag.as_bytes().to_vec();
    wire.extend_from_slice(b"riding along");
    stream.write_all(&wire).unwrap();
    let mut echo = [0u8; 12];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"riding along");
    stream.write_all(b" and more").unwrap();
    let mut echo = [0u8; 9];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b" and more");
    assert_accepted(&server.next_line(), "sha256");
}

/// A multiprocessing "server" that welcomes any reply, then answers the
/// client's challenge with the wrong key.
fn impostor_server(listener: TcpListener) {
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let frame = |s: &mut TcpStream, payload: &[u8]| {
        s.write_all(FrameHeader::new(payload.len() as u64).as_bytes())
            .unwrap();
        s.write_all(payload).unwrap();
    };
    let read_frame = |s: &mut TcpStream| {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).unwrap();
        let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut payload).unwrap();
        payload
    };
    let mut challenge = b"#CHALLENGE#{sha256}".to_vec();
    challenge.extend_from_slice(&[7u8; 40]);
    frame(&mut s, &challenge);
    let _reply = read_frame(&mut s);
    frame(&mut s, b"#WELCOME#");
    let theirs = read_frame(&mut s);
    let body = theirs
        .strip_prefix(b"#CHALLENGE#")
        .expect("client challenge");
    let tag = Key::new(b"impostor").tag(Digest::Sha256, body);
    let mut answer = b"{sha256}".to_vec();
    answer.extend_from_slice(tag.as_bytes());
    frame(&mut s, &answer);
    let verdict = read_frame(&mut s);
    assert_eq!(verdict, b"#FAILURE#");
}

#[test]
fn multiprocessing_client_rejects_a_server_with_another_key() {
    assert_connect_rejects_impostor("multiprocessing", KEY, impostor_server);
}

#[test]
fn md5_needs_allow_md5_in_the_multiprocessing_profile() {
    // The server refuses to start.
    let r = run(
        &serve_args("multiprocessing", &["--digest", "md5"]),
        Some(KEY),
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: --digest md5 with --profile multiprocessing needs --allow-md5\n"
    );
    // A client without --allow-md5 refuses a server that offers {md5}: a
    // configuration mismatch (exit 1), not a failed proof.
    let server = Server::start("multiprocessing", &["--digest", "md5", "--allow-md5"]);
    let r = connect(&server, "multiprocessing", "hi", KEY, &[]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout(), "");
    assert_eq!(r.stderr, MD5_REFUSED);
    assert_eq!(rejected_reason(&server.next_line()), CLOSED_EARLY);
}

#[test]
fn key_file_holds_raw_bytes() {
    let dir = env!("CARGO_TARGET_TMPDIR");
    let path = format!("{dir}/cli-key-{}", std::process::id());
    write_private(&path, b"file key\n");
    let server = Server::spawn("recipe", &["--key-file", &path], None);
    // The file's bytes, trailing newline included.
    let r = connect(&server, "recipe", "from file", "file key\n", &[]);
    assert_eq!((r.code, r.stdout()), (Some(0), "from file\n"), "{r:?}");
    assert_accepted(&server.next_line(), "sha256");
    let r = connect(&server, "recipe", "from file", "file key", &[]);
    assert_eq!(r.code, Some(3), "{r:?}");
    assert_eq!(rejected_reason(&server.next_line()), BAD_MAC);
    // --key-file wins over the environment.
    let r = connect(&server, "recipe", "x", "ignored", &["--key-file", &path]);
    assert_eq!((r.code, r.stdout()), (Some(0), "x\n"), "{r:?}");
    assert_accepted(&server.next_line(), "sha256");
    let _ = std::fs::remove_file(&path);
}

/// `serve` and `connect` with `--key-file PATH` both exit 1 at once with
/// `want` on stderr.
#[track_caller]
fn assert_key_file_refused(path: &str, want: &str) {
    let runs = [
        run(&serve_args("recipe", &["--key-file", path]), None),
        run(
            &connect_args("multiprocessing", NOWHERE, "x", &["--key-file", path]),
            None,
        ),
    ];
    for r in runs {
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (Some(1), want),
            "{path}: {r:?}"
        );
    }
}

/// A key file that is not a regular file (a FIFO, which a blocking open
/// would wait on for a writer; a device that never ends) is refused at
/// once, by `serve` and `connect` alike.
#[test]
fn a_key_file_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = env!("CARGO_TARGET_TMPDIR");
    let fifo = format!("{dir}/cli-key-fifo-{}", std::process::id());
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.expect("run mkfifo").success());
    for (path, what) in [
        (fifo.as_str(), "a FIFO"),
        ("/dev/zero", "a character device"),
    ] {
        let want = format!(
            "error: cannot read key file {path}: it is {what}, not a regular file: refusing to \
             read it\n"
        );
        assert_key_file_refused(path, &want);
    }
    let _ = std::fs::remove_file(&fifo);
}

/// A key file over 64 KiB is refused unread (a huge one, `truncate -s
/// 100G`, used to abort as its size was reserved); one of 64 KiB is read.
#[test]
fn a_key_file_over_64_kib_is_refused() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = env!("CARGO_TARGET_TMPDIR");
    let path = format!("{dir}/cli-key-huge-{}", std::process::id());
    let _ = std::fs::remove_file(&path);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    let want = format!(
        "error: cannot read key file {path}: it holds more than 65536 bytes (64 KiB), the most \
         read: refusing it\n"
    );
    for len in [100 << 30, (64 << 10) + 1] {
        file.set_len(len).unwrap();
        assert_key_file_refused(&path, &want);
    }
    // At the cap, the key is read: the run gets as far as connecting.
    file.set_len(64 << 10).unwrap();
    let r = run(
        &connect_args("multiprocessing", NOWHERE, "x", &["--key-file", &path]),
        None,
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(!r.stderr.contains("key file"), "{r:?}");
    let _ = std::fs::remove_file(&path);
}

/// A key file that group or others can write, or others can read, is
/// refused at start by `serve` and `connect`, naming `chmod 600 FILE`
/// (OpenSSH refuses such private keys too); 0600, 0400 and 0640 (group
/// read) are read.
#[test]
fn a_key_file_others_can_read_or_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = env!("CARGO_TARGET_TMPDIR");
    let path = format!("{dir}/cli-key-mode-{}", std::process::id());
    write_private(&path, KEY);
    let set =
        |mode: u32| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    for mode in [0o644, 0o604, 0o620, 0o602, 0o666, 0o660] {
        set(mode);
        let want = format!(
            "error: cannot read key file {path}: its permissions {mode:04o} are too open (group \
             or others can write it, or others can read it): refusing it; run `chmod 600 \
             {path}`\n"
        );
        assert_key_file_refused(&path, &want);
    }
    for mode in [0o600, 0o400, 0o640] {
        set(mode);
        let server = Server::spawn("recipe", &["--key-file", &path], None);
        let r = connect(&server, "recipe", "mode ok", KEY, &[]);
        assert_eq!(
            (r.code, r.stdout()),
            (Some(0), "mode ok\n"),
            "{mode:o}: {r:?}"
        );
        assert_accepted(&server.next_line(), "sha256");
    }
    let _ = std::fs::remove_file(&path);
}

/// A handshake that fails with a key from a file ending in a newline adds
/// a hint that the newline is part of the key; the exit status stays 3.
/// No hint for a failure that is not a failed proof, for a key file
/// without a newline, or for a key from the environment.
#[test]
fn a_failed_handshake_with_a_key_file_ending_in_a_newline_hints_at_it() {
    let dir = env!("CARGO_TARGET_TMPDIR");
    let with = format!("{dir}/cli-key-newline-{}", std::process::id());
    let without = format!("{dir}/cli-key-no-newline-{}", std::process::id());
    write_private(&with, format!("{KEY}\n"));
    write_private(&without, "another key");
    let hint = format!(
        "hint: --key-file {with} ends in a newline, and the newline is part of the key (every \
         byte of the file is): if the other side's key has no newline, write the file without \
         one (`printf %s KEY > FILE`, or `hmac-handshake keygen --raw --out FILE`)\n"
    );
    for (profile, rejected) in [
        ("recipe", RECIPE_REJECTED),
        ("multiprocessing", MP_REJECTED),
    ] {
        let server = Server::start(profile, &[]);
        let r = connect(&server, profile, "hi", "ignored", &["--key-file", &with]);
        assert_eq!(
            (r.code, r.stdout(), r.stderr.clone()),
            (Some(3), "", format!("{rejected}{hint}")),
            "{profile}"
        );
        let r = connect(&server, profile, "hi", "ignored", &["--key-file", &without]);
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (Some(3), rejected),
            "{profile}"
        );
        let r = connect(&server, profile, "hi", "wrong key\n", &[]);
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (Some(3), rejected),
            "{profile}"
        );
    }
    // Nothing listens: exit 1, no hint.
    let r = run(
        &connect_args("recipe", NOWHERE, "x", &["--key-file", &with]),
        None,
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(!r.stderr.contains("hint:"), "{r:?}");
    let _ = std::fs::remove_file(&with);
    let _ = std::fs::remove_file(&without);
}

#[test]
fn no_key_and_unreachable_server_exit_1() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    for profile in PROFILES {
        let args = connect_args(profile, &addr, "hi", &[]);
        let r = run(&args, None);
        assert_eq!(r.code, Some(1), "{r:?}");
        assert_eq!(
            r.stderr,
            "error: no key: pass --key-file PATH or set HMAC_HANDSHAKE_KEY \
             (keys are never taken from the command line)\n"
        );
        let r = run(&args, Some(""));
        assert_eq!(r.code, Some(1), "{r:?}");
        assert_eq!(
            r.stderr,
            "error: the key from HMAC_HANDSHAKE_KEY is empty\n"
        );
        let r = run(&args, Some(KEY));
        assert_eq!(r.code, Some(1), "{r:?}");
        assert!(
            r.stderr
                .starts_with(&format!("error: cannot connect to {addr}: ")),
            "{r:?}"
        );
        assert!(!r.stderr.contains(KEY));
    }
    let r = run(&serve_args("recipe", &[]), None);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.starts_with("error: no key"), "{r:?}");
}

#[test]
fn bad_arguments() {
    let r = run(
        &connect_args("recipe", NOWHERE, "x", &["--digest", "sha1"]),
        Some(KEY),
    );
    assert_eq!(r.code, Some(2), "{r:?}");
    let r = run(
        &connect_args("multiprocessing", NOWHERE, "x", &["--digest", "sha512"]),
        Some(KEY),
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains("not one CPython multiprocessing accepts"),
        "{r:?}"
    );
    let r = run(&connect_args("recipe", NOWHERE, "", &[]), Some(KEY));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.starts_with("error: --message must not be empty"),
        "{r:?}"
    );
    let r = run(
        &connect_args("recipe", NOWHERE, "x", &["--timeout", "0"]),
        Some(KEY),
    );
    assert_eq!(r.code, Some(2), "{r:?}");
}

#[test]
fn timeout_is_a_millisecond_to_a_day() {
    // Past a day (1e19 s overflowed the deadline's Instant) or under a
    // millisecond (1e-10 s rounded to a zero socket timeout): parse errors.
    for bad in ["1e19", "1e-10", "86400.5", "0.0009", "inf", "NaN"] {
        for args in [
            connect_args("recipe", NOWHERE, "x", &["--timeout", bad]),
            serve_args("recipe", &["--timeout", bad]),
        ] {
            let r = run(&args, Some(KEY));
            assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
            assert!(r.stderr.contains(BAD_TIMEOUT), "{args:?}: {r:?}");
            assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
        }
    }
    let r = run(&["connect", "--help"], None);
    assert!(r.stdout().contains("0.001 to 86400"), "{r:?}");

    // A day, on both sides.
    let server = Server::start("recipe", &["--timeout", "86400"]);
    let r = connect(&server, "recipe", "a day", KEY, &["--timeout", "86400"]);
    assert_eq!(
        (r.code, r.stdout(), r.stderr.as_str()),
        (Some(0), "a day\n", "")
    );
    assert_accepted(&server.next_line(), "sha256");
    // A millisecond: a valid --timeout, though the handshake may not make it.
    let r = connect(&server, "recipe", "a ms", KEY, &["--timeout", "0.001"]);
    assert!(matches!(r.code, Some(0 | 1 | 3)), "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    drop(server);
    // A server with a millisecond deadline cuts a silent client off.
    let server = Server::start("recipe", &["--timeout", "0.001"]);
    let silent = tcp(&server);
    assert_eq!(
        server.next_line(),
        format!(
            "rejected {}: handshake timed out after 0.001s: the client was silent or too slow",
            silent.local_addr().unwrap()
        )
    );
}

#[test]
fn keys_are_refused_on_the_command_line() {
    let cases = [
        connect_args("recipe", NOWHERE, "x", &["--key", "SECRET"]),
        connect_args("native", NOWHERE, "x", &["--key=SECRET"]),
        connect_args("multiprocessing", NOWHERE, "x", &["--key", "-SECRET"]),
        connect_args("recipe", NOWHERE, "x", &["--key"]),
        serve_args("recipe", &["--key", "SECRET"]),
        serve_args("native", &["--key=SECRET", "--key-id", "k1"]),
    ];
    for args in cases {
        let r = run(&args, Some(KEY));
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (Some(2), KEY_REFUSED),
            "{args:?}"
        );
        assert_eq!(r.stdout(), "");
    }
    // Not in the option list; the KEY section says it is refused.
    let r = run(&["serve", "--help"], None);
    assert!(!r.stdout().contains("--key <"), "{r:?}");
    assert!(r.stdout().contains("--key is refused"), "{r:?}");
}

#[test]
fn serve_prints_listening_only_on_stdout() {
    let (server, stderr) = Server::spawn_with_stderr("recipe", &[], Some(KEY));
    // Server::spawn_with_stderr read `listening on ADDR` from stdout.
    drop(server);
    let stderr = stderr
        .recv_timeout(WAIT)
        .expect("serve's stderr closed")
        .expect("read serve's stderr");
    assert_eq!(String::from_utf8_lossy(&stderr), "");
}

/// A 127.0.0.1 fake server's first connection, every read and write bounded.
fn accept(listener: &TcpListener) -> TcpStream {
    let (s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// Reads the client's 32-byte recipe proof (any), then `len` bytes.
fn read_proof_and(s: &mut TcpStream, len: usize) {
    let mut buf = vec![0u8; 32 + len];
    s.read_exact(&mut buf).unwrap();
}

/// Waits (bounded) for the client to hang up.
fn until_closed(mut s: TcpStream) {
    let _ = s.read_to_end(&mut Vec::new());
}

#[test]
fn recipe_client_against_a_multiprocessing_server_exits_1() {
    let server = Server::start("multiprocessing", &[]);
    for key in [KEY, "not the key"] {
        let r = connect(&server, "recipe", "hello", key, &[]);
        assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
        // The 4-byte length prefix and the 59-byte #CHALLENGE# frame arrive
        // in one read: 31 bytes past the 32 the recipe takes. (Were they
        // split, the rest would arrive as the "echo", and differ.)
        assert!(
            r.stderr == beyond_the_challenge(31) || r.stderr == NOT_AN_ECHO,
            "{r:?}"
        );
        // Whatever the server made of our "proof", it rejected us.
        assert!(!rejected_reason(&server.next_line()).is_empty());
    }
}

#[test]
fn recipe_client_checks_what_the_server_sends() {
    // Bytes with the challenge, before our proof: exactly counted.
    let r = connect_to_fake("recipe", "hello", KEY, &[], |listener| {
        let mut s = accept(&listener);
        s.write_all(&[7u8; 32 + 5]).unwrap();
        until_closed(s);
    });
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    assert_eq!(r.stderr, beyond_the_challenge(5));

    // A reply of the right length that is not the message.
    let r = connect_to_fake("recipe", "hello", KEY, &[], |listener| {
        let mut s = accept(&listener);
        s.write_all(&[7u8; 32]).unwrap();
        read_proof_and(&mut s, 5);
        s.write_all(b"help!").unwrap();
        until_closed(s);
    });
    assert_eq!(
        (r.code, r.stdout(), r.stderr.as_str()),
        (Some(1), "", NOT_AN_ECHO)
    );

    // The first differing byte is enough: the client does not wait (up to
    // --timeout 5) for the rest.
    let r = connect_to_fake("recipe", "hello", KEY, &["--timeout", "5"], |listener| {
        let mut s = accept(&listener);
        s.write_all(&[7u8; 32]).unwrap();
        read_proof_and(&mut s, 5);
        s.write_all(b"j").unwrap();
        until_closed(s);
    });
    assert_eq!(
        (r.code, r.stdout(), r.stderr.as_str()),
        (Some(1), "", NOT_AN_ECHO)
    );

    // Part of the echo, then a close.
    let r = connect_to_fake("recipe", "hello", KEY, &[], |listener| {
        let mut s = accept(&listener);
        s.write_all(&[7u8; 32]).unwrap();
        read_proof_and(&mut s, 5);
        s.write_all(b"he").unwrap();
    });
    assert_eq!(
        (r.code, r.stdout(), r.stderr.as_str()),
        (
            Some(1),
            "",
            "error: the server closed the connection after echoing 2 of 5 bytes\n"
        )
    );

    // A close right after our proof: the recipe's rejection.
    let r = connect_to_fake("recipe", "hello", KEY, &[], |listener| {
        let mut s = accept(&listener);
        s.write_all(&[7u8; 32]).unwrap();
        read_proof_and(&mut s, 0);
    });
    assert_eq!(
        (r.code, r.stdout(), r.stderr.as_str()),
        (Some(3), "", RECIPE_REJECTED)
    );
}

#[test]
fn a_handshake_cut_short_times_out_with_exit_1() {
    // Part of a challenge, then nothing.
    let cases: [(&str, Fake); 2] = [
        ("recipe", |listener| {
            let mut s = accept(&listener);
            s.write_all(&[7u8; 10]).unwrap();
            until_closed(s);
        }),
        ("multiprocessing", |listener| {
            let mut s = accept(&listener);
            s.write_all(b"\0\0\0\x3b#CHALLENGE#{sha2").unwrap();
            until_closed(s);
        }),
    ];
    for (profile, fake) in cases {
        let r = connect_to_fake(profile, "hi", KEY, &["--timeout", "1"], fake);
        assert_eq!(
            (r.code, r.stdout(), r.stderr.as_str()),
            (
                Some(1),
                "",
                "error: the handshake did not finish in time (the peer is silent or slow): \
                 --timeout 1s\nhint: if the server sent nothing at all, it may not require \
                 authentication (a multiprocessing Listener or Client without authkey), or \
                 expect the client to speak first (HTTP, TLS, a database)\n"
            ),
            "{profile}"
        );
    }
}
