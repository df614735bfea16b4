//! `native_server` and `native_client`: the oracle for "the machine accepted"
//! is an honest machine of the other role, built with the same key and the
//! nonces from the transcript, which must have sent exactly those bytes. In
//! the forward-secrecy mode a share is a free choice of the peer, so the
//! tags are also checked by an independent key holder ([`fs_peer`]): the
//! machine must accept exactly the messages whose tag verifies and whose
//! share is not of low order, and refuse those with a low-order share
//! (`ZeroSharedSecret`).

use std::fmt;

use hmac_handshake::native::{
    self, ForwardSecrecy, KeyId, KeyLookup, Keyring, NativeKey, Suite, MAGIC, MAX_CLIENT_PROOF_LEN,
    MAX_SERVER_FINISH_LEN, NONCE_LEN, RANDOM_LEN, SERVER_HELLO_LEN, SHARE_LEN, VERSION,
};
use hmac_handshake::{ClientHandshake, Confirmation, Error, Origin, Scheme, ServerHandshake};

use crate::drive::{check_machine, drive, Snap, Trace};
use crate::fs_peer::{self, KeyHolder};
use crate::reader::{Hex, Plan, Reader};

/// A forward-secrecy setting from a layout byte (`% 3`: off, offered,
/// required).
pub fn setting(b: u8) -> ForwardSecrecy {
    [
        ForwardSecrecy::Off,
        ForwardSecrecy::Offered,
        ForwardSecrecy::Required,
    ][usize::from(b % 3)]
}

/// The mode byte a server with `setting` announces (PROTOCOL.md).
pub fn mode(setting: ForwardSecrecy) -> u8 {
    match setting {
        ForwardSecrecy::Off => 0x00,
        ForwardSecrecy::Offered => 0x01,
        ForwardSecrecy::Required => 0x02,
    }
}

/// PROTOCOL.md "Forward secrecy": whether a client with `setting` answers
/// mode `m` (`None`: it must refuse the hello), and with a share.
pub fn client_share_for(setting: ForwardSecrecy, m: u8) -> Option<bool> {
    match (setting, m) {
        (_, 3..) | (ForwardSecrecy::Required, 0) | (ForwardSecrecy::Off, 2) => None,
        (ForwardSecrecy::Off, _) | (_, 0) => Some(false),
        _ => Some(true),
    }
}

/// A side's 64 pinned random bytes: the nonce, then the ephemeral secret.
pub fn random(nonce: &[u8; NONCE_LEN], ephemeral: &[u8; SHARE_LEN]) -> [u8; RANDOM_LEN] {
    let mut r = [0u8; RANDOM_LEN];
    r[..NONCE_LEN].copy_from_slice(nonce);
    r[NONCE_LEN..].copy_from_slice(ephemeral);
    r
}

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

fn hello_bytes(suite: Suite, mode: u8, nonce: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &[VERSION, suite.id(), mode], nonce].concat()
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
/// lp16(secret, <= 300)) || lp8(context) || lp8(server_name) || u8(fs) ||
/// nonce(32) || ephemeral(32) || client_ephemeral(32) || plan || peer`.
/// `server_name` is the server's own (0 to 255 bytes, the
/// honest client of the oracle expects the same). `fs % 3` is the
/// forward-secrecy setting (off, offered, required); `ephemeral` the
/// server's X25519 secret (the last 32 of its 64 random bytes);
/// `client_ephemeral` that of the oracle's honest client. `suite` indexes `Suite::ALL` modulo 4. `ring % 4` keys (0 = an empty
/// keyring, which must be refused); every key is of `suite`, except when
/// `ring` bit 7 is set: then key number `(ring >> 2 & 3) % keys` is of
/// `Suite::ALL[(suite + 1 + (ring >> 4 & 3) % 3) % 4]` (a ring that mixes
/// suites must be refused; a one-key ring just has that suite).
pub struct NativeServerInput {
    pub keyring: Vec<KeySpec>,
    pub context: Vec<u8>,
    pub server_name: Vec<u8>,
    pub setting: ForwardSecrecy,
    pub nonce: [u8; NONCE_LEN],
    pub ephemeral: [u8; SHARE_LEN],
    pub client_ephemeral: [u8; SHARE_LEN],
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
            setting: setting(r.u8()),
            nonce: r.array(),
            ephemeral: r.array(),
            client_ephemeral: r.array(),
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
            .field("forward_secrecy", &self.setting)
            .field("nonce", &Hex(&self.nonce))
            .field("ephemeral", &Hex(&self.ephemeral))
            .field("client_ephemeral", &Hex(&self.client_ephemeral))
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
        assert_eq!(
            stand_in_suite, suite,
            "the stand-in key is of another suite"
        );
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

/// A complete `ClientProof`: its key id, nonce and (type 04) share.
struct Proof<'a> {
    id: &'a [u8],
    nonce: &'a [u8; NONCE_LEN],
    share: Option<&'a [u8; SHARE_LEN]>,
}

