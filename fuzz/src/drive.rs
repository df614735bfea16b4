//! Drives one machine against fixed peer bytes and checks the sans-IO
//! contract at every step; `check_machine` adds the chunking-invariance run
//! and the `finish()` probe.

use hmac_handshake::native::Session;
use hmac_handshake::{Error, Finished, Handshake, Origin, Outcome, Scheme, Status};

use crate::reader::{Plan, Sizes};

/// An owned copy of a [`Status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snap {
    NeedInput,
    Send(Vec<u8>),
    Done(Outcome),
    Failed(Error),
}

impl Snap {
    pub fn of<M: Handshake + ?Sized>(m: &M) -> Snap {
        match m.status() {
            Status::NeedInput => Snap::NeedInput,
            Status::Send(b) => Snap::Send(b.to_vec()),
            Status::Done(o) => Snap::Done(o),
            Status::Failed(e) => Snap::Failed(e),
            other => panic!("a Status this harness does not know: {other:?}"),
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Snap::Done(_) | Snap::Failed(_))
    }

    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Snap::Done(o) => Some(*o),
            _ => None,
        }
    }
}

/// What both sides of a native handshake must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSnap {
    pub key_id: Vec<u8>,
    pub suite: hmac_handshake::native::Suite,
    /// `Session::forward_secrecy()`.
    pub forward_secrecy: bool,
    pub handshake_hash: Vec<u8>,
    pub c2s: Vec<u8>,
    pub s2c: Vec<u8>,
    pub export: Vec<u8>,
}

impl SessionSnap {
    pub fn of(s: &Session) -> SessionSnap {
        let mut export = vec![0u8; 40];
        s.export(b"fuzz", b"ctx", &mut export)
            .expect("a 40-byte export with a short label is in bounds");
        assert_eq!(s.handshake_hash().len(), s.suite().mac_len());
        SessionSnap {
            key_id: s.key_id().as_bytes().to_vec(),
            suite: s.suite(),
            forward_secrecy: s.forward_secrecy(),
            handshake_hash: s.handshake_hash().to_vec(),
            c2s: s.client_to_server_key().to_vec(),
            s2c: s.server_to_client_key().to_vec(),
            export,
        }
    }
}

/// Checks what `finish()` returned for a machine whose status was `status`:
/// `Done(o)` gives `Ok` with the same `Outcome` (and a session exactly for
/// the native profile, naming the outcome's suite and key id); `Failed(e)`
/// gives `Err(e)`; any other status `Err(NotFinished)`. Returns the session.
pub fn check_finished(status: &Snap, finished: Result<Finished, Error>) -> Option<SessionSnap> {
    match (status, finished) {
        (Snap::Done(o), Ok(f)) => {
            assert_eq!(
                f.outcome, *o,
                "finish() handed over another Outcome than status() showed"
            );
            match (o.scheme, f.into_session()) {
                (Scheme::Native { suite, key_id }, Some(s)) => {
                    assert_eq!(s.suite(), suite, "session suite differs from the Outcome's");
                    assert_eq!(
                        s.key_id(),
                        key_id,
                        "session key id differs from the Outcome's"
                    );
                    Some(SessionSnap::of(&s))
                }
                (Scheme::Native { .. }, None) => {
                    panic!("a finished native machine gave no session")
                }
                (_, Some(s)) => panic!("a session ({s:?}) from a non-native machine"),
                (_, None) => None,
            }
        }
        (Snap::Failed(e), Err(got)) => {
            assert_eq!(got, *e, "finish() of a failed machine: not its error");
            None
        }
        (Snap::NeedInput | Snap::Send(_), Err(Error::NotFinished)) => None,
        (s, got) => panic!("finish() returned {got:?} for a machine in status {s:?}"),
    }
}

