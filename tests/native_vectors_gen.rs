//! Generator of `vectors/handshake/native.json`: conformance vectors for the
//! native protocol (PROTOCOL.md), made by running our own server and client
//! machines against each other with pinned nonces and fixed keys.
//!
//! Honest runs record every message. Invalid cases tamper one message in
//! transit (a relay between the two machines), feed it to the receiving
//! machine and record exactly what it sends back and how it ends. When a
//! message was changed, the two sides saw different transcripts, so each
//! side's view becomes its own test ("(server view)", "(client view)").
//! The generator asserts every machine ends as PROTOCOL.md says, so a
//! change of behaviour fails here instead of silently rewriting a vector.
//!
//! `cargo test --test native_vectors_gen -- --ignored` rewrites the file;
//! the non-ignored test checks that the committed file is exactly what the
//! code produces. `tests/handshake_vectors.rs` replays the file.

use std::path::PathBuf;

use hmac_handshake::multiprocessing::Config as MpConfig;
use hmac_handshake::native::{ClientConfig, NativeKey, ServerConfig, Suite, SuiteSet};
use hmac_handshake::{ClientHandshake, Digest, Handshake, Key, Profile, ServerHandshake, Status};
use serde_json::{json, Map, Value};

const SHA256: Suite = Suite::HmacSha256;
const SHA384: Suite = Suite::HmacSha384;
const SHA512: Suite = Suite::HmacSha512;
const SHA3: Suite = Suite::HmacSha3_256;

/// Index of the first message of each kind in an honest run.
const HELLO: usize = 0;
const PROOF: usize = 1;
const FINISH: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Server,
    Client,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

#[derive(Clone)]
struct ServerSpec {
    suite: Suite,
    context: Vec<u8>,
    keyring: Vec<(Vec<u8>, Vec<u8>)>,
    random: [u8; 32],
}

#[derive(Clone)]
struct ClientSpec {
    key_id: Vec<u8>,
    key: Vec<u8>,
    allowed: Vec<Suite>,
    context: Vec<u8>,
    random: [u8; 32],
}

/// What the relay delivers for one message: the (possibly changed) message
/// and application bytes right behind it.
struct Transit {
    data: Vec<u8>,
    trailing: Vec<u8>,
}

type Tamper = Box<dyn Fn(usize, &[u8]) -> Transit>;

struct Msg {
    from: Role,
    sent: Vec<u8>,
    delivered: Vec<u8>,
    trailing: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SessionValues {
    key_id: Vec<u8>,
    suite: Suite,
    handshake_hash: Vec<u8>,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    exports: Vec<Vec<u8>>,
}

struct Run {
    messages: Vec<Msg>,
    server: String,
    client: String,
    server_session: Option<SessionValues>,
    client_session: Option<SessionValues>,
}

/// An exporter request: label, context, output length.
type Export = (Vec<u8>, Vec<u8>, usize);

struct Case {
    comment: String,
    flags: Vec<&'static str>,
    server: ServerSpec,
    client: ClientSpec,
    tamper: Tamper,
    /// Roles to check (one test per role when the views differ).
    views: Vec<Role>,
    /// How the two machines must end in the live run: (server, client).
    expect: (&'static str, &'static str),
    exports: Vec<Export>,
}

// ---------------------------------------------------------------- fixtures

/// `len` bytes `start, start + step, ...` (mod 256).
fn pattern(len: usize, start: u8, step: u8) -> Vec<u8> {
    (0..len)
        .map(|i| start.wrapping_add(step.wrapping_mul(i as u8)))
        .collect()
}

fn nonce(start: u8) -> [u8; 32] {
    pattern(32, start, 1).try_into().unwrap()
}

const SERVER_NONCE: u8 = 0x00;
const CLIENT_NONCE: u8 = 0x80;

fn key16() -> Vec<u8> {
    b"sixteen byte key".to_vec()
}
fn key32() -> Vec<u8> {
    pattern(32, 0x40, 1)
}
fn key64() -> Vec<u8> {
    pattern(64, 0xa0, 3)
}
fn key200() -> Vec<u8> {
    pattern(200, 0x11, 7)
}
fn billing() -> Vec<u8> {
    b"billing-workers/v3".to_vec()
}
fn ctx300() -> Vec<u8> {
    pattern(300, 0x20, 5)
}
fn id32() -> Vec<u8> {
    b"projects/billing/keys/2026-05-v1".to_vec()
}
fn id_binary() -> Vec<u8> {
    vec![0xff, 0xfe, 0x00, 0x80, 0xc3]
}

/// Three keys under rotation: the client of a test usually uses the 2nd or 3rd.
fn keyring3() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (b"2026-q1".to_vec(), pattern(32, 0x01, 5)),
        (b"2026-q2".to_vec(), key32()),
        (b"2026-q3".to_vec(), key200()),
    ]
}

fn server(suite: Suite, context: Vec<u8>, keyring: Vec<(Vec<u8>, Vec<u8>)>) -> ServerSpec {
    ServerSpec {
        suite,
        context,
        keyring,
        random: nonce(SERVER_NONCE),
    }
}

fn client(key_id: &[u8], key: Vec<u8>, context: Vec<u8>) -> ClientSpec {
    ClientSpec {
        key_id: key_id.to_vec(),
        key,
        allowed: Suite::ALL.to_vec(),
        context,
        random: nonce(CLIENT_NONCE),
    }
}

