//! `native_server` and `native_client`: the oracle for "the machine accepted"
//! is an honest machine of the other role, built with the same key and the
//! nonces from the transcript, which must have sent exactly those bytes.

use std::fmt;

use hmac_handshake::native::{
    ClientConfig, NativeKey, ServerConfig, Suite, SuiteSet, MAGIC, MAX_CLIENT_PROOF_LEN,
    MAX_SERVER_FINISH_LEN, NONCE_LEN, SERVER_HELLO_LEN, VERSION,
};
use hmac_handshake::{ClientHandshake, Confirmation, Error, ServerHandshake};

use crate::drive::{check_machine, drive, Snap, Trace};
use crate::reader::{Hex, Plan, Reader};

/// A key id of 0 to 33 bytes (so 0 and 33, both refused, occur too).
fn key_id(r: &mut Reader<'_>) -> Vec<u8> {
    let n = r.u8() % 34;
    r.bytes(usize::from(n)).to_vec()
}

/// `NativeKey::new`, asserting that a refusal names the right reason.
pub fn native_key(id: &[u8], secret: &[u8]) -> Option<NativeKey> {
    match NativeKey::new(id, secret) {
        Ok(k) => {
            assert!((1..=32).contains(&id.len()) && secret.len() >= 16);
            Some(k)
        }
        Err(Error::KeyIdLength { len }) => {
            assert_eq!(len, id.len());
            assert!(len == 0 || len > 32, "refused a valid key id");
            None
        }
        Err(Error::KeyTooShort { len }) => {
            assert_eq!(len, secret.len());
            assert!(len < 16, "refused a valid key");
            None
        }
        Err(e) => panic!("NativeKey::new: unexpected {e:?}"),
    }
}

pub fn suite_set(bits: u8) -> SuiteSet {
    Suite::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .fold(SuiteSet::EMPTY, |set, (_, s)| set.with(s))
}

fn hello_bytes(suite: Suite, nonce: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &[VERSION, suite.id()], nonce].concat()
}

/// Layout: `u8(suite) || u8(keys) || keys * (u8(id_len % 34) || id ||
/// lp16(secret, <= 300)) || lp8(context) || nonce(32) || plan || peer`.
/// `suite` indexes `Suite::ALL` modulo 4; `keys % 4` keys (0 = empty
/// keyring, which must be refused).
pub struct NativeServerInput {
    pub suite: Suite,
    pub keyring: Vec<(Vec<u8>, Vec<u8>)>,
    pub context: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    pub plan: Plan,
    pub peer: Vec<u8>,
}

impl NativeServerInput {
    pub fn decode(data: &[u8]) -> NativeServerInput {
        let mut r = Reader::new(data);
        let suite = Suite::ALL[usize::from(r.u8()) % 4];
        let n = r.u8() % 4;
        let keyring = (0..n)
            .map(|_| {
                let id = key_id(&mut r);
                (id, r.lp16(300).to_vec())
            })
            .collect();
        NativeServerInput {
            suite,
            keyring,
            context: r.lp8().to_vec(),
            nonce: r.array(),
            plan: Plan::decode(&mut r),
            peer: r.rest().to_vec(),
        }
    }
}

crate::raw_input!(NativeServerInput);

impl fmt::Debug for NativeServerInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring: Vec<_> = self.keyring.iter().map(|(i, k)| (Hex(i), Hex(k))).collect();
        f.debug_struct("NativeServerInput")
            .field("suite", &self.suite)
            .field("keyring (id, secret)", &ring)
            .field("context", &Hex(&self.context))
            .field("nonce", &Hex(&self.nonce))
            .field("plan", &self.plan)
            .field("peer", &Hex(&self.peer))
            .finish()
    }
}

/// Runs `client` (fresh) against `server_bytes`, everything at once.
fn run_client(client: ClientHandshake<'_>, server_bytes: &[u8]) -> Trace {
    let mut c = client;
    drive(&mut c, server_bytes, &Plan::default(), &|_| {
        MAX_CLIENT_PROOF_LEN
    })
}

