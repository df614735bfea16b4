#![cfg(feature = "cli")]
//! End-to-end tests of the `hmac-handshake` binary's native profile
//! (`serve`/`connect --profile native`, `--keyring`, `--suite`,
//! `--context`, `--server-name`, `--key-id`) and of `keygen`, over loopback TCP. Every wait
//! is bounded; every server is killed when its test ends (also on panic).

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use hmac_handshake::adapter::blocking::{client_authenticate, recv_bytes, send_bytes};
use hmac_handshake::native::{self, NativeKey, Suite};
use support::cli::{
    accepted_tail, connect_args, connect_to_fake, rejected_reason, run, serve_args, tcp,
    write_private, Run, Server, BAD_MAC, CLOSED_EARLY, NOWHERE, WAIT,
};

/// Two keys of at least 16 bytes, given to clients as HMAC_HANDSHAKE_KEY.
const KEY1: &str = "first native key, 16+ bytes";
const KEY2: &str = "second native key, also long";

const REJECTED: &str = "authentication failed: the server rejected our proof: a wrong key, a key \
    id not on its keyring, or a different --context or --server-name on the two sides\n";

impl Server {
    /// `serve --profile native` with `extra`, and `key` (if any) in the
    /// environment.
    fn start(extra: &[&str], key: Option<&str>) -> Server {
        Server::spawn("native", extra, key)
    }

    /// `serve --profile native --keyring PATH` with `extra`.
    fn with_keyring(keyring: &Keyring, extra: &[&str]) -> Server {
        let path = keyring.path();
        let mut args = vec!["--keyring", path.as_str()];
        args.extend_from_slice(extra);
        Server::start(&args, None)
    }
}

