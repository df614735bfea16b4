//! The native protocol's required properties (issue: "Native protocol v1"),
//! one test each. Every test drives real machines in memory.

use hmac_handshake::native::{
    ClientConfig, NativeKey, ServerConfig, Session, Suite, SuiteSet, MAX_CLIENT_PROOF_LEN,
    SERVER_HELLO_LEN,
};
use hmac_handshake::{ClientHandshake, Confirmation, Error, Handshake, ServerHandshake, Status};

const SERVER_NONCE: [u8; 32] = [0xa5; 32];
const CLIENT_NONCE: [u8; 32] = [0x3c; 32];

fn key(id: &str, fill: u8) -> NativeKey {
    NativeKey::new(id.as_bytes(), &[fill; 32]).unwrap()
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

/// Runs server and client against each other; `tamper` may change each
/// flight in transit (index counts flights from 0).
fn run(
    server: &mut ServerHandshake<'_>,
    client: &mut ClientHandshake<'_>,
    mut tamper: impl FnMut(usize, &mut Vec<u8>),
) -> Run {
    let mut flights = Vec::new();
    let mut server_consumed_last = 0;
    for i in 0..6 {
        let (from_server, out) = if i % 2 == 0 {
            (true, drain(server))
        } else {
            (false, drain(client))
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
        server_session: server.session().cloned(),
        client_session: client.session().cloned(),
        server_consumed_last,
    }
}

fn pair<'k>(
    ring: &'k [NativeKey],
    ckey: &'k NativeKey,
    sconf: ServerConfig<'k>,
    cconf: ClientConfig<'k>,
) -> (ServerHandshake<'k>, ClientHandshake<'k>) {
    (
        ServerHandshake::native(ring, sconf, &SERVER_NONCE).unwrap(),
        ClientHandshake::native(ckey, cconf, &CLIENT_NONCE).unwrap(),
    )
}

/// A full exchange with default configurations and no tampering.
fn exchange(ring: &[NativeKey], client_key: &NativeKey) -> Run {
    let (mut s, mut c) = pair(
        ring,
        client_key,
        ServerConfig::default(),
        ClientConfig::default(),
    );
    run(&mut s, &mut c, |_, _| {})
}

fn honest(suite: Suite) -> Run {
    let ring = [key("k1", 1)];
    let sconf = ServerConfig {
        suite,
        context: b"app/v1",
    };
    let cconf = ClientConfig {
        context: b"app/v1",
        ..ClientConfig::default()
    };
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, cconf);
    run(&mut s, &mut c, |_, _| {})
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
    // hello 38, proof 2+2+32+32, finish 2+32: 1.5 round trips.
    assert_eq!(shape, vec![(true, 38), (false, 68), (true, 34)]);
    assert!(matches!(r.server, Status::Done(o) if o.peer_authenticated));
    assert!(matches!(r.client, Status::Done(o) if o.confirmation == Confirmation::Confirmed));

    // A client without the key learns nothing but a nonce: the server's
    // only reply is the 2-byte reject verdict, no tag.
    let ring = [key("k1", 1)];
    let impostor = key("k1", 9);
    let r = exchange(&ring, &impostor);
    assert_eq!(r.flights[2].bytes, vec![0x03, 0x01]);
    assert_eq!(failed(&r.server), Some(Error::BadTag));
    assert_eq!(failed(&r.client), Some(Error::PeerRejected));
}

