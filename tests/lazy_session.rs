//! The native session secrets are derived on request
//! (`Finished::into_session`, or `Finished::session` without consuming),
//! from what `finish()` kept: the key's PRK (in the forward-secrecy mode,
//! `PRK_fs`, made at `finish()`), the transcript and the server tag. They
//! do not depend on the keys still being there, every call gives the same
//! bytes, and the other profiles have none. (That `finish()` without `session()` costs less is
//! measured, not tested: `cargo bench -p hmac-handshake-peer-bench --bench
//! floor`, native auth only against with session.) The values themselves
//! are checked against `vectors/handshake/native.json` by
//! `tests/handshake_vectors.rs`.

use std::sync::Arc;

use hmac_handshake::native::{self, ForwardSecrecy, Keyring, NativeKey, SharedKeyring, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Finished, Handshake, Key, ServerHandshake,
};

/// Drives both machines to the end in memory and finishes them.
fn run(mut server: impl Handshake, mut client: impl Handshake) -> (Finished, Finished) {
    let mut wire = [0u8; 256];
    for _ in 0..8 {
        let n = server.write_output(&mut wire);
        assert_eq!(client.receive(&wire[..n]), n);
        let n = client.write_output(&mut wire);
        assert_eq!(server.receive(&wire[..n]), n);
    }
    (server.finish().unwrap(), client.finish().unwrap())
}

/// Every value a session gives: handshake hash, both keys, a 40-byte export.
fn values(f: &Finished) -> Vec<Vec<u8>> {
    let s = f.session().expect("a native session");
    let mut export = [0u8; 40];
    s.export(b"label", b"context", &mut export).unwrap();
    vec![
        s.handshake_hash().to_vec(),
        s.client_to_server_key().to_vec(),
        s.server_to_client_key().to_vec(),
        export.to_vec(),
    ]
}

#[test]
fn the_session_is_derived_after_the_keys_are_gone() {
    for suite in Suite::ALL {
        for fs in [ForwardSecrecy::Off, ForwardSecrecy::Required] {
            let config = native::Config::new(b"lazy").with_forward_secrecy(fs);
            let ring = SharedKeyring::new(
                Keyring::new([NativeKey::new(b"k1", &[7; 32], suite).unwrap()]).unwrap(),
            );
            let key = Arc::new(NativeKey::new(b"k1", &[7; 32], suite).unwrap());
            let (server, client) = run(
                ServerHandshake::with_pinned_random(ring.snapshot(), config, &[1; 64]),
                ClientHandshake::with_pinned_random(Arc::clone(&key), config, &[2; 64]),
            );
            assert!(server.has_session() && client.has_session());
            // Nothing of the keys is left: the ring holds another key, the
            // client's key is dropped (the machine held the other handle).
            ring.replace(Keyring::new([NativeKey::new(b"k2", &[8; 32], suite).unwrap()]).unwrap());
            assert_eq!(Arc::strong_count(&key), 1);
            drop(key);
            let (s, c) = (values(&server), values(&client));
            assert_eq!(s, c, "{suite} {fs:?}: both sides derive the same session");
            assert_eq!(s, values(&server), "{suite} {fs:?}: a second call");
            assert_eq!(s[0].len(), suite.mac_len());
            assert!(s.iter().all(|v| v.iter().any(|&b| b != 0)));
            let session = server.into_session().unwrap();
            assert_eq!(session.handshake_hash(), &s[0][..]);
            assert_eq!(session.client_to_server_key(), &s[1][..]);
            assert_eq!(session.key_id().as_bytes(), b"k1");
            assert_eq!(session.suite(), suite);
            assert_eq!(session.forward_secrecy(), fs == ForwardSecrecy::Required);
        }
    }
}

#[test]
fn the_other_profiles_have_no_session() {
    let key = Key::new(b"abracadabra");
    let mp = multiprocessing::Config::new();
    let (s, c) = run(
        ServerHandshake::with_pinned_random(&key, mp, &[3; 40]),
        ClientHandshake::with_pinned_random(&key, mp, &[4; 40]),
    );
    let rc = recipe::Config::default();
    let (rs, rcl) = run(
        ServerHandshake::with_pinned_random(&key, rc, &[5; 32]),
        ClientHandshake::with_pinned_random(&key, rc, &[]),
    );
    for f in [s, c, rs, rcl] {
        assert!(!f.has_session(), "{f:?}");
        assert!(f.session().is_none());
    }
}

/// `Debug` shows the outcome and whether there is a session, no secret.
#[test]
fn debug_shows_no_secret() {
    let key = NativeKey::new(b"k1", &[7; 32], Suite::HmacSha256).unwrap();
    let config = native::Config::new(b"lazy");
    let (server, _) = run(
        ServerHandshake::with_pinned_random(&key, config, &[1; 64]),
        ClientHandshake::with_pinned_random(&key, config, &[2; 64]),
    );
    let shown = format!("{server:?}");
    assert!(shown.contains("has_session: true"), "{shown}");
    let session = server.session().unwrap();
    for secret in [
        session.client_to_server_key(),
        session.server_to_client_key(),
    ] {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex[..16]), "{shown}");
        let decimal = format!("{}, {}, {}, {}", secret[0], secret[1], secret[2], secret[3]);
        assert!(!shown.contains(&decimal), "{shown}");
    }
}
