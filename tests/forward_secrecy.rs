//! The native forward-secrecy mode (PROTOCOL.md, "Forward secrecy"): the
//! settings matrix, the wire shapes, the key schedule's use of the X25519
//! secret, a relay that strips or adds the mode in flight, and hostile
//! peers (`tests/support/fs_peer.rs`) that send low-order shares under valid
//! tags, which each side must refuse with `zero_shared_secret`.

#[path = "support/fs_peer.rs"]
mod fs_peer;

use hmac_handshake::native::{self, ForwardSecrecy, NativeKey, Session, Suite};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};

use fs_peer::{low_order_shares, KeyHolder};

use ForwardSecrecy::{Off, Offered, Required};

fn key(suite: Suite) -> NativeKey {
    NativeKey::new(b"k1", &[0x42; 32], suite).unwrap()
}

fn config(setting: ForwardSecrecy) -> native::Config {
    native::Config::new(b"fs test").with_forward_secrecy(setting)
}

/// 64 random bytes: the nonce (`n` repeated), then an ephemeral secret (`e`).
fn random(n: u8, e: u8) -> [u8; 64] {
    let mut r = [e; 64];
    r[..32].fill(n);
    r
}

/// How one side ended: its session, or its error.
type End = Result<Session, Error>;

fn end<H: Handshake>(m: H) -> End {
    match m.status() {
        Status::Failed(e) => Err(e),
        _ => m
            .finish()
            .map(|f| f.into_session().expect("a native session")),
    }
}

/// Runs a server and a client with these settings to the end; `relay`
/// may change each message in flight (`true` for the server's). Returns
/// both ends and the messages as they left each side.
fn run(
    suite: Suite,
    server: ForwardSecrecy,
    client: ForwardSecrecy,
    relay: &mut dyn FnMut(bool, &mut Vec<u8>),
) -> (End, End, Vec<Vec<u8>>) {
    let k = key(suite);
    let mut s = ServerHandshake::with_pinned_random(&k, config(server), &random(1, 0x11));
    let mut c = ClientHandshake::with_pinned_random(&k, config(client), &random(2, 0x22));
    let mut wire = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..4 {
        let n = s.write_output(&mut buf);
        if n > 0 {
            wire.push(buf[..n].to_vec());
            let mut m = buf[..n].to_vec();
            relay(true, &mut m);
            c.receive(&m);
        }
        let n = c.write_output(&mut buf);
        if n > 0 {
            wire.push(buf[..n].to_vec());
            let mut m = buf[..n].to_vec();
            relay(false, &mut m);
            s.receive(&m);
        }
    }
    (end(s), end(c), wire)
}

fn honest(
    suite: Suite,
    server: ForwardSecrecy,
    client: ForwardSecrecy,
) -> (End, End, Vec<Vec<u8>>) {
    run(suite, server, client, &mut |_, _| {})
}

#[test]
fn the_mode_runs_over_every_suite_with_its_wire_shapes() {
    for suite in Suite::ALL {
        let l = suite.mac_len();
        let (s, c, wire) = honest(suite, Required, Required);
        let (s, c) = (s.unwrap(), c.unwrap());
        assert!(s.forward_secrecy() && c.forward_secrecy());
        assert_eq!(s.client_to_server_key(), c.client_to_server_key());
        assert_eq!(s.server_to_client_key(), c.server_to_client_key());
        assert_eq!(s.handshake_hash(), c.handshake_hash());
        // ServerHello: 39 bytes, mode 02; ClientProof type 04 with a share;
        // ServerFinish 03 00, a share, the tag.
        assert_eq!(wire[0].len(), 39);
        assert_eq!(wire[0][6], 0x02);
        assert_eq!(wire[1][0], 0x04);
        assert_eq!(wire[1].len(), 2 + 2 + 32 + 32 + l);
        assert_eq!(&wire[2][..2], &[3, 0]);
        assert_eq!(wire[2].len(), 2 + 32 + l);
        // The same nonces without the mode: other session keys, and no share.
        let (plain, _, plain_wire) = honest(suite, Off, Off);
        let plain = plain.unwrap();
        assert!(!plain.forward_secrecy());
        assert_ne!(plain.client_to_server_key(), s.client_to_server_key());
        assert_eq!(plain_wire[0][6], 0x00);
        assert_eq!(plain_wire[1][0], 0x02);
        assert_eq!(plain_wire[2].len(), 2 + l);
    }
}

