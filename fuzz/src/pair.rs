//! `pair`: an honest server and client of one profile talk through two
//! in-memory pipes with fuzzer-chosen chunking and application bytes
//! pipelined behind each side's last handshake message (as soon as
//! `may_send_application_data()` says so). They must both
//! finish (the server authenticating the client, and for multiprocessing
//! and native the client the server) and hand the application bytes over
//! untouched. Then the same exchange with one handshake byte changed in
//! flight must not let both sides succeed (for the recipe, whose client
//! learns nothing, the server must fail). Native forward-secrecy settings
//! that cannot meet (one side requires the mode, the other has it off)
//! must instead fail with `ForwardSecrecyRequired` at the client, which
//! then sends nothing.

use std::fmt;

use hmac_handshake::multiprocessing::Config as MpConfig;
use hmac_handshake::native::{
    self, ForwardSecrecy, KeyId, Keyring, NativeKey, Suite, MAX_CLIENT_PROOF_LEN,
    MAX_SERVER_FINISH_LEN, NONCE_LEN, SERVER_HELLO_LEN, SHARE_LEN,
};
use hmac_handshake::{
    recipe, ClientHandshake, Confirmation, Digest, Error, Handshake, Key, Scheme, ServerHandshake,
};

use crate::drive::{check_finished, SessionSnap, Snap, Sticky};
use crate::native::suites;
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
/// challenge needs it); native `c[0]` = the server ring's suite, `c[1]` =
/// the client's allowed suites (the server's is added; the client holds one
/// `NativeKey` per allowed suite, same id and secret), `(c[2] & 15) % 3` =
/// decoy keys on the `Keyring`, `(c[2] >> 4 & 3) % 3` and `(c[2] >> 6) % 3`
/// = the server's and the client's forward-secrecy settings (off, offered,
/// required; all nine pairs, the two that cannot meet included),
/// `c[3]` = the client key's place among the decoys. A native
/// side's 64 random bytes are the first 32 of its random (the nonce), then
/// its last 32 (the ephemeral secret). The
/// `s2c` plan's writes are the server's write sizes and its chunks the
/// client's receive sizes; `c2s` the other way (pokes unused). Native keys shorter than 16 bytes are
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

    fn check<M: Handshake>(&mut self, m: &M, what: &str) -> Snap {
        self.sticky.check(m, what, self.written, self.consumed)
    }
}