/// Parses `02 || lp8(id) || nonce(32) || tag` or `04 || lp8(id) ||
/// nonce(32) || share(32) || tag`, exactly that long.
fn parse_proof(p: &[u8], mac_len: usize) -> Option<Proof<'_>> {
    let id_len = usize::from(*p.get(1)?);
    let share_len = match p[0] {
        2 => 0,
        4 => SHARE_LEN,
        _ => return None,
    };
    if !(1..=32).contains(&id_len) || p.len() != 2 + id_len + NONCE_LEN + share_len + mac_len {
        return None;
    }
    let at = 2 + id_len;
    Some(Proof {
        id: &p[2..at],
        nonce: p[at..at + NONCE_LEN].try_into().expect("32 bytes"),
        share: (share_len > 0).then(|| {
            p[at + NONCE_LEN..at + NONCE_LEN + SHARE_LEN]
                .try_into()
                .expect("32 bytes")
        }),
    })
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

    let base = native::Config::new(&input.context)
        .with_server_name(&input.server_name)
        .expect("an lp8 field is at most 255 bytes");
    let config = base.with_forward_secrecy(input.setting);
    assert_eq!(config.forward_secrecy(), input.setting);
    let server_random = random(&input.nonce, &input.ephemeral);
    let make = || ServerHandshake::with_pinned_random(&ring, config, &server_random);
    let t = check_machine(make, &input.peer, &input.plan, &server_bound);
    if input.keyring.len() == 1 {
        // One NativeKey is a keyring of one key: the same machine.
        let (s, id, secret) = &input.keyring[0];
        let single = NativeKey::new(id, secret, *s).expect("built above");
        let make = || ServerHandshake::with_pinned_random(&single, config, &server_random);
        let t1 = check_machine(make, &input.peer, &input.plan, &server_bound);
        assert_eq!(t1, t, "a one-key Keyring and its NativeKey differ");
    }
    let m = mode(input.setting);
    let hello = hello_bytes(suite, m, &input.nonce);
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

    let parsed = parse_proof(proof, l);
    let secret_of = |id: &[u8]| {
        input
            .keyring
            .iter()
            .find(|(_, i, _)| i == id)
            .map(|(_, _, secret)| secret.clone())
    };
    // Independently of the machines: the proof is complete, of a type the
    // mode takes, names a key on the ring, carries another nonce than ours,
    // and its tag is what a holder of that key computes over it.
    let holder = |secret: &[u8]| KeyHolder::new(suite, secret, &input.context, &input.server_name);
    let valid = parsed.as_ref().is_some_and(|p| {
        let type_ok = match p.share {
            None => m != 2,
            Some(_) => m != 0,
        };
        type_ok
            && p.nonce != &input.nonce
            && secret_of(p.id).is_some_and(|secret| {
                holder(&secret).client_proof(&hello, p.id, p.nonce, p.share) == proof
            })
    });
    let low_order = parsed
        .as_ref()
        .and_then(|p| p.share)
        .is_some_and(|share| fs_peer::low_order_shares().iter().any(|(_, b)| b == share));

    // What an honest client, with the key the proof names (for every suite,
    // as a client that accepts them all), with the proof's nonce and the
    // layout's client ephemeral, sends when it sends this proof type.
    let honest = parsed.as_ref().and_then(|p| {
        let secret = secret_of(p.id)?;
        let keys = Suite::ALL.map(|s| NativeKey::new(p.id, &secret, s).expect("valid"));
        let fs = if p.share.is_some() {
            ForwardSecrecy::Required
        } else {
            ForwardSecrecy::Off
        };
        let client_random = random(p.nonce, &input.client_ephemeral);
        let client = ClientHandshake::with_pinned_random(
            &keys,
            base.with_forward_secrecy(fs),
            &client_random,
        );
        let mut server_bytes = hello.clone();
        if let Some(finish) = t.messages.get(1) {
            server_bytes.extend_from_slice(finish);
        }
        Some(run_client(client, &server_bytes))
    });
    let honest_proof = honest.as_ref().and_then(|c| c.messages.first());

    match &t.end {
        Snap::Done(o) => {
            assert!(
                valid,
                "server accepted a ClientProof whose tag does not verify"
            );
            assert!(!low_order, "server accepted a low-order client share");
            let p = parsed.as_ref().expect("valid");
            assert_eq!(t.messages.len(), 2);
            let finish = &t.messages[1];
            assert_eq!(&finish[..2], &[3, 0]);
            let share_len = if p.share.is_some() { SHARE_LEN } else { 0 };
            assert_eq!(finish.len(), 2 + share_len + l);
            let server_share: Option<&[u8; SHARE_LEN]> = p
                .share
                .map(|_| finish[2..2 + SHARE_LEN].try_into().expect("32 bytes"));
            let secret = secret_of(p.id).expect("valid");
            assert_eq!(
                &holder(&secret).server_finish(&hello, proof, server_share),
                finish,
                "ServerFinish: not the key holder's tag"
            );
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Unknown);
            assert_eq!(
                o.scheme,
                Scheme::Native {
                    suite,
                    key_id: KeyId::new(p.id).expect("valid id")
                }
            );
            let ours = t.session.as_ref().expect("Done without a session");
            assert_eq!(ours.suite, suite);
            assert_eq!(ours.forward_secrecy, p.share.is_some());
            if p.share.is_none() {
                // Without a share the honest proof is the only valid one.
                assert_eq!(
                    honest_proof.map(Vec::as_slice),
                    Some(proof),
                    "server accepted a ClientProof an honest client would not send"
                );
            }
            if honest_proof.map(Vec::as_slice) == Some(proof) {
                let c = honest.as_ref().expect("honest proof");
                assert!(
                    matches!(c.end, Snap::Done(_)),
                    "honest client refused our ServerFinish: {:?}",
                    c.end
                );
                assert_eq!(Some(ours), c.session.as_ref(), "sessions differ");
            }
        }
        Snap::Failed(e) => {
            assert_eq!(t.messages.len(), 2, "failed without a reject");
            assert_eq!(t.messages[1], [3, 1], "failed but did not send a reject");
            assert!(
                !valid || (low_order && *e == Error::ZeroSharedSecret),
                "server rejected a valid proof with {e:?}"
            );
            if *e == Error::ZeroSharedSecret {
                assert!(valid && low_order, "zero_shared_secret for {proof:02x?}");
            }
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
/// lp16(secret, <= 300) || lp8(context) || lp8(server_name) || u8(fs) ||
/// nonce(32) || ephemeral(32) || server_ephemeral(32) || plan || peer`.
/// `server_name` is the name the client expects (0 to 255 bytes; the
/// oracle's honest server has the same). `fs % 3` is the forward-secrecy
/// setting (off, offered, required), `ephemeral` the client's X25519 secret,
/// `server_ephemeral` that of the oracle's honest server. The client holds
/// one `NativeKey` (same id and secret) per allowed suite, in `Suite::ALL`
/// order; none for `allowed == 0`.
pub struct NativeClientInput {
    pub allowed: u8,
    pub key_id: Vec<u8>,
    pub secret: Vec<u8>,
    pub context: Vec<u8>,
    pub server_name: Vec<u8>,
    pub setting: ForwardSecrecy,
    pub nonce: [u8; NONCE_LEN],
    pub ephemeral: [u8; SHARE_LEN],
    pub server_ephemeral: [u8; SHARE_LEN],
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
            setting: setting(r.u8()),
            nonce: r.array(),
            ephemeral: r.array(),
            server_ephemeral: r.array(),
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
            .field("forward_secrecy", &self.setting)
            .field("nonce", &Hex(&self.nonce))
            .field("ephemeral", &Hex(&self.ephemeral))
            .field("server_ephemeral", &Hex(&self.server_ephemeral))
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
    let base = native::Config::new(&input.context)
        .with_server_name(&input.server_name)
        .expect("an lp8 field is at most 255 bytes");
    let config = base.with_forward_secrecy(input.setting);
    let client_random = random(&input.nonce, &input.ephemeral);
    let make = || ClientHandshake::with_pinned_random(keys.as_slice(), config, &client_random);
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

    // The hello, if it is one this client must answer, and whether it
    // answers with a share.
    let answer = input.peer.get(..SERVER_HELLO_LEN).and_then(|h| {
        let suite = Suite::from_id(h[5]);
        let share = client_share_for(input.setting, h[6])?;
        (t.consumed >= SERVER_HELLO_LEN
            && h[..4] == MAGIC
            && h[4] == VERSION
            && suite.is_some_and(|s| allowed.contains(&s))
            && h[7..] != input.nonce)
            .then_some((h, share))
    });
    let Some((hello, share)) = answer else {
        assert!(
            t.messages.is_empty(),
            "answered a ServerHello it must refuse"
        );
        assert!(!done);
        return;
    };
    let suite = Suite::from_id(hello[5]).expect("checked");
    let l = suite.mac_len();
    let proof = t
        .messages
        .first()
        .expect("no ClientProof for a valid ServerHello");
    let id = input.key_id.as_slice();
    let share_len = if share { SHARE_LEN } else { 0 };
    assert_eq!(proof.len(), 2 + id.len() + NONCE_LEN + share_len + l);
    let kind = if share { 4 } else { 2 };
    assert_eq!(&proof[..2], &[kind, id.len() as u8]);
    assert_eq!(&proof[2..2 + id.len()], id);
    assert_eq!(&proof[2 + id.len()..][..NONCE_LEN], &input.nonce);

    // The honest server with this key, suite, server nonce and the setting
    // that announces the hello's mode, with the layout's server ephemeral.
    let key = NativeKey::new(id, &input.secret, suite).expect("checked");
    let nonce: [u8; NONCE_LEN] = hello[7..].try_into().expect("32 bytes");
    let server_setting = setting(hello[6]);
    assert_eq!(mode(server_setting), hello[6]);
    let server_config = base.with_forward_secrecy(server_setting);
    let server_random = random(&nonce, &input.server_ephemeral);
    let server = ServerHandshake::with_pinned_random(&key, server_config, &server_random);
    let s = drive(server, proof, &Plan::default(), &server_bound);
    assert_eq!(s.messages[0], hello, "honest ServerHello differs");
    assert!(
        matches!(s.end, Snap::Done(_)),
        "honest server refused our proof: {:?}",
        s.end
    );
    let finish = &s.messages[1];
    let got = &input.peer[SERVER_HELLO_LEN..t.consumed];
    // Independently of the machines: a complete accepting ServerFinish
    // whose tag a holder of the key computes over the share it carries.
    let holder = KeyHolder::new(suite, &input.secret, &input.context, &input.server_name);
    let got_share: Option<&[u8; SHARE_LEN]> = (share && got.len() >= 2 + SHARE_LEN)
        .then(|| got[2..2 + SHARE_LEN].try_into().expect("32 bytes"));
    let valid =
        got.len() == 2 + share_len + l && holder.server_finish(hello, proof, got_share) == got;
    let low_order =
        got_share.is_some_and(|share| fs_peer::low_order_shares().iter().any(|(_, b)| b == share));

    match &t.end {
        Snap::Done(o) => {
            assert!(
                valid,
                "client accepted a ServerFinish whose tag does not verify"
            );
            assert!(!low_order, "client accepted a low-order server share");
            if !share {
                assert_eq!(
                    got,
                    &finish[..],
                    "client accepted a ServerFinish the honest server would not send"
                );
            }
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Confirmed);
            assert_eq!(
                o.scheme,
                Scheme::Native {
                    suite,
                    key_id: key.id()
                }
            );
            let ours = t.session.as_ref().expect("Done without a session");
            assert_eq!(ours.forward_secrecy, share);
            if got == &finish[..] {
                assert_eq!(t.session, s.session, "sessions differ");
            }
        }
        Snap::Failed(e) => {
            assert_ne!(got, &finish[..], "client refused the honest ServerFinish");
            assert!(
                !valid || (low_order && *e == Error::ZeroSharedSecret),
                "client refused a valid ServerFinish with {e:?}"
            );
            if *e == Error::ZeroSharedSecret {
                assert!(valid && low_order, "zero_shared_secret for {got:02x?}");
            }
        }
        Snap::NeedInput => assert_eq!(t.consumed, input.peer.len()),
        Snap::Send(_) => unreachable!(),
    }
}