/// Remembers the first terminal status and asserts it never changes; checks
/// `may_send_application_data()` and `peer_verified()` against the status
/// (both `false` once `Failed`; at `Done` the first is `true` and the second
/// is `Outcome::peer_authenticated`; no application data while handshake
/// output is pending; neither turns back to `false` except by a failure),
/// and records where each first turned `true`.
#[derive(Default)]
pub struct Sticky {
    terminal: Option<Snap>,
    may_send: bool,
    verified: bool,
    /// Bytes written when `may_send_application_data()` was first `true`.
    pub may_send_at: Option<usize>,
    /// Peer bytes consumed when `peer_verified()` was first `true`.
    pub verified_at: Option<usize>,
}

impl Sticky {
    /// `written` and `consumed`: the machine's bytes out and in so far.
    pub fn check<M: Handshake + ?Sized>(
        &mut self,
        m: &M,
        what: &str,
        written: usize,
        consumed: usize,
    ) -> Snap {
        let s = Snap::of(m);
        let may_send = m.may_send_application_data();
        let verified = m.peer_verified();
        match &s {
            Snap::Done(o) => {
                assert!(
                    may_send,
                    "may_send_application_data() is false at Done (after {what})"
                );
                assert_eq!(
                    verified, o.peer_authenticated,
                    "peer_verified() differs from Outcome::peer_authenticated at Done (after {what})"
                );
            }
            Snap::Failed(e) => {
                assert!(
                    !may_send,
                    "may_send_application_data() is true at Failed (after {what})"
                );
                assert!(
                    !verified,
                    "peer_verified() is true at Failed (after {what})"
                );
                assert_eq!(
                    e.origin(),
                    Origin::Peer,
                    "a machine failed with a caller error {e:?}"
                );
            }
            Snap::Send(_) => assert!(
                !may_send,
                "may_send_application_data() with handshake output pending (after {what})"
            ),
            Snap::NeedInput => {}
        }
        if !matches!(s, Snap::Failed(_)) {
            assert!(
                may_send || !self.may_send,
                "may_send_application_data() turned false without a failure (after {what})"
            );
            assert!(
                verified || !self.verified,
                "peer_verified() turned false without a failure (after {what})"
            );
        }
        if may_send && self.may_send_at.is_none() {
            self.may_send_at = Some(written);
        }
        if verified && self.verified_at.is_none() {
            self.verified_at = Some(consumed);
        }
        self.may_send = may_send;
        self.verified = verified;
        match &self.terminal {
            Some(t) => assert_eq!(&s, t, "terminal status changed after {what}"),
            None if s.is_terminal() => self.terminal = Some(s.clone()),
            None => {}
        }
        s
    }
}

/// Everything observable from one run.
#[derive(Debug, PartialEq, Eq)]
pub struct Trace {
    /// All bytes the machine wrote, in order.
    pub output: Vec<u8>,
    /// The messages, one per `Send` phase (status `Send` until drained).
    pub messages: Vec<Vec<u8>>,
    /// Peer bytes consumed.
    pub consumed: usize,
    /// The last status.
    pub end: Snap,
    /// Bytes written when `may_send_application_data()` was first `true`.
    pub may_send_at: Option<usize>,
    /// Peer bytes consumed when `peer_verified()` was first `true`.
    pub verified_at: Option<usize>,
    /// The session `finish()` handed over (native, `Done` only).
    pub session: Option<SessionSnap>,
}

/// How a run ended: finished (with the number of status checks made), or
/// stopped at the requested check with the machine as it was then.
enum RunEnd<M> {
    Finished(Box<Trace>, usize),
    Stopped(M, Snap),
}

