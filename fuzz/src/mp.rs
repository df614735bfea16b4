//! `mp_server` (CPython's Listener side) and `mp_client` (its Client side).

use std::fmt;

use hmac_handshake::multiprocessing::{self, message, Config, HANDSHAKE_MAX_MESSAGE};
use hmac_handshake::{ClientHandshake, Confirmation, Digest, Key, Profile, ServerHandshake};

use crate::drive::{check_machine, Snap, Trace};
use crate::reader::{Hex, Plan, Reader};
use crate::reference::{frames, mp_honest_reply, mp_reply_ok, CHALLENGE, WELCOME};

/// Largest frame this side sends: 4-byte prefix, `#CHALLENGE#`,
/// `{sha3_384}` (the longest name) and 40 random bytes = 65.
pub const MAX_FRAME: usize = 4 + message::CHALLENGE.len() + 2 + 8 + message::MESSAGE_LENGTH;
const _: () = assert!(MAX_FRAME == 65);

/// Layout: `u8(digest) || u8(flags) || lp16(key, <= 300) || random(40) ||
/// plan || peer`. `digest` indexes `Digest::ALL` modulo 6 (SHA-512 is
/// refused by `Config::check`, which is checked too); flags bit 1 =
/// `allow_md5`, bit 2 = `legacy_challenge`. The first `random_len()` bytes
/// of `random` are used.
pub struct MpInput {
    pub config: Config,
    pub key: Vec<u8>,
    pub random: [u8; 40],
    pub plan: Plan,
    pub peer: Vec<u8>,
}

impl MpInput {
    pub fn decode(data: &[u8]) -> MpInput {
        let mut r = Reader::new(data);
        let digest = Digest::ALL[usize::from(r.u8()) % Digest::ALL.len()];
        let flags = r.u8();
        MpInput {
            config: Config {
                digest,
                allow_md5: flags & 1 != 0,
                legacy_challenge: flags & 2 != 0,
            },
            key: r.lp16(300).to_vec(),
            random: r.array(),
            plan: Plan::decode(&mut r),
            peer: r.rest().to_vec(),
        }
    }

    fn random(&self) -> &[u8] {
        &self.random[..self.config.random_len()]
    }

    /// Our challenge payload (after `#CHALLENGE#`).
    fn own_challenge(&self) -> Vec<u8> {
        let mut own = Vec::new();
        if !self.config.legacy_challenge {
            own.extend_from_slice(b"{");
            own.extend_from_slice(self.config.digest.name().as_bytes());
            own.extend_from_slice(b"}");
        }
        own.extend_from_slice(self.random());
        own
    }
}

crate::raw_input!(MpInput);

impl fmt::Debug for MpInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpInput")
            .field("config", &self.config)
            .field("key", &Hex(&self.key))
            .field("random", &Hex(self.random()))
            .field("plan", &self.plan)
            .field("peer", &Hex(&self.peer))
            .finish()
    }
}

fn challenge_frame_payload(own: &[u8]) -> Vec<u8> {
    [CHALLENGE, own].concat()
}

/// Frames of what we sent and of what we consumed; every frame we sent is
/// within CPython's `recv_bytes(256)` limit.
fn split<'a>(t: &'a Trace, peer: &'a [u8]) -> (Vec<&'a [u8]>, Vec<&'a [u8]>) {
    let (out, used) = frames(&t.output);
    assert_eq!(used, t.output.len(), "we sent a partial or malformed frame");
    assert_eq!(out.len(), t.messages.len(), "one frame per message");
    for f in &out {
        assert!(
            f.len() <= HANDSHAKE_MAX_MESSAGE,
            "we sent a frame CPython refuses"
        );
    }
    let (inp, _) = frames(&peer[..t.consumed]);
    (out, inp)
}

/// Checks our answer to the peer's challenge frame `challenge` (if we got
/// one): a correct answer when CPython would answer, and none otherwise.
fn check_answer(input: &MpInput, challenge: Option<&[u8]>, answer: Option<&[u8]>) {
    let Some(challenge) = challenge else {
        assert!(answer.is_none(), "answered a challenge we did not receive");
        return;
    };
    let honest = challenge
        .strip_prefix(CHALLENGE)
        .filter(|c| c.len() >= message::MD5ONLY_MESSAGE_LENGTH)
        .and_then(|c| mp_honest_reply(&input.key, c, input.config.allow_md5));
    assert_eq!(
        answer.map(<[u8]>::to_vec),
        honest,
        "our answer to the challenge differs from CPython's rules"
    );
}

