//! `native_server` and `native_client`: the oracle for "the machine accepted"
//! is an honest machine of the other role, built with the same key and the
//! nonces from the transcript, which must have sent exactly those bytes.

use std::fmt;

use hmac_handshake::native::{
    self, KeyId, KeyLookup, Keyring, NativeKey, Suite, MAGIC, MAX_CLIENT_PROOF_LEN,
    MAX_SERVER_FINISH_LEN, NONCE_LEN, SERVER_HELLO_LEN, VERSION,
};
use hmac_handshake::{ClientHandshake, Confirmation, Error, Origin, Scheme, ServerHandshake};

use crate::drive::{check_machine, drive, Snap, Trace};
use crate::reader::{Hex, Plan, Reader};

/// A key id of 0 to 33 bytes (so 0 and 33, both refused, occur too).
fn key_id(r: &mut Reader<'_>) -> Vec<u8> {
    let n = r.u8() % 34;
    r.bytes(usize::from(n)).to_vec()
}

/// `NativeKey::new`, asserting that a refusal names the right reason.
pub fn native_key(id: &[u8], secret: &[u8], suite: Suite) -> Option<NativeKey> {
    match NativeKey::new(id, secret, suite) {
        Ok(k) => {
            assert!((1..=32).contains(&id.len()) && secret.len() >= 16);
            assert_eq!(k.id().as_bytes(), id, "NativeKey::id");
            assert_eq!(k.suite(), suite, "NativeKey::suite");
            Some(k)
        }
        Err(Error::InvalidKeyId { len }) => {
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

/// The suites of an "allowed" bit set (bit `i` = `Suite::ALL[i]`).
pub fn suites(bits: u8) -> Vec<Suite> {
    Suite::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, s)| s)
        .collect()
}

fn hello_bytes(suite: Suite, nonce: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &[VERSION, suite.id()], nonce].concat()
}

/// Message bounds of the native server: `ServerHello`, then `ServerFinish`.
fn server_bound(i: usize) -> usize {
    if i == 0 {
        SERVER_HELLO_LEN
    } else {
        MAX_SERVER_FINISH_LEN
    }
}

/// One key of the server's input: its suite, id and secret.
pub type KeySpec = (Suite, Vec<u8>, Vec<u8>);

/// Layout: `u8(suite) || u8(ring) || keys * (u8(id_len % 34) || id ||
/// lp16(secret, <= 300)) || lp8(context) || lp8(server_name) || nonce(32) ||
/// plan || peer`. `server_name` is the server's own (0 to 255 bytes, the
/// honest client of the oracle expects the same). `suite` indexes `Suite::ALL` modulo 4. `ring % 4` keys (0 = an empty
/// keyring, which must be refused); every key is of `suite`, except when
/// `ring` bit 7 is set: then key number `(ring >> 2 & 3) % keys` is of
/// `Suite::ALL[(suite + 1 + (ring >> 4 & 3) % 3) % 4]` (a ring that mixes
/// suites must be refused; a one-key ring just has that suite).
pub struct NativeServerInput {
    pub keyring: Vec<KeySpec>,
    pub context: Vec<u8>,
    pub server_name: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    pub plan: Plan,
    pub peer: Vec<u8>,
}

impl NativeServerInput {
    pub fn decode(data: &[u8]) -> NativeServerInput {
        let mut r = Reader::new(data);
        let s = usize::from(r.u8()) % 4;
        let ring = r.u8();
        let n = usize::from(ring % 4);
        let odd = (ring & 0x80 != 0 && n > 0).then(|| {
            let which = usize::from(ring >> 2 & 3) % n;
            let other = Suite::ALL[(s + 1 + usize::from(ring >> 4 & 3) % 3) % 4];
            (which, other)
        });
        let keyring = (0..n)
            .map(|i| {
                let suite = match odd {
                    Some((which, other)) if which == i => other,
                    _ => Suite::ALL[s],
                };
                let id = key_id(&mut r);
                (suite, id, r.lp16(300).to_vec())
            })
            .collect();
        NativeServerInput {
            keyring,
            context: r.lp8().to_vec(),
            server_name: r.lp8().to_vec(),
            nonce: r.array(),
            plan: Plan::decode(&mut r),
            peer: r.rest().to_vec(),
        }
    }
}