/// Parses `02 || lp8(id) || nonce(32) || tag` as far as it goes.
fn parse_proof(p: &[u8], mac_len: usize) -> Option<(&[u8], &[u8])> {
    let id_len = usize::from(*p.get(1)?);
    if p[0] != 2 || !(1..=32).contains(&id_len) || p.len() != 2 + id_len + NONCE_LEN + mac_len {
        return None;
    }
    Some((&p[2..2 + id_len], &p[2 + id_len..2 + id_len + NONCE_LEN]))
}

pub fn server(input: &NativeServerInput) {
    let mut keyring = Vec::new();
    for (id, secret) in &input.keyring {
        match native_key(id, secret) {
            Some(k) => keyring.push(k),
            None => return,
        }
    }
    let config = ServerConfig {
        suite: input.suite,
        context: &input.context,
    };
    if keyring.is_empty() {
        assert!(matches!(
            ServerHandshake::native(&keyring, config, &input.nonce),
            Err(Error::EmptyKeyring)
        ));
        return;
    }
    let make = || ServerHandshake::native(&keyring, config, &input.nonce).expect("valid");
    let bound = |i: usize| {
        if i == 0 {
            SERVER_HELLO_LEN
        } else {
            MAX_SERVER_FINISH_LEN
        }
    };
    let t = check_machine(make, &input.peer, &input.plan, &bound);
    let hello = hello_bytes(input.suite, &input.nonce);
    assert_eq!(t.messages[0], hello, "ServerHello");
    let l = input.suite.mac_len();
    let proof = &input.peer[..t.consumed];

    // What an honest client with the key the proof names would have sent.
    let honest = parse_proof(proof, l).and_then(|(id, nonce)| {
        let key = keyring.iter().find(|k| k.id().as_bytes() == id)?;
        let cfg = ClientConfig {
            allowed: SuiteSet::ALL,
            context: &input.context,
        };
        let client = ClientHandshake::native(key, cfg, nonce).expect("32-byte nonce");
        let mut server_bytes = hello.clone();
        if let Some(finish) = t.messages.get(1) {
            server_bytes.extend_from_slice(finish);
        }
        Some(run_client(client, &server_bytes))
    });
    let honest_proof = honest.as_ref().and_then(|c| c.messages.first());

    match &t.end {
        Snap::Done(o) => {
            let c = honest
                .as_ref()
                .expect("server accepted a proof naming no key on its ring");
            assert_eq!(
                honest_proof.map(Vec::as_slice),
                Some(proof),
                "server accepted a ClientProof an honest client would not send"
            );
            assert_eq!(t.messages.len(), 2);
            assert_eq!(t.messages[1].len(), 2 + l);
            assert_eq!(&t.messages[1][..2], &[3, 0]);
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Unknown);
            assert_eq!(o.digest, input.suite.digest());
            assert!(
                matches!(c.end, Snap::Done(_)),
                "honest client refused our ServerFinish: {:?}",
                c.end
            );
            let ours = t.session.as_ref().expect("Done without a session");
            assert_eq!(Some(ours), c.session.as_ref(), "sessions differ");
            assert_eq!(ours.suite, input.suite);
        }
        Snap::Failed(_) => {
            assert_eq!(t.messages.len(), 2, "failed without a reject");
            assert_eq!(t.messages[1], [3, 1], "failed but did not send a reject");
            if let Some(p) = honest_proof {
                let reflected = proof[2 + usize::from(proof[1])..][..NONCE_LEN] == input.nonce;
                assert!(
                    p != proof || reflected,
                    "server rejected an honest ClientProof"
                );
            }
        }
        Snap::NeedInput => assert_eq!(t.consumed, input.peer.len()),
        Snap::Send(_) => unreachable!(),
    }
}

/// Layout: `u8(allowed bits, low 4 = Suite::ALL) || u8(id_len % 34) || id ||
/// lp16(secret, <= 300) || lp8(context) || nonce(32) || plan || peer`.
pub struct NativeClientInput {
    pub allowed: u8,
    pub key_id: Vec<u8>,
    pub secret: Vec<u8>,
    pub context: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    pub plan: Plan,
    pub peer: Vec<u8>,
}