/// A server and client that agree: one key, same context.
fn pair(suite: Suite, key_id: &[u8], key: Vec<u8>, context: Vec<u8>) -> (ServerSpec, ClientSpec) {
    (
        server(suite, context.clone(), vec![(key_id.to_vec(), key.clone())]),
        client(key_id, key, context),
    )
}

fn suite_title(suite: Suite) -> &'static str {
    match suite {
        Suite::HmacSha256 => "HMAC-SHA-256",
        Suite::HmacSha384 => "HMAC-SHA-384",
        Suite::HmacSha512 => "HMAC-SHA-512",
        Suite::HmacSha3_256 => "HMAC-SHA3-256",
        other => panic!("no title for {other}"),
    }
}

fn default_exports() -> Vec<Export> {
    vec![
        (b"EXPORTER-hmac-handshake-test".to_vec(), Vec::new(), 32),
        (b"a".to_vec(), billing(), 1),
        (b"channel keys".to_vec(), pattern(40, 0x00, 1), 100),
    ]
}

// ----------------------------------------------------------------- tampers

fn pass() -> Tamper {
    Box::new(|_, m| Transit {
        data: m.to_vec(),
        trailing: Vec::new(),
    })
}

/// Changes message `index` with `f`; the others pass unchanged.
fn at(index: usize, f: impl Fn(&[u8]) -> Vec<u8> + 'static) -> Tamper {
    Box::new(move |i, m| Transit {
        data: if i == index { f(m) } else { m.to_vec() },
        trailing: Vec::new(),
    })
}

fn flip(index: usize, byte: usize, mask: u8) -> Tamper {
    at(index, move |m| {
        let mut m = m.to_vec();
        m[byte] ^= mask;
        m
    })
}

fn set_byte(index: usize, byte: usize, value: u8) -> Tamper {
    at(index, move |m| {
        let mut m = m.to_vec();
        m[byte] = value;
        m
    })
}

fn truncate(index: usize, len: usize) -> Tamper {
    at(index, move |m| m[..len].to_vec())
}

fn replace(index: usize, with: Vec<u8>) -> Tamper {
    at(index, move |_| with.clone())
}

/// Application bytes right behind message `index`.
fn trailing(index: usize, app: &[u8]) -> Tamper {
    let app = app.to_vec();
    Box::new(move |i, m| Transit {
        data: m.to_vec(),
        trailing: if i == index { app.clone() } else { Vec::new() },
    })
}

// ----------------------------------------------------------------- running

fn drain(m: &mut dyn Handshake) -> Vec<u8> {
    let mut out = Vec::new();
    while let Status::Send(bytes) = m.status() {
        let n = bytes.len();
        out.extend_from_slice(bytes);
        m.sent(n).unwrap();
    }
    out
}

fn result(m: &dyn Handshake) -> String {
    match m.status() {
        Status::Done(_) => "ok".into(),
        Status::Failed(e) => e.code().into(),
        Status::NeedInput => "incomplete".into(),
        Status::Send(_) => unreachable!("output left after drain"),
    }
}

fn session_values(m: &dyn Handshake, exports: &[Export]) -> Option<SessionValues> {
    let s = m.session()?;
    Some(SessionValues {
        key_id: s.key_id().as_bytes().to_vec(),
        suite: s.suite(),
        handshake_hash: s.handshake_hash().to_vec(),
        c2s: s.client_to_server_key().to_vec(),
        s2c: s.server_to_client_key().to_vec(),
        exports: exports
            .iter()
            .map(|(label, context, n)| {
                let mut out = vec![0u8; *n];
                s.export(label, context, &mut out).unwrap();
                out
            })
            .collect(),
    })
}

fn suite_set(allowed: &[Suite]) -> SuiteSet {
    allowed.iter().fold(SuiteSet::EMPTY, |set, &s| set.with(s))
}

/// Runs the two machines against each other through the relay `tamper`.
fn run(s: &ServerSpec, c: &ClientSpec, tamper: &Tamper, exports: &[Export]) -> Run {
    let keyring: Vec<NativeKey> = s
        .keyring
        .iter()
        .map(|(id, key)| NativeKey::new(id, key).unwrap())
        .collect();
    let client_key = NativeKey::new(&c.key_id, &c.key).unwrap();
    let mut sm = ServerHandshake::native(
        &keyring,
        ServerConfig {
            suite: s.suite,
            context: &s.context,
        },
        &s.random,
    )
    .unwrap();
    let mut cm = ClientHandshake::native(
        &client_key,
        ClientConfig {
            allowed: suite_set(&c.allowed),
            context: &c.context,
        },
        &c.random,
    )
    .unwrap();
    let mut messages = Vec::new();
    loop {
        let mut moved = false;
        for from in [Role::Server, Role::Client] {
            let (sender, receiver): (&mut dyn Handshake, &mut dyn Handshake) = match from {
                Role::Server => (&mut sm, &mut cm),
                Role::Client => (&mut cm, &mut sm),
            };
            let sent = drain(sender);
            if sent.is_empty() {
                continue;
            }
            moved = true;
            let t = tamper(messages.len(), &sent);
            let mut input = t.data.clone();
            input.extend_from_slice(&t.trailing);
            let used = receiver.receive(&input);
            assert!(used <= t.data.len(), "a machine consumed application bytes");
            messages.push(Msg {
                from,
                sent,
                delivered: t.data,
                trailing: t.trailing,
            });
        }
        if !moved {
            break;
        }
    }
    for m in [&sm as &dyn Handshake, &cm] {
        assert_eq!(
            m.session().is_some(),
            matches!(m.status(), Status::Done(_)),
            "session() must be Some exactly when done"
        );
    }
    Run {
        messages,
        server: result(&sm),
        client: result(&cm),
        server_session: session_values(&sm, exports),
        client_session: session_values(&cm, exports),
    }
}

