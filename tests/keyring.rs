//! The built-in keyring: refusals when built, lookup by id for rings of 1
//! to 10,000 keys (known, unknown, every position), the stand-in key of an
//! unknown id, and rotation through `SharedKeyring` while handshakes run.

use std::sync::Arc;

use getrandom::SysRng;
use hmac_handshake::native::{self, KeyId, KeyLookup, Keyring, NativeKey, SharedKeyring, Suite};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};

fn key(id: &str, suite: Suite) -> NativeKey {
    let mut secret = [0u8; 32];
    secret[..id.len().min(32)].copy_from_slice(&id.as_bytes()[..id.len().min(32)]);
    NativeKey::new(id.as_bytes(), &secret, suite).unwrap()
}

/// What a lookup hands its callback, as values: the id and suite of the key
/// it passed, and whether it is the key the id names. Asserts one call.
fn look_up(store: &impl KeyLookup, id: &KeyId) -> (KeyId, Suite, bool) {
    let mut seen = Vec::new();
    store.lookup(id, &mut |found| {
        seen.push((found.key.id(), found.key.suite(), found.known));
    });
    assert_eq!(seen.len(), 1, "a lookup calls back exactly once");
    seen[0]
}

fn id(s: &str) -> KeyId {
    KeyId::new(s.as_bytes()).unwrap()
}

#[test]
fn refused_when_built() {
    let s = Suite::HmacSha256;
    assert_eq!(Keyring::new([]).unwrap_err(), Error::EmptyKeyring);
    let dup = Keyring::new([key("k1", s), key("k2", s), key("k1", s)]).unwrap_err();
    assert_eq!(dup, Error::DuplicateKeyId(id("k1")));
    assert_eq!(dup.code(), "duplicate_key_id");
    // The same id with another secret is a duplicate too: which key a client
    // means must not depend on the order.
    let other = NativeKey::new(b"k1", &[0xbb; 32], s).unwrap();
    let dup = Keyring::new([key("k1", s), other]).unwrap_err();
    assert_eq!(dup, Error::DuplicateKeyId(id("k1")));
    let mixed = Keyring::new([key("k1", s), key("k2", Suite::HmacSha512)]).unwrap_err();
    assert_eq!(
        mixed,
        Error::SuiteMismatch {
            expected: s,
            got: Suite::HmacSha512
        }
    );
}

#[test]
fn lookup_finds_every_key_and_no_other() {
    for n in [1usize, 2, 3, 7, 64, 1000, 10_000] {
        let ring =
            Keyring::new((0..n).map(|i| key(&format!("key-{i}"), Suite::HmacSha256))).unwrap();
        assert_eq!(ring.len(), n);
        assert_eq!(ring.suite(), Suite::HmacSha256);
        for i in 0..n {
            let (found, _, known) = look_up(&ring, &id(&format!("key-{i}")));
            assert!(known, "n={n}: key-{i} not found");
            assert_eq!(found, id(&format!("key-{i}")), "n={n}");
        }
        for unknown in [
            format!("key-{n}"),
            "key-".into(),
            "KEY-0".into(),
            "x".repeat(32),
        ] {
            let (stand_in, suite, known) = look_up(&ring, &id(&unknown));
            assert!(!known, "n={n}: {unknown} found");
            assert_eq!(suite, Suite::HmacSha256, "stand-in of the ring's suite");
            // The stand-in is a key of the ring.
            assert!(
                ring.get(&stand_in).is_some(),
                "n={n}: stand-in {stand_in:?}"
            );
        }
        // Ids that differ only in length or in the last byte.
        assert!(!look_up(&ring, &id("key-0\0")).2);
    }
}

#[test]
fn ids_and_get() {
    let ring =
        Keyring::new([key("b", Suite::HmacSha3_256), key("a", Suite::HmacSha3_256)]).unwrap();
    let ids: Vec<_> = ring.ids().collect();
    assert_eq!(ids, [id("b"), id("a")]);
    assert_eq!(ring.get(&id("a")).map(NativeKey::id), Some(id("a")));
    assert!(ring.get(&id("c")).is_none());
    assert_eq!(
        format!("{ring:?}"),
        r#"Keyring { suite: HmacSha3_256, ids: [KeyId("b"), KeyId("a")] }"#
    );
}