#[test]
fn p2_role_separation_and_reflection() {
    // The server's tag sent back as the client's tag never verifies.
    let honest_run = honest(Suite::HmacSha256);
    let server_tag = honest_run.flights[2].bytes[2..].to_vec();
    let ring = [key("k1", 1)];
    let sconf = ServerConfig {
        suite: Suite::HmacSha256,
        context: b"app/v1",
    };
    let cconf = ClientConfig {
        context: b"app/v1",
        ..ClientConfig::default()
    };
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, cconf);
    let r = run(&mut s, &mut c, |i, b| {
        if i == 1 {
            let n = b.len();
            b[n - 32..].copy_from_slice(&server_tag);
        }
    });
    assert_eq!(failed(&r.server), Some(Error::BadTag));

    // A client nonce equal to the server's is rejected by the server...
    let mut s = ServerHandshake::native(&ring, sconf, &SERVER_NONCE).unwrap();
    let mut c = ClientHandshake::native(&ring[0], cconf, &SERVER_NONCE).unwrap();
    let mut c_fresh = ClientHandshake::native(&ring[0], cconf, &CLIENT_NONCE).unwrap();
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
    let baseline = honest(Suite::HmacSha256);
    let ring = [key("k1", 1)];
    let sconf = ServerConfig {
        suite: Suite::HmacSha256,
        context: b"app/v1",
    };
    let cconf = ClientConfig {
        context: b"app/v1",
        ..ClientConfig::default()
    };
    for (flight, f) in baseline.flights.iter().enumerate() {
        for pos in 0..f.bytes.len() {
            let (mut s, mut c) = pair(&ring, &ring[0], sconf, cconf);
            let r = run(&mut s, &mut c, |i, b| {
                if i == flight {
                    b[pos] ^= 0x01;
                }
            });
            let both_done =
                matches!(r.server, Status::Done(_)) && matches!(r.client, Status::Done(_));
            assert!(
                !both_done,
                "flight {flight} byte {pos} flipped, yet both sides succeeded"
            );
            assert!(
                !matches!(r.client, Status::Done(_)),
                "flight {flight} byte {pos}: the client accepted"
            );
        }
    }
    // Different contexts: the server rejects the proof.
    let other = ClientConfig {
        context: b"app/v2",
        ..ClientConfig::default()
    };
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, other);
    let r = run(&mut s, &mut c, |_, _| {});
    assert_eq!(failed(&r.server), Some(Error::BadTag));
    assert_eq!(failed(&r.client), Some(Error::PeerRejected));
}

#[test]
fn p4_no_downgrade() {
    let ring = [key("k1", 1)];
    let sconf = ServerConfig {
        suite: Suite::HmacSha3_256,
        context: b"",
    };
    let strict = ClientConfig {
        allowed: SuiteSet::only(Suite::HmacSha512),
        context: b"",
    };
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, strict);
    let r = run(&mut s, &mut c, |_, _| {});
    assert_eq!(failed(&r.client), Some(Error::SuiteNotAllowed { id: 0x04 }));
    assert_eq!(r.flights.len(), 1, "the client sends nothing");
    // An attacker rewriting the suite byte to one the client allows
    // breaks the transcript: the server rejects.
    let sha512_only = ClientConfig {
        allowed: SuiteSet::ALL,
        context: b"",
    };
    let sconf = ServerConfig {
        suite: Suite::HmacSha256,
        context: b"",
    };
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, sha512_only);
    let r = run(&mut s, &mut c, |i, b| {
        if i == 0 {
            b[5] = Suite::HmacSha512.id();
        }
    });
    assert!(failed(&r.server).is_some());
    assert!(failed(&r.client).is_some());
}