crate::raw_input!(NativeServerInput);

impl fmt::Debug for NativeServerInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring: Vec<_> = self
            .keyring
            .iter()
            .map(|(s, i, k)| (s, Hex(i), Hex(k)))
            .collect();
        f.debug_struct("NativeServerInput")
            .field("keyring (suite, id, secret)", &ring)
            .field("context", &Hex(&self.context))
            .field("server_name", &Hex(&self.server_name))
            .field("nonce", &Hex(&self.nonce))
            .field("plan", &self.plan)
            .field("peer", &Hex(&self.peer))
            .finish()
    }
}

/// The errors `Keyring::new` may refuse `specs` with: none for a valid
/// ring; `EmptyKeyring` for no key; otherwise `SuiteMismatch` naming the
/// first key's suite and the first other suite, and `DuplicateKeyId`
/// naming the first id that appears a second time. A ring with both faults
/// may be refused for either (the docs give no order).
fn ring_refusals(specs: &[KeySpec]) -> Vec<Error> {
    let Some((first, _, _)) = specs.first() else {
        return vec![Error::EmptyKeyring];
    };
    let mut out = Vec::new();
    if let Some((got, _, _)) = specs.iter().find(|(s, _, _)| s != first) {
        out.push(Error::SuiteMismatch {
            expected: *first,
            got: *got,
        });
    }
    let dup = specs
        .iter()
        .enumerate()
        .find(|(i, (_, id, _))| specs[..*i].iter().any(|(_, other, _)| other == id));
    if let Some((_, (_, id, _))) = dup {
        out.push(Error::DuplicateKeyId(KeyId::new(id).expect("valid id")));
    }
    out
}