/// Three rounds of server and client output, each handed to the other.
fn exchange(server: &mut impl Handshake, client: &mut impl Handshake) {
    let mut buf = [0u8; 256];
    for _ in 0..3 {
        let n = server.write_output(&mut buf);
        client.receive(&buf[..n]);
        let n = client.write_output(&mut buf);
        server.receive(&buf[..n]);
    }
}

#[test]
fn the_ephemeral_secrets_go_into_the_session_keys() {
    let k = key(Suite::HmacSha256);
    let session = |server_e: u8, client_e: u8| {
        let mut s = ServerHandshake::with_pinned_random(&k, config(Required), &random(1, server_e));
        let mut c = ClientHandshake::with_pinned_random(&k, config(Required), &random(2, client_e));
        exchange(&mut s, &mut c);
        let mut out = [0u8; 32];
        end(c).unwrap().export(b"l", b"", &mut out).unwrap();
        out
    };
    let base = session(0x11, 0x22);
    assert_eq!(base, session(0x11, 0x22));
    assert_ne!(base, session(0x12, 0x22));
    assert_ne!(base, session(0x11, 0x23));
}

#[test]
fn the_settings_matrix() {
    let fs = Err(Error::ForwardSecrecyRequired);
    // (server, client) -> Ok(forward secrecy) or the client's error.
    let cases = [
        (Off, Off, Ok(false)),
        (Off, Offered, Ok(false)),
        (Off, Required, fs),
        (Offered, Off, Ok(false)),
        (Offered, Offered, Ok(true)),
        (Offered, Required, Ok(true)),
        (Required, Off, fs),
        (Required, Offered, Ok(true)),
        (Required, Required, Ok(true)),
    ];
    for (server, client, expected) in cases {
        let (s, c, wire) = honest(Suite::HmacSha256, server, client);
        match expected {
            Ok(fs) => {
                assert_eq!(s.unwrap().forward_secrecy(), fs, "{server:?} {client:?}");
                assert_eq!(c.unwrap().forward_secrecy(), fs, "{server:?} {client:?}");
            }
            Err(e) => {
                // The client refuses at the hello: it sends nothing.
                assert_eq!(c.err(), Some(e), "{server:?} {client:?}");
                assert_eq!(wire.len(), 1, "{server:?} {client:?}");
                assert!(s.is_err());
            }
        }
    }
}

/// A relay changing the mode byte of `ServerHello` (offset 6).
fn set_mode(mode: u8) -> impl FnMut(bool, &mut Vec<u8>) {
    move |from_server, m| {
        if from_server && m.len() == 39 {
            m[6] = mode;
        }
    }
}

#[test]
fn stripping_or_adding_the_mode_in_flight_fails() {
    let suite = Suite::HmacSha256;
    // Offered stripped to off: the client sends a plain proof over a
    // transcript with mode 00, the server's has 01.
    let (s, c, _) = run(suite, Offered, Offered, &mut set_mode(0));
    assert_eq!(
        (s.err(), c.err()),
        (Some(Error::BadTag), Some(Error::PeerRejected))
    );
    // Required stripped to off: a client that requires it refuses at once.
    let (_, c, wire) = run(suite, Required, Required, &mut set_mode(0));
    assert_eq!(
        (c.err(), wire.len()),
        (Some(Error::ForwardSecrecyRequired), 1)
    );
    // Required stripped to offered, client offered: it still sends a share,
    // over a transcript that differs.
    let (s, c, _) = run(suite, Required, Offered, &mut set_mode(1));
    assert_eq!(
        (s.err(), c.err()),
        (Some(Error::BadTag), Some(Error::PeerRejected))
    );
    // Required stripped to off, client offered: a plain proof; the server
    // requires a share.
    let (s, c, _) = run(suite, Required, Offered, &mut set_mode(0));
    assert_eq!(
        (s.err(), c.err()),
        (
            Some(Error::ForwardSecrecyRequired),
            Some(Error::PeerRejected)
        )
    );
    // Added (off to offered): the client sends a share the server never offered.
    let (s, c, _) = run(suite, Off, Offered, &mut set_mode(1));
    assert_eq!(
        (s.err(), c.err()),
        (
            Some(Error::UnexpectedMessage {
                expected: 0x02,
                got: 0x04
            }),
            Some(Error::PeerRejected)
        )
    );
    // An unknown mode byte.
    let (_, c, _) = run(suite, Off, Offered, &mut set_mode(3));
    assert_eq!(c.err(), Some(Error::UnknownMode { mode: 3 }));
}

