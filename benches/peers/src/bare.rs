//! The crypto each profile must do, written directly with the RustCrypto
//! crates (`sha2`, `hmac`, `hkdf`, `md-5`, `x25519-dalek`: the library's
//! own builds), with no machine and no framing state beyond building the
//! bytes the specifications hash and send: the floor under each machine.
//!
//! Every function runs **both sides** of one handshake, each side hashing,
//! tagging and verifying on its own; the bytes one side sends pass through
//! [`black_box`] to the other, as a wire would, so that the compiler
//! cannot share the two sides' identical computations. Tags are verified
//! in constant time (`verify_slice`).
//!
//! [`check_native`], [`check_multiprocessing`] and [`check_recipe`] run the
//! real machines with the same pinned randomness and panic unless the
//! bare code gives byte-identical messages, tags and session secrets.

use std::hint::black_box;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use hmac_handshake::native::{self, NativeKey};
use hmac_handshake::{multiprocessing, recipe, ClientHandshake, Digest, Key, ServerHandshake};
use sha2::{Digest as _, Sha256};
use x25519_dalek::{PublicKey, SharedSecret, StaticSecret};

use crate::machines::{capture, session_of};

// ------------------------------------------------------------ native

/// `"hmac-handshake v1"`: the HKDF-Extract salt, the transcript's first
/// bytes and part of every `HkdfLabel` (PROTOCOL.md, "Key schedule").
pub const PROTOCOL: &[u8] = b"hmac-handshake v1";
/// `hmac-sha256`'s suite id.
const SUITE_ID: u8 = 0x01;
const MAGIC: [u8; 4] = *b"HMHS";
const VERSION: u8 = 0x01;
/// `L` for SHA-256.
const L: usize = 32;
/// `ServerHello`: magic, version, suite, mode, nonce.
pub const HELLO_LEN: usize = 4 + 1 + 1 + 1 + 32;
/// The longest `ClientProof` here: type, key id (up to 32), nonce, share, tag.
pub const MAX_PROOF_LEN: usize = 2 + 32 + 32 + 32 + L;
/// The longest `ServerFinish` here: `03 00`, share, tag.
pub const MAX_FINISH_LEN: usize = 2 + 32 + L;

/// PROTOCOL.md "Key schedule": `Expand(secret, label, context, n)` =
/// HKDF-Expand with `info = u16(n) || "hmac-handshake v1" || u8(suite) ||
/// lp8(label) || lp8(context)`, `n = out.len()`.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], context: &[u8], out: &mut [u8]) {
    let n = (out.len() as u16).to_be_bytes();
    let info: [&[u8]; 6] = [
        &n,
        PROTOCOL,
        &[SUITE_ID, label.len() as u8],
        label,
        &[context.len() as u8],
        context,
    ];
    prk.expand_multi_info(&info, out).expect("n <= 255 * L");
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length")
}

/// `Mac(key, a || b)` with a pre-keyed state, cloned.
fn tag(key: &Hmac<Sha256>, a: &[u8], b: &[u8]) -> [u8; L] {
    let mut m = key.clone();
    m.update(a);
    m.update(b);
    m.finalize().into_bytes().into()
}

/// Checks `tag` against `Mac(key, a || b)`, in constant time.
fn verify(key: &Hmac<Sha256>, a: &[u8], b: &[u8], tag: &[u8]) -> bool {
    let mut m = key.clone();
    m.update(a);
    m.update(b);
    m.verify_slice(tag).is_ok()
}

/// The native `hmac-sha256` suite's per-key work, done once (outside any
/// timed loop): the PRK, `client_key` and `server_key` as keyed HMAC states
/// (cloned for every tag), `H(context)` and `H(server_name)`.
pub struct NativeFloor {
    prk: Hkdf<Sha256>,
    client_key: Hmac<Sha256>,
    server_key: Hmac<Sha256>,
    context_hash: [u8; L],
    server_name_hash: [u8; L],
    key_id: [u8; 32],
    key_id_len: usize,
}

/// The three messages of one native handshake, as they travel.
#[derive(Clone, Copy)]
pub struct NativeWire {
    /// `ServerHello`.
    pub hello: [u8; HELLO_LEN],
    /// `ClientProof`, `proof_len` bytes of it.
    pub proof: [u8; MAX_PROOF_LEN],
    /// Its length.
    pub proof_len: usize,
    /// `ServerFinish`, `finish_len` bytes of it.
    pub finish: [u8; MAX_FINISH_LEN],
    /// Its length.
    pub finish_len: usize,
}

