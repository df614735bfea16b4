//! The native protocol's required properties (issue: "Native protocol v1"),
//! one test each. Every test drives real machines in memory.
//!
//! A client that accepts every suite holds one key per suite (same id and
//! secret, [`any_suite`]); a server's keys are a [`Keyring`] of one suite.

use hmac_handshake::native::{
    self, ClientKeys, ForwardSecrecy, KeyId, KeyLookup, Keyring, NativeKey, Session, Suite,
    MAX_CLIENT_PROOF_LEN, SERVER_HELLO_LEN,
};
use hmac_handshake::{ClientHandshake, Confirmation, Error, Handshake, ServerHandshake, Status};

const SERVER_NONCE: [u8; 32] = [0xa5; 32];
const CLIENT_NONCE: [u8; 32] = [0x3c; 32];

/// A side's 64 random bytes: `nonce`, then a fixed ephemeral secret.
fn pinned(nonce: [u8; 32]) -> [u8; 64] {
    let mut random = [0x77; 64];
    random[..32].copy_from_slice(&nonce);
    random
}

fn key_in(id: &str, fill: u8, suite: Suite) -> NativeKey {
    NativeKey::new(id.as_bytes(), &[fill; 32], suite).unwrap()
}

/// A key of the default suite, HMAC-SHA-256.
fn key(id: &str, fill: u8) -> NativeKey {
    key_in(id, fill, Suite::HmacSha256)
}

/// A client key for every suite: a client that accepts them all.
fn any_suite(id: &str, fill: u8) -> [NativeKey; 4] {
    Suite::ALL.map(|s| key_in(id, fill, s))
}

fn ring(keys: impl IntoIterator<Item = NativeKey>) -> Keyring {
    Keyring::new(keys).unwrap()
}

fn context(c: &[u8]) -> native::Config {
    native::Config::new(c)
}

/// Context `c` with the forward-secrecy `setting`.
fn fs(c: &[u8], setting: ForwardSecrecy) -> native::Config {
    context(c).with_forward_secrecy(setting)
}

/// One flight: who sent it and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Flight {
    from_server: bool,
    bytes: Vec<u8>,
}

struct Run {
    flights: Vec<Flight>,
    server: Status<'static>,
    client: Status<'static>,
    server_session: Option<Session>,
    client_session: Option<Session>,
    server_consumed_last: usize,
}