#[test]
fn a_share_changed_in_flight_fails_its_sides_tag() {
    let suite = Suite::HmacSha256;
    // The client's share (after type, id length, 2-byte id, nonce).
    let (s, c, _) = run(suite, Required, Required, &mut |from_server, m| {
        if !from_server {
            m[2 + 2 + 32] ^= 1;
        }
    });
    assert_eq!(
        (s.err(), c.err()),
        (Some(Error::BadTag), Some(Error::PeerRejected))
    );
    // The server's share (after 03 00).
    let (s, c, _) = run(suite, Required, Required, &mut |from_server, m| {
        if from_server && m.len() == 2 + 32 + 32 {
            m[2] ^= 1;
        }
    });
    assert!(s.is_ok());
    assert_eq!(c.err(), Some(Error::BadTag));
}

/// The hostile peers' key holder for `key(suite)` and `config(..)`.
fn holder(suite: Suite) -> KeyHolder {
    KeyHolder::new(suite, &[0x42; 32], b"fs test", b"")
}

/// Everything `m` has to send, handed out.
fn output(m: &mut dyn Handshake) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = m.write_output(&mut buf);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn share(m: &[u8], at: usize) -> [u8; 32] {
    m[at..at + 32].try_into().unwrap()
}

/// The check on the hostile peer itself: for honest inputs it builds
/// exactly the messages of our machines (so its tags are right, and a
/// failure below is the X25519 check's, not the tag check's).
#[test]
fn the_key_holder_builds_the_machines_messages() {
    for suite in Suite::ALL {
        let h = holder(suite);
        for (server, client) in [(Required, Required), (Offered, Off)] {
            let (s, c, wire) = honest(suite, server, client);
            assert!(s.is_ok() && c.is_ok(), "{suite} {server:?} {client:?}");
            let (hello, proof, finish) = (&wire[0], &wire[1], &wire[2]);
            let nonce: [u8; 32] = proof[4..36].try_into().unwrap();
            let fs = proof[0] == 0x04;
            let client_share = fs.then(|| share(proof, 36));
            let server_share = fs.then(|| share(finish, 2));
            assert_eq!(
                &h.client_proof(hello, b"k1", &nonce, client_share.as_ref()),
                proof,
                "{suite} {server:?} {client:?}"
            );
            assert_eq!(
                &h.server_finish(hello, proof, server_share.as_ref()),
                finish,
                "{suite} {server:?} {client:?}"
            );
        }
    }
}

/// A hostile client's type-04 proof with `client_share`, under a valid tag
/// unless `bad_tag`, fed to a fresh server with `setting`; what the server
/// sent back, and how it ended (`Ok` once done).
fn server_on_hostile_proof(
    suite: Suite,
    setting: ForwardSecrecy,
    client_share: &[u8; 32],
    bad_tag: bool,
) -> (Result<(), Error>, Vec<u8>) {
    let k = key(suite);
    let mut s = ServerHandshake::with_pinned_random(&k, config(setting), &random(1, 0x11));
    let hello = output(&mut s);
    let mut proof = holder(suite).client_proof(&hello, b"k1", &[2; 32], Some(client_share));
    if bad_tag {
        *proof.last_mut().unwrap() ^= 1;
    }
    assert_eq!(s.receive(&proof), proof.len());
    let reply = output(&mut s);
    let end = match s.status() {
        Status::Failed(e) => Err(e),
        Status::Done(_) => Ok(()),
        other => panic!("server ended {other:?}"),
    };
    (end, reply)
}

#[test]
fn a_low_order_client_share_fails_zero_shared_secret_at_the_server() {
    for suite in Suite::ALL {
        for setting in [Offered, Required] {
            for (name, point) in low_order_shares() {
                let (status, reply) = server_on_hostile_proof(suite, setting, &point, false);
                assert_eq!(
                    (status, &reply[..]),
                    (Err(Error::ZeroSharedSecret), &[3u8, 1][..]),
                    "{suite} {setting:?} share {name}"
                );
                // The tag is checked first: a bad one is bad_tag, whatever
                // the share.
                let (status, reply) = server_on_hostile_proof(suite, setting, &point, true);
                assert_eq!(
                    (status, &reply[..]),
                    (Err(Error::BadTag), &[3u8, 1][..]),
                    "{suite} {setting:?} share {name}, bad tag"
                );
            }
        }
    }
}