/// The messages of an honest run with these parties (for replay tampers).
fn honest_messages(s: &ServerSpec, c: &ClientSpec) -> Vec<Vec<u8>> {
    run(s, c, &pass(), &[])
        .messages
        .into_iter()
        .map(|m| m.sent)
        .collect()
}

/// Shape checks straight from PROTOCOL.md "Messages" on what a machine sent.
fn check_shapes(case: &Case, run: &Run) {
    let l = case.server.suite.mac_len();
    for m in &run.messages {
        let d = &m.sent;
        match (m.from, d[0]) {
            (Role::Server, b'H') => {
                assert_eq!(d.len(), 38);
                assert_eq!(
                    &d[..6],
                    &[b'H', b'M', b'H', b'S', 1, case.server.suite.id()]
                );
                assert_eq!(d[6..], case.server.random);
            }
            (Role::Server, 0x03) => match d[1] {
                0x00 => assert_eq!(d.len(), 2 + l),
                0x01 => assert_eq!(d.len(), 2),
                v => panic!("server sent verdict {v}"),
            },
            (Role::Client, 0x02) => {
                let id = &case.client.key_id;
                assert_eq!(usize::from(d[1]), id.len());
                assert_eq!(&d[2..2 + id.len()], &id[..]);
                assert_eq!(d[2 + id.len()..2 + id.len() + 32], case.client.random);
                let suite = Suite::from_id(run.messages[0].delivered[5]).unwrap();
                assert_eq!(d.len(), 2 + id.len() + 32 + suite.mac_len());
            }
            (from, t) => panic!("{from:?} sent message type {t:#04x}"),
        }
    }
}

// ------------------------------------------------------------------- cases

