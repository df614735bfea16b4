//! `pair`: an honest server and client of one profile talk through two
//! in-memory pipes with fuzzer-chosen chunking and application bytes
//! pipelined behind each side's last handshake message. They must both
//! finish (the server authenticating the client, and for multiprocessing
//! and native the client the server) and hand the application bytes over
//! untouched. Then the same exchange with one handshake byte changed in
//! flight must not let both sides succeed (for the recipe, whose client
//! learns nothing, the server must fail).

use std::fmt;

use hmac_handshake::multiprocessing::Config as MpConfig;
use hmac_handshake::native::{
    ClientConfig, NativeKey, ServerConfig, Suite, MAX_CLIENT_PROOF_LEN, MAX_SERVER_FINISH_LEN,
    NONCE_LEN,
};
use hmac_handshake::{
    recipe, ClientHandshake, Confirmation, Digest, Error, Handshake, Key, Profile, ServerHandshake,
};

use crate::drive::{SessionSnap, Snap, Sticky};
use crate::native::suite_set;
use crate::reader::{Hex, Plan, Reader, Sizes};
use crate::reference::MP_DIGESTS;

/// Layout: `u8(profile) || c(4) || lp16(key, <= 300) || lp8(key_id) ||
/// lp8(context) || server_random(40) || client_random(40) || plan(s2c) ||
/// plan(c2s) || u16(tamper_index) || u8(tamper_mask) || lp8(app_c2s) ||
/// app_s2c (the rest)`.
///
/// `profile % 3`: 0 recipe, 1 multiprocessing, 2 native. `c` are profile
/// choices: recipe `c[0]` = digest; multiprocessing `c[0]`/`c[2]` = server /
/// client challenge digest, `c[1]`/`c[3]` bit 1 = server / client legacy
/// challenge, `c[1]` bit 2 = allow MD5 anyway (it is on whenever either
/// challenge needs it); native `c[0]` = suite, `c[1]` = client's allowed
/// suites (the server's is added), `c[2] % 3` = decoy keys on the ring,
/// `c[3]` = the client key's place among them. The `s2c` plan's writes are
/// the server's write sizes and its chunks the client's receive sizes; `c2s`
/// the other way (pokes unused). Native keys shorter than 16 bytes are
/// zero-padded to 16 and an empty key id becomes `k`.
pub struct PairInput {
    pub profile: u8,
    pub c: [u8; 4],
    pub key: Vec<u8>,
    pub key_id: Vec<u8>,
    pub context: Vec<u8>,
    pub server_random: [u8; 40],
    pub client_random: [u8; 40],
    pub s2c: Plan,
    pub c2s: Plan,
    pub tamper_index: u16,
    pub tamper_mask: u8,
    pub app_c2s: Vec<u8>,
    pub app_s2c: Vec<u8>,
}

impl PairInput {
    pub fn decode(data: &[u8]) -> PairInput {
        let mut r = Reader::new(data);
        PairInput {
            profile: r.u8() % 3,
            c: r.array(),
            key: r.lp16(300).to_vec(),
            key_id: r.lp8().to_vec(),
            context: r.lp8().to_vec(),
            server_random: r.array(),
            client_random: r.array(),
            s2c: Plan::decode(&mut r),
            c2s: Plan::decode(&mut r),
            tamper_index: r.u16(),
            tamper_mask: r.u8(),
            app_c2s: r.lp8().to_vec(),
            app_s2c: r.rest().to_vec(),
        }
    }

    fn mask(&self) -> u8 {
        if self.tamper_mask == 0 {
            1
        } else {
            self.tamper_mask
        }
    }
}

crate::raw_input!(PairInput);

impl fmt::Debug for PairInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairInput")
            .field(
                "profile",
                &["recipe", "multiprocessing", "native"][usize::from(self.profile)],
            )
            .field("c", &self.c)
            .field("key", &Hex(&self.key))
            .field("key_id", &Hex(&self.key_id))
            .field("context", &Hex(&self.context))
            .field("server_random", &Hex(&self.server_random))
            .field("client_random", &Hex(&self.client_random))
            .field("s2c", &self.s2c)
            .field("c2s", &self.c2s)
            .field("tamper_index", &self.tamper_index)
            .field("tamper_mask", &self.tamper_mask)
            .field("app_c2s", &Hex(&self.app_c2s))
            .field("app_s2c", &Hex(&self.app_s2c))
            .finish()
    }
}

