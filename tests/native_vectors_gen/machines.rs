//! Running our native server and client against each other through the
//! relay, and the shape checks on what they sent.

use hmac_handshake::native::{self, ForwardSecrecy, Keyring, NativeKey, Session, Suite};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::model::{Case, ClientSpec, Export, Msg, Role, Run, ServerSpec, SessionValues, Tamper};
use crate::tamper::pass;

pub fn drain(m: &mut dyn Handshake) -> Vec<u8> {
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
        other => panic!("unknown status {other:?}"),
    }
}

fn session_values(s: &Session, exports: &[Export]) -> SessionValues {
    SessionValues {
        key_id: s.key_id().as_bytes().to_vec(),
        suite: s.suite(),
        forward_secrecy: s.forward_secrecy(),
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
    }
}

/// Finishes a machine: a session exactly when it is done; otherwise
/// `finish` refuses with the machine's own error, or `NotFinished` while it
/// still waits for input.
fn finish<H: Handshake>(m: H, exports: &[Export]) -> Option<SessionValues> {
    let done = matches!(m.status(), Status::Done(_));
    let refusal = match m.status() {
        Status::Failed(e) => e,
        _ => Error::NotFinished,
    };
    match m.finish() {
        Ok(finished) => {
            assert!(done, "finish() succeeded on a machine that was not done");
            let session = finished
                .into_session()
                .expect("a finished native machine hands over its session");
            Some(session_values(&session, exports))
        }
        Err(e) => {
            assert!(!done, "finish() refused a done machine: {e:?}");
            assert_eq!(e, refusal, "finish() refused with another error");
            None
        }
    }
}

/// The server's keyring: every key of the spec, keyed for the server's suite.
fn keyring(s: &ServerSpec) -> Keyring {
    Keyring::new(
        s.keyring
            .iter()
            .map(|(id, key)| NativeKey::new(id, key, s.suite).unwrap()),
    )
    .unwrap()
}

/// The client's keys: one per allowed suite, all with the same id and secret.
fn client_keys(c: &ClientSpec) -> Vec<NativeKey> {
    c.allowed
        .iter()
        .map(|&suite| NativeKey::new(&c.key_id, &c.key, suite).unwrap())
        .collect()
}

/// A side's 64 random bytes: the nonce, then the ephemeral secret.
fn pinned(nonce: &[u8; 32], ephemeral: &[u8; 32]) -> [u8; 64] {
    let mut random = [0u8; 64];
    random[..32].copy_from_slice(nonce);
    random[32..].copy_from_slice(ephemeral);
    random
}

/// Runs the two machines against each other through the relay `tamper`.
pub fn run(s: &ServerSpec, c: &ClientSpec, tamper: &Tamper, exports: &[Export]) -> Run {
    let sconf = native::Config::new(&s.context)
        .with_server_name(&s.server_name)
        .unwrap()
        .with_forward_secrecy(s.forward_secrecy);
    let cconf = native::Config::new(&c.context)
        .with_server_name(&c.server_name)
        .unwrap()
        .with_forward_secrecy(c.forward_secrecy);
    let mut sm =
        ServerHandshake::with_pinned_random(keyring(s), sconf, &pinned(&s.random, &s.ephemeral));
    let mut cm = ClientHandshake::with_pinned_random(
        client_keys(c),
        cconf,
        &pinned(&c.random, &c.ephemeral),
    );
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
    let (server, client) = (result(&sm), result(&cm));
    Run {
        messages,
        server,
        client,
        server_session: finish(sm, exports),
        client_session: finish(cm, exports),
    }
}

/// The messages of an honest run with these parties (for replay tampers).
pub fn honest_messages(s: &ServerSpec, c: &ClientSpec) -> Vec<Vec<u8>> {
    run(s, c, &pass(), &[])
        .messages
        .into_iter()
        .map(|m| m.sent)
        .collect()
}

/// `ServerHello`'s mode byte for a server setting (PROTOCOL.md, "Constants").
pub fn mode(setting: ForwardSecrecy) -> u8 {
    match setting {
        ForwardSecrecy::Off => 0x00,
        ForwardSecrecy::Offered => 0x01,
        ForwardSecrecy::Required => 0x02,
    }
}

/// `X25519(secret, 9)`: the share a side with this ephemeral secret sends.
pub fn share_of(ephemeral: &[u8; 32]) -> [u8; 32] {
    PublicKey::from(&StaticSecret::from(*ephemeral)).to_bytes()
}

/// Shape checks straight from PROTOCOL.md "Messages" on what a machine sent.
pub fn check_shapes(case: &Case, run: &Run) {
    let l = case.server.suite.mac_len();
    for (i, m) in run.messages.iter().enumerate() {
        let d = &m.sent;
        match (m.from, d[0]) {
            (Role::Server, b'H') => {
                assert_eq!(d.len(), 39);
                assert_eq!(
                    &d[..7],
                    &[
                        b'H',
                        b'M',
                        b'H',
                        b'S',
                        1,
                        case.server.suite.id(),
                        mode(case.server.forward_secrecy)
                    ]
                );
                assert_eq!(d[7..], case.server.random);
            }
            (Role::Server, 0x03) => match d[1] {
                0x00 => {
                    // A share exactly after a proof of type 04 (as received).
                    let proof = &run.messages[i - 1];
                    assert_eq!(proof.from, Role::Client);
                    if proof.delivered[0] == 0x04 {
                        assert_eq!(d.len(), 2 + 32 + l);
                        assert_eq!(d[2..34], share_of(&case.server.ephemeral));
                    } else {
                        assert_eq!(d.len(), 2 + l);
                    }
                }
                0x01 => assert_eq!(d.len(), 2),
                v => panic!("server sent verdict {v}"),
            },
            (Role::Client, t @ (0x02 | 0x04)) => {
                let id = &case.client.key_id;
                assert_eq!(usize::from(d[1]), id.len());
                assert_eq!(&d[2..2 + id.len()], &id[..]);
                assert_eq!(d[2 + id.len()..2 + id.len() + 32], case.client.random);
                let hello = &run.messages[0].delivered;
                let suite = Suite::from_id(hello[5]).unwrap();
                // The client sends a share exactly when PROTOCOL.md's table
                // says so for its setting and the mode it received.
                let share = match (case.client.forward_secrecy, hello[6]) {
                    (ForwardSecrecy::Off, _) | (_, 0x00) => false,
                    (_, 0x01 | 0x02) => true,
                    (setting, m) => panic!("{setting:?} sent a proof after mode {m}"),
                };
                assert_eq!(t == 0x04, share);
                if share {
                    let at = 2 + id.len() + 32;
                    assert_eq!(d[at..at + 32], share_of(&case.client.ephemeral));
                    assert_eq!(d.len(), 2 + id.len() + 64 + suite.mac_len());
                } else {
                    assert_eq!(d.len(), 2 + id.len() + 32 + suite.mac_len());
                }
            }
            (from, t) => panic!("{from:?} sent message type {t:#04x}"),
        }
    }
}