fn valid(comment: &str, flags: &[&'static str], s: ServerSpec, c: ClientSpec) -> Case {
    Case {
        comment: comment.into(),
        flags: flags.to_vec(),
        server: s,
        client: c,
        tamper: pass(),
        views: vec![Role::Server, Role::Client],
        expect: ("ok", "ok"),
        exports: default_exports(),
    }
}

fn invalid(
    comment: &str,
    flags: &[&'static str],
    (s, c): (ServerSpec, ClientSpec),
    tamper: Tamper,
    views: &[Role],
    expect: (&'static str, &'static str),
) -> Case {
    Case {
        comment: comment.into(),
        flags: flags.to_vec(),
        server: s,
        client: c,
        tamper,
        views: views.to_vec(),
        expect,
        exports: Vec::new(),
    }
}

/// The baseline pair most invalid cases tamper with: SHA-256, key id
/// "2026-q2" on a three-key ring, context "billing-workers/v3".
fn base() -> (ServerSpec, ClientSpec) {
    (
        server(SHA256, billing(), keyring3()),
        client(b"2026-q2", key32(), billing()),
    )
}

/// Offsets in the baseline `ClientProof` (7-byte key id, 32-byte tag).
const P_ID: usize = 2;
const P_NONCE: usize = 2 + 7;
const P_TAG: usize = 2 + 7 + 32;
const P_LEN: usize = 2 + 7 + 32 + 32;

fn cases() -> Vec<Case> {
    use Role::{Client as C, Server as S};
    let both = &[S, C][..];
    let mut v = Vec::new();

    // ---- valid: every suite with every key id, keyring, context and key size
    for suite in Suite::ALL {
        let name = suite_title(suite);
        let (s, c) = pair(suite, b"a", key16(), Vec::new());
        let mut t = valid(
            &format!("{name}, 1-byte key id, 16-byte key (the shortest allowed), one-key ring, empty context"),
            &["Honest", "KeyId", "KeySize"],
            s,
            c,
        );
        if suite == SHA256 {
            t.exports.push((Vec::new(), b"empty label".to_vec(), 64));
        }
        v.push(t);
        let (s, c) = pair(suite, &id32(), key32(), billing());
        v.push(valid(
            &format!(
                "{name}, 32-byte key id (the longest), 32-byte key, context \"billing-workers/v3\""
            ),
            &["Honest", "KeyId", "Context"],
            s,
            c,
        ));
        let (s, c) = pair(suite, &id_binary(), key64(), ctx300());
        v.push(valid(
            &format!("{name}, key id ff fe 00 80 c3 (not UTF-8), 64-byte key, 300-byte context"),
            &["Honest", "KeyId", "KeySize", "Context"],
            s,
            c,
        ));
        v.push(valid(
            &format!("{name}, three-key ring, the client uses the 2nd key (2026-q2, 32 bytes), context \"billing-workers/v3\""),
            &["Honest", "Keyring", "Context"],
            server(suite, billing(), keyring3()),
            client(b"2026-q2", key32(), billing()),
        ));
        v.push(valid(
            &format!("{name}, three-key ring, the client uses the 3rd key (2026-q3, 200 bytes), 300-byte context"),
            &["Honest", "Keyring", "KeySize", "Context"],
            server(suite, ctx300(), keyring3()),
            client(b"2026-q3", key200(), ctx300()),
        ));
        let mut t = valid(
            &format!("{name}: the client pipelines application bytes right behind its ClientProof; the server leaves them unconsumed"),
            &["Honest", "Pipelined", "Keyring", "Context"],
            server(suite, billing(), keyring3()),
            client(b"2026-q2", key32(), billing()),
        );
        t.tamper = trailing(PROOF, b"GET /status HTTP/1.1\r\n\r\n");
        v.push(t);
        let (s, c) = pair(suite, b"2026-q3", key32(), billing());
        let mut t = valid(
            &format!("{name}: application bytes right behind an accepting ServerFinish; the client leaves them unconsumed"),
            &["Honest", "TrailingData", "Context"],
            s,
            c,
        );
        t.tamper = trailing(FINISH, b"\x00\x00\x00\x05hello");
        v.push(t);
    }

    // ---- valid: edge cases
    let mut c = client(b"2026-q3", key200(), billing());
    c.allowed = vec![SHA512];
    v.push(valid(
        "HMAC-SHA-512, three-key ring, 3rd key; the client allows only HMAC-SHA-512",
        &["Honest", "Keyring", "KeySize", "AllowedSuites", "Context"],
        server(SHA512, billing(), keyring3()),
        c,
    ));
    let ring = vec![
        (id_binary(), key16()),
        (id32(), key200()),
        (b"k".to_vec(), key64()),
    ];
    let mut c = client(b"k", key64(), ctx300());
    c.allowed = vec![SHA3, SHA256];
    v.push(valid(
        "HMAC-SHA3-256, ring of a binary, a 32-byte and a 1-byte key id; the client uses the 3rd (\"k\", 64-byte key) and allows SHA3-256 and SHA-256",
        &["Honest", "Keyring", "KeyId", "KeySize", "AllowedSuites", "Context"],
        server(SHA3, ctx300(), ring),
        c,
    ));
    let ring = vec![
        (b"k".to_vec(), pattern(32, 0x10, 1)),
        (b"k1".to_vec(), key64()),
        (b"k12".to_vec(), pattern(32, 0x30, 1)),
    ];
    v.push(valid(
        "HMAC-SHA-256, key ids k, k1, k12 (prefixes of each other): the client's k1 matches exactly the 2nd",
        &["Honest", "Keyring", "KeyId", "KeySize"],
        server(SHA256, billing(), ring),
        client(b"k1", key64(), billing()),
    ));
    let (s, mut c) = pair(SHA384, b"2026-q3", key16(), Vec::new());
    c.allowed = vec![SHA384, SHA512];
    v.push(valid(
        "HMAC-SHA-384, 16-byte key, empty context; the client allows SHA-384 and SHA-512",
        &["Honest", "KeySize", "AllowedSuites"],
        s,
        c,
    ));
    let (mut s, mut c) = pair(SHA256, b"edge", key32(), Vec::new());
    s.random = [0x00; 32];
    c.random = [0x00; 32];
    c.random[31] = 0x01;
    v.push(valid(
        "HMAC-SHA-256, nonces 00..00 and 00..01: they differ in one bit, which is not a reflection",
        &["Honest", "NonceEdge"],
        s,
        c,
    ));

    // ---- invalid, no message changed: the two sides disagree
    let (s, mut c) = base();
    c.key = pattern(32, 0x41, 1);
    v.push(invalid(
        "Wrong key: the client holds another secret under key id 2026-q2; the server sends 03 01",
        &["WrongKey"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = pair(SHA512, &id_binary(), key64(), ctx300());
    c.key = key16();
    v.push(invalid(
        "Wrong key with HMAC-SHA-512 (server 64-byte key, client 16-byte key)",
        &["WrongKey"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = base();
    c.key_id = b"2025-q4".to_vec();
    v.push(invalid(
        "Unknown key id 2025-q4 (rotated out): the server sends the same 03 01 as for a wrong key",
        &["UnknownKeyId", "Keyring"],
        (s, c),
        pass(),
        both,
        ("unknown_key_id", "peer_rejected"),
    ));
    let (s, mut c) = base();
    c.key_id = b"2026-q9".to_vec();
    c.key = keyring3()[0].1.clone();
    v.push(invalid(
        "Unknown key id 2026-q9 with the secret of the ring's 1st key (the key an unknown id is checked against): still rejected",
        &["UnknownKeyId", "Keyring"],
        (s, c),
        pass(),
        both,
        ("unknown_key_id", "peer_rejected"),
    ));
    let (s, mut c) = base();
    c.context = b"billing-workers/v2".to_vec();
    v.push(invalid(
        "Different contexts: server \"billing-workers/v3\", client \"billing-workers/v2\"",
        &["ContextMismatch"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = pair(SHA3, b"2026-q3", key32(), ctx300());
    c.context = Vec::new();
    v.push(invalid(
        "Different contexts: server 300 bytes, client empty (HMAC-SHA3-256)",
        &["ContextMismatch"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = pair(SHA512, b"2026-q2", key32(), billing());
    c.allowed = vec![SHA256, SHA3];
    v.push(invalid(
        "The server uses HMAC-SHA-512, the client allows only SHA-256 and SHA3-256: the client sends nothing",
        &["SuiteNotAllowed", "AllowedSuites"],
        (s, c),
        pass(),
        both,
        ("incomplete", "suite_not_allowed"),
    ));
    let (mut s, c) = base();
    s.random = c.random;
    v.push(invalid(
        "The server's nonce equals the client's: the client refuses the hello and sends nothing",
        &["ReflectedNonce"],
        (s, c),
        pass(),
        both,
        ("incomplete", "reflected_nonce"),
    ));

    // ---- invalid: ServerHello changed in transit
    v.push(invalid(
        "Bit flipped in the magic (HMHS -> IMHS)",
        &["BitFlip", "NotNative"],
        base(),
        flip(HELLO, 0, 0x01),
        &[C],
        ("incomplete", "not_native"),
    ));
    let mp_key = Key::new(b"abracadabra");
    let mut mp = ServerHandshake::new(
        &mp_key,
        Profile::Multiprocessing(MpConfig {
            digest: Digest::Sha256,
            legacy_challenge: false,
            allow_md5: false,
        }),
        &pattern(40, 0, 1),
    )
    .unwrap();
    let mp_challenge = drain(&mut mp);
    v.push(invalid(
        "The server speaks the multiprocessing profile: its #CHALLENGE# frame (made by our multiprocessing server) instead of a ServerHello",
        &["NotNative", "CrossProfile"],
        base(),
        replace(HELLO, mp_challenge),
        &[C],
        ("incomplete", "not_native"),
    ));
    v.push(invalid(
        "Bit flipped in the version byte (01 -> 00)",
        &["BitFlip", "VersionMismatch"],
        base(),
        flip(HELLO, 4, 0x01),
        &[C],
        ("incomplete", "version_mismatch"),
    ));
    v.push(invalid(
        "ServerHello with version 2",
        &["ModifiedMessage", "VersionMismatch"],
        base(),
        set_byte(HELLO, 4, 0x02),
        &[C],
        ("incomplete", "version_mismatch"),
    ));
    v.push(invalid(
        "Bit flipped in the suite byte (01 -> 00, no such suite)",
        &["BitFlip", "SuiteNotAllowed"],
        base(),
        flip(HELLO, 5, 0x01),
        &[C],
        ("incomplete", "suite_not_allowed"),
    ));
    let (s, mut c) = base();
    c.allowed = vec![SHA256];
    v.push(invalid(
        "Bit flipped in the suite byte (01 -> 03, HMAC-SHA-512) to a client that allows only HMAC-SHA-256",
        &["BitFlip", "SuiteNotAllowed", "AllowedSuites"],
        (s, c),
        flip(HELLO, 5, 0x02),
        &[C],
        ("incomplete", "suite_not_allowed"),
    ));
    v.push(invalid(
        "Bit flipped in the suite byte (01 -> 03) to a client that allows all suites: it proves with HMAC-SHA-512 over the hello it saw; the SHA-256 server reads a SHA-256-sized proof, which does not verify",
        &["BitFlip", "SuiteChanged"],
        base(),
        flip(HELLO, 5, 0x02),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the server nonce: the client signs the hello it saw, so the server's check fails",
        &["BitFlip"],
        base(),
        flip(HELLO, 37, 0x80),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "ServerHello cut after 37 of its 38 bytes, then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(HELLO, 37),
        &[C],
        ("incomplete", "incomplete"),
    ));
    v.push(invalid(
        "ServerHello cut inside the magic (3 bytes), then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(HELLO, 3),
        &[C],
        ("incomplete", "incomplete"),
    ));
    let (s, c) = base();
    let mut reflected = s.clone();
    reflected.random = c.random;
    let own_hello = honest_messages(&reflected, &c)[HELLO].clone();
    v.push(invalid(
        "ServerHello replaced by one carrying the client's own nonce",
        &["ReflectedNonce", "ModifiedMessage"],
        (s, c),
        replace(HELLO, own_hello),
        &[C],
        ("incomplete", "reflected_nonce"),
    ));

    // ---- invalid: ClientProof changed in transit
    v.push(invalid(
        "Bit flipped in the ClientProof type byte (02 -> 03)",
        &["BitFlip", "UnexpectedMessage"],
        base(),
        flip(PROOF, 0, 0x01),
        &[S],
        ("unexpected_message", "peer_rejected"),
    ));
    v.push(invalid(
        "ClientProof with type byte 07",
        &["ModifiedMessage", "UnexpectedMessage"],
        base(),
        set_byte(PROOF, 0, 0x07),
        &[S],
        ("unexpected_message", "peer_rejected"),
    ));
    for (len, what) in [(0u8, "0"), (33, "33 (one over the limit)"), (255, "255")] {
        v.push(invalid(
            &format!(
                "ClientProof key id length byte {what}: rejected before anything more is read"
            ),
            &["ModifiedMessage", "KeyIdLength"],
            base(),
            set_byte(PROOF, 1, len),
            &[S],
            ("key_id_length", "peer_rejected"),
        ));
    }
    v.push(invalid(
        "Bit flipped in the ClientProof key id (2026-q2 -> 2026-q6, not on the ring)",
        &["BitFlip", "UnknownKeyId"],
        base(),
        flip(PROOF, P_ID + 6, 0x04),
        &[S],
        ("unknown_key_id", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the ClientProof key id (2026-q2 -> 2026-q3, another key on the ring): the tag does not verify under that key",
        &["BitFlip", "Keyring"],
        base(),
        flip(PROOF, P_ID + 6, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of the client nonce",
        &["BitFlip"],
        base(),
        flip(PROOF, P_NONCE, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the client tag",
        &["BitFlip"],
        base(),
        flip(PROOF, P_LEN - 1, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of the client tag (HMAC-SHA-384, 32-byte key id)",
        &["BitFlip"],
        pair(SHA384, &id32(), key32(), billing()),
        flip(PROOF, 2 + 32 + 32, 0x80),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    for (len, what) in [
        (1, "the type byte"),
        (20, "20 bytes"),
        (P_LEN - 1, "72 of its 73 bytes"),
    ] {
        v.push(invalid(
            &format!("ClientProof cut after {what}, then end of stream"),
            &["Truncated", "Incomplete"],
            base(),
            truncate(PROOF, len),
            &[S],
            ("incomplete", "incomplete"),
        ));
    }
    let (s, _) = base();
    v.push(invalid(
        "Client nonce replaced by the server's nonce (a reflected ClientProof)",
        &["ReflectedNonce", "ModifiedMessage"],
        base(),
        at(PROOF, move |m| {
            let mut m = m.to_vec();
            m[P_NONCE..P_TAG].copy_from_slice(&s.random);
            m
        }),
        &[S],
        ("reflected_nonce", "peer_rejected"),
    ));
    let (s, c) = base();
    let server_tag = honest_messages(&s, &c)[FINISH][2..].to_vec();
    v.push(invalid(
        "The client tag replaced by the server tag of the honest run with the same nonces (role separation)",
        &["RoleReflection"],
        (s, c),
        at(PROOF, move |m| {
            let mut m = m.to_vec();
            m[P_TAG..].copy_from_slice(&server_tag);
            m
        }),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    let (s, c) = base();
    let mut other = s.clone();
    other.random = nonce(0x20);
    let old_proof = honest_messages(&other, &c)[PROOF].clone();
    v.push(invalid(
        "Replay: a ClientProof recorded in an accepted handshake with server nonce 20 21 .. 3f, replayed to this server (nonce 00 01 .. 1f)",
        &["Replay"],
        (s, c),
        replace(PROOF, old_proof),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));

    // ---- invalid: ServerFinish changed in transit
    v.push(invalid(
        "Bit flipped in the ServerFinish type byte (03 -> 02)",
        &["BitFlip", "UnexpectedMessage"],
        base(),
        flip(FINISH, 0, 0x01),
        &[C],
        ("ok", "unexpected_message"),
    ));
    v.push(invalid(
        "Bit flipped in the ServerFinish verdict (accept 00 -> reject 01)",
        &["BitFlip"],
        base(),
        flip(FINISH, 1, 0x01),
        &[C],
        ("ok", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the ServerFinish verdict (00 -> 80)",
        &["BitFlip", "UnexpectedVerdict"],
        base(),
        flip(FINISH, 1, 0x80),
        &[C],
        ("ok", "unexpected_verdict"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the server tag",
        &["BitFlip"],
        base(),
        flip(FINISH, 33, 0x01),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of the server tag (HMAC-SHA-512, binary key id)",
        &["BitFlip"],
        pair(SHA512, &id_binary(), key64(), ctx300()),
        flip(FINISH, 2, 0x01),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "ServerFinish cut after 20 of its 34 bytes, then end of stream",
        &["Truncated", "Incomplete"],
        base(),
        truncate(FINISH, 20),
        &[C],
        ("ok", "incomplete"),
    ));
    let (s, mut c) = base();
    c.key = pattern(32, 0x41, 1);
    v.push(invalid(
        "Wrong key, and the reject 03 01 flipped to 03 00 in transit: the client waits for a server tag that never comes",
        &["WrongKey", "BitFlip", "Incomplete"],
        (s, c),
        flip(FINISH, 1, 0x01),
        &[C],
        ("bad_tag", "incomplete"),
    ));
    let (s, mut c) = base();
    c.key = pattern(32, 0x41, 1);
    let mut forged = vec![0x03, 0x00];
    forged.extend_from_slice(&[0u8; 32]);
    v.push(invalid(
        "Wrong key, and the reject 03 01 replaced by an accept with an all-zero server tag",
        &["WrongKey", "ModifiedMessage"],
        (s, c),
        replace(FINISH, forged),
        &[C],
        ("bad_tag", "bad_tag"),
    ));
    v
}

// ------------------------------------------------------------------ output

fn notes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("AllowedSuites", "FUNCTIONALITY", "The client allows only some suites (\"allowed\"); the default is all four."),
        ("BitFlip", "AUTH_BYPASS", "One bit of one message was flipped in transit, between our two machines."),
        ("ChangedClientProof", "MODIFIED_PARAMETER", "The ClientProof was changed in transit: the client's view holds it as sent, the server's as received."),
        ("ChangedServerFinish", "MODIFIED_PARAMETER", "The ServerFinish was changed in transit: the server's view holds it as sent, the client's as received."),
        ("ChangedServerHello", "MODIFIED_PARAMETER", "The ServerHello was changed in transit: the server's view holds it as sent, the client's as received."),
        ("Context", "FUNCTIONALITY", "A non-empty application context (\"billing-workers/v3\", or 300 bytes); it is hashed into every tag and never sent."),
        ("ContextMismatch", "AUTH_BYPASS", "Server and client pass different contexts: the server's check of the client tag fails and it sends 03 01."),
        ("CrossProfile", "MODIFIED_PARAMETER", "The peer speaks another profile of this crate."),
        ("Honest", "FUNCTIONALITY", "Our server and client with matching keys and contexts; every message delivered unchanged. \"session\" holds what both sides derive."),
        ("Incomplete", "FUNCTIONALITY", "The stream ends mid-message; the machine still waits for input (result \"incomplete\")."),
        ("KeyId", "EDGE_CASE", "A key id of 1 or 32 bytes (the bounds), not UTF-8, or a prefix of another key id on the ring."),
        ("KeyIdLength", "MODIFIED_PARAMETER", "The ClientProof key id length byte is outside 1..32: the server rejects (03 01) before reading further."),
        ("KeySize", "EDGE_CASE", "A pre-shared key of 16 bytes (the minimum), 64 or 200 bytes; the PSK is HKDF-Extract's input keying material, so any length from 16 up works the same way."),
        ("Keyring", "FUNCTIONALITY", "The server holds several keys (rotation); the client uses one that is not the first, or names one by a changed key id."),
        ("ModifiedMessage", "MODIFIED_PARAMETER", "A message was replaced or changed in transit by more than one bit."),
        ("NonceEdge", "EDGE_CASE", "The two nonces differ in a single bit: not a reflection."),
        ("NotNative", "MODIFIED_PARAMETER", "The first bytes from the server are not the HMHS magic; the client fails at the first wrong byte and sends nothing."),
        ("Pipelined", "FUNCTIONALITY", "The client sends application bytes right behind its ClientProof (\"trailing\"), before ServerFinish arrives; the server must leave them unconsumed."),
        ("ReflectedNonce", "AUTH_BYPASS", "A nonce equals the receiver's own: the client refuses a hello with its nonce (sending nothing); the server rejects a proof with its nonce (03 01)."),
        ("Replay", "AUTH_BYPASS", "A message recorded from another handshake (other nonces) is replayed."),
        ("RoleReflection", "AUTH_BYPASS", "A tag made by one role is presented as the other role's: client and server tags use different keys, so it cannot verify."),
        ("SuiteChanged", "AUTH_BYPASS", "The hello's suite byte was changed to another suite the client allows: the client follows it, and the suite in the transcript makes the server's check fail."),
        ("SuiteNotAllowed", "MODIFIED_PARAMETER", "The server's suite is not in the client's allowed set, or not a suite at all: the client sends nothing."),
        ("TrailingData", "FUNCTIONALITY", "Application bytes follow the server's accepting ServerFinish (\"trailing\"); the client must leave them unconsumed."),
        ("Truncated", "MODIFIED_PARAMETER", "A message was cut short in transit, then the stream ended."),
        ("UnexpectedMessage", "MODIFIED_PARAMETER", "A message has the wrong type byte. The server rejects (03 01); the client sends nothing."),
        ("UnexpectedVerdict", "MODIFIED_PARAMETER", "The ServerFinish verdict byte is neither 00 (accept) nor 01 (reject)."),
        ("UnknownKeyId", "AUTH_BYPASS", "The key id is not on the server's keyring. The server rejects exactly as for a wrong tag (03 01); only its local error differs."),
        ("VersionMismatch", "MODIFIED_PARAMETER", "The ServerHello version byte is not 01."),
        ("WrongKey", "AUTH_BYPASS", "The client holds another secret under the key id: the server fails bad_tag and sends 03 01, the client fails peer_rejected."),
    ]
}

fn hex(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

fn session_json(s: &SessionValues, exports: &[Export]) -> Value {
    json!({
        "keyId": hex(&s.key_id),
        "suite": s.suite.name(),
        "handshakeHash": hex(&s.handshake_hash),
        "c2sKey": hex(&s.c2s),
        "s2cKey": hex(&s.s2c),
        "exports": exports.iter().zip(&s.exports).map(|((label, context, n), out)| json!({
            "label": hex(label),
            "context": hex(context),
            "length": n,
            "output": hex(out),
        })).collect::<Vec<_>>(),
    })
}

fn spec_json(case: &Case) -> (Value, Value) {
    let s = &case.server;
    let c = &case.client;
    (
        json!({
            "suite": s.suite.name(),
            "context": hex(&s.context),
            "keyring": s.keyring.iter().map(|(id, key)| json!({"keyId": hex(id), "key": hex(key)})).collect::<Vec<_>>(),
            "random": hex(&s.random),
        }),
        json!({
            "keyId": hex(&c.key_id),
            "key": hex(&c.key),
            "allowed": c.allowed.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "context": hex(&c.context),
            "random": hex(&c.random),
        }),
    )
}

/// The tests one case yields: one checking every view role when both sides
/// saw the same bytes, else one per view role.
fn tests_of(case: &Case) -> Vec<Value> {
    let run = run(&case.server, &case.client, &case.tamper, &case.exports);
    assert_eq!(
        (run.server.as_str(), run.client.as_str()),
        case.expect,
        "case {:?}: machines ended differently from PROTOCOL.md",
        case.comment
    );
    check_shapes(case, &run);
    let changed = run.messages.iter().any(|m| m.sent != m.delivered);
    let mut flags = case.flags.clone();
    for (i, m) in run.messages.iter().enumerate() {
        if m.sent != m.delivered {
            flags.push(
                [
                    "ChangedServerHello",
                    "ChangedClientProof",
                    "ChangedServerFinish",
                ][i],
            );
        }
    }
    let groups: Vec<Vec<Role>> = if changed {
        case.views.iter().map(|&r| vec![r]).collect()
    } else {
        vec![case.views.clone()]
    };
    let (server, client) = spec_json(case);
    groups
        .into_iter()
        .map(|roles| {
            let view = |m: &Msg| -> Vec<u8> {
                if changed && m.from != roles[0] {
                    m.delivered.clone()
                } else {
                    m.sent.clone()
                }
            };
            let messages: Vec<Value> = run
                .messages
                .iter()
                .map(|m| {
                    let mut o = json!({"from": m.from.name(), "data": hex(&view(m))});
                    if !m.trailing.is_empty() {
                        o["trailing"] = hex(&m.trailing);
                    }
                    o
                })
                .collect();
            let comment = if changed {
                format!("{} ({} view)", case.comment, roles[0].name())
            } else {
                case.comment.clone()
            };
            let mut t = json!({
                "comment": comment,
                "flags": flags,
                "server": server,
                "client": client,
                "messages": messages,
                "check": roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
            });
            let mut all_ok = true;
            for r in &roles {
                let got = match r {
                    Role::Server => &run.server,
                    Role::Client => &run.client,
                };
                all_ok &= got == "ok";
                t[format!("{}Result", r.name())] = Value::String(got.clone());
            }
            t["result"] = Value::String(if all_ok { "valid" } else { "invalid" }.into());
            if all_ok {
                assert!(!changed, "a changed transcript must not be a valid test");
                let s = run.server_session.as_ref().unwrap();
                assert_eq!(Some(s), run.client_session.as_ref(), "sessions differ");
                assert_eq!(s.handshake_hash.len(), case.server.suite.mac_len());
                t["session"] = session_json(s, &case.exports);
            }
            t
        })
        .collect()
}

/// Rebuilds objects with keys inserted in sorted order, so the output is
/// sorted whether or not serde_json preserves insertion order.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn generate() -> String {
    let mut tests = Vec::new();
    for case in cases() {
        tests.extend(tests_of(&case));
    }
    let mut used: Vec<&str> = Vec::new();
    for (i, t) in tests.iter_mut().enumerate() {
        t["tcId"] = json!(i + 1);
        for f in t["flags"].as_array().unwrap() {
            used.push(f.as_str().unwrap());
        }
    }
    let notes = notes();
    for f in &used {
        assert!(notes.iter().any(|n| n.0 == *f), "flag {f} has no note");
    }
    for n in &notes {
        assert!(used.contains(&n.0), "note {} is unused", n.0);
    }
    let doc = json!({
        "algorithm": "hmac-handshake native protocol v1",
        "schema": "handshake_test_schema_v1",
        "generator": "tests/native_vectors_gen.rs",
        "numberOfTests": tests.len(),
        "header": [
            "Handshake conformance vectors for the native protocol, version 1 (PROTOCOL.md).",
            "Produced by tests/native_vectors_gen.rs (cargo test --test native_vectors_gen -- --ignored)",
            "by running this crate's native server and client against each other with pinned nonces",
            "and fixed keys; tampered messages were changed in transit by a relay between the two",
            "machines, and the receiving machine's reply and end state recorded. When a message was",
            "changed the two sides saw different bytes, so each side's view is its own test, named",
            "\"(server view)\" or \"(client view)\": there the checked role's own messages are as it sent",
            "them and the others as it received them. All binary fields are lowercase hex.",
            "\"server\": suite, context, keyring (keyId/key pairs) and \"random\" (the 32-byte server_nonce).",
            "\"client\": keyId, key, allowed suites, context and \"random\" (the 32-byte client_nonce).",
            "Replay: the machine for role R (in \"check\") is fed every message not from R in order, each",
            "followed by its \"trailing\" application bytes, which it must leave unconsumed; it must emit",
            "exactly the messages from R in order and end with R's result (\"ok\", an Error::code(), or",
            "\"incomplete\" = still waiting for input). Valid tests carry \"session\": the key id, suite,",
            "handshake_hash, c2s_key, s2c_key and exporter outputs both sides derive (PROTOCOL.md,",
            "\"Session secrets\"); export labels and contexts are hex."
        ],
        "notes": notes.iter().map(|(flag, bug, desc)| (flag.to_string(), json!({"bugType": bug, "description": desc}))).collect::<Map<_, _>>(),
        "testGroups": [{
            "type": "HandshakeTest",
            "profile": "native",
            "source": "PROTOCOL.md",
            "tests": tests,
        }],
    });
    let mut out = serde_json::to_string_pretty(&sorted(doc)).unwrap();
    out.push('\n');
    out
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/handshake/native.json")
}

#[test]
#[ignore = "rewrites vectors/handshake/native.json"]
fn regenerate_native_vectors() {
    let out = generate();
    std::fs::write(path(), &out).unwrap();
    let n = serde_json::from_str::<Value>(&out).unwrap()["numberOfTests"].clone();
    println!("wrote {} ({n} tests)", path().display());
}

#[test]
fn native_vectors_are_current() {
    let on_disk = std::fs::read_to_string(path()).unwrap_or_default();
    assert!(
        on_disk == generate(),
        "{} differs from what the generator produces; run \
         `cargo test --test native_vectors_gen -- --ignored` and review the diff",
        path().display()
    );
}