/// A file under the test target directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let dir = env!("CARGO_TARGET_TMPDIR");
        let path = PathBuf::from(format!("{dir}/cli-native-{}-{name}", std::process::id()));
        write_private(&path, contents);
        TempFile(path)
    }

    fn path(&self) -> String {
        self.0.to_str().unwrap().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

type Keyring = TempFile;

/// A keyring line for a key given as text.
fn keyring_line(id: &str, key: &str) -> String {
    format!("{id} {}\n", hex::encode(key))
}

/// `connect --profile native ADDR --message MESSAGE EXTRA...` with `key` in
/// the environment.
fn connect(server: &Server, message: &str, key: &str, extra: &[&str]) -> Run {
    support::cli::connect(server, "native", message, key, extra)
}

/// [`support::cli::assert_authenticated`] for these servers, which run
/// without `--forward-secrecy` (tests/cli_forward_secrecy.rs has the mode).
#[track_caller]
fn assert_authenticated(
    r: &Run,
    message: &str,
    key_id: &str,
    suite: &str,
    hash_len: usize,
) -> String {
    support::cli::assert_authenticated(r, message, key_id, suite, hash_len, false)
}

/// `accepted 127.0.0.1:PORT suite=hmac-DIGEST key_id=ID`, any client port.
#[track_caller]
fn assert_accepted(line: &str, digest: &str, key_id: &str) {
    let tail = accepted_tail(line);
    assert_eq!(
        tail,
        format!("suite=hmac-{digest} key_id={key_id}"),
        "line {line:?}"
    );
}

/// `HMAC_HANDSHAKE_KEY=hex:HEX` is the key a keyring line `KEY_ID HEX`
/// holds (issue 12: `HMAC_HANDSHAKE_KEY="$(hmac-handshake keygen)"` was
/// the 64 hex characters as the key, which no keyring line matched); the
/// same characters without `hex:` are their text, another key; a `hex:`
/// value that is not hex is refused, exit 1, without printing it.
#[test]
fn a_hex_key_in_the_environment_is_the_keyring_line_key() {
    let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let keyring = Keyring::new("hex-key", format!("k1 {hex}\n").as_bytes());
    let server = Server::with_keyring(&keyring, &[]);
    let r = connect(
        &server,
        "hello hex",
        &format!("hex:{hex}"),
        &["--key-id", "k1"],
    );
    assert_authenticated(&r, "hello hex", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
    // Upper case and a trailing newline (a `$(...)` keeps none, a file
    // read into the variable may) are the same key.
    let upper = format!("hex:{}\n", hex.to_uppercase());
    let r = connect(&server, "hello HEX", &upper, &["--key-id", "k1"]);
    assert_authenticated(&r, "hello HEX", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
    // The prefix in capitals is the prefix too, not a text key.
    for prefix in ["HEX:", "Hex:"] {
        let r = connect(
            &server,
            "hello",
            &format!("{prefix}{hex}"),
            &["--key-id", "k1"],
        );
        assert_authenticated(&r, "hello", "k1", "hmac-sha256", 32);
        assert_accepted(&server.next_line(), "sha256", "k1");
    }
    // Without the prefix: the 64 characters are the key.
    let r = connect(&server, "x", hex, &["--key-id", "k1"]);
    assert_eq!(r.code, Some(3), "{r:?}");
    for (bad, why) in [
        (
            "hex:0g",
            "character 2 after it is not a hex digit (0-9, a-f, A-F)",
        ),
        (
            "hex: 00",
            "character 1 after it is not a hex digit (0-9, a-f, A-F)",
        ),
        (
            "hex:abc",
            "the 3 hex digits after it are an odd count: not whole bytes",
        ),
    ] {
        let r = connect(&server, "x", bad, &["--key-id", "k1"]);
        assert_eq!(r.code, Some(1), "{r:?}");
        assert_eq!(
            r.stderr,
            format!("error: HMAC_HANDSHAKE_KEY starts with hex:, and {why}\n"),
            "{r:?}"
        );
    }
}

#[test]
fn keyring_with_two_keys_then_one_rotated_out() {
    let text = format!(
        "# two keys in rotation\n\n{}{}",
        keyring_line("k1", KEY1),
        keyring_line("k2", KEY2)
    );
    let keyring = Keyring::new("two-keys", text.as_bytes());
    let server = Server::with_keyring(&keyring, &[]);
    let r = connect(&server, "hello k1", KEY1, &["--key-id", "k1"]);
    let hash1 = assert_authenticated(&r, "hello k1", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
    let r = connect(&server, "hello k2", KEY2, &["--key-id", "k2"]);
    let hash2 = assert_authenticated(&r, "hello k2", "k2", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k2");
    assert_ne!(hash1, hash2);
    // A wrong key under a known id.
    let r = connect(&server, "x", "not the key for k2", &["--key-id", "k2"]);
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout()),
        (Some(3), REJECTED, "")
    );
    assert_eq!(rejected_reason(&server.next_line()), BAD_MAC);
    drop(server);

    // Restart with k1 rotated out.
    let keyring = Keyring::new("k1-removed", keyring_line("k2", KEY2).as_bytes());
    let server = Server::with_keyring(&keyring, &[]);
    let r = connect(&server, "x", KEY1, &["--key-id", "k1"]);
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout()),
        (Some(3), REJECTED, "")
    );
    let line = server.next_line();
    let reason = rejected_reason(&line);
    assert!(
        reason.contains("key id") && reason.contains("not on our keyring"),
        "{line:?}"
    );
    let r = connect(&server, "still k2", KEY2, &["--key-id", "k2"]);
    assert_authenticated(&r, "still k2", "k2", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k2");
}

#[test]
fn one_key_from_the_environment_under_key_id_default() {
    let server = Server::start(&[], Some(KEY1));
    let r = connect(&server, "plain", KEY1, &[]);
    assert_authenticated(&r, "plain", "default", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "default");
    // Another id is not on the server's one-key keyring.
    let r = connect(&server, "x", KEY1, &["--key-id", "other"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(3), REJECTED));
    assert!(rejected_reason(&server.next_line()).contains("not on our keyring"));
    drop(server);

    let server = Server::start(&["--key-id", "svc-1"], Some(KEY2));
    // An empty message is a message in send_bytes framing.
    let r = connect(&server, "", KEY2, &["--key-id", "svc-1"]);
    assert_authenticated(&r, "", "svc-1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "svc-1");
}

#[test]
fn key_file_and_keygen_output_round_trip() {
    let raw = run(&["keygen", "--raw"], None);
    assert_eq!(raw.code, Some(0), "{raw:?}");
    assert_eq!(raw.stdout.len(), 32);
    let key_file = TempFile::new("raw-key", &raw.stdout);
    let line = format!("k1 {}\n", hex::encode(&raw.stdout));
    let keyring = Keyring::new("raw-key-ring", line.as_bytes());
    let server = Server::with_keyring(&keyring, &[]);
    let path = key_file.path();
    let r = connect(
        &server,
        "from file",
        "ignored",
        &["--key-id", "k1", "--key-file", &path],
    );
    assert_authenticated(&r, "from file", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
}

/// A setting both sides must share (`--context`, `--server-name`): a
/// server given `option good` accepts a client given the same; a client
/// given `option bad`, or not given `option`, fails exactly as with a
/// wrong key (exit 3, the server logs a bad MAC). Returns the keyring and
/// the server, for more checks.
fn must_match(option: &str, good: &str, bad: &str) -> (Keyring, Server) {
    let keyring = Keyring::new(
        option.trim_start_matches('-'),
        keyring_line("k1", KEY1).as_bytes(),
    );
    let server = Server::with_keyring(&keyring, &[option, good]);
    let r = connect(&server, "same", KEY1, &["--key-id", "k1", option, good]);
    assert_authenticated(&r, "same", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
    for other in [&[option, bad][..], &[]] {
        let mut extra = vec!["--key-id", "k1"];
        extra.extend_from_slice(other);
        let r = connect(&server, "same", KEY1, &extra);
        assert_eq!(
            (r.code, r.stderr.as_str(), r.stdout()),
            (Some(3), REJECTED, ""),
            "{other:?}"
        );
        assert_eq!(rejected_reason(&server.next_line()), BAD_MAC);
    }
    (keyring, server)
}

#[test]
fn context_must_match() {
    must_match("--context", "billing/v3", "billing/v4");
}

/// `serve --server-name A`: a client expecting A authenticates; one
/// expecting B, or naming none, fails exactly as with a wrong key; and a
/// server without a name refuses a client that expects one.
#[test]
fn server_name_must_match() {
    let (keyring, _named) = must_match("--server-name", "A", "B");
    let unnamed = Server::with_keyring(&keyring, &[]);
    let r = connect(
        &unnamed,
        "x",
        KEY1,
        &["--key-id", "k1", "--server-name", "A"],
    );
    assert_eq!((r.code, r.stderr.as_str()), (Some(3), REJECTED));
    assert_eq!(rejected_reason(&unnamed.next_line()), BAD_MAC);
}

/// A server name over 255 bytes is refused before anything runs (exit 1).
#[test]
fn server_name_over_255_bytes_is_refused() {
    let long = "n".repeat(256);
    let r = run(
        &connect_args("native", NOWHERE, "x", &["--server-name", &long]),
        Some(KEY1),
    );
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            Some(1),
            "error: --server-name is 256 bytes: a server name is at most 255\n"
        )
    );
}

#[test]
fn suite_mismatch_is_a_configuration_error_exit_1() {
    let keyring = Keyring::new("suite", keyring_line("k1", KEY1).as_bytes());
    let server = Server::with_keyring(&keyring, &["--suite", "hmac-sha512"]);
    let r = connect(
        &server,
        "x",
        KEY1,
        &["--key-id", "k1", "--suite", "hmac-sha256"],
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout(), "");
    assert_eq!(
        r.stderr,
        "error: suite mismatch: the server uses hmac-sha512, and this client allows only \
         hmac-sha256 (--suite); pass --suite hmac-sha512, or leave --suite out to accept any \
         suite\n"
    );
    assert_eq!(rejected_reason(&server.next_line()), CLOSED_EARLY);
    // Without --suite the client accepts the server's; the hash is L bytes.
    let r = connect(&server, "any suite", KEY1, &["--key-id", "k1"]);
    assert_authenticated(&r, "any suite", "k1", "hmac-sha512", 64);
    assert_accepted(&server.next_line(), "sha512", "k1");
}

#[test]
fn every_suite_works_when_both_sides_name_it() {
    let keyring = Keyring::new("suites", keyring_line("k1", KEY1).as_bytes());
    let cases = [
        ("hmac-sha256", "sha256", 32),
        ("hmac-sha384", "sha384", 48),
        ("hmac-sha512", "sha512", 64),
        ("hmac-sha3_256", "sha3_256", 32),
    ];
    for (suite, digest, len) in cases {
        let server = Server::with_keyring(&keyring, &["--suite", suite]);
        let r = connect(&server, suite, KEY1, &["--key-id", "k1", "--suite", suite]);
        assert_authenticated(&r, suite, "k1", suite, len);
        assert_accepted(&server.next_line(), digest, "k1");
    }
}

#[test]
fn native_server_echoes_each_frame() {
    let keyring = Keyring::new("frames", keyring_line("k2", KEY2).as_bytes());
    let server = Server::with_keyring(&keyring, &["--context", "frames"]);
    let mut stream = tcp(&server);
    // One key per suite: the client accepts any suite, as the CLI's does.
    let keys = Suite::ALL.map(|suite| NativeKey::new(b"k2", KEY2.as_bytes(), suite).unwrap());
    let auth = client_authenticate(&mut stream, &keys, native::Config::new(b"frames"))
        .unwrap()
        .into_parts()
        .1;
    assert_eq!(auth.session.expect("a session").key_id().as_bytes(), b"k2");
    let mut pending = auth.leftover;
    let big = vec![0x5au8; 1 << 20];
    for payload in [b"one".as_slice(), b"", &big, b"last"] {
        send_bytes(&mut stream, payload).unwrap();
        let reply = recv_bytes(&mut stream, &mut pending, 2 << 20).unwrap();
        assert_eq!(reply.as_deref(), Some(payload));
    }
    assert_accepted(&server.next_line(), "sha256", "k2");
}

/// A `ClientProof` whose key id length byte is outside 1 to 32 (0, 33):
/// the server rejects it with the reason it has always given.
#[test]
fn a_key_id_length_outside_1_to_32_is_rejected() {
    let server = Server::start(&[], Some(KEY1));
    for len in [0u8, 33] {
        let mut stream = tcp(&server);
        let mut hello = [0u8; 39];
        stream.read_exact(&mut hello).unwrap();
        // Magic, version, suite, mode 00 (no --forward-secrecy).
        assert_eq!(&hello[..7], b"HMHS\x01\x01\x00");
        stream.write_all(&[0x02, len]).unwrap();
        assert_eq!(
            rejected_reason(&server.next_line()),
            format!("key id of {len} bytes: key ids are 1 to 32 bytes")
        );
    }
}

/// A native "server" that accepts any proof and answers with a tag it did
/// not compute from the key.
fn impostor_server(listener: TcpListener) {
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    // Magic, version, suite 01, mode 00, a nonce.
    let mut hello = b"HMHS\x01\x01\x00".to_vec();
    hello.extend_from_slice(&[7u8; 32]);
    s.write_all(&hello).unwrap();
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x02, "ClientProof type");
    let mut rest = vec![0u8; usize::from(head[1]) + 32 + 32];
    s.read_exact(&mut rest).unwrap();
    let mut finish = vec![0x03, 0x00];
    finish.extend_from_slice(&[0x55; 32]);
    s.write_all(&finish).unwrap();
    // Wait for the client to hang up.
    let _ = s.read_to_end(&mut Vec::new());
}

/// The server's tag does not verify: exit 3, naming the key, the context
/// and the server name as the possible causes.
#[test]
fn client_rejects_a_server_whose_tag_does_not_verify() {
    let r = connect_to_fake("native", "hi", KEY1, &[], impostor_server);
    assert_eq!(
        (r.code, r.stdout(), r.stderr.as_str()),
        (
            Some(3),
            "",
            format!(
                "authentication failed: we rejected the server: {BAD_MAC} (a wrong key, or a \
                 different --context or --server-name on the two sides)\n"
            )
            .as_str()
        )
    );
}

#[test]
fn native_client_against_a_multiprocessing_server_exits_1() {
    let server = Server::spawn("multiprocessing", &[], Some(KEY1));
    let r = connect(&server, "hi", KEY1, &[]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the server does not speak the native protocol (no HMHS magic); check \
         --profile on both sides\n"
    );
    assert_eq!(rejected_reason(&server.next_line()), CLOSED_EARLY);
}

#[test]
fn recipe_client_against_a_native_server_exits_1() {
    let server = Server::spawn("native", &[], Some(KEY1));
    let r = support::cli::connect(&server, "recipe", "hi", KEY1, &[]);
    assert_eq!((r.code, r.stdout()), (Some(1), ""), "{r:?}");
    // The 39-byte ServerHello (magic, version, suite, mode, nonce) arrives
    // in one read: 7 bytes past the 32 the recipe takes. (Were it split, the
    // rest would arrive as the "echo", and differ.)
    assert!(
        r.stderr
            == "error: the server sent 7 bytes beyond the 32-byte challenge before our proof: \
                not a recipe server (wrong --profile?)\n"
            || r.stderr
                == "error: the server's reply is not our message: not an echo server of this \
                    profile?\n",
        "{r:?}"
    );
    // Whatever the server made of our "proof", it rejected us.
    assert!(!rejected_reason(&server.next_line()).is_empty());
}

#[test]
fn a_byte_order_mark_at_the_start_of_a_keyring_is_skipped() {
    let text = format!("\u{feff}{}", keyring_line("k1", KEY1));
    let keyring = Keyring::new("bom", text.as_bytes());
    let server = Server::with_keyring(&keyring, &[]);
    // The key id is `k1`, not `\u{feff}k1`.
    let r = connect(&server, "bom", KEY1, &["--key-id", "k1"]);
    assert_authenticated(&r, "bom", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
}

#[test]
fn keygen_prints_fresh_hex_keys() {
    let a = run(&["keygen"], None);
    let b = run(&["keygen"], None);
    for r in [&a, &b] {
        assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""), "{r:?}");
        let text = r.stdout();
        assert_eq!(text.len(), 65, "{text:?}");
        let hex = text.strip_suffix('\n').expect("a trailing newline");
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{hex:?}"
        );
    }
    assert_ne!(a.stdout, b.stdout);
    let c = run(&["keygen", "--raw"], None);
    let d = run(&["keygen", "--raw"], None);
    assert_eq!((c.code, c.stdout.len(), d.stdout.len()), (Some(0), 32, 32));
    assert_ne!(c.stdout, d.stdout);
}