impl NativeWire {
    /// `client_tag`: the last `L` bytes of the proof.
    #[must_use]
    pub fn client_tag(&self) -> &[u8] {
        &self.proof[self.proof_len - L..self.proof_len]
    }

    /// `server_tag`: the last `L` bytes of `ServerFinish`.
    #[must_use]
    pub fn server_tag(&self) -> &[u8] {
        &self.finish[self.finish_len - L..self.finish_len]
    }
}

/// One side's session secrets (PROTOCOL.md, "Session secrets").
#[derive(Clone, Copy)]
pub struct BareSession {
    /// `H(T2 || server_tag)`.
    pub handshake_hash: [u8; L],
    /// `Expand(PRK, "c2s", handshake_hash, L)`.
    pub c2s: [u8; L],
    /// `Expand(PRK, "s2c", handshake_hash, L)`.
    pub s2c: [u8; L],
    /// `Expand(PRK, "exporter", handshake_hash, L)`.
    pub exporter: [u8; L],
}

impl BareSession {
    /// `export(label, context, n) = Expand(exporter_secret, label,
    /// H(context), n)`, `n = out.len()`.
    pub fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) {
        let prk = Hkdf::<Sha256>::from_prk(&self.exporter).expect("L bytes");
        expand_label(&prk, label, &Sha256::digest(context), out);
    }
}

/// What a bare native handshake leaves: the wire, and with the session
/// secrets each side's (server, client).
#[derive(Clone, Copy)]
pub struct NativeRun {
    /// The three messages.
    pub wire: NativeWire,
    /// The server's session secrets, when asked for.
    pub server: Option<BareSession>,
    /// The client's session secrets, when asked for.
    pub client: Option<BareSession>,
}

impl NativeFloor {
    /// The key schedule of PROTOCOL.md for `psk` (HKDF-Extract, two
    /// Expands, the two HMAC states keyed), and the two context hashes.
    ///
    /// # Panics
    /// For a key id outside 1 to 32 bytes.
    #[must_use]
    pub fn new(psk: &[u8], key_id: &[u8], context: &[u8], server_name: &[u8]) -> NativeFloor {
        assert!((1..=32).contains(&key_id.len()), "key id of 1 to 32 bytes");
        let (_, prk) = Hkdf::<Sha256>::extract(Some(PROTOCOL), psk);
        let role_key = |label: &[u8]| {
            let mut k = [0u8; L];
            expand_label(&prk, label, &[], &mut k);
            hmac_sha256(&k)
        };
        let (client_key, server_key) = (role_key(b"client key"), role_key(b"server key"));
        let mut id = [0u8; 32];
        id[..key_id.len()].copy_from_slice(key_id);
        NativeFloor {
            prk,
            client_key,
            server_key,
            context_hash: Sha256::digest(context).into(),
            server_name_hash: Sha256::digest(server_name).into(),
            key_id: id,
            key_id_len: key_id.len(),
        }
    }

    /// `"hmac-handshake v1" || H(context) || H(server_name)`, hashed.
    fn transcript_start(&self) -> Sha256 {
        let mut t = Sha256::new();
        t.update(PROTOCOL);
        t.update(self.context_hash);
        t.update(self.server_name_hash);
        t
    }

    /// PROTOCOL.md "Session secrets" (and, with `dh`, "Forward secrecy":
    /// `PRK_fs = HKDF-Extract(Expand(PRK, "derived", "", L), dh_secret)`).
    fn session(&self, handshake_hash: [u8; L], dh: Option<&SharedSecret>) -> BareSession {
        let fs_prk;
        let prk = match dh {
            Some(dh) => {
                let mut derived = [0u8; L];
                expand_label(&self.prk, b"derived", &[], &mut derived);
                fs_prk = Hkdf::<Sha256>::new(Some(&derived), dh.as_bytes());
                &fs_prk
            }
            None => &self.prk,
        };
        let mut s = BareSession {
            handshake_hash,
            c2s: [0; L],
            s2c: [0; L],
            exporter: [0; L],
        };
        expand_label(prk, b"c2s", &handshake_hash, &mut s.c2s);
        expand_label(prk, b"s2c", &handshake_hash, &mut s.s2c);
        expand_label(prk, b"exporter", &handshake_hash, &mut s.exporter);
        s
    }