/// One end of the connection.
struct End<'p> {
    sticky: Sticky,
    inbox: Vec<u8>,
    chunks: Sizes<'p>,
    writes: Sizes<'p>,
    consumed: usize,
    written: usize,
    cap: usize,
}

impl<'p> End<'p> {
    fn new(receive: &'p Plan, send: &'p Plan, cap: usize) -> End<'p> {
        End {
            sticky: Sticky::default(),
            inbox: Vec::new(),
            chunks: Sizes::new(&receive.chunks),
            writes: Sizes::new(&send.writes),
            consumed: 0,
            written: 0,
            cap,
        }
    }
}

/// Moves `m`'s pending output into `to`, xoring byte number `tamper.0` of
/// the whole handshake (both directions, in order) with `tamper.1`.
fn pump(
    m: &mut dyn Handshake,
    end: &mut End<'_>,
    to: &mut Vec<u8>,
    hs: &mut usize,
    tamper: Option<(usize, u8)>,
) -> bool {
    let mut progress = false;
    let mut buf = [0u8; 512];
    loop {
        let Snap::Send(p) = end.sticky.check(m, "a write") else {
            return progress;
        };
        assert!(!p.is_empty(), "Status::Send with an empty slice");
        assert!(
            p.len() <= end.cap,
            "a {}-byte message, over {}",
            p.len(),
            end.cap
        );
        let w = end.writes.next(|| ()).unwrap_or(buf.len()).min(buf.len());
        let n = m.write_output(&mut buf[..w]);
        assert_eq!(n, w.min(p.len()));
        for &b in &buf[..n] {
            to.push(match tamper {
                Some((i, mask)) if i == *hs => b ^ mask,
                _ => b,
            });
            *hs += 1;
        }
        end.written += n;
        progress = true;
    }
}

/// Offers `m` the front of its inbox, by its chunk plan.
fn deliver(m: &mut dyn Handshake, end: &mut End<'_>) -> bool {
    if end.sticky.check(m, "a receive") != Snap::NeedInput || end.inbox.is_empty() {
        return false;
    }
    let c = end
        .chunks
        .next(|| ())
        .unwrap_or(usize::MAX)
        .min(end.inbox.len());
    let n = m.receive(&end.inbox[..c]);
    assert!(n <= c, "receive took {n} of {c}");
    let after = end.sticky.check(m, "a receive");
    assert!(
        n > 0 || after != Snap::NeedInput,
        "stall: NeedInput, offered {c} bytes, took none"
    );
    end.inbox.drain(..n);
    end.consumed += n;
    true
}

fn finished(m: &mut dyn Handshake, end: &End<'_>, snap: &Snap) {
    if let Snap::Done(o) = snap {
        assert_eq!(
            o.consumed, end.consumed,
            "Outcome::consumed is not what receive took"
        );
        assert_eq!(
            m.receive(&end.inbox),
            0,
            "a Done machine consumed application bytes"
        );
    }
    assert!(
        !matches!(snap, Snap::Send(_)),
        "stopped with output pending"
    );
}

/// The end state of one exchange.
#[derive(Debug)]
struct Exchange {
    server: Snap,
    client: Snap,
    /// Bytes left unconsumed in each side's inbox.
    server_left: Vec<u8>,
    client_left: Vec<u8>,
    server_consumed: usize,
    client_consumed: usize,
    handshake_bytes: usize,
    server_session: Option<SessionSnap>,
    client_session: Option<SessionSnap>,
}

