//! `mp_server` (CPython's Listener side) and `mp_client` (its Client side).

use std::fmt;

use hmac_handshake::multiprocessing::{self, message, Config, HANDSHAKE_MAX_MESSAGE};
use hmac_handshake::{
    ClientHandshake, Confirmation, Digest, Error, Key, Origin, Scheme, ServerHandshake,
};

use crate::drive::{check_machine, Snap, Trace};
use crate::reader::{Hex, Plan, Reader};
use crate::reference::{frames, mp_honest_reply, mp_reply_ok, CHALLENGE, WELCOME};

/// Largest frame this side sends: 4-byte prefix, `#CHALLENGE#`,
/// `{sha3_384}` (the longest name) and 40 random bytes = 65.
pub const MAX_FRAME: usize = 4 + message::CHALLENGE.len() + 2 + 8 + message::MESSAGE_LENGTH;
const _: () = assert!(MAX_FRAME == 65);

/// Layout: `u8(digest) || u8(flags) || lp16(key, <= 300) || random(40) ||
/// plan || peer`. `digest` indexes `Digest::ALL` modulo 6; flags bit 1 =
/// `allow_md5`, bit 2 = legacy challenge. The settings are built as
/// [`settings`] says (SHA-512, or MD5 without `allow_md5`, are refused, and
/// the refusal is checked). The first `challenge_len()` bytes of `random`
/// are used.
pub struct MpInput {
    pub digest: Digest,
    pub allow_md5: bool,
    pub legacy: bool,
    pub key: Vec<u8>,
    pub random: [u8; message::MESSAGE_LENGTH],
    pub plan: Plan,
    pub peer: Vec<u8>,
}

/// The settings the layout's `digest`, `allow_md5` and `legacy` name:
/// - legacy with `allow_md5`: `Config::legacy()` (the digest byte is
///   unused: a legacy challenge names none);
/// - legacy without `allow_md5`: `None`, settings that cannot be built
///   (`Config::legacy()` allows MD5; the old `Config::check` refused them
///   with `Md5NotAllowed`);
/// - otherwise `Config::new()` or `Config::with_md5()`, then
///   `with_digest(digest)`, whose refusal must be exactly
///   `UnsupportedDigest(digest)` for a digest CPython does not allow
///   (SHA-512) and `Md5Disabled` for MD5 without `allow_md5`.
///
/// The getters of what was built are checked against the request.
pub fn settings(digest: Digest, allow_md5: bool, legacy: bool) -> Option<Config> {
    if legacy {
        if !allow_md5 {
            return None;
        }
        let c = Config::legacy();
        assert_eq!(c.challenge_digest(), None);
        assert!(c.allow_md5());
        assert_eq!(c.challenge_len(), message::MD5ONLY_MESSAGE_LENGTH);
        // From legacy settings, with_digest gives with_md5()'s.
        assert_eq!(
            c.with_digest(digest),
            Config::with_md5().with_digest(digest),
            "Config::legacy().with_digest differs from Config::with_md5().with_digest"
        );
        return Some(c);
    }
    let base = if allow_md5 {
        Config::with_md5()
    } else {
        Config::new()
    };
    assert_eq!(base.allow_md5(), allow_md5);
    assert_eq!(base.challenge_digest(), Some(Digest::Sha256));
    let expected = if !message::ALLOWED_DIGESTS.contains(&digest) {
        Err(Error::UnsupportedDigest(digest))
    } else if digest == Digest::Md5 && !allow_md5 {
        Err(Error::Md5Disabled)
    } else {
        Ok(())
    };
    match base.with_digest(digest) {
        Ok(c) => {
            assert_eq!(expected, Ok(()), "with_digest({digest:?}) accepted");
            assert_eq!(c.challenge_digest(), Some(digest));
            assert_eq!(c.allow_md5(), allow_md5);
            assert_eq!(c.challenge_len(), message::MESSAGE_LENGTH);
            Some(c)
        }
        Err(e) => {
            assert_eq!(Err(e), expected, "with_digest({digest:?}) refused wrongly");
            assert_eq!(e.origin(), Origin::Caller);
            None
        }
    }
}

impl MpInput {
    pub fn decode(data: &[u8]) -> MpInput {
        let mut r = Reader::new(data);
        let digest = Digest::ALL[usize::from(r.u8()) % Digest::ALL.len()];
        let flags = r.u8();
        MpInput {
            digest,
            allow_md5: flags & 1 != 0,
            legacy: flags & 2 != 0,
            key: r.lp16(300).to_vec(),
            random: r.array(),
            plan: Plan::decode(&mut r),
            peer: r.rest().to_vec(),
        }
    }

    /// Our challenge payload (after `#CHALLENGE#`) under `config`.
    fn own_challenge(&self, config: &Config) -> Vec<u8> {
        let mut own = Vec::new();
        if let Some(d) = config.challenge_digest() {
            own.extend_from_slice(b"{");
            own.extend_from_slice(d.name().as_bytes());
            own.extend_from_slice(b"}");
        }
        own.extend_from_slice(&self.random[..config.challenge_len()]);
        own
    }
}

crate::raw_input!(MpInput);