/// `keygen --out FILE` writes a new file of mode 0600 (the umask cannot
/// widen it) holding the hex key and a newline, or the raw key with
/// `--raw`, prints nothing, and never overwrites a file; the file works as
/// a `--key-file`.
#[test]
fn keygen_out_writes_a_new_private_file_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = env!("CARGO_TARGET_TMPDIR");
    let hex_path = format!("{dir}/cli-native-{}-keygen-out-hex", std::process::id());
    let raw_path = format!("{dir}/cli-native-{}-keygen-out-raw", std::process::id());
    for path in [&hex_path, &raw_path] {
        let _ = std::fs::remove_file(path);
    }
    let r = run(&["keygen", "--out", &hex_path], None);
    assert_eq!((r.code, r.stdout(), r.stderr.as_str()), (Some(0), "", ""));
    let r = run(&["keygen", "--raw", "--out", &raw_path], None);
    assert_eq!((r.code, r.stdout(), r.stderr.as_str()), (Some(0), "", ""));
    let text = std::fs::read_to_string(&hex_path).unwrap();
    let hex_key = text.strip_suffix('\n').expect("a trailing newline");
    assert_eq!(hex::decode(hex_key).unwrap().len(), 32, "{text:?}");
    let raw = std::fs::read(&raw_path).unwrap();
    assert_eq!(raw.len(), 32);
    for path in [&hex_path, &raw_path] {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600, "{path}");
        // A second keygen refuses the existing file and leaves it be.
        let before = std::fs::read(path).unwrap();
        let r = run(&["keygen", "--out", path], None);
        assert_eq!(
            (r.code, r.stdout(), r.stderr.clone()),
            (
                Some(1),
                "",
                format!(
                    "error: --out {path} exists: refusing to overwrite it (remove it first, or \
                     pick a new name)\n"
                )
            )
        );
        assert_eq!(std::fs::read(path).unwrap(), before);
    }
    // The raw file is a key file: a server keyed with its hex accepts it.
    let keyring = Keyring::new(
        "keygen-out",
        format!("k1 {}\n", hex::encode(&raw)).as_bytes(),
    );
    let server = Server::with_keyring(&keyring, &[]);
    let r = connect(
        &server,
        "from --out",
        "ignored",
        &["--key-id", "k1", "--key-file", &raw_path],
    );
    assert_authenticated(&r, "from --out", "k1", "hmac-sha256", 32);
    assert_accepted(&server.next_line(), "sha256", "k1");
    for path in [&hex_path, &raw_path] {
        let _ = std::fs::remove_file(path);
    }
}