/// Checks a keyring built from `specs` through its public API: length,
/// suite, ids in order, `get` and `KeyLookup::lookup` of every id (known,
/// that key) and of `unknown` (not known, a stand-in of the ring's suite).
fn check_ring(ring: &Keyring, specs: &[KeySpec], unknown: Option<&[u8]>) {
    let suite = specs[0].0;
    assert_eq!(ring.len(), specs.len());
    assert!(!ring.is_empty());
    assert_eq!(ring.suite(), suite);
    assert_eq!(KeyLookup::suite(ring), suite);
    let ids: Vec<Vec<u8>> = ring.ids().map(|i| i.as_bytes().to_vec()).collect();
    let want: Vec<Vec<u8>> = specs.iter().map(|(_, i, _)| i.clone()).collect();
    assert_eq!(ids, want, "Keyring::ids");
    for (_, id, _) in specs {
        let kid = KeyId::new(id).expect("valid id");
        let (found, found_suite, known) = look_up(ring, &kid);
        assert!(known, "Keyring::lookup missed a key it holds");
        assert_eq!(found, kid, "Keyring::lookup found another key");
        assert_eq!(found_suite, suite);
        assert_eq!(ring.get(&kid).map(NativeKey::id), Some(kid), "Keyring::get");
    }
    if let Some(id) = unknown.filter(|id| !want.iter().any(|w| w == id)) {
        let kid = KeyId::new(id).expect("valid id");
        let (stand_in, stand_in_suite, known) = look_up(ring, &kid);
        assert!(!known, "Keyring::lookup knows an id it does not hold");
        assert_eq!(stand_in_suite, suite, "the stand-in key is of another suite");
        assert!(
            ring.get(&stand_in).is_some(),
            "the stand-in key is not a key of the ring"
        );
        assert!(ring.get(&kid).is_none(), "Keyring::get of an unknown id");
    }
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

/// Runs `client` (fresh) against `server_bytes`, everything at once.
fn run_client<K: native::ClientKeys>(client: ClientHandshake<K>, server_bytes: &[u8]) -> Trace {
    drive(client, server_bytes, &Plan::default(), &|_| {
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
    let mut keys = Vec::new();
    for (suite, id, secret) in &input.keyring {
        match native_key(id, secret, *suite) {
            Some(k) => keys.push(k),
            None => return,
        }
    }
    let refusals = ring_refusals(&input.keyring);
    let ring = match Keyring::new(keys) {
        Ok(ring) => {
            assert!(
                refusals.is_empty(),
                "Keyring::new accepted a ring it must refuse with {refusals:?}"
            );
            ring
        }
        Err(e) => {
            assert!(
                refusals.contains(&e),
                "Keyring::new refused with {e:?}, expected one of {refusals:?}"
            );
            assert_eq!(e.origin(), Origin::Caller);
            return;
        }
    };
    let suite = ring.suite();
    let l = suite.mac_len();
    // The key id the peer's bytes name, if they name one.
    let proof_id = input.peer.get(1).and_then(|&n| {
        let n = usize::from(n);
        (1..=32)
            .contains(&n)
            .then(|| input.peer.get(2..2 + n))
            .flatten()
    });
    check_ring(&ring, &input.keyring, proof_id);

    let config = native::Config::new(&input.context)
        .with_server_name(&input.server_name)
        .expect("an lp8 field is at most 255 bytes");
    let make = || ServerHandshake::with_pinned_random(&ring, config, &input.nonce);
    let t = check_machine(make, &input.peer, &input.plan, &server_bound);
    if input.keyring.len() == 1 {
        // One NativeKey is a keyring of one key: the same machine.
        let (s, id, secret) = &input.keyring[0];
        let single = NativeKey::new(id, secret, *s).expect("built above");
        let make = || ServerHandshake::with_pinned_random(&single, config, &input.nonce);
        let t1 = check_machine(make, &input.peer, &input.plan, &server_bound);
        assert_eq!(t1, t, "a one-key Keyring and its NativeKey differ");
    }
    let hello = hello_bytes(suite, &input.nonce);
    assert_eq!(t.messages[0], hello, "ServerHello");
    let proof = &input.peer[..t.consumed];
    let done = matches!(t.end, Snap::Done(_));
    // ServerFinish is the server's last message, and then it is done.
    assert_eq!(t.may_send_at, done.then_some(t.output.len()));
    assert_eq!(
        t.verified_at,
        done.then_some(t.consumed),
        "peer_verified() is not exactly \"the proof was accepted\""
    );

    // What an honest client, with the key the proof names (for every suite,
    // as a client that accepts them all), would have sent.
    let honest = parse_proof(proof, l).and_then(|(id, nonce)| {
        let (_, _, secret) = input.keyring.iter().find(|(_, i, _)| i == id)?;
        let keys = Suite::ALL.map(|s| NativeKey::new(id, secret, s).expect("valid"));
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("32 bytes");
        let client = ClientHandshake::with_pinned_random(&keys, config, &nonce);
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
            let (id, _) = parse_proof(proof, l).expect("parsed above");
            assert_eq!(
                o.scheme,
                Scheme::Native {
                    suite,
                    key_id: KeyId::new(id).expect("valid id")
                }
            );
            assert!(
                matches!(c.end, Snap::Done(_)),
                "honest client refused our ServerFinish: {:?}",
                c.end
            );
            let ours = t.session.as_ref().expect("Done without a session");
            assert_eq!(Some(ours), c.session.as_ref(), "sessions differ");
            assert_eq!(ours.suite, suite);
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
/// lp16(secret, <= 300) || lp8(context) || lp8(server_name) || nonce(32) ||
/// plan || peer`. `server_name` is the name the client expects (0 to 255
/// bytes; the oracle's honest server has the same). The client holds one `NativeKey` (same id and secret) per allowed suite,
/// in `Suite::ALL` order; none for `allowed == 0`.
pub struct NativeClientInput {
    pub allowed: u8,
    pub key_id: Vec<u8>,
    pub secret: Vec<u8>,
    pub context: Vec<u8>,
    pub server_name: Vec<u8>,
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
            server_name: r.lp8().to_vec(),
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
            .field("server_name", &Hex(&self.server_name))
            .field("nonce", &Hex(&self.nonce))
            .field("plan", &self.plan)
            .field("peer", &Hex(&self.peer))
            .finish()
    }
}

pub fn client(input: &NativeClientInput) {
    // The key is checked once, under the first suite: id and secret are
    // the same for every suite, and so is the refusal.
    if native_key(&input.key_id, &input.secret, Suite::HmacSha256).is_none() {
        return;
    }
    let allowed = suites(input.allowed);
    let keys: Vec<NativeKey> = allowed
        .iter()
        .map(|&s| native_key(&input.key_id, &input.secret, s).expect("checked"))
        .collect();
    let config = native::Config::new(&input.context)
        .with_server_name(&input.server_name)
        .expect("an lp8 field is at most 255 bytes");
    let make = || ClientHandshake::with_pinned_random(keys.as_slice(), config, &input.nonce);
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_CLIENT_PROOF_LEN);
    assert!(t.messages.len() <= 1);
    // ClientProof is the client's last message: application bytes may
    // follow it, before the server's verdict (PROTOCOL.md, client step 2).
    assert_eq!(
        t.may_send_at,
        (!t.messages.is_empty()).then_some(t.output.len()),
        "may_send_application_data() is not exactly \"ClientProof is out\""
    );
    let done = matches!(t.end, Snap::Done(_));
    assert_eq!(
        t.verified_at,
        done.then_some(t.consumed),
        "peer_verified() is not exactly \"ServerFinish verified\""
    );

    // The hello, if it is one this client must answer.
    let hello = input.peer.get(..SERVER_HELLO_LEN).filter(|h| {
        t.consumed >= SERVER_HELLO_LEN && {
            let suite = Suite::from_id(h[5]);
            h[..4] == MAGIC
                && h[4] == VERSION
                && suite.is_some_and(|s| allowed.contains(&s))
                && h[6..] != input.nonce
        }
    });
    let Some(hello) = hello else {
        assert!(
            t.messages.is_empty(),
            "answered a ServerHello it must refuse"
        );
        assert!(!done);
        return;
    };
    let suite = Suite::from_id(hello[5]).expect("checked");
    let proof = t
        .messages
        .first()
        .expect("no ClientProof for a valid ServerHello");
    let id = input.key_id.as_slice();
    assert_eq!(proof.len(), 2 + id.len() + NONCE_LEN + suite.mac_len());
    assert_eq!(&proof[..2], &[2, id.len() as u8]);
    assert_eq!(&proof[2..2 + id.len()], id);
    assert_eq!(&proof[2 + id.len()..][..NONCE_LEN], &input.nonce);

    // The honest server with this key, suite and server nonce.
    let key = NativeKey::new(id, &input.secret, suite).expect("checked");
    let nonce: [u8; NONCE_LEN] = hello[6..].try_into().expect("32 bytes");
    let server = ServerHandshake::with_pinned_random(&key, config, &nonce);
    let s = drive(server, proof, &Plan::default(), &server_bound);
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
            assert_eq!(
                o.scheme,
                Scheme::Native {
                    suite,
                    key_id: key.id()
                }
            );
            assert!(t.session.is_some(), "Done without a session");
            assert_eq!(t.session, s.session, "sessions differ");
        }
        Snap::Failed(_) => assert_ne!(got, &finish[..], "client refused the honest ServerFinish"),
        Snap::NeedInput => assert_eq!(t.consumed, input.peer.len()),
        Snap::Send(_) => unreachable!(),
    }
}