    /// Both sides of one handshake, PROTOCOL.md "Transcript and tags"
    /// (and "Forward secrecy" with `FS`, mode `02`); with `SESSION`, both
    /// sides' session secrets. `None` if a tag does not verify (or, with
    /// `FS`, a shared secret is all zeros).
    #[inline(always)]
    fn run<const FS: bool, const SESSION: bool>(
        &self,
        server_random: &[u8; 64],
        client_random: &[u8; 64],
    ) -> Option<NativeRun> {
        let id = &self.key_id[..self.key_id_len];

        // Server step 1: ServerHello.
        let mut hello = [0u8; HELLO_LEN];
        hello[..4].copy_from_slice(&MAGIC);
        hello[4] = VERSION;
        hello[5] = SUITE_ID;
        hello[6] = if FS { 0x02 } else { 0x00 };
        hello[7..].copy_from_slice(&server_random[..32]);
        let hello_in = black_box(hello);

        // Client step 2: T1, client_tag, ClientProof.
        let mut ct = self.transcript_start();
        ct.update(hello_in);
        let mut proof = [0u8; MAX_PROOF_LEN];
        proof[0] = if FS { 0x04 } else { 0x02 };
        proof[1] = id.len() as u8;
        let mut at = 2 + id.len();
        proof[2..at].copy_from_slice(id);
        proof[at..at + 32].copy_from_slice(&client_random[..32]);
        at += 32;
        let client_ephemeral = if FS {
            let mut e = [0u8; 32];
            e.copy_from_slice(&client_random[32..]);
            let e = StaticSecret::from(e);
            proof[at..at + 32].copy_from_slice(PublicKey::from(&e).as_bytes());
            at += 32;
            Some(e)
        } else {
            None
        };
        ct.update(&proof[..at]);
        let client_tag = tag(&self.client_key, b"client proof", &ct.clone().finalize());
        ct.update(client_tag);
        proof[at..at + L].copy_from_slice(&client_tag);
        let proof_len = at + L;
        let proof_in = black_box(proof);

        // Server step 2: its own T1, the client tag verified.
        let body = proof_len - L;
        let mut st = self.transcript_start();
        st.update(hello);
        st.update(&proof_in[..body]);
        let received = &proof_in[body..proof_len];
        if !verify(
            &self.client_key,
            b"client proof",
            &st.clone().finalize(),
            received,
        ) {
            return None;
        }
        st.update(received);
        // Server step 3: its share and the shared secret, T2, server_tag.
        let mut finish = [0u8; MAX_FINISH_LEN];
        finish[0] = 0x03;
        let mut head = 2;
        let server_dh = if FS {
            let mut e = [0u8; 32];
            e.copy_from_slice(&server_random[32..]);
            let e = StaticSecret::from(e);
            finish[2..34].copy_from_slice(PublicKey::from(&e).as_bytes());
            head = 34;
            let mut share = [0u8; 32];
            share.copy_from_slice(&proof_in[body - 32..body]);
            let dh = e.diffie_hellman(&PublicKey::from(share));
            if !dh.was_contributory() {
                return None;
            }
            Some(dh)
        } else {
            None
        };
        st.update(&finish[..head]);
        let server_tag = tag(&self.server_key, b"server finish", &st.clone().finalize());
        finish[head..head + L].copy_from_slice(&server_tag);
        let finish_len = head + L;
        let server = if SESSION {
            st.update(server_tag);
            Some(self.session(st.finalize().into(), server_dh.as_ref()))
        } else {
            None
        };
        let finish_in = black_box(finish);

        // Client step 3: T2, the server tag verified, the shared secret.
        ct.update(&finish_in[..head]);
        let received = &finish_in[head..finish_len];
        if !verify(
            &self.server_key,
            b"server finish",
            &ct.clone().finalize(),
            received,
        ) {
            return None;
        }
        let client_dh = match client_ephemeral {
            Some(e) => {
                let mut share = [0u8; 32];
                share.copy_from_slice(&finish_in[2..34]);
                let dh = e.diffie_hellman(&PublicKey::from(share));
                if !dh.was_contributory() {
                    return None;
                }
                Some(dh)
            }
            None => None,
        };
        let client = if SESSION {
            ct.update(received);
            Some(self.session(ct.finalize().into(), client_dh.as_ref()))
        } else {
            None
        };
        Some(NativeRun {
            wire: NativeWire {
                hello,
                proof,
                proof_len,
                finish,
                finish_len,
            },
            server,
            client,
        })
    }