/// A native handshake of `client` against `ring`; the server's status.
fn handshake(ring: Arc<Keyring>, client: NativeKey) -> Status<'static> {
    let config = native::Config::new(b"ctx");
    let mut server = ServerHandshake::new(ring, config, &mut SysRng).unwrap();
    let mut client = ClientHandshake::new(client, config, &mut SysRng).unwrap();
    let mut wire = [0u8; 256];
    for _ in 0..3 {
        let n = server.write_output(&mut wire);
        client.receive(&wire[..n]);
        let n = client.write_output(&mut wire);
        server.receive(&wire[..n]);
    }
    let n = server.write_output(&mut wire);
    client.receive(&wire[..n]);
    match server.status() {
        Status::Done(o) => Status::Done(o),
        Status::Failed(e) => Status::Failed(e),
        other => panic!("server not settled: {other:?}"),
    }
}

#[test]
fn every_key_of_a_large_ring_authenticates_and_unknown_ids_are_rejected() {
    let ring = Arc::new(
        Keyring::new((0..2000).map(|i| key(&format!("client-{i}"), Suite::HmacSha256))).unwrap(),
    );
    for i in [0, 1, 999, 1998, 1999] {
        let status = handshake(
            Arc::clone(&ring),
            key(&format!("client-{i}"), Suite::HmacSha256),
        );
        assert!(matches!(status, Status::Done(_)), "client-{i}: {status:?}");
    }
    // An id that is not on the ring, whatever its key: unknown_key_id.
    let status = handshake(Arc::clone(&ring), key("client-2000", Suite::HmacSha256));
    assert_eq!(status, Status::Failed(Error::UnknownKeyId));
    // A known id with the wrong secret: bad_tag.
    let wrong = NativeKey::new(b"client-5", &[0xee; 32], Suite::HmacSha256).unwrap();
    assert_eq!(handshake(ring, wrong), Status::Failed(Error::BadTag));
}

#[test]
fn a_single_key_is_a_keyring_of_one() {
    let k = key("only", Suite::HmacSha512);
    assert_eq!(KeyLookup::suite(&k), Suite::HmacSha512);
    assert!(look_up(&k, &id("only")).2);
    assert!(!look_up(&k, &id("other")).2);
    assert!(!look_up(&k, &id("onl")).2);
}

#[test]
fn rotation_while_handshakes_run() {
    let shared = SharedKeyring::new(Keyring::new([key("2026-11", Suite::HmacSha256)]).unwrap());
    let config = native::Config::default();
    // A handshake starts on the old ring...
    let mut old_server = ServerHandshake::new(shared.snapshot(), config, &mut SysRng).unwrap();
    // ...the ring rotates: 2026-11 retired, 2026-12 in.
    let previous = shared.replace(Keyring::new([key("2026-12", Suite::HmacSha256)]).unwrap());
    assert_eq!(previous.ids().collect::<Vec<_>>(), [id("2026-11")]);
    // The running handshake still accepts the retired key...
    let mut client =
        ClientHandshake::new(key("2026-11", Suite::HmacSha256), config, &mut SysRng).unwrap();
    let mut wire = [0u8; 256];
    for _ in 0..3 {
        let n = old_server.write_output(&mut wire);
        client.receive(&wire[..n]);
        let n = client.write_output(&mut wire);
        old_server.receive(&wire[..n]);
    }
    assert!(matches!(old_server.status(), Status::Done(_)));
    // ...and new handshakes see only the new ring.
    let status = handshake(shared.snapshot(), key("2026-11", Suite::HmacSha256));
    assert_eq!(status, Status::Failed(Error::UnknownKeyId));
    let status = handshake(shared.snapshot(), key("2026-12", Suite::HmacSha256));
    assert!(matches!(status, Status::Done(_)));
    // The old ring lives as long as a handshake (or `previous`) holds it.
    assert_eq!(Arc::strong_count(&previous), 2);
    drop(old_server);
    assert_eq!(Arc::strong_count(&previous), 1);
}
