//! Running our native server and client against each other through the
//! relay, and the shape checks on what they sent.

use hmac_handshake::native::{self, Keyring, NativeKey, Session, Suite};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};

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
                .session
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
        .unwrap();
    let cconf = native::Config::new(&c.context)
        .with_server_name(&c.server_name)
        .unwrap();
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

/// Shape checks straight from PROTOCOL.md "Messages" on what a machine sent.
pub fn check_shapes(case: &Case, run: &Run) {
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