fn owned(s: Status<'_>) -> Status<'static> {
    match s {
        Status::Send(_) => Status::NeedInput, // not expected at the end
        Status::NeedInput => Status::NeedInput,
        Status::Done(o) => Status::Done(o),
        Status::Failed(e) => Status::Failed(e),
        other => panic!("unknown status {other:?}"),
    }
}

fn drain(m: &mut dyn Handshake) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = m.write_output(&mut buf);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// The session a machine hands over when finished (none unless Done).
fn session(m: impl Handshake) -> Option<Session> {
    m.finish().ok().and_then(|f| f.into_session())
}

/// Runs server and client against each other; `tamper` may change each
/// flight in transit (index counts flights from 0). Finishes both.
fn run(
    mut server: impl Handshake,
    mut client: impl Handshake,
    mut tamper: impl FnMut(usize, &mut Vec<u8>),
) -> Run {
    let mut flights = Vec::new();
    let mut server_consumed_last = 0;
    for i in 0..6 {
        let (from_server, out) = if i % 2 == 0 {
            (true, drain(&mut server))
        } else {
            (false, drain(&mut client))
        };
        if out.is_empty() {
            continue;
        }
        let mut bytes = out;
        tamper(flights.len(), &mut bytes);
        flights.push(Flight {
            from_server,
            bytes: bytes.clone(),
        });
        if from_server {
            client.receive(&bytes);
        } else {
            server_consumed_last = server.receive(&bytes);
        }
    }
    Run {
        flights,
        server: owned(server.status()),
        client: owned(client.status()),
        server_session: session(server),
        client_session: session(client),
        server_consumed_last,
    }
}

fn pair<L: KeyLookup, C: ClientKeys>(
    ring: L,
    ckey: C,
    sconf: native::Config,
    cconf: native::Config,
) -> (ServerHandshake<L>, ClientHandshake<C>) {
    (
        ServerHandshake::with_pinned_random(ring, sconf, &pinned(SERVER_NONCE)),
        ClientHandshake::with_pinned_random(ckey, cconf, &pinned(CLIENT_NONCE)),
    )
}

/// A full exchange with default configurations and no tampering.
fn exchange(ring: impl KeyLookup, client_key: impl ClientKeys) -> Run {
    let (s, c) = pair(
        ring,
        client_key,
        native::Config::default(),
        native::Config::default(),
    );
    run(s, c, |_, _| {})
}

/// An honest exchange: a one-key ring of `suite`, a client accepting every
/// suite, context `app/v1`.
fn honest(suite: Suite) -> Run {
    let (s, c) = pair(
        ring([key_in("k1", 1, suite)]),
        any_suite("k1", 1),
        context(b"app/v1"),
        context(b"app/v1"),
    );
    run(s, c, |_, _| {})
}

fn failed(s: &Status<'_>) -> Option<Error> {
    match s {
        Status::Failed(e) => Some(*e),
        _ => None,
    }
}

#[test]
fn p1_mutual_three_messages_client_proves_first() {
    let r = honest(Suite::HmacSha256);
    let shape: Vec<(bool, usize)> = r
        .flights
        .iter()
        .map(|f| (f.from_server, f.bytes.len()))
        .collect();
    // hello 39, proof 2+2+32+32, finish 2+32: 1.5 round trips.
    assert_eq!(shape, vec![(true, 39), (false, 68), (true, 34)]);
    // With the forward-secrecy mode, the proof and the finish carry a
    // 32-byte share each; still three messages.
    let (s, c) = pair(
        ring([key("k1", 1)]),
        any_suite("k1", 1),
        fs(b"app/v1", ForwardSecrecy::Required),
        fs(b"app/v1", ForwardSecrecy::Offered),
    );
    let r = run(s, c, |_, _| {});
    let shape: Vec<(bool, usize)> = r
        .flights
        .iter()
        .map(|f| (f.from_server, f.bytes.len()))
        .collect();
    assert_eq!(shape, vec![(true, 39), (false, 100), (true, 66)]);
    assert!(r.server_session.unwrap().forward_secrecy());
    assert!(r.client_session.unwrap().forward_secrecy());
    assert!(matches!(r.server, Status::Done(o) if o.peer_authenticated));
    assert!(matches!(r.client, Status::Done(o) if o.confirmation == Confirmation::Confirmed));

    // A client without the key learns nothing but a nonce: the server's
    // only reply is the 2-byte reject verdict, no tag.
    let r = exchange(ring([key("k1", 1)]), key("k1", 9));
    assert_eq!(r.flights[2].bytes, vec![0x03, 0x01]);
    assert_eq!(failed(&r.server), Some(Error::BadTag));
    assert_eq!(failed(&r.client), Some(Error::PeerRejected));
}

#[test]
fn p2_role_separation_and_reflection() {
    // The server's tag sent back as the client's tag never verifies.
    let honest_run = honest(Suite::HmacSha256);
    let server_tag = honest_run.flights[2].bytes[2..].to_vec();
    let ring = ring([key("k1", 1)]);
    let client_keys = any_suite("k1", 1);
    let app = context(b"app/v1");
    let (s, c) = pair(&ring, &client_keys, app, app);
    let r = run(s, c, |i, b| {
        if i == 1 {
            let n = b.len();
            b[n - 32..].copy_from_slice(&server_tag);
        }
    });
    assert_eq!(failed(&r.server), Some(Error::BadTag));

    // A client nonce equal to the server's is rejected by the server...
    let mut s = ServerHandshake::with_pinned_random(&ring, app, &pinned(SERVER_NONCE));
    let mut c = ClientHandshake::with_pinned_random(&client_keys, app, &pinned(SERVER_NONCE));
    let mut c_fresh = ClientHandshake::with_pinned_random(&client_keys, app, &pinned(CLIENT_NONCE));
    let hello = drain(&mut s);
    // (the client with the equal nonce refuses the hello itself)
    c.receive(&hello);
    assert_eq!(failed(&c.status()), Some(Error::ReflectedNonce));
    // ...including when an attacker rewrites an honest proof's nonce.
    c_fresh.receive(&hello);
    let mut proof = drain(&mut c_fresh);
    proof[4..36].copy_from_slice(&SERVER_NONCE);
    s.receive(&proof);
    assert_eq!(drain(&mut s), vec![0x03, 0x01]);
    assert_eq!(failed(&s.status()), Some(Error::ReflectedNonce));
}

#[test]
fn p3_transcript_binding_every_byte_and_the_context() {
    use ForwardSecrecy::{Off, Offered, Required};
    let ring = ring([key("k1", 1)]);
    let client_keys = any_suite("k1", 1);
    // The mode off, and on (offered or required) on each side: every byte
    // flipped, the shares and the mode byte included.
    for (server_fs, client_fs) in [
        (Off, Off),
        (Offered, Offered),
        (Offered, Required),
        (Required, Offered),
        (Required, Required),
    ] {
        let (sconf, cconf) = (fs(b"app/v1", server_fs), fs(b"app/v1", client_fs));
        let (s, c) = pair(&ring, &client_keys, sconf, cconf);
        let baseline = run(s, c, |_, _| {});
        assert_eq!(baseline.flights.len(), 3);
        for (flight, f) in baseline.flights.iter().enumerate() {
            for pos in 0..f.bytes.len() {
                let (s, c) = pair(&ring, &client_keys, sconf, cconf);
                let r = run(s, c, |i, b| {
                    if i == flight {
                        b[pos] ^= 0x01;
                    }
                });
                let what = format!("{server_fs:?}/{client_fs:?}: flight {flight} byte {pos}");
                let both_done =
                    matches!(r.server, Status::Done(_)) && matches!(r.client, Status::Done(_));
                assert!(!both_done, "{what} flipped, yet both sides succeeded");
                assert!(
                    !matches!(r.client, Status::Done(_)),
                    "{what}: the client accepted"
                );
            }
        }
    }
    let app = context(b"app/v1");
    // Different contexts: the server rejects the proof.
    let (s, c) = pair(&ring, &client_keys, app, context(b"app/v2"));
    let r = run(s, c, |_, _| {});
    assert_eq!(failed(&r.server), Some(Error::BadTag));
    assert_eq!(failed(&r.client), Some(Error::PeerRejected));
}

#[test]
fn p4_no_downgrade() {
    // A client holding only an HMAC-SHA-512 key accepts nothing else.
    let (s, c) = pair(
        ring([key_in("k1", 1, Suite::HmacSha3_256)]),
        key_in("k1", 1, Suite::HmacSha512),
        context(b""),
        context(b""),
    );
    let r = run(s, c, |_, _| {});
    assert_eq!(failed(&r.client), Some(Error::SuiteNotAllowed { id: 0x04 }));
    assert_eq!(r.flights.len(), 1, "the client sends nothing");
    // An attacker rewriting the suite byte to one the client allows
    // breaks the transcript: the server rejects.
    let (s, c) = pair(
        ring([key("k1", 1)]),
        any_suite("k1", 1),
        context(b""),
        context(b""),
    );
    let r = run(s, c, |i, b| {
        if i == 0 {
            b[5] = Suite::HmacSha512.id();
        }
    });
    assert!(failed(&r.server).is_some());
    assert!(failed(&r.client).is_some());
}

#[test]
fn p5_key_ids_rotation_and_indistinguishable_rejections() {
    let entries = [("2026-10", 1), ("2026-11", 2), ("2026-12", 3)];
    let ring = ring(entries.map(|(id, fill)| key(id, fill)));
    for (id, fill) in entries {
        let r = exchange(&ring, key(id, fill));
        assert_eq!(
            r.server_session.as_ref().unwrap().key_id().as_bytes(),
            id.as_bytes()
        );
    }
    // Unknown key id vs wrong key: same bytes to the client, different local errors.
    let unknown = key("2025-01", 1);
    let r1 = exchange(&ring, &unknown);
    let r2 = exchange(&ring, key("2026-11", 7));
    assert_eq!(r1.flights[2], r2.flights[2]);
    assert_eq!(r1.client, r2.client);
    assert_eq!(failed(&r1.server), Some(Error::UnknownKeyId));
    assert_eq!(failed(&r2.server), Some(Error::BadTag));
    // Check order (PROTOCOL.md server step 2): an unknown key id is reported
    // before a reflected nonce.
    let (mut s, mut c) = pair(
        &ring,
        &unknown,
        native::Config::default(),
        native::Config::default(),
    );
    c.receive(&drain(&mut s));
    let mut proof = drain(&mut c);
    let nonce_at = 2 + unknown.id().as_bytes().len();
    proof[nonce_at..nonce_at + 32].copy_from_slice(&SERVER_NONCE);
    s.receive(&proof);
    assert_eq!(drain(&mut s), vec![0x03, 0x01]);
    assert_eq!(failed(&s.status()), Some(Error::UnknownKeyId));
    // Short keys and bad key ids are refused when the key is built.
    assert_eq!(
        NativeKey::new(b"k", &[0; 15], Suite::HmacSha256).err(),
        Some(Error::KeyTooShort { len: 15 })
    );
    assert!(NativeKey::new(b"k", &[0; 16], Suite::HmacSha256).is_ok());
    assert_eq!(
        NativeKey::new(&[b'x'; 33], &[0; 32], Suite::HmacSha256).err(),
        Some(Error::InvalidKeyId { len: 33 })
    );
    // A keyring is refused when built: empty, a key id twice (even with
    // another secret: which key a client means must not depend on the order
    // of the keys), or keys of two suites.
    assert_eq!(
        Keyring::new(Vec::<NativeKey>::new()).err(),
        Some(Error::EmptyKeyring)
    );
    let twice = KeyId::new(b"2026-11").unwrap();
    assert_eq!(
        Keyring::new([key("2026-10", 1), key("2026-11", 2), key("2026-11", 2)]).err(),
        Some(Error::DuplicateKeyId(twice))
    );
    assert_eq!(
        Keyring::new([key("2026-11", 2), key("2026-11", 9)]).err(),
        Some(Error::DuplicateKeyId(twice))
    );
    assert_eq!(
        Keyring::new([key("2026-10", 1), key_in("2026-11", 2, Suite::HmacSha512)]).err(),
        Some(Error::SuiteMismatch {
            expected: Suite::HmacSha256,
            got: Suite::HmacSha512
        })
    );
}

#[test]
fn p6_session_keys_agree_and_exporter_separates() {
    for suite in Suite::ALL {
        let r = honest(suite);
        let (s, c) = (r.server_session.unwrap(), r.client_session.unwrap());
        assert_eq!(s.suite(), suite);
        assert_eq!(s.handshake_hash(), c.handshake_hash());
        assert_eq!(s.handshake_hash().len(), suite.mac_len());
        assert_eq!(s.client_to_server_key(), c.client_to_server_key());
        assert_eq!(s.server_to_client_key(), c.server_to_client_key());
        assert_ne!(s.client_to_server_key(), s.server_to_client_key());
        let export = |sess: &Session, label: &[u8], ctx: &[u8]| {
            let mut out = [0u8; 48];
            sess.export(label, ctx, &mut out).unwrap();
            out
        };
        assert_eq!(export(&s, b"a", b"x"), export(&c, b"a", b"x"));
        assert_ne!(export(&s, b"a", b"x"), export(&s, b"b", b"x"));
        assert_ne!(export(&s, b"a", b"x"), export(&s, b"a", b"y"));
        let mut too_long = vec![0u8; 255 * suite.mac_len() + 1];
        assert_eq!(
            s.export(b"a", b"", &mut too_long),
            Err(Error::ExportTooLong)
        );
        assert_eq!(
            s.export(&[0; 256], b"", &mut [0; 8]),
            Err(Error::ExportTooLong)
        );
    }
    // Another session (other nonces) gets other keys.
    let k = key("k1", 1);
    let s = ServerHandshake::with_pinned_random(&k, native::Config::default(), &[1; 64]);
    let c = ClientHandshake::with_pinned_random(&k, native::Config::default(), &[2; 64]);
    let other = run(s, c, |_, _| {});
    let first = honest(Suite::HmacSha256);
    assert_ne!(
        other.server_session.unwrap().client_to_server_key(),
        first.server_session.unwrap().client_to_server_key()
    );
}

#[test]
fn p7_bounded_chunking_invariant_and_pipelined_bytes_left() {
    let ring384 = ring([key_in("k1", 1, Suite::HmacSha384)]);
    let client_keys = any_suite("k1", 1);
    let app = context(b"app/v1");
    let whole = honest(Suite::HmacSha384);
    // One byte at a time gives the same bytes and outcome.
    let (mut s, mut c) = pair(&ring384, &client_keys, app, app);
    let mut flights = Vec::new();
    for i in 0..3 {
        let (src, dst): (&mut dyn Handshake, &mut dyn Handshake) = if i % 2 == 0 {
            (&mut s, &mut c)
        } else {
            (&mut c, &mut s)
        };
        let mut bytes = Vec::new();
        let mut one = [0u8; 1];
        while src.write_output(&mut one) == 1 {
            bytes.push(one[0]);
            assert_eq!(dst.receive(&one), 1);
        }
        flights.push(bytes);
    }
    let whole_bytes: Vec<Vec<u8>> = whole.flights.iter().map(|f| f.bytes.clone()).collect();
    assert_eq!(flights, whole_bytes);
    assert_eq!(owned(s.status()), whole.server);
    assert_eq!(owned(c.status()), whole.client);

    // Application bytes right behind the proof are not consumed.
    let (mut s, mut c) = pair(&ring384, &client_keys, app, app);
    c.receive(&drain(&mut s));
    let proof = drain(&mut c);
    let mut pipelined = proof.clone();
    pipelined.extend_from_slice(b"GET /jobs");
    assert_eq!(s.receive(&pipelined), proof.len());
    assert!(matches!(c.status(), Status::NeedInput));

    // Key id length outside 1..=32 is refused before anything else is read.
    let default_ring = ring([key("k1", 1)]);
    for bad in [0u8, 33, 255] {
        let (mut s, _) = pair(
            &default_ring,
            &client_keys,
            native::Config::default(),
            native::Config::default(),
        );
        drain(&mut s);
        let mut msg = vec![0x02, bad];
        msg.extend_from_slice(&[0u8; MAX_CLIENT_PROOF_LEN]);
        assert_eq!(s.receive(&msg), 2);
        assert_eq!(drain(&mut s), vec![0x03, 0x01]);
        assert_eq!(
            failed(&s.status()),
            Some(Error::KeyIdLength { len: bad as usize })
        );
    }
}

#[test]
fn p8_explicit_verdicts() {
    let ring = ring([key("k1", 1)]);
    // Rejected: the client's error says the server rejected its proof.
    let r = exchange(&ring, key("k1", 2));
    assert_eq!(failed(&r.client), Some(Error::PeerRejected));
    assert!(Error::PeerRejected
        .to_string()
        .contains("rejected our proof"));
    // Accepted: the client believes the server only after its tag checks out.
    let (s, c) = pair(
        &ring,
        key("k1", 1),
        native::Config::default(),
        native::Config::default(),
    );
    let r = run(s, c, |i, b| {
        if i == 2 {
            let n = b.len();
            b[n - 1] ^= 0x80;
        }
    });
    assert!(matches!(r.server, Status::Done(_)));
    assert_eq!(failed(&r.client), Some(Error::BadTag));
    assert!(r.client_session.is_none());
    assert_eq!(r.server_consumed_last, 68);
}

#[test]
fn p9_versioned() {
    let k = key("k1", 1);
    let (s, c) = pair(
        ring([key("k1", 1)]),
        &k,
        native::Config::default(),
        native::Config::default(),
    );
    let r = run(s, c, |i, b| {
        if i == 0 {
            b[4] = 2;
        }
    });
    let e = failed(&r.client).unwrap();
    assert_eq!(e, Error::VersionMismatch { ours: 1, theirs: 2 });
    let text = e.to_string();
    assert!(text.contains("v1") && text.contains("v2"), "{text}");
    // A peer of another protocol is told at once, at its first wrong byte
    // (here a multiprocessing length prefix), which is all that is consumed.
    let mut c =
        ClientHandshake::with_pinned_random(&k, native::Config::default(), &pinned(CLIENT_NONCE));
    assert_eq!(c.receive(&[0, 0, 0, 0x41]), 1);
    assert_eq!(failed(&c.status()), Some(Error::NotNative));
    let mut c =
        ClientHandshake::with_pinned_random(&k, native::Config::default(), &pinned(CLIENT_NONCE));
    assert_eq!(c.receive(b"HMHX"), 4);
    assert_eq!(failed(&c.status()), Some(Error::NotNative));
    assert_eq!(SERVER_HELLO_LEN, 39);
}