    /// Authentication only: both tags made and verified, no session.
    #[must_use]
    pub fn auth_only(
        &self,
        server_random: &[u8; 64],
        client_random: &[u8; 64],
    ) -> Option<NativeRun> {
        self.run::<false, false>(server_random, client_random)
    }

    /// [`auth_only`](Self::auth_only), then `handshake_hash` and the three
    /// Expands on both sides.
    #[must_use]
    pub fn with_session(
        &self,
        server_random: &[u8; 64],
        client_random: &[u8; 64],
    ) -> Option<NativeRun> {
        self.run::<false, true>(server_random, client_random)
    }

    /// The forward-secrecy mode (`02`, shares in both messages): the tags,
    /// one X25519 base and one variable-base mult per side, the FS key
    /// schedule and the session secrets on both sides. The ephemeral
    /// secrets are the last 32 bytes of each side's 64.
    #[must_use]
    pub fn forward_secret(
        &self,
        server_random: &[u8; 64],
        client_random: &[u8; 64],
    ) -> Option<NativeRun> {
        self.run::<true, true>(server_random, client_random)
    }
}

/// Which bare native handshake a check compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeCase {
    /// [`NativeFloor::auth_only`]; the machines' sessions are not asked for.
    AuthOnly,
    /// [`NativeFloor::with_session`].
    Session,
    /// [`NativeFloor::forward_secret`]; `cfg` must require the mode.
    ForwardSecrecy,
}

/// Hex, for the mismatch report.
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Panics, loudly, unless the machine's bytes and the bare code's agree.
///
/// # Panics
/// When they differ.
pub fn same(what: &str, machine: &[u8], bare: &[u8]) {
    if machine != bare {
        let at = machine
            .iter()
            .zip(bare)
            .position(|(a, b)| a != b)
            .unwrap_or(machine.len().min(bare.len()));
        panic!(
            "\n\nBARE FLOOR MISMATCH: {what} differs from the machine's (first at byte {at}; \
             {} vs {} bytes)\n  machine: {}\n  bare:    {}\n\nThe bare code does not do what \
             the machines do: its timings would be no floor. Fix the bare code (or the \
             machine) before benchmarking.\n",
            machine.len(),
            bare.len(),
            hex(machine),
            hex(bare)
        );
    }
}

/// Runs one real native handshake (`key`, `cfg`, the pinned randomness)
/// and panics unless the bare code gives byte-identical messages (both
/// tags among them) and, for the session cases, the same
/// `handshake_hash`, `c2s`, `s2c` and a 48-byte export on both sides.
///
/// # Panics
/// On any difference, and when either handshake fails.
pub fn check_native(
    floor: &NativeFloor,
    key: &NativeKey,
    cfg: native::Config,
    case: NativeCase,
    server_random: &[u8; 64],
    client_random: &[u8; 64],
) {
    let cap = capture(
        ServerHandshake::with_pinned_random(key, cfg, server_random),
        ClientHandshake::with_pinned_random(key, cfg, client_random),
    );
    let bare = match case {
        NativeCase::AuthOnly => floor.auth_only(server_random, client_random),
        NativeCase::Session => floor.with_session(server_random, client_random),
        NativeCase::ForwardSecrecy => floor.forward_secret(server_random, client_random),
    };
    let Some(bare) = bare else {
        panic!(
            "\n\nBARE FLOOR MISMATCH: the bare {case:?} handshake did not verify its own tags\n"
        );
    };
    let w = &bare.wire;
    let s2c = &cap.server_to_client;
    same("ServerHello", &s2c[..HELLO_LEN.min(s2c.len())], &w.hello);
    same(
        "ClientProof",
        &cap.client_to_server,
        &w.proof[..w.proof_len],
    );
    let c2s = &cap.client_to_server;
    same(
        "client_tag",
        &c2s[c2s.len().saturating_sub(L)..],
        w.client_tag(),
    );
    same(
        "ServerFinish",
        &s2c[HELLO_LEN.min(s2c.len())..],
        &w.finish[..w.finish_len],
    );
    same(
        "server_tag",
        &s2c[s2c.len().saturating_sub(L)..],
        w.server_tag(),
    );
    if case == NativeCase::AuthOnly {
        return;
    }
    let (Some(server), Some(client)) = (session_of(cap.server), session_of(cap.client)) else {
        panic!("\n\nBARE FLOOR MISMATCH: a native machine gave no session\n");
    };
    let fs = case == NativeCase::ForwardSecrecy;
    assert_eq!(
        (server.forward_secrecy(), client.forward_secrecy()),
        (fs, fs),
        "BARE FLOOR MISMATCH: the machines' forward-secrecy mode is not the case's"
    );
    let (Some(bs), Some(bc)) = (bare.server, bare.client) else {
        panic!("\n\nBARE FLOOR MISMATCH: the bare code derived no session\n");
    };
    let (label, context) = (b"floor check".as_slice(), b"export context".as_slice());
    for (side, m, b) in [("server", &server, &bs), ("client", &client, &bc)] {
        same(
            &format!("{side} handshake_hash"),
            m.handshake_hash(),
            &b.handshake_hash,
        );
        same(&format!("{side} c2s_key"), m.client_to_server_key(), &b.c2s);
        same(&format!("{side} s2c_key"), m.server_to_client_key(), &b.s2c);
        let (mut mo, mut bo) = ([0u8; 48], [0u8; 48]);
        m.export(label, context, &mut mo).expect("export");
        b.export(label, context, &mut bo);
        same(&format!("{side} export(48 bytes)"), &mo, &bo);
    }
}