/// A keyring that group or others can write, or others can read, is
/// refused at start, naming `chmod 600 FILE`.
#[test]
fn a_keyring_others_can_read_or_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let keyring = Keyring::new("mode", keyring_line("k1", KEY1).as_bytes());
    let path = keyring.path();
    for mode in [0o644, 0o604, 0o620, 0o602] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = run(&serve_args("native", &["--keyring", &path]), None);
        assert_eq!(
            (r.code, r.stdout(), r.stderr.clone()),
            (
                Some(1),
                "",
                format!(
                    "error: cannot read keyring {path}: its permissions {mode:04o} are too open \
                     (group or others can write it, or others can read it): refusing it; run \
                     `chmod 600 {path}`\n"
                )
            )
        );
    }
}

#[test]
fn keyring_file_errors_exit_1_with_the_line_number() {
    let good = keyring_line("k1", KEY1);
    let cases = [
        (
            "bad-hex",
            format!("# keys\n{good}k2 00112233445566778899aabbccddeezz\n"),
            "line 3: HEXKEY is not hex: only 0-9, a-f and A-F are allowed",
        ),
        (
            "short",
            format!("{good}\nk2 00112233445566778899aabbccddee\n"),
            "line 3: the key for k2 is 15 bytes: at least 16 are needed",
        ),
        (
            "duplicate",
            format!("{good}{}", keyring_line("k1", KEY2)),
            "line 2: duplicate key id k1 (first on line 1)",
        ),
        (
            "one-field",
            format!("{good}k2\n"),
            "line 2: expected two fields, `KEY_ID HEXKEY`",
        ),
        ("empty", "# nothing yet\n".to_string(), "holds no key"),
        (
            "bom-on-line-2",
            format!("{good}\u{feff}{}", keyring_line("k2", KEY2)),
            "line 2: U+FEFF (a byte order mark, allowed only at the very start of the file)",
        ),
        (
            "zero-width-space",
            format!("{good}k\u{200b}2 {}\n", hex::encode(KEY2)),
            "line 2: U+200B (an invisible format character)",
        ),
        (
            "bidi-control",
            format!("\n\u{202e}{good}"),
            "line 2: U+202E (an invisible format character)",
        ),
    ];
    for (name, text, needle) in cases {
        let keyring = Keyring::new(name, text.as_bytes());
        let path = keyring.path();
        let r = run(&serve_args("native", &["--keyring", &path]), None);
        assert_eq!(r.code, Some(1), "{name}: {r:?}");
        assert_eq!(r.stdout(), "", "{name}");
        assert!(
            r.stderr.starts_with(&format!("error: keyring {path}")),
            "{name}: {r:?}"
        );
        assert!(r.stderr.contains(needle), "{name}: {r:?}");
        assert!(!r.stderr.contains(&hex::encode(KEY1)), "{name}: {r:?}");
    }
    let r = run(
        &serve_args("native", &["--keyring", "/nonexistent/keyring"]),
        None,
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .starts_with("error: cannot read keyring /nonexistent/keyring: "),
        "{r:?}"
    );
}