impl NativeClientInput {
    pub fn decode(data: &[u8]) -> NativeClientInput {
        let mut r = Reader::new(data);
        NativeClientInput {
            allowed: r.u8() & 0x0f,
            key_id: key_id(&mut r),
            secret: r.lp16(300).to_vec(),
            context: r.lp8().to_vec(),
            nonce: r.array(),
            plan: Plan::decode(&mut r),
            peer: r.rest().to_vec(),
        }
    }
}

crate::raw_input!(NativeClientInput);

impl fmt::Debug for NativeClientInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeClientInput")
            .field("allowed", &format_args!("{:#06b}", self.allowed))
            .field("key_id", &Hex(&self.key_id))
            .field("secret", &Hex(&self.secret))
            .field("context", &Hex(&self.context))
            .field("nonce", &Hex(&self.nonce))
            .field("plan", &self.plan)
            .field("peer", &Hex(&self.peer))
            .finish()
    }
}

pub fn client(input: &NativeClientInput) {
    let Some(key) = native_key(&input.key_id, &input.secret) else {
        return;
    };
    let allowed = suite_set(input.allowed);
    let config = ClientConfig {
        allowed,
        context: &input.context,
    };
    let make = || ClientHandshake::native(&key, config, &input.nonce).expect("32-byte nonce");
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_CLIENT_PROOF_LEN);
    assert!(t.messages.len() <= 1);

    // The hello, if it is one this client must answer.
    let hello = input.peer.get(..SERVER_HELLO_LEN).filter(|h| {
        t.consumed >= SERVER_HELLO_LEN && {
            let suite = Suite::from_id(h[5]);
            h[..4] == MAGIC
                && h[4] == VERSION
                && suite.is_some_and(|s| allowed.contains(s))
                && h[6..] != input.nonce
        }
    });
    let Some(hello) = hello else {
        assert!(
            t.messages.is_empty(),
            "answered a ServerHello it must refuse"
        );
        assert!(!matches!(t.end, Snap::Done(_)));
        return;
    };
    let suite = Suite::from_id(hello[5]).expect("checked");
    let proof = t
        .messages
        .first()
        .expect("no ClientProof for a valid ServerHello");
    let id = key.id();
    let id = id.as_bytes();
    assert_eq!(proof.len(), 2 + id.len() + NONCE_LEN + suite.mac_len());
    assert_eq!(&proof[..2], &[2, id.len() as u8]);
    assert_eq!(&proof[2..2 + id.len()], id);
    assert_eq!(&proof[2 + id.len()..][..NONCE_LEN], &input.nonce);

    // The honest server with this key, suite and server nonce.
    let ring = [key.clone()];
    let sconfig = ServerConfig {
        suite,
        context: &input.context,
    };
    let mut server = ServerHandshake::native(&ring, sconfig, &hello[6..]).expect("valid");
    let bound = |i: usize| {
        if i == 0 {
            SERVER_HELLO_LEN
        } else {
            MAX_SERVER_FINISH_LEN
        }
    };
    let s = drive(&mut server, proof, &Plan::default(), &bound);
    assert_eq!(s.messages[0], hello, "honest ServerHello differs");
    assert!(
        matches!(s.end, Snap::Done(_)),
        "honest server refused our proof: {:?}",
        s.end
    );
    let finish = &s.messages[1];
    let got = &input.peer[SERVER_HELLO_LEN..t.consumed];

    match &t.end {
        Snap::Done(o) => {
            assert_eq!(
                got,
                &finish[..],
                "client accepted a ServerFinish the honest server would not send"
            );
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Confirmed);
            assert_eq!(o.digest, suite.digest());
            assert!(t.session.is_some(), "Done without a session");
            assert_eq!(t.session, s.session, "sessions differ");
        }
        Snap::Failed(_) => assert_ne!(got, &finish[..], "client refused the honest ServerFinish"),
        Snap::NeedInput => assert_eq!(t.consumed, input.peer.len()),
        Snap::Send(_) => unreachable!(),
    }
}