#[test]
fn p5_key_ids_rotation_and_indistinguishable_rejections() {
    let ring = [key("2026-10", 1), key("2026-11", 2), key("2026-12", 3)];
    for k in &ring {
        let r = exchange(&ring, k);
        assert_eq!(
            r.server_session.as_ref().unwrap().key_id().as_bytes(),
            k.id().as_bytes()
        );
    }
    // Unknown key id vs wrong key: same bytes to the client, different local errors.
    let unknown = key("2025-01", 1);
    let wrong = key("2026-11", 7);
    let r1 = exchange(&ring, &unknown);
    let r2 = exchange(&ring, &wrong);
    assert_eq!(r1.flights[2], r2.flights[2]);
    assert_eq!(r1.client, r2.client);
    assert_eq!(failed(&r1.server), Some(Error::UnknownKeyId));
    assert_eq!(failed(&r2.server), Some(Error::BadTag));
    // Check order (PROTOCOL.md server step 2): an unknown key id is reported
    // before a reflected nonce.
    let mut s = ServerHandshake::native(&ring, ServerConfig::default(), &SERVER_NONCE).unwrap();
    let mut c = ClientHandshake::native(&unknown, ClientConfig::default(), &CLIENT_NONCE).unwrap();
    c.receive(&drain(&mut s));
    let mut proof = drain(&mut c);
    let nonce_at = 2 + unknown.id().as_bytes().len();
    proof[nonce_at..nonce_at + 32].copy_from_slice(&SERVER_NONCE);
    s.receive(&proof);
    assert_eq!(drain(&mut s), vec![0x03, 0x01]);
    assert_eq!(failed(&s.status()), Some(Error::UnknownKeyId));
    // Short keys are refused when the key is built.
    assert_eq!(
        NativeKey::new(b"k", &[0; 15]).err(),
        Some(Error::KeyTooShort { len: 15 })
    );
    assert!(NativeKey::new(b"k", &[0; 16]).is_ok());
    assert_eq!(
        NativeKey::new(&[b'x'; 33], &[0; 32]).err(),
        Some(Error::KeyIdLength { len: 33 })
    );
    assert_eq!(
        ServerHandshake::native(&[], ServerConfig::default(), &SERVER_NONCE).err(),
        Some(Error::EmptyKeyring)
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
    let ring = [key("k1", 1)];
    let mut s = ServerHandshake::native(&ring, ServerConfig::default(), &[1; 32]).unwrap();
    let mut c = ClientHandshake::native(&ring[0], ClientConfig::default(), &[2; 32]).unwrap();
    let other = run(&mut s, &mut c, |_, _| {});
    let first = honest(Suite::HmacSha256);
    assert_ne!(
        other.server_session.unwrap().client_to_server_key(),
        first.server_session.unwrap().client_to_server_key()
    );
}

#[test]
fn p7_bounded_chunking_invariant_and_pipelined_bytes_left() {
    let ring = [key("k1", 1)];
    let whole = honest(Suite::HmacSha384);
    // One byte at a time gives the same bytes and outcome.
    let sconf = ServerConfig {
        suite: Suite::HmacSha384,
        context: b"app/v1",
    };
    let cconf = ClientConfig {
        context: b"app/v1",
        ..ClientConfig::default()
    };
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, cconf);
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
    let (mut s, mut c) = pair(&ring, &ring[0], sconf, cconf);
    c.receive(&drain(&mut s));
    let proof = drain(&mut c);
    let mut pipelined = proof.clone();
    pipelined.extend_from_slice(b"GET /jobs");
    assert_eq!(s.receive(&pipelined), proof.len());
    assert!(matches!(c.status(), Status::NeedInput));

    // Key id length outside 1..=32 is refused before anything else is read.
    for bad in [0u8, 33, 255] {
        let (mut s, _) = pair(
            &ring,
            &ring[0],
            ServerConfig::default(),
            ClientConfig::default(),
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
    let ring = [key("k1", 1)];
    // Rejected: the client's error says the server rejected its proof.
    let wrong = key("k1", 2);
    let r = exchange(&ring, &wrong);
    assert_eq!(failed(&r.client), Some(Error::PeerRejected));
    assert!(Error::PeerRejected
        .to_string()
        .contains("rejected our proof"));
    // Accepted: the client believes the server only after its tag checks out.
    let (mut s, mut c) = pair(
        &ring,
        &ring[0],
        ServerConfig::default(),
        ClientConfig::default(),
    );
    let r = run(&mut s, &mut c, |i, b| {
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
    let ring = [key("k1", 1)];
    let (mut s, mut c) = pair(
        &ring,
        &ring[0],
        ServerConfig::default(),
        ClientConfig::default(),
    );
    let r = run(&mut s, &mut c, |i, b| {
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
    let mut c = ClientHandshake::native(&ring[0], ClientConfig::default(), &CLIENT_NONCE).unwrap();
    assert_eq!(c.receive(&[0, 0, 0, 0x41]), 1);
    assert_eq!(failed(&c.status()), Some(Error::NotNative));
    let mut c = ClientHandshake::native(&ring[0], ClientConfig::default(), &CLIENT_NONCE).unwrap();
    assert_eq!(c.receive(b"HMHX"), 4);
    assert_eq!(failed(&c.status()), Some(Error::NotNative));
    assert_eq!(SERVER_HELLO_LEN, 38);
}