#[test]
fn short_keys_are_refused() {
    let r = run(
        &connect_args("native", NOWHERE, "x", &[]),
        Some("fifteen bytes!!"),
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        "error: the key from HMAC_HANDSHAKE_KEY is 15 bytes: --profile native needs at least 16 \
         (32 random bytes is the norm: see `hmac-handshake keygen`)\n"
    );
    let r = run(&serve_args("native", &[]), Some("short"));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .starts_with("error: the key from HMAC_HANDSHAKE_KEY is 5 bytes"),
        "{r:?}"
    );
}

#[test]
fn options_that_do_not_fit_the_profile() {
    let exit_1 = [
        (
            connect_args("recipe", NOWHERE, "x", &["--context", "c"]),
            "error: --context needs --profile native\n",
        ),
        (
            connect_args("multiprocessing", NOWHERE, "x", &["--suite", "hmac-sha256"]),
            "error: --suite needs --profile native\n",
        ),
        (
            serve_args("recipe", &["--server-name", "A"]),
            "error: --server-name needs --profile native\n",
        ),
        (
            serve_args("recipe", &["--key-id", "k1"]),
            "error: --key-id needs --profile native\n",
        ),
        (
            serve_args("recipe", &["--keyring", "/dev/null"]),
            "error: --keyring needs --profile native\n",
        ),
        // Ignored silently before (issue 12): MD5 needs no opt-in in the
        // recipe.
        (
            connect_args("recipe", NOWHERE, "x", &["--allow-md5"]),
            "error: --allow-md5 needs --profile multiprocessing (the recipe takes --digest md5 \
             as it is)\n",
        ),
        (
            serve_args("recipe", &["--allow-md5"]),
            "error: --allow-md5 needs --profile multiprocessing (the recipe takes --digest md5 \
             as it is)\n",
        ),
        (
            connect_args("native", NOWHERE, "x", &["--digest", "sha256"]),
            "error: --digest and --allow-md5 do not apply to --profile native; use --suite\n",
        ),
        (
            connect_args("native", NOWHERE, "x", &["--key-id", "a b"]),
            "error: --key-id \"a b\": a key id is printable ASCII without spaces (0x21 to \
             0x7E), and this one holds U+0020\n",
        ),
        (
            connect_args("native", NOWHERE, "x", &["--key-id", "\u{feff}k1"]),
            // {:?} shows the invisible character.
            "error: --key-id \"\\u{feff}k1\": a key id is printable ASCII without spaces (0x21 \
             to 0x7E), and this one holds U+FEFF\n",
        ),
        (
            serve_args("native", &["--key-id", "caf\u{e9}"]),
            "error: --key-id \"caf\u{e9}\": a key id is printable ASCII without spaces (0x21 \
             to 0x7E), and this one holds U+00E9\n",
        ),
    ];
    for (args, stderr) in exit_1 {
        let r = run(&args, Some(KEY1));
        assert_eq!((r.code, r.stderr.as_str()), (Some(1), stderr), "{args:?}");
    }
    let exit_2 = [
        connect_args("native", NOWHERE, "x", &["--suite", "hmac-md5"]),
        serve_args("native", &["--keyring", "k", "--key-file", "f"]),
    ];
    for args in exit_2 {
        let r = run(&args, Some(KEY1));
        assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
    }
}