// ------------------------------------------------------------ multiprocessing

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const SHA256_PREFIX: &[u8] = b"{sha256}";
const WELCOME: &[u8] = b"#WELCOME#";
/// CPython 3.12+ `MESSAGE_LENGTH`.
const MESSAGE_LENGTH: usize = 40;
/// `send_bytes(b"#CHALLENGE#" + b"{sha256}" + 40 random bytes)`.
pub const CHALLENGE_FRAME: usize = 4 + 11 + 8 + MESSAGE_LENGTH;
/// `send_bytes(b"{sha256}" + HMAC-SHA256)`.
pub const REPLY_FRAME: usize = 4 + 8 + L;
/// `send_bytes(b"#WELCOME#")`.
pub const WELCOME_FRAME: usize = 4 + 9;

/// CPython `multiprocessing.connection`'s `{sha256}` authentication's
/// per-key work: the `authkey` HMAC-SHA256 state, keyed once.
pub struct MpFloor {
    key: Hmac<Sha256>,
}

/// The six frames of one `{sha256}` handshake (Listener = server).
#[derive(Clone, Copy)]
pub struct MpWire {
    /// Listener -> Client: its challenge.
    pub server_challenge: [u8; CHALLENGE_FRAME],
    /// Client -> Listener: the reply to it.
    pub client_reply: [u8; REPLY_FRAME],
    /// Listener -> Client: `#WELCOME#`.
    pub server_welcome: [u8; WELCOME_FRAME],
    /// Client -> Listener: its challenge.
    pub client_challenge: [u8; CHALLENGE_FRAME],
    /// Listener -> Client: the reply to it.
    pub server_reply: [u8; REPLY_FRAME],
    /// Client -> Listener: `#WELCOME#`.
    pub client_welcome: [u8; WELCOME_FRAME],
}

/// A frame's payload: the 4-byte big-endian length, then that many bytes.
fn payload(frame: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(frame.get(..4)?.try_into().ok()?) as usize;
    frame.get(4..4 + len)
}

/// `deliver_challenge`'s first frame.
fn challenge_frame(random: &[u8; MESSAGE_LENGTH]) -> [u8; CHALLENGE_FRAME] {
    let mut f = [0u8; CHALLENGE_FRAME];
    f[..4].copy_from_slice(&((CHALLENGE_FRAME - 4) as u32).to_be_bytes());
    f[4..15].copy_from_slice(CHALLENGE);
    f[15..23].copy_from_slice(SHA256_PREFIX);
    f[23..].copy_from_slice(random);
    f
}

fn welcome_frame() -> [u8; WELCOME_FRAME] {
    let mut f = [0u8; WELCOME_FRAME];
    f[..4].copy_from_slice(&((WELCOME_FRAME - 4) as u32).to_be_bytes());
    f[4..].copy_from_slice(WELCOME);
    f
}