/// Feeds `peer` to `m` by `plan` (chunk sizes, write sizes, probes) until the
/// machine is done, has failed, or wants input that `peer` no longer has;
/// then finishes it. `bound(i)` is the largest allowed length of message `i`.
///
/// Asserts: `receive` takes at most what it is offered; a `NeedInput`
/// machine offered bytes takes at least one (no stall); `Send`
/// slices are non-empty and within `bound`; `write_output` copies
/// `min(buffer, pending)`; empty `receive` / `write_output` are no-ops; bad
/// `sent` counts fail with `SentTooMuch` and change nothing; a terminal
/// status never changes afterwards, whatever is fed; a `Done` machine
/// consumes nothing more and its `Outcome::consumed` is what it took;
/// the [`Sticky`] checks at every step; `finish()` agrees with the last
/// status ([`check_finished`]).
pub fn drive<M: Handshake>(
    m: M,
    peer: &[u8],
    plan: &Plan,
    bound: &dyn Fn(usize) -> usize,
) -> Trace {
    match run(m, peer, plan, bound, None) {
        RunEnd::Finished(t, _) => *t,
        RunEnd::Stopped(..) => unreachable!("no stop was asked for"),
    }
}

fn run<M: Handshake>(
    mut m: M,
    peer: &[u8],
    plan: &Plan,
    bound: &dyn Fn(usize) -> usize,
    stop: Option<usize>,
) -> RunEnd<M> {
    let mut sticky = Sticky::default();
    let mut steps = 0usize;
    let mut chunks = Sizes::new(&plan.chunks);
    let mut writes = Sizes::new(&plan.writes);
    let mut output = Vec::new();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut in_send = false;
    let mut pos = 0usize;
    let mut buf = [0u8; 512];

    // A status check: the Sticky checks, then stop here if this is the
    // check the finish() probe asked for.
    macro_rules! check {
        ($what:expr) => {{
            let s = sticky.check(&m, $what, output.len(), pos);
            steps += 1;
            if stop == Some(steps - 1) {
                return RunEnd::Stopped(m, s);
            }
            s
        }};
    }

    for _round in 0..100_000 {
        // Drain pending output.
        loop {
            let s = check!("a write");
            let Snap::Send(pending) = s else {
                in_send = false;
                break;
            };
            assert!(!pending.is_empty(), "Status::Send with an empty slice");
            if !in_send {
                in_send = true;
                messages.push(Vec::new());
            }
            let index = messages.len() - 1;
            let so_far = messages[index].len();
            assert!(
                so_far + pending.len() <= bound(index),
                "message {index} is {} bytes, over the bound {}",
                so_far + pending.len(),
                bound(index)
            );
            if plan.oversent() {
                assert_eq!(m.sent(pending.len() + 1), Err(Error::SentTooMuch));
                assert_eq!(
                    Snap::of(&m),
                    Snap::Send(pending.clone()),
                    "a refused sent() changed the machine"
                );
            }
            if plan.pending_input() && pos < peer.len() {
                // Offer input while output is pending: whatever is taken is
                // accounted for; the machine must stay consistent.
                let end = peer.len().min(pos + 64);
                let n = m.receive(&peer[pos..end]);
                assert!(n <= end - pos, "receive took {n} of {} bytes", end - pos);
                pos += n;
                if check!("a receive with output pending") != Snap::Send(pending.clone()) {
                    assert!(n > 0, "a receive that took nothing changed the status");
                    continue;
                }
            }
            let w = writes
                .next(|| {
                    assert_eq!(m.write_output(&mut []), 0);
                    assert_eq!(
                        Snap::of(&m),
                        Snap::Send(pending.clone()),
                        "an empty write changed the machine"
                    );
                })
                .unwrap_or(buf.len())
                .min(buf.len());
            let n = m.write_output(&mut buf[..w]);
            assert_eq!(
                n,
                w.min(pending.len()),
                "write_output copied the wrong amount"
            );
            assert_eq!(
                &buf[..n],
                &pending[..n],
                "write_output copied other bytes than Status::Send held"
            );
            output.extend_from_slice(&buf[..n]);
            messages[index].extend_from_slice(&buf[..n]);
        }

        let s = check!("draining");
        if plan.idle_sent() {
            assert_eq!(
                m.sent(1),
                Err(Error::SentTooMuch),
                "sent(1) with nothing pending"
            );
            check!("a refused sent()");
            assert_eq!(Snap::of(&m), s);
        }
        match s {
            Snap::Send(_) => unreachable!("drained above"),
            Snap::Done(o) => {
                assert_eq!(
                    o.consumed, pos,
                    "Outcome::consumed is not what receive took"
                );
                // Application bytes: never consumed.
                assert_eq!(m.receive(&peer[pos..]), 0, "a Done machine consumed bytes");
                assert_eq!(
                    m.receive(b"application bytes"),
                    0,
                    "a Done machine consumed bytes"
                );
                check!("input after Done");
                break;
            }
            Snap::Failed(_) => {
                let n = m.receive(&peer[pos..]);
                assert!(n <= peer.len() - pos);
                check!("input after Failed");
                m.receive(b"\x00\x00\x00\x09#WELCOME#");
                check!("input after Failed");
                break;
            }
            Snap::NeedInput => {
                if pos == peer.len() {
                    break;
                }
                let c = chunks.next(|| {
                    assert_eq!(m.receive(&[]), 0, "receive(&[]) consumed");
                    assert_eq!(
                        Snap::of(&m),
                        Snap::NeedInput,
                        "receive(&[]) changed the status"
                    );
                });
                let end = c.map_or(peer.len(), |c| peer.len().min(pos + c));
                let n = m.receive(&peer[pos..end]);
                assert!(n <= end - pos, "receive took {n} of {} bytes", end - pos);
                // Progress (`Handshake::receive`): offered bytes in
                // `NeedInput`, a machine consumes at least one, a bad byte
                // included (then it fails).
                assert!(
                    n > 0,
                    "stall: NeedInput, offered {} bytes, took none",
                    end - pos
                );
                pos += n;
            }
        }
    }
    let end = check!("the end");
    assert!(
        !matches!(end, Snap::Send(_)),
        "driver gave up with output pending (no progress)"
    );
    let session = check_finished(&end, m.finish());
    let trace = Trace {
        output,
        messages,
        consumed: pos,
        end,
        may_send_at: sticky.may_send_at,
        verified_at: sticky.verified_at,
        session,
    };
    RunEnd::Finished(Box::new(trace), steps)
}