#[test]
fn help_documents_the_native_profile_and_keygen() {
    let r = run(&["connect", "--help"], None);
    assert_eq!(r.code, Some(0));
    for needle in [
        "--profile native",
        "authenticated key_id=ID suite=SUITE handshake_hash=HEX",
        "forward_secrecy=yes|no",
        "--forward-secrecy",
        "--keyring FILE",
        "hmac-sha3_256",
    ] {
        assert!(r.stdout().contains(needle), "{needle}");
    }
    let r = run(&["keygen", "--help"], None);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout().contains("xxd -r -p"), "{r:?}");
    assert!(
        r.stdout().contains("HMAC_HANDSHAKE_KEY=\"hex:HEX\""),
        "{r:?}"
    );
    // -h is the short form: the options, and a pointer to the sections
    // --help adds.
    for cmd in ["serve", "connect"] {
        let short = run(&[cmd, "-h"], None);
        let long = run(&[cmd, "--help"], None);
        assert_eq!((short.code, long.code), (Some(0), Some(0)));
        assert!(
            short.stdout().contains("EXIT STATUS: see --help"),
            "{short:?}"
        );
        assert!(!short.stdout().contains("DIGESTS:\n"), "{short:?}");
        assert!(long.stdout().contains("DIGESTS:\n"), "{long:?}");
        assert!(short.stdout().lines().count() < 40, "{short:?}");
    }
}