fn exchange(
    server: &mut dyn Handshake,
    client: &mut dyn Handshake,
    input: &PairInput,
    caps: (usize, usize),
    tamper: Option<(usize, u8)>,
) -> Exchange {
    let native = input.profile == 2;
    let mut s = End::new(&input.c2s, &input.s2c, caps.0);
    let mut c = End::new(&input.s2c, &input.c2s, caps.1);
    let mut hs = 0usize;
    let (mut app_c2s_sent, mut app_s2c_sent) = (false, false);
    for _ in 0..100_000 {
        let mut progress = pump(server, &mut s, &mut c.inbox, &mut hs, tamper);
        progress |= pump(client, &mut c, &mut s.inbox, &mut hs, tamper);
        // Application bytes right behind each side's last handshake message:
        // the server's is its last once it is Done; the native client may
        // send right after its ClientProof.
        if !app_s2c_sent && matches!(Snap::of(server), Snap::Done(_)) {
            c.inbox.extend_from_slice(&input.app_s2c);
            app_s2c_sent = true;
            progress = true;
        }
        let cs = Snap::of(client);
        if !app_c2s_sent
            && (matches!(cs, Snap::Done(_)) || (native && c.written > 0 && cs == Snap::NeedInput))
        {
            s.inbox.extend_from_slice(&input.app_c2s);
            app_c2s_sent = true;
            progress = true;
        }
        progress |= deliver(client, &mut c);
        progress |= deliver(server, &mut s);
        if !progress {
            break;
        }
    }
    let server_end = s.sticky.check(server, "the end");
    let client_end = c.sticky.check(client, "the end");
    finished(server, &s, &server_end);
    finished(client, &c, &client_end);
    Exchange {
        server_session: server.session().map(SessionSnap::of),
        client_session: client.session().map(SessionSnap::of),
        server: server_end,
        client: client_end,
        server_left: s.inbox,
        client_left: c.inbox,
        server_consumed: s.consumed,
        client_consumed: c.consumed,
        handshake_bytes: hs,
    }
}

/// The honest run (checked here for what every profile shares) and the
/// tampered one.
fn run_both<S: Handshake, C: Handshake>(
    input: &PairInput,
    caps: (usize, usize),
    make: impl Fn() -> (S, C),
) -> (Exchange, Exchange) {
    let (mut s, mut c) = make();
    let honest = exchange(&mut s, &mut c, input, caps, None);
    if std::env::var_os("HH_FUZZ_DEBUG").is_some() {
        eprintln!("honest: {honest:?}");
    }
    let Snap::Done(so) = honest.server else {
        panic!("honest server did not finish: {:?}", honest.server);
    };
    let Snap::Done(co) = honest.client else {
        panic!("honest client did not finish: {:?}", honest.client);
    };
    assert!(
        so.peer_authenticated,
        "honest server did not authenticate the client"
    );
    assert_eq!(so.consumed, honest.server_consumed);
    assert_eq!(co.consumed, honest.client_consumed);
    assert_eq!(
        honest.server_left, input.app_c2s,
        "client's application bytes were not left intact"
    );
    assert_eq!(
        honest.client_left, input.app_s2c,
        "server's application bytes were not left intact"
    );
    assert!(honest.handshake_bytes > 0);

    let at = usize::from(input.tamper_index) % honest.handshake_bytes;
    let (mut s, mut c) = make();
    let tampered = exchange(&mut s, &mut c, input, caps, Some((at, input.mask())));
    if std::env::var_os("HH_FUZZ_DEBUG").is_some() {
        eprintln!("tampered byte {at} ^ {:#04x}: {tampered:?}", input.mask());
    }
    (honest, tampered)
}

fn both_done(x: &Exchange) -> bool {
    matches!((&x.server, &x.client), (Snap::Done(_), Snap::Done(_)))
}

pub fn run(input: &PairInput) {
    match input.profile {
        0 => run_recipe(input),
        1 => run_mp(input),
        _ => run_native(input),
    }
}

fn run_recipe(input: &PairInput) {
    let digest = Digest::ALL[usize::from(input.c[0]) % Digest::ALL.len()];
    let key = Key::new(&input.key);
    let profile = Profile::Recipe(recipe::Config { digest });
    let random = &input.server_random[..recipe::CHALLENGE_LEN];
    let make = || {
        (
            ServerHandshake::new(&key, profile, random).expect("valid"),
            ClientHandshake::new(&key, profile, &[]).expect("valid"),
        )
    };
    let cap = crate::recipe::MAX_MESSAGE;
    let (honest, tampered) = run_both(input, (cap, cap), make);
    let (so, co) = (
        honest.server.outcome().unwrap(),
        honest.client.outcome().unwrap(),
    );
    assert_eq!((so.digest, co.digest), (digest, digest));
    assert!(!co.peer_authenticated);
    assert_eq!(co.confirmation, Confirmation::Unknown);
    assert_eq!(
        tampered.server,
        Snap::Failed(Error::BadTag),
        "recipe server accepted a changed challenge or reply"
    );
}