impl MpFloor {
    /// The `authkey`'s HMAC-SHA256 state.
    #[must_use]
    pub fn new(authkey: &[u8]) -> MpFloor {
        MpFloor {
            key: hmac_sha256(authkey),
        }
    }

    /// `answer_challenge`: the message after `#CHALLENGE#` must name
    /// `{sha256}`; the reply is `{sha256}` + HMAC-SHA256 over the whole
    /// message (prefix included).
    fn answer(&self, frame: &[u8]) -> Option<[u8; REPLY_FRAME]> {
        let message = payload(frame)?.strip_prefix(CHALLENGE)?;
        if !message.starts_with(SHA256_PREFIX) {
            return None;
        }
        let mut m = self.key.clone();
        m.update(message);
        let mut f = [0u8; REPLY_FRAME];
        f[..4].copy_from_slice(&((REPLY_FRAME - 4) as u32).to_be_bytes());
        f[4..12].copy_from_slice(SHA256_PREFIX);
        f[12..].copy_from_slice(&m.finalize().into_bytes());
        Some(f)
    }

    /// `deliver_challenge`'s check of the reply to `own` (its own challenge
    /// frame), in constant time.
    fn verify(&self, own: &[u8; CHALLENGE_FRAME], reply: &[u8]) -> bool {
        let Some(tag) = payload(reply).and_then(|p| p.strip_prefix(SHA256_PREFIX)) else {
            return false;
        };
        let mut m = self.key.clone();
        m.update(&own[15..]);
        m.verify_slice(tag).is_ok()
    }

    /// Both sides of one handshake, in CPython's order (the Listener
    /// delivers, then answers; the Client answers, then delivers): four
    /// tags, two made and two verified, and the six frames. `None` on a
    /// failed check.
    #[must_use]
    pub fn run(
        &self,
        server_random: &[u8; MESSAGE_LENGTH],
        client_random: &[u8; MESSAGE_LENGTH],
    ) -> Option<MpWire> {
        let server_challenge = challenge_frame(server_random);
        let client_reply = self.answer(&black_box(server_challenge))?;
        if !self.verify(&server_challenge, &black_box(client_reply)) {
            return None;
        }
        let server_welcome = welcome_frame();
        if payload(&black_box(server_welcome))? != WELCOME {
            return None;
        }
        let client_challenge = challenge_frame(client_random);
        let server_reply = self.answer(&black_box(client_challenge))?;
        if !self.verify(&client_challenge, &black_box(server_reply)) {
            return None;
        }
        let client_welcome = welcome_frame();
        if payload(&black_box(client_welcome))? != WELCOME {
            return None;
        }
        Some(MpWire {
            server_challenge,
            client_reply,
            server_welcome,
            client_challenge,
            server_reply,
            client_welcome,
        })
    }
}

/// Runs one real `{sha256}` handshake (`multiprocessing::Config::new()`
/// both sides, `key`, the pinned randomness) and panics unless the bare
/// frames (both replies among them) are byte-identical.
///
/// # Panics
/// On any difference, and when either handshake fails.
pub fn check_multiprocessing(
    floor: &MpFloor,
    key: &Key,
    server_random: &[u8; MESSAGE_LENGTH],
    client_random: &[u8; MESSAGE_LENGTH],
) {
    let cfg = multiprocessing::Config::new();
    let cap = capture(
        ServerHandshake::with_pinned_random(key, cfg, server_random),
        ClientHandshake::with_pinned_random(key, cfg, client_random),
    );
    let Some(w) = floor.run(server_random, client_random) else {
        panic!(
            "\n\nBARE FLOOR MISMATCH: the bare multiprocessing handshake failed its own checks\n"
        );
    };
    let (s2c, c2s) = (&cap.server_to_client, &cap.client_to_server);
    let part = |b: &[u8], from: usize, len: usize| {
        b[from.min(b.len())..(from + len).min(b.len())].to_vec()
    };
    same(
        "Listener's challenge frame",
        &part(s2c, 0, CHALLENGE_FRAME),
        &w.server_challenge,
    );
    same(
        "Client's reply (to the Listener's challenge)",
        &part(c2s, 0, REPLY_FRAME),
        &w.client_reply,
    );
    same(
        "Listener's #WELCOME#",
        &part(s2c, CHALLENGE_FRAME, WELCOME_FRAME),
        &w.server_welcome,
    );
    same(
        "Client's challenge frame",
        &part(c2s, REPLY_FRAME, CHALLENGE_FRAME),
        &w.client_challenge,
    );
    same(
        "Listener's reply (to the Client's challenge)",
        &part(s2c, CHALLENGE_FRAME + WELCOME_FRAME, REPLY_FRAME),
        &w.server_reply,
    );
    same(
        "Client's #WELCOME#",
        &part(c2s, REPLY_FRAME + CHALLENGE_FRAME, WELCOME_FRAME),
        &w.client_welcome,
    );
    let all_s2c = [&w.server_challenge[..], &w.server_welcome, &w.server_reply].concat();
    let all_c2s = [&w.client_reply[..], &w.client_challenge, &w.client_welcome].concat();
    same("every byte the Listener sent", s2c, &all_s2c);
    same("every byte the Client sent", c2s, &all_c2s);
}