/// Runs `make()` twice, once by `plan` and once with everything at once,
/// asserts both runs agree, and returns the chunked run's trace. Then the
/// `finish()` probe: a third machine, run by `plan` up to a status check
/// chosen by the plan (`Plan::finish_probe`, from the first check, right
/// after construction, to the last), is finished there; `finish()` must
/// agree with the status it had (`Err(NotFinished)` before `Done`).
pub fn check_machine<M: Handshake>(
    make: impl Fn() -> M,
    peer: &[u8],
    plan: &Plan,
    bound: &dyn Fn(usize) -> usize,
) -> Trace {
    let RunEnd::Finished(a, steps) = run(make(), peer, plan, bound, None) else {
        unreachable!("no stop was asked for");
    };
    let b = drive(make(), peer, &Plan::default(), bound);
    // Everything must agree, the bytes consumed included, failures too: a
    // machine checks each header byte as it arrives, so a bad byte fails at
    // the same place whatever the chunks.
    assert_eq!(*a, b, "chunking changed the result");

    let at = usize::from(plan.finish_probe()) * steps / 32;
    match run(make(), peer, plan, bound, Some(at)) {
        RunEnd::Stopped(m, status) => {
            let session = check_finished(&status, m.finish());
            if status.is_terminal() {
                assert_eq!(status, a.end, "the probe's run reached another end");
                assert_eq!(session, a.session, "the probe's session differs");
            }
        }
        RunEnd::Finished(..) => panic!("the replay took fewer than {at} steps of {steps}"),
    }
    if std::env::var_os("HH_FUZZ_DEBUG").is_some() {
        eprintln!(
            "end={:?} consumed={} messages={} may_send_at={:?} verified_at={:?} probe={at}/{steps}",
            a.end,
            a.consumed,
            a.messages.len(),
            a.may_send_at,
            a.verified_at,
        );
    }
    *a
}