fn run_mp(input: &PairInput) {
    let c = input.c;
    let (s_legacy, c_legacy) = (c[1] & 1 != 0, c[3] & 1 != 0);
    let (sd, cd) = (
        MP_DIGESTS[usize::from(c[0]) % 5],
        MP_DIGESTS[usize::from(c[2]) % 5],
    );
    let allow_md5 = s_legacy || c_legacy || sd == Digest::Md5 || cd == Digest::Md5 || c[1] & 2 != 0;
    let scfg = MpConfig {
        digest: sd,
        legacy_challenge: s_legacy,
        allow_md5,
    };
    let ccfg = MpConfig {
        digest: cd,
        legacy_challenge: c_legacy,
        allow_md5,
    };
    let key = Key::new(&input.key);
    let srandom = &input.server_random[..scfg.random_len()];
    let crandom = &input.client_random[..ccfg.random_len()];
    let make = || {
        (
            ServerHandshake::new(&key, Profile::Multiprocessing(scfg), srandom).expect("valid"),
            ClientHandshake::new(&key, Profile::Multiprocessing(ccfg), crandom).expect("valid"),
        )
    };
    let cap = crate::mp::MAX_FRAME;
    let (honest, tampered) = run_both(input, (cap, cap), make);
    let (so, co) = (
        honest.server.outcome().unwrap(),
        honest.client.outcome().unwrap(),
    );
    assert!(co.peer_authenticated);
    assert_eq!(
        (so.confirmation, co.confirmation),
        (Confirmation::Confirmed, Confirmation::Confirmed)
    );
    let expect = |legacy: bool, d: Digest| if legacy { Digest::Md5 } else { d };
    assert_eq!(so.digest, expect(s_legacy, sd));
    assert_eq!(co.digest, expect(c_legacy, cd));
    assert_eq!(so.legacy, s_legacy || c_legacy);
    assert_eq!(co.legacy, s_legacy || c_legacy);
    assert!(
        !both_done(&tampered),
        "both sides succeeded over a changed byte"
    );
}

fn run_native(input: &PairInput) {
    let suite = Suite::ALL[usize::from(input.c[0]) % 4];
    let allowed = suite_set(input.c[1]).with(suite);
    let decoys = usize::from(input.c[2] % 3);
    let place = usize::from(input.c[3]) % (decoys + 1);
    let mut secret = input.key.clone();
    if secret.len() < 16 {
        secret.resize(16, 0);
    }
    let mut id = input.key_id.clone();
    id.truncate(32);
    if id.is_empty() {
        id.push(b'k');
    }
    let key = NativeKey::new(&id, &secret).expect("valid id and secret");
    let mut ring = Vec::new();
    for i in 0..decoys {
        let mut did = id.clone();
        *did.last_mut().unwrap() ^= i as u8 + 1;
        let mut dsecret = secret.clone();
        dsecret.push(i as u8);
        ring.push(NativeKey::new(&did, &dsecret).expect("valid"));
    }
    ring.insert(place, key.clone());
    let snonce = &input.server_random[..NONCE_LEN];
    let mut cnonce = [0u8; NONCE_LEN];
    cnonce.copy_from_slice(&input.client_random[..NONCE_LEN]);
    if cnonce == snonce {
        cnonce[0] ^= 1;
    }
    let sconfig = ServerConfig {
        suite,
        context: &input.context,
    };
    let cconfig = ClientConfig {
        allowed,
        context: &input.context,
    };
    let make = || {
        (
            ServerHandshake::native(&ring, sconfig, snonce).expect("valid"),
            ClientHandshake::native(&key, cconfig, &cnonce).expect("valid"),
        )
    };
    let (honest, tampered) = run_both(input, (MAX_SERVER_FINISH_LEN, MAX_CLIENT_PROOF_LEN), make);
    let (so, co) = (
        honest.server.outcome().unwrap(),
        honest.client.outcome().unwrap(),
    );
    assert!(co.peer_authenticated);
    assert_eq!(co.confirmation, Confirmation::Confirmed);
    assert_eq!((so.digest, co.digest), (suite.digest(), suite.digest()));
    let session = honest.server_session.as_ref().expect("server session");
    assert_eq!(
        honest.client_session.as_ref(),
        Some(session),
        "sessions differ"
    );
    assert_eq!(session.key_id, id);
    assert_eq!(session.suite, suite);
    assert!(
        !both_done(&tampered),
        "both sides succeeded over a changed byte"
    );
}