/// Our client with `setting` against our server (required), whose
/// `ServerFinish` is replaced by a hostile one carrying `server_share`
/// under a valid tag unless `bad_tag`; the client's end.
fn client_on_hostile_finish(
    suite: Suite,
    setting: ForwardSecrecy,
    server_share: &[u8; 32],
    bad_tag: bool,
) -> End {
    let k = key(suite);
    let mut s = ServerHandshake::with_pinned_random(&k, config(Required), &random(1, 0x11));
    let mut c = ClientHandshake::with_pinned_random(&k, config(setting), &random(2, 0x22));
    let hello = output(&mut s);
    assert_eq!(c.receive(&hello), hello.len());
    let proof = output(&mut c);
    assert_eq!(proof[0], 0x04);
    let mut finish = holder(suite).server_finish(&hello, &proof, Some(server_share));
    if bad_tag {
        *finish.last_mut().unwrap() ^= 1;
    }
    assert_eq!(c.receive(&finish), finish.len());
    assert!(output(&mut c).is_empty());
    end(c)
}

#[test]
fn a_low_order_server_share_fails_zero_shared_secret_at_the_client() {
    for suite in Suite::ALL {
        for setting in [Offered, Required] {
            for (name, point) in low_order_shares() {
                assert_eq!(
                    client_on_hostile_finish(suite, setting, &point, false).err(),
                    Some(Error::ZeroSharedSecret),
                    "{suite} {setting:?} share {name}"
                );
                assert_eq!(
                    client_on_hostile_finish(suite, setting, &point, true).err(),
                    Some(Error::BadTag),
                    "{suite} {setting:?} share {name}, bad tag"
                );
            }
        }
    }
}

/// The same hostile peers with an ordinary share: the machines accept, so
/// it is the share, not the hostile peer, that the two tests above refuse.
#[test]
fn a_hostile_peer_with_an_ordinary_share_is_accepted() {
    // 9, the base point: X25519(secret, 9) is a share like any other.
    let mut nine = [0u8; 32];
    nine[0] = 9;
    for suite in Suite::ALL {
        let (status, reply) = server_on_hostile_proof(suite, Required, &nine, false);
        assert_eq!(status, Ok(()), "{suite}");
        assert_eq!(&reply[..2], &[3, 0], "{suite}");
        assert_eq!(reply.len(), 2 + 32 + suite.mac_len(), "{suite}");
        let session = client_on_hostile_finish(suite, Offered, &nine, false).unwrap();
        assert!(session.forward_secrecy(), "{suite}");
    }
}

/// A store that times how long the server holds what it lends (a lock
/// guard, in a real store).
struct Timed {
    key: NativeKey,
    held: std::cell::Cell<std::time::Duration>,
}

impl native::KeyLookup for Timed {
    fn suite(&self) -> Suite {
        self.key.suite()
    }
    fn lookup(&self, id: &native::KeyId, found: &mut dyn FnMut(native::Lookup<'_>)) {
        let start = std::time::Instant::now();
        native::KeyLookup::lookup(&self.key, id, found);
        self.held.set(start.elapsed());
    }
}

/// The shortest time the server held the lookup over 20 handshakes.
fn lookup_hold(setting: ForwardSecrecy) -> std::time::Duration {
    let store = Timed {
        key: key(Suite::HmacSha256),
        held: Default::default(),
    };
    let client_key = key(Suite::HmacSha256);
    (0..20u8)
        .map(|i| {
            let mut s = ServerHandshake::with_pinned_random(&store, config(setting), &random(i, 1));
            let mut c =
                ClientHandshake::with_pinned_random(&client_key, config(setting), &random(!i, 2));
            exchange(&mut s, &mut c);
            assert!(matches!(s.status(), Status::Done(_)));
            store.held.get()
        })
        .min()
        .unwrap()
}

/// X25519 runs after the lookup has returned: a store that lends its key
/// from inside a lock is held about as long with the mode as without (the
/// two X25519 operations inside the lookup held it 130 times longer).
#[test]
fn the_lookup_is_not_held_for_x25519() {
    let (off, on) = (lookup_hold(Off), lookup_hold(Required));
    println!("the lookup was held {off:?} without the mode, {on:?} with it");
    assert!(on < off * 10, "held {on:?} with the mode, {off:?} without");
}
