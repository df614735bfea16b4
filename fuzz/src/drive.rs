//! Drives one machine against fixed peer bytes and checks the sans-IO
//! contract at every step; `check_machine` adds the chunking-invariance run.

use hmac_handshake::native::Session;
use hmac_handshake::{Error, Handshake, Outcome, Status};

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
    pub fn of(m: &dyn Handshake) -> Snap {
        match m.status() {
            Status::NeedInput => Snap::NeedInput,
            Status::Send(b) => Snap::Send(b.to_vec()),
            Status::Done(o) => Snap::Done(o),
            Status::Failed(e) => Snap::Failed(e),
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
            handshake_hash: s.handshake_hash().to_vec(),
            c2s: s.client_to_server_key().to_vec(),
            s2c: s.server_to_client_key().to_vec(),
            export,
        }
    }
}

/// Remembers the first terminal status and asserts it never changes; also
/// that `session()` is `None` until the status is `Done` (the native
/// targets check that it is `Some` then; other profiles have none).
#[derive(Default)]
pub struct Sticky {
    terminal: Option<Snap>,
}

impl Sticky {
    pub fn check(&mut self, m: &dyn Handshake, what: &str) -> Snap {
        let s = Snap::of(m);
        assert!(
            m.session().is_none() || matches!(s, Snap::Done(_)),
            "session() is Some before Done (status {s:?}, after {what})"
        );
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
    pub session: Option<SessionSnap>,
}

/// Feeds `peer` to `m` by `plan` (chunk sizes, write sizes, probes) until the
/// machine is done, has failed, or wants input that `peer` no longer has.
/// `bound(i)` is the largest allowed length of message `i`.
///
/// Asserts: `receive` takes at most what it is offered; a `NeedInput`
/// machine offered bytes takes some or changes status (no stall); `Send`
/// slices are non-empty and within `bound`; `write_output` copies
/// `min(buffer, pending)`; empty `receive` / `write_output` are no-ops; bad
/// `sent` counts fail with `SentTooMuch` and change nothing; a terminal
/// status never changes afterwards, whatever is fed; a `Done` machine
/// consumes nothing more and its `Outcome::consumed` is what it took.
pub fn drive(
    m: &mut dyn Handshake,
    peer: &[u8],
    plan: &Plan,
    bound: &dyn Fn(usize) -> usize,
) -> Trace {
    let mut sticky = Sticky::default();
    let mut chunks = Sizes::new(&plan.chunks);
    let mut writes = Sizes::new(&plan.writes);
    let mut output = Vec::new();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut in_send = false;
    let mut pos = 0usize;
    let mut buf = [0u8; 512];

    for _round in 0..100_000 {
        // Drain pending output.
        loop {
            let s = sticky.check(m, "a write");
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
                    Snap::of(m),
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
                if sticky.check(m, "a receive with output pending") != Snap::Send(pending.clone()) {
                    assert!(n > 0, "a receive that took nothing changed the status");
                    continue;
                }
            }
            let w = writes
                .next(|| {
                    assert_eq!(m.write_output(&mut []), 0);
                    assert_eq!(
                        Snap::of(m),
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

        let s = sticky.check(m, "draining");
        if plan.idle_sent() {
            assert_eq!(
                m.sent(1),
                Err(Error::SentTooMuch),
                "sent(1) with nothing pending"
            );
            sticky.check(m, "a refused sent()");
            assert_eq!(Snap::of(m), s);
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
                sticky.check(m, "input after Done");
                break;
            }
            Snap::Failed(_) => {
                let n = m.receive(&peer[pos..]);
                assert!(n <= peer.len() - pos);
                sticky.check(m, "input after Failed");
                m.receive(b"\x00\x00\x00\x09#WELCOME#");
                sticky.check(m, "input after Failed");
                break;
            }
            Snap::NeedInput => {
                if pos == peer.len() {
                    break;
                }
                let c = chunks.next(|| {
                    assert_eq!(m.receive(&[]), 0, "receive(&[]) consumed");
                    assert_eq!(
                        Snap::of(m),
                        Snap::NeedInput,
                        "receive(&[]) changed the status"
                    );
                });
                let end = c.map_or(peer.len(), |c| peer.len().min(pos + c));
                let n = m.receive(&peer[pos..end]);
                assert!(n <= end - pos, "receive took {n} of {} bytes", end - pos);
                assert!(
                    n > 0 || Snap::of(m) != Snap::NeedInput,
                    "stall: NeedInput, offered {} bytes, took none, still NeedInput",
                    end - pos
                );
                pos += n;
            }
        }
    }
    let end = sticky.check(m, "the end");
    assert!(
        !matches!(end, Snap::Send(_)),
        "driver gave up with output pending (no progress)"
    );
    let session = m.session().map(SessionSnap::of);
    Trace {
        output,
        messages,
        consumed: pos,
        end,
        session,
    }
}

/// Runs `make()` twice, once by `plan` and once with everything at once,
/// asserts both runs agree, and returns the chunked run's trace.
pub fn check_machine<'k, M: Handshake + 'k>(
    make: impl Fn() -> M,
    peer: &[u8],
    plan: &Plan,
    bound: &dyn Fn(usize) -> usize,
) -> Trace {
    let mut chunked = make();
    let a = drive(&mut chunked, peer, plan, bound);
    let mut whole = make();
    let b = drive(&mut whole, peer, &Plan::default(), bound);
    // Everything must agree, the bytes consumed included, failures too: a
    // machine checks each header byte as it arrives, so a bad byte fails at
    // the same place whatever the chunks.
    assert_eq!(a, b, "chunking changed the result");
    if std::env::var_os("HH_FUZZ_DEBUG").is_some() {
        eprintln!(
            "end={:?} consumed={} messages={}",
            a.end,
            a.consumed,
            a.messages.len()
        );
    }
    a
}