impl fmt::Debug for MpInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpInput")
            .field("digest", &self.digest)
            .field("allow_md5", &self.allow_md5)
            .field("legacy", &self.legacy)
            .field("key", &Hex(&self.key))
            .field("random", &Hex(&self.random))
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
fn check_answer(input: &MpInput, config: &Config, challenge: Option<&[u8]>, answer: Option<&[u8]>) {
    let Some(challenge) = challenge else {
        assert!(answer.is_none(), "answered a challenge we did not receive");
        return;
    };
    let honest = challenge
        .strip_prefix(CHALLENGE)
        .filter(|c| c.len() >= message::MD5ONLY_MESSAGE_LENGTH)
        .and_then(|c| mp_honest_reply(&input.key, c, config.allow_md5()));
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
    config: &Config,
    reply: Option<&[u8]>,
    verdict: Option<&[u8]>,
) -> Option<(Digest, bool)> {
    let Some(reply) = reply else {
        assert!(verdict.is_none(), "a verdict on a reply we did not receive");
        return None;
    };
    let ok = mp_reply_ok(
        &input.key,
        &input.own_challenge(config),
        reply,
        config.allow_md5(),
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

/// Checks that `verified_at` (peer bytes consumed when `peer_verified()`
/// first held) is given exactly when we sent `#WELCOME#` (as message
/// `welcome_at` of ours), and then ends the peer's frame number
/// `frame` (1-based): the reply we verified.
fn check_verified_at(t: &Trace, out: &[&[u8]], peer: &[u8], welcome_at: usize, frame: usize) {
    let welcomed = out.get(welcome_at) == Some(&WELCOME);
    match t.verified_at {
        Some(v) => {
            assert!(welcomed, "peer_verified() without our #WELCOME#");
            let (f, used) = frames(&peer[..v]);
            assert_eq!(
                (f.len(), used),
                (frame, v),
                "peer_verified() turned true elsewhere than right after the reply"
            );
        }
        None => assert!(!welcomed, "#WELCOME# sent but peer_verified() never held"),
    }
}

/// Listener: sends its challenge, checks the reply, answers the client's
/// challenge, reads the verdict.
pub fn server(input: &MpInput) {
    let Some(config) = settings(input.digest, input.allow_md5, input.legacy) else {
        return;
    };
    let key = Key::new(&input.key);
    let make = || ServerHandshake::with_pinned_random(&key, config, &input.random);
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_FRAME);
    assert!(t.session.is_none());
    let (out, inp) = split(&t, &input.peer);
    assert_eq!(
        out[0],
        challenge_frame_payload(&input.own_challenge(&config)),
        "our challenge frame"
    );
    let peer_verdict = check_verdict(input, &config, inp.first().copied(), out.get(1).copied());
    let welcomed = out.get(1) == Some(&WELCOME);
    check_answer(
        input,
        &config,
        inp.get(1).copied().filter(|_| welcomed),
        out.get(2).copied(),
    );
    // The Listener's answer is its last message: application bytes may
    // follow it (before the Client's verdict).
    assert_eq!(
        t.may_send_at,
        (out.len() == 3).then_some(t.output.len()),
        "may_send_application_data() is not exactly \"our answer is out\""
    );
    check_verified_at(&t, &out, &input.peer, 1, 1);
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
            let peer_legacy = inp[1].len() == CHALLENGE.len() + message::MD5ONLY_MESSAGE_LENGTH;
            assert_eq!(
                o.scheme,
                Scheme::Multiprocessing {
                    digest,
                    legacy: legacy_reply || peer_legacy
                }
            );
        }
        Snap::Failed(_) | Snap::NeedInput => {}
        Snap::Send(_) => unreachable!(),
    }
}

/// Client: answers the Listener's challenge, reads the verdict, sends its
/// own challenge, checks the reply.
pub fn client(input: &MpInput) {
    let Some(config) = settings(input.digest, input.allow_md5, input.legacy) else {
        return;
    };
    let key = Key::new(&input.key);
    let make = || ClientHandshake::with_pinned_random(&key, config, &input.random);
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_FRAME);
    assert!(t.session.is_none());
    let (out, inp) = split(&t, &input.peer);
    check_answer(input, &config, inp.first().copied(), out.first().copied());
    let welcomed = inp.get(1) == Some(&WELCOME);
    if welcomed && !out.is_empty() {
        assert!(out.len() >= 2, "no challenge of ours after the WELCOME");
    }
    if let Some(own) = out.get(1) {
        assert!(welcomed, "sent our challenge before a WELCOME");
        assert_eq!(
            *own,
            challenge_frame_payload(&input.own_challenge(&config)),
            "our challenge frame"
        );
    }
    let peer_verdict = check_verdict(input, &config, inp.get(2).copied(), out.get(2).copied());
    // The Client's last message is its verdict, after which it is done.
    assert_eq!(
        t.may_send_at,
        matches!(t.end, Snap::Done(_)).then_some(t.output.len()),
        "may_send_application_data() before the Client is done"
    );
    check_verified_at(&t, &out, &input.peer, 2, 3);
    match t.end {
        Snap::Done(o) => {
            let (digest, legacy_reply) = peer_verdict.expect("Done without a verified reply");
            assert_eq!(inp.len(), 3);
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::Confirmed);
            let peer_legacy = inp[0].len() == CHALLENGE.len() + message::MD5ONLY_MESSAGE_LENGTH;
            assert_eq!(
                o.scheme,
                Scheme::Multiprocessing {
                    digest,
                    legacy: legacy_reply || peer_legacy
                }
            );
        }
        Snap::Failed(_) | Snap::NeedInput => {}
        Snap::Send(_) => unreachable!(),
    }
}

/// Re-exported for the pair target.
pub use multiprocessing::Config as MpConfig;