/// Moves `m`'s pending output into `to`, xoring byte number `tamper.0` of
/// the whole handshake (both directions, in order) with `tamper.1`.
fn pump<M: Handshake>(
    m: &mut M,
    end: &mut End<'_>,
    to: &mut Vec<u8>,
    hs: &mut usize,
    tamper: Option<(usize, u8)>,
) -> bool {
    let mut progress = false;
    let mut buf = [0u8; 512];
    loop {
        let Snap::Send(p) = end.check(m, "a write") else {
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
fn deliver<M: Handshake>(m: &mut M, end: &mut End<'_>) -> bool {
    if end.check(m, "a receive") != Snap::NeedInput || end.inbox.is_empty() {
        return false;
    }
    let c = end
        .chunks
        .next(|| ())
        .unwrap_or(usize::MAX)
        .min(end.inbox.len());
    let n = m.receive(&end.inbox[..c]);
    assert!(n <= c, "receive took {n} of {c}");
    end.inbox.drain(..n);
    end.consumed += n;
    end.check(m, "a receive");
    assert!(n > 0, "stall: NeedInput, offered {c} bytes, took none");
    true
}

/// The end checks of one side, then `finish()` (which must agree with the
/// last status); returns the session it handed over.
fn finished<M: Handshake>(mut m: M, end: &mut End<'_>) -> (Snap, Option<SessionSnap>) {
    let snap = end.check(&m, "the end");
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
    let session = check_finished(&snap, m.finish());
    (snap, session)
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
    /// Handshake bytes each side wrote in all.
    server_written: usize,
    client_written: usize,
    /// Handshake bytes each side had written when it might first send
    /// application data (and so when its application bytes were queued),
    /// and whether that was before it was done.
    server_app_at: Option<(usize, bool)>,
    client_app_at: Option<(usize, bool)>,
    /// The sessions `finish()` handed over.
    server_session: Option<SessionSnap>,
    client_session: Option<SessionSnap>,
}

fn exchange<S: Handshake, C: Handshake>(
    mut server: S,
    mut client: C,
    input: &PairInput,
    caps: (usize, usize),
    tamper: Option<(usize, u8)>,
) -> Exchange {
    let mut s = End::new(&input.c2s, &input.s2c, caps.0);
    let mut c = End::new(&input.s2c, &input.c2s, caps.1);
    let mut hs = 0usize;
    let (mut server_app_at, mut client_app_at) = (None, None);
    for _ in 0..100_000 {
        let mut progress = pump(&mut server, &mut s, &mut c.inbox, &mut hs, tamper);
        progress |= pump(&mut client, &mut c, &mut s.inbox, &mut hs, tamper);
        // Application bytes right behind each side's last handshake
        // message, as soon as the machine says they may follow: the
        // recipe server's challenge, the Listener's answer, the native
        // client's ClientProof, or the last message before Done.
        if server_app_at.is_none() && server.may_send_application_data() {
            c.inbox.extend_from_slice(&input.app_s2c);
            server_app_at = Some((s.written, server.outcome().is_none()));
            progress = true;
        }
        if client_app_at.is_none() && client.may_send_application_data() {
            s.inbox.extend_from_slice(&input.app_c2s);
            client_app_at = Some((c.written, client.outcome().is_none()));
            progress = true;
        }
        progress |= deliver(&mut client, &mut c);
        progress |= deliver(&mut server, &mut s);
        if !progress {
            break;
        }
    }
    let (server_end, server_session) = finished(server, &mut s);
    let (client_end, client_session) = finished(client, &mut c);
    Exchange {
        server: server_end,
        client: client_end,
        server_left: s.inbox,
        client_left: c.inbox,
        server_consumed: s.consumed,
        client_consumed: c.consumed,
        handshake_bytes: hs,
        server_written: s.written,
        client_written: c.written,
        server_app_at,
        client_app_at,
        server_session,
        client_session,
    }
}

/// The honest run (checked here for what every profile shares) and the
/// tampered one.
fn run_both<S: Handshake, C: Handshake>(
    input: &PairInput,
    caps: (usize, usize),
    make: impl Fn() -> (S, C),
) -> (Exchange, Exchange) {
    let (s, c) = make();
    let honest = exchange(s, c, input, caps, None);
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
    assert_eq!(so.scheme.profile(), co.scheme.profile());
    assert_eq!(
        honest.server_left, input.app_c2s,
        "client's application bytes were not left intact"
    );
    assert_eq!(
        honest.client_left, input.app_s2c,
        "server's application bytes were not left intact"
    );
    assert!(honest.handshake_bytes > 0);
    // may_send_application_data() turned true right after each side's last
    // handshake message: nothing written after it.
    assert_eq!(
        honest.server_app_at.map(|a| a.0),
        Some(honest.server_written),
        "the server wrote handshake bytes after it might send application data"
    );
    assert_eq!(
        honest.client_app_at.map(|a| a.0),
        Some(honest.client_written),
        "the client wrote handshake bytes after it might send application data"
    );

    let at = usize::from(input.tamper_index) % honest.handshake_bytes;
    let (s, c) = make();
    let tampered = exchange(s, c, input, caps, Some((at, input.mask())));
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
    let config = recipe::Config { digest };
    let mut random = [0u8; recipe::CHALLENGE_LEN];
    random.copy_from_slice(&input.server_random[..recipe::CHALLENGE_LEN]);
    let make = || {
        (
            ServerHandshake::with_pinned_random(&key, config, &random),
            ClientHandshake::with_pinned_random(&key, config, &[]),
        )
    };
    let cap = crate::recipe::MAX_MESSAGE;
    let (honest, tampered) = run_both(input, (cap, cap), make);
    let (so, co) = (
        honest.server.outcome().unwrap(),
        honest.client.outcome().unwrap(),
    );
    assert_eq!(
        (so.scheme, co.scheme),
        (Scheme::Recipe { digest }, Scheme::Recipe { digest })
    );
    assert!(!co.peer_authenticated);
    assert_eq!(co.confirmation, Confirmation::Unknown);
    // The server may send right after its challenge (before it has the
    // client's tag), the client once done.
    assert_eq!(honest.server_app_at, Some((recipe::CHALLENGE_LEN, true)));
    assert_eq!(honest.client_app_at, Some((digest.tag_len(), false)));
    assert_eq!(
        tampered.server,
        Snap::Failed(Error::BadTag),
        "recipe server accepted a changed challenge or reply"
    );
}

/// Multiprocessing settings for one side: a legacy challenge, or `{d}`
/// (MD5 allowed or not).
fn mp_config(legacy: bool, d: Digest, allow_md5: bool) -> MpConfig {
    if legacy {
        assert!(allow_md5);
        return MpConfig::legacy();
    }
    let base = if allow_md5 {
        MpConfig::with_md5()
    } else {
        MpConfig::new()
    };
    base.with_digest(d)
        .expect("a digest CPython allows, MD5 only when allowed")
}

fn run_mp(input: &PairInput) {
    let c = input.c;
    let (s_legacy, c_legacy) = (c[1] & 1 != 0, c[3] & 1 != 0);
    let (sd, cd) = (
        MP_DIGESTS[usize::from(c[0]) % 5],
        MP_DIGESTS[usize::from(c[2]) % 5],
    );
    let allow_md5 = s_legacy || c_legacy || sd == Digest::Md5 || cd == Digest::Md5 || c[1] & 2 != 0;
    let scfg = mp_config(s_legacy, sd, allow_md5);
    let ccfg = mp_config(c_legacy, cd, allow_md5);
    let key = Key::new(&input.key);
    let make = || {
        (
            ServerHandshake::with_pinned_random(&key, scfg, &input.server_random),
            ClientHandshake::with_pinned_random(&key, ccfg, &input.client_random),
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
    let legacy = s_legacy || c_legacy;
    assert_eq!(
        so.scheme,
        Scheme::Multiprocessing {
            digest: expect(s_legacy, sd),
            legacy
        }
    );
    assert_eq!(
        co.scheme,
        Scheme::Multiprocessing {
            digest: expect(c_legacy, cd),
            legacy
        }
    );
    // The Listener may send after its answer (its last message, before the
    // Client's verdict), the Client once done.
    assert_eq!(honest.server_app_at.map(|a| a.1), Some(true));
    assert_eq!(honest.client_app_at.map(|a| a.1), Some(false));
    assert!(
        !both_done(&tampered),
        "both sides succeeded over a changed byte"
    );
}

fn run_native(input: &PairInput) {
    let suite = Suite::ALL[usize::from(input.c[0]) % 4];
    let mut allowed = suites(input.c[1]);
    if !allowed.contains(&suite) {
        allowed.push(suite);
    }
    let decoys = usize::from((input.c[2] & 0x0f) % 3);
    let server_fs = crate::native::setting(input.c[2] >> 4 & 3);
    let client_fs = crate::native::setting(input.c[2] >> 6);
    // PROTOCOL.md "Forward secrecy": whether the client sends a share, or
    // (one side requires the mode, the other has it off) refuses.
    let share = crate::native::client_share_for(client_fs, crate::native::mode(server_fs));
    let fs = server_fs != ForwardSecrecy::Off && client_fs != ForwardSecrecy::Off;
    assert_eq!(
        share.unwrap_or(fs),
        fs,
        "the table: a share exactly when both use the mode"
    );
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
    let key = || NativeKey::new(&id, &secret, suite).expect("valid id and secret");
    let mut ring = Vec::new();
    for i in 0..decoys {
        let mut did = id.clone();
        *did.last_mut().unwrap() ^= i as u8 + 1;
        let mut dsecret = secret.clone();
        dsecret.push(i as u8);
        ring.push(NativeKey::new(&did, &dsecret, suite).expect("valid"));
    }
    ring.insert(place, key());
    let ring = Keyring::new(ring).expect("distinct ids, one suite");
    let client_keys: Vec<NativeKey> = allowed
        .iter()
        .map(|&s| NativeKey::new(&id, &secret, s).expect("valid id and secret"))
        .collect();
    let mut snonce = [0u8; NONCE_LEN];
    snonce.copy_from_slice(&input.server_random[..NONCE_LEN]);
    let mut cnonce = [0u8; NONCE_LEN];
    cnonce.copy_from_slice(&input.client_random[..NONCE_LEN]);
    if cnonce == snonce {
        cnonce[0] ^= 1;
    }
    let ephemeral = |r: &[u8; 40]| -> [u8; SHARE_LEN] { r[40 - SHARE_LEN..].try_into().unwrap() };
    let srandom = crate::native::random(&snonce, &ephemeral(&input.server_random));
    let crandom = crate::native::random(&cnonce, &ephemeral(&input.client_random));
    let config = native::Config::new(&input.context);
    let (sconfig, cconfig) = (
        config.with_forward_secrecy(server_fs),
        config.with_forward_secrecy(client_fs),
    );
    let make = || {
        (
            ServerHandshake::with_pinned_random(&ring, sconfig, &srandom),
            ClientHandshake::with_pinned_random(&client_keys, cconfig, &crandom),
        )
    };
    let caps = (MAX_SERVER_FINISH_LEN, MAX_CLIENT_PROOF_LEN);
    if share.is_none() {
        run_incompatible(input, caps, make, (server_fs, client_fs));
        return;
    }
    let (honest, tampered) = run_both(input, caps, make);
    let (so, co) = (
        honest.server.outcome().unwrap(),
        honest.client.outcome().unwrap(),
    );
    assert!(co.peer_authenticated);
    assert_eq!(co.confirmation, Confirmation::Confirmed);
    let scheme = Scheme::Native {
        suite,
        key_id: KeyId::new(&id).expect("valid id"),
    };
    assert_eq!((so.scheme, co.scheme), (scheme, scheme));
    let session = honest.server_session.as_ref().expect("server session");
    assert_eq!(
        honest.client_session.as_ref(),
        Some(session),
        "sessions differ"
    );
    assert_eq!(session.key_id, id);
    assert_eq!(session.suite, suite);
    assert_eq!(session.forward_secrecy, fs, "{server_fs:?} / {client_fs:?}");
    // The client may send right after its ClientProof (its only message,
    // before the server's verdict), the server once done (after
    // ServerFinish).
    let share_len = if fs { SHARE_LEN } else { 0 };
    let proof_len = 2 + id.len() + NONCE_LEN + share_len + suite.mac_len();
    assert_eq!(honest.client_app_at, Some((proof_len, true)));
    let server_len = SERVER_HELLO_LEN + 2 + share_len + suite.mac_len();
    assert_eq!(honest.server_app_at, Some((server_len, false)));
    assert!(
        !both_done(&tampered),
        "both sides succeeded over a changed byte"
    );
}

/// One side requires the mode and the other has it off: the client refuses
/// at the hello's mode byte (`ForwardSecrecyRequired`, 7 bytes consumed)
/// and sends nothing, so the server waits for a proof; nobody may send
/// application data, and nobody has a session. With one byte of the hello
/// changed, the two still never both succeed.
fn run_incompatible<S: Handshake, C: Handshake>(
    input: &PairInput,
    caps: (usize, usize),
    make: impl Fn() -> (S, C),
    settings: (ForwardSecrecy, ForwardSecrecy),
) {
    let (s, c) = make();
    let x = exchange(s, c, input, caps, None);
    if std::env::var_os("HH_FUZZ_DEBUG").is_some() {
        eprintln!("cannot meet: {x:?}");
    }
    assert_eq!(
        x.client,
        Snap::Failed(Error::ForwardSecrecyRequired),
        "{settings:?}: the client did not refuse"
    );
    assert_eq!(
        x.client_consumed, 7,
        "{settings:?}: refused at another byte"
    );
    assert_eq!(x.server, Snap::NeedInput, "{settings:?}: the server");
    assert_eq!(
        (x.server_written, x.client_written, x.handshake_bytes),
        (SERVER_HELLO_LEN, 0, SERVER_HELLO_LEN),
        "{settings:?}: only the hello may travel"
    );
    assert_eq!(
        (x.server_app_at, x.client_app_at),
        (None, None),
        "{settings:?}: application data"
    );
    assert!(x.server_session.is_none() && x.client_session.is_none());
    assert!(
        x.server_left.is_empty(),
        "{settings:?}: bytes reached the server"
    );
    let at = usize::from(input.tamper_index) % x.handshake_bytes;
    let (s, c) = make();
    let tampered = exchange(s, c, input, caps, Some((at, input.mask())));
    if std::env::var_os("HH_FUZZ_DEBUG").is_some() {
        eprintln!("tampered byte {at} ^ {:#04x}: {tampered:?}", input.mask());
    }
    assert!(
        !both_done(&tampered),
        "{settings:?}: both sides succeeded over a changed byte"
    );
}