// ------------------------------------------------------------ recipe

/// The recipe's challenge length.
pub const RECIPE_CHALLENGE: usize = 32;

/// The recipe's per-key work: the key's HMAC-SHA256 and HMAC-MD5 states.
pub struct RecipeFloor {
    sha256: Hmac<Sha256>,
    md5: Hmac<md5::Md5>,
}

/// One recipe handshake as it travels: the challenge, then the raw tag.
#[derive(Clone, Copy)]
pub struct RecipeWire<const N: usize> {
    /// Server -> client: 32 bytes, no framing.
    pub challenge: [u8; RECIPE_CHALLENGE],
    /// Client -> server: `HMAC(key, challenge)`.
    pub reply: [u8; N],
}

/// The client tags the challenge; the server verifies the tag.
#[inline(always)]
fn recipe_run<M: Mac + Clone, const N: usize>(
    key: &M,
    challenge: &[u8; RECIPE_CHALLENGE],
) -> Option<RecipeWire<N>> {
    let challenge = *challenge;
    let mut m = key.clone();
    m.update(&black_box(challenge));
    let mut reply = [0u8; N];
    reply.copy_from_slice(&m.finalize().into_bytes());
    let mut m = key.clone();
    m.update(&challenge);
    m.verify_slice(&black_box(reply)).ok()?;
    Some(RecipeWire { challenge, reply })
}

impl RecipeFloor {
    /// The key's two HMAC states.
    #[must_use]
    pub fn new(key: &[u8]) -> RecipeFloor {
        RecipeFloor {
            sha256: hmac_sha256(key),
            md5: <Hmac<md5::Md5> as KeyInit>::new_from_slice(key).expect("any key length"),
        }
    }

    /// Both sides of one HMAC-SHA256 recipe handshake.
    #[must_use]
    pub fn sha256(&self, challenge: &[u8; RECIPE_CHALLENGE]) -> Option<RecipeWire<32>> {
        recipe_run(&self.sha256, challenge)
    }

    /// Both sides of one HMAC-MD5 recipe handshake.
    #[must_use]
    pub fn md5(&self, challenge: &[u8; RECIPE_CHALLENGE]) -> Option<RecipeWire<16>> {
        recipe_run(&self.md5, challenge)
    }
}

/// Runs one real recipe handshake per digest (SHA-256, MD5) with the
/// pinned `challenge` and panics unless the bare bytes are identical.
///
/// # Panics
/// On any difference, and when either handshake fails.
pub fn check_recipe(floor: &RecipeFloor, key: &Key, challenge: &[u8; RECIPE_CHALLENGE]) {
    for digest in [Digest::Sha256, Digest::Md5] {
        let cfg = recipe::Config { digest };
        let cap = capture(
            ServerHandshake::with_pinned_random(key, cfg, challenge),
            ClientHandshake::with_pinned_random(key, cfg, &[]),
        );
        let (ch, reply) = match digest {
            Digest::Md5 => floor
                .md5(challenge)
                .map(|w| (w.challenge, w.reply.to_vec())),
            _ => floor
                .sha256(challenge)
                .map(|w| (w.challenge, w.reply.to_vec())),
        }
        .expect("BARE FLOOR MISMATCH: the bare recipe handshake failed its own check");
        same(
            &format!("recipe {digest:?} challenge"),
            &cap.server_to_client,
            &ch,
        );
        same(
            &format!("recipe {digest:?} reply tag"),
            &cap.client_to_server,
            &reply,
        );
    }
}