/// Checks our verdict on the peer's reply `reply` to our challenge: WELCOME
/// exactly when the reply verifies (harness HMAC), FAILURE otherwise.
fn check_verdict(
    input: &MpInput,
    reply: Option<&[u8]>,
    verdict: Option<&[u8]>,
) -> Option<(Digest, bool)> {
    let Some(reply) = reply else {
        assert!(verdict.is_none(), "a verdict on a reply we did not receive");
        return None;
    };
    let ok = mp_reply_ok(
        &input.key,
        &input.own_challenge(),
        reply,
        input.config.allow_md5,
    );
    match ok {
        Some(_) => assert_eq!(verdict, Some(WELCOME), "rejected a valid reply"),
        None => assert_eq!(
            verdict,
            Some(message::FAILURE),
            "accepted a reply that does not verify (or sent no verdict)"
        ),
    }
    ok
}

/// Config refused at construction: the error is `Config::check`'s.
fn refused(input: &MpInput, got: Result<(), hmac_handshake::Error>) -> bool {
    match got {
        Ok(()) => false,
        Err(e) => {
            assert_eq!(
                Err(e),
                input.config.check(),
                "constructor error differs from Config::check"
            );
            true
        }
    }
}

/// Listener: sends its challenge, checks the reply, answers the client's
/// challenge, reads the verdict.
pub fn server(input: &MpInput) {
    let key = Key::new(&input.key);
    let profile = Profile::Multiprocessing(input.config);
    if refused(
        input,
        ServerHandshake::new(&key, profile, input.random()).map(|_| ()),
    ) {
        return;
    }
    let make = || ServerHandshake::new(&key, profile, input.random()).expect("checked");
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_FRAME);
    assert!(t.session.is_none());
    let (out, inp) = split(&t, &input.peer);
    assert_eq!(
        out[0],
        challenge_frame_payload(&input.own_challenge()),
        "our challenge frame"
    );
    let peer_verdict = check_verdict(input, inp.first().copied(), out.get(1).copied());
    let welcomed = out.get(1) == Some(&WELCOME);
    check_answer(
        input,
        inp.get(1).copied().filter(|_| welcomed),
        out.get(2).copied(),
    );
    match t.end {
        Snap::Done(o) => {
            let (digest, legacy_reply) = peer_verdict.expect("Done without a verified reply");
            assert_eq!(
                inp.len(),
                3,
                "Done after other than reply, challenge, verdict"
            );
            assert_eq!(inp[2], WELCOME);
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Confirmed);
            assert_eq!(o.digest, digest);
            let peer_legacy = inp[1].len() == CHALLENGE.len() + message::MD5ONLY_MESSAGE_LENGTH;
            assert_eq!(o.legacy, legacy_reply || peer_legacy);
        }
        Snap::Failed(_) | Snap::NeedInput => {}
        Snap::Send(_) => unreachable!(),
    }
}

/// Client: answers the Listener's challenge, reads the verdict, sends its
/// own challenge, checks the reply.
pub fn client(input: &MpInput) {
    let key = Key::new(&input.key);
    let profile = Profile::Multiprocessing(input.config);
    if refused(
        input,
        ClientHandshake::new(&key, profile, input.random()).map(|_| ()),
    ) {
        return;
    }
    let make = || ClientHandshake::new(&key, profile, input.random()).expect("checked");
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_FRAME);
    assert!(t.session.is_none());
    let (out, inp) = split(&t, &input.peer);
    check_answer(input, inp.first().copied(), out.first().copied());
    let welcomed = inp.get(1) == Some(&WELCOME);
    if welcomed && !out.is_empty() {
        assert!(out.len() >= 2, "no challenge of ours after the WELCOME");
    }
    if let Some(own) = out.get(1) {
        assert!(welcomed, "sent our challenge before a WELCOME");
        assert_eq!(
            *own,
            challenge_frame_payload(&input.own_challenge()),
            "our challenge frame"
        );
    }
    let peer_verdict = check_verdict(input, inp.get(2).copied(), out.get(2).copied());
    match t.end {
        Snap::Done(o) => {
            let (digest, legacy_reply) = peer_verdict.expect("Done without a verified reply");
            assert_eq!(inp.len(), 3);
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Confirmed);
            assert_eq!(o.digest, digest);
            let peer_legacy = inp[0].len() == CHALLENGE.len() + message::MD5ONLY_MESSAGE_LENGTH;
            assert_eq!(o.legacy, legacy_reply || peer_legacy);
        }
        Snap::Failed(_) | Snap::NeedInput => {}
        Snap::Send(_) => unreachable!(),
    }
}

/// Re-exported for the pair target.
pub use multiprocessing::Config as MpConfig;
