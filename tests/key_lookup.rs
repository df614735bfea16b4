//! The key-lookup seam with stores of the application's own: a map behind a
//! lock that changes while handshakes run, and stores that break the
//! contract (never call back, call back twice, lend a key of another
//! suite). The server must reject what it cannot check and keep what it
//! accepted; the client must refuse a key of the wrong suite.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use getrandom::SysRng;
use hmac_handshake::native::{self, ClientKeys, KeyId, KeyLookup, Lookup, NativeKey, Suite};
use hmac_handshake::{ClientHandshake, Error, Finished, Handshake, ServerHandshake, Status};

const SUITE: Suite = Suite::HmacSha256;

fn key(id: &str, fill: u8) -> NativeKey {
    NativeKey::new(id.as_bytes(), &[fill; 32], SUITE).unwrap()
}

/// A store that changes in place: keys behind a lock, lent from inside the
/// guard (a `Lookup` could not be returned out of it).
struct Live {
    keys: RwLock<HashMap<KeyId, NativeKey>>,
    stand_in: NativeKey,
}

impl KeyLookup for Live {
    fn suite(&self) -> Suite {
        SUITE
    }

    fn lookup(&self, id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
        let keys = self.keys.read().unwrap();
        match keys.get(id) {
            Some(key) => found(Lookup { key, known: true }),
            None => found(Lookup {
                key: &self.stand_in,
                known: false,
            }),
        }
    }
}

/// Runs the server and client in memory; `between` runs once the server
/// has accepted the proof (its `ServerFinish` is pending) and before the
/// client reads it.
fn run<S: KeyLookup, C: ClientKeys>(
    server: S,
    client: C,
    between: impl FnOnce(),
) -> (Result<Finished, Error>, Result<Finished, Error>) {
    let config = native::Config::new(b"live store");
    let mut server = ServerHandshake::new(server, config, &mut SysRng).unwrap();
    let mut client = ClientHandshake::new(client, config, &mut SysRng).unwrap();
    let mut wire = [0u8; 256];
    let n = server.write_output(&mut wire);
    client.receive(&wire[..n]);
    let n = client.write_output(&mut wire);
    server.receive(&wire[..n]);
    between();
    let n = server.write_output(&mut wire);
    client.receive(&wire[..n]);
    (server.finish(), client.finish())
}

#[test]
fn a_store_behind_a_lock_can_change_without_touching_accepted_handshakes() {
    let live = Arc::new(Live {
        keys: RwLock::new(HashMap::from([(KeyId::new(b"k1").unwrap(), key("k1", 1))])),
        stand_in: key("stand-in", 0),
    });
    // k1 is revoked right after the server accepted it: the handshake was
    // accepted with it, and the server's session must not depend on it any
    // more.
    let store = Arc::clone(&live);
    let (s, c) = run(Arc::clone(&live), key("k1", 1), move || {
        store.keys.write().unwrap().clear();
    });
    let (s, c) = (s.unwrap(), c.unwrap());
    let (s, c) = (s.into_session().unwrap(), c.into_session().unwrap());
    assert_eq!(s.client_to_server_key(), c.client_to_server_key());
    assert_eq!(s.server_to_client_key(), c.server_to_client_key());
    assert_eq!(s.handshake_hash(), c.handshake_hash());
    // A new handshake sees the store as it is now: k1 is unknown; a key
    // added in place works at once.
    let (s, c) = run(Arc::clone(&live), key("k1", 1), || {});
    assert_eq!(s.unwrap_err(), Error::UnknownKeyId);
    assert_eq!(c.unwrap_err(), Error::PeerRejected);
    live.keys
        .write()
        .unwrap()
        .insert(KeyId::new(b"k2").unwrap(), key("k2", 2));
    let (s, c) = run(live, key("k2", 2), || {});
    assert!(s.is_ok() && c.is_ok());
}

/// A store that breaks the contract in the given way.
enum Broken {
    NeverCalls,
    OtherSuite(Box<NativeKey>),
}

impl KeyLookup for Broken {
    fn suite(&self) -> Suite {
        SUITE
    }

    fn lookup(&self, _id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
        match self {
            Broken::NeverCalls => {}
            Broken::OtherSuite(key) => found(Lookup { key, known: true }),
        }
    }
}

#[test]
fn a_store_that_breaks_the_contract_gets_rejections() {
    let (s, c) = run(Broken::NeverCalls, key("k1", 1), || {});
    assert_eq!(s.unwrap_err(), Error::UnknownKeyId, "no answer: rejected");
    assert_eq!(c.unwrap_err(), Error::PeerRejected);
    let other = NativeKey::new(b"k1", &[1; 32], Suite::HmacSha512).unwrap();
    let (s, _) = run(Broken::OtherSuite(Box::new(other)), key("k1", 1), || {});
    assert_eq!(
        s.unwrap_err(),
        Error::UnknownKeyId,
        "a key of another suite"
    );
}

/// A store calling back twice: a wrong key first, then the right one. Only
/// the first answer counts.
struct TwoAnswers {
    wrong: NativeKey,
    right: NativeKey,
}

impl KeyLookup for TwoAnswers {
    fn suite(&self) -> Suite {
        SUITE
    }

    fn lookup(&self, _id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
        found(Lookup {
            key: &self.wrong,
            known: true,
        });
        found(Lookup {
            key: &self.right,
            known: true,
        });
    }
}

#[test]
fn only_the_first_answer_of_a_lookup_counts() {
    let store = TwoAnswers {
        wrong: key("k1", 9),
        right: key("k1", 1),
    };
    let (s, _) = run(store, key("k1", 1), || {});
    assert_eq!(s.unwrap_err(), Error::BadTag);
    // And the other way round: the right key first is accepted.
    let store = TwoAnswers {
        wrong: key("k1", 1),
        right: key("k1", 9),
    };
    let (s, c) = run(store, key("k1", 1), || {});
    assert!(s.is_ok() && c.is_ok());
}

/// Client keys that answer every suite with one SHA-512 key.
struct AnySuite(NativeKey);

impl ClientKeys for AnySuite {
    fn key_for(&self, _suite: Suite) -> Option<&NativeKey> {
        Some(&self.0)
    }
}

#[test]
fn a_client_key_of_another_suite_counts_as_none() {
    let sha512 = NativeKey::new(b"k1", &[1; 32], Suite::HmacSha512).unwrap();
    let config = native::Config::default();
    let mut server = ServerHandshake::new(key("k1", 1), config, &mut SysRng).unwrap();
    let mut client = ClientHandshake::new(AnySuite(sha512), config, &mut SysRng).unwrap();
    let mut wire = [0u8; 256];
    let n = server.write_output(&mut wire);
    client.receive(&wire[..n]);
    assert_eq!(
        client.status(),
        Status::Failed(Error::SuiteNotAllowed { id: SUITE.id() })
    );
    assert_eq!(client.write_output(&mut wire), 0, "no proof sent");
}
