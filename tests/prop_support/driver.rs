//! The driver: two machines, two in-memory pipes, chunked reads and
//! writes, an optional bit flip in transit and application bytes behind the
//! handshake; what each side did, saw and finished with.

use hmac_handshake::native::Session;
use hmac_handshake::{Confirmation, Error, Finished, Handshake, Outcome, Scheme, Status};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// A machine of any profile, role and key handle, boxed so one driver runs
/// them all, and finished through the box (`Handshake::finish` takes the
/// machine by value).
pub trait AnyMachine: Handshake {
    fn finish_boxed(self: Box<Self>) -> Result<Finished, Error>;
}

impl<T: Handshake> AnyMachine for T {
    fn finish_boxed(self: Box<Self>) -> Result<Finished, Error> {
        (*self).finish()
    }
}

/// A boxed machine borrowing its keys for `'k`.
pub type Boxed<'k> = Box<dyn AnyMachine + 'k>;

/// A chunk size meaning "everything available".
pub const WHOLE: usize = usize::MAX;

/// Chunk sizes, cycled through, for each side's reads and writes.
#[derive(Clone)]
pub struct Chunking {
    pub server_reads: Vec<usize>,
    pub server_writes: Vec<usize>,
    pub client_reads: Vec<usize>,
    pub client_writes: Vec<usize>,
}

impl Chunking {
    /// Every read and write takes all that is available.
    pub fn whole() -> Chunking {
        Chunking {
            server_reads: vec![WHOLE],
            server_writes: vec![WHOLE],
            client_reads: vec![WHOLE],
            client_writes: vec![WHOLE],
        }
    }
}

fn show_sizes(v: &[usize]) -> String {
    let sizes: Vec<String> = v
        .iter()
        .map(|&n| {
            if n == WHOLE {
                "all".into()
            } else {
                n.to_string()
            }
        })
        .collect();
    format!("[{}]", sizes.join(", "))
}

impl std::fmt::Debug for Chunking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Chunking {{ server_reads: {}, server_writes: {}, client_reads: {}, client_writes: {} }}",
            show_sizes(&self.server_reads),
            show_sizes(&self.server_writes),
            show_sizes(&self.client_reads),
            show_sizes(&self.client_writes)
        )
    }
}

/// Chunk sizes taken in turn, round and round.
pub struct Cycle<'a> {
    sizes: &'a [usize],
    next: usize,
}

impl<'a> Cycle<'a> {
    pub fn new(sizes: &'a [usize]) -> Cycle<'a> {
        Cycle { sizes, next: 0 }
    }

    pub fn take(&mut self) -> usize {
        let size = self.sizes.get(self.next % self.sizes.len().max(1));
        self.next += 1;
        size.copied().unwrap_or(WHOLE).max(1)
    }
}

/// One bit to flip in transit: message `msg` (counted over both directions
/// in the order they are sent), byte `byte` of it, bit `bit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flip {
    pub msg: usize,
    pub byte: usize,
    pub bit: u8,
}

/// Arbitrary flip coordinates, resolved against an honest transcript.
#[derive(Clone, Copy, Debug)]
pub struct FlipSeed {
    pub msg: usize,
    pub byte: usize,
    pub bit: u8,
}

impl FlipSeed {
    pub fn resolve(self, messages: &[Message]) -> Flip {
        let msg = self.msg % messages.len();
        Flip {
            msg,
            byte: self.byte % messages[msg].bytes.len(),
            bit: self.bit % 8,
        }
    }
}

/// What the network and the applications do to the exchange.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub flip: Option<Flip>,
    /// Bytes the sender appends right after message `.0` (application data
    /// pipelined behind the handshake).
    pub after: Vec<(usize, Vec<u8>)>,
    /// Application bytes each side (`[server, client]`) writes as soon as
    /// its `may_send_application_data()` turns true.
    pub when_allowed: [Option<Vec<u8>>; 2],
    /// Stop after this many `write_output` / `receive` calls (both sides
    /// counted together), whatever the machines' state.
    pub stop_after: Option<usize>,
}

/// One handshake message as its sender emitted it (before any tampering).
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub from_server: bool,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = if self.from_server { "server" } else { "client" };
        write!(f, "{from}:{}", hex::encode(&self.bytes))
    }
}

/// Every field of an [`Outcome`] (which is `#[non_exhaustive]`, so tests
/// cannot build one to compare with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutcomeView {
    pub peer_authenticated: bool,
    pub confirmation: Confirmation,
    pub scheme: Scheme,
    pub consumed: usize,
}

impl From<Outcome> for OutcomeView {
    fn from(o: Outcome) -> OutcomeView {
        OutcomeView {
            peer_authenticated: o.peer_authenticated,
            confirmation: o.confirmation,
            scheme: o.scheme,
            consumed: o.consumed,
        }
    }
}

/// Where a machine stopped once nothing moved any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Done(OutcomeView),
    Failed(Error),
    /// `NeedInput` with nothing left to read: the peer stays silent (a real
    /// connection reports a timeout or a close).
    Waiting,
    /// Output pending: only when the plan stopped the exchange early.
    Sending,
}

impl End {
    pub fn is_done(self) -> bool {
        matches!(self, End::Done(_))
    }
}

/// The kind of a [`Status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Send,
    NeedInput,
    Done,
    Failed,
}

pub fn kind(s: &Status<'_>) -> Kind {
    match s {
        Status::Send(_) => Kind::Send,
        Status::NeedInput => Kind::NeedInput,
        Status::Done(_) => Kind::Done,
        Status::Failed(_) => Kind::Failed,
        // An unknown status counts as a failure.
        _ => Kind::Failed,
    }
}

/// A side as seen after one of its calls (and once before any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obs {
    /// Handshake bytes this side had handed out by then.
    pub sent: usize,
    pub may_send: bool,
    pub kind: Kind,
}

fn observe(m: &dyn AnyMachine, sent: usize) -> Obs {
    Obs {
        sent,
        may_send: m.may_send_application_data(),
        kind: kind(&m.status()),
    }
}

#[derive(Debug)]
pub struct SideReport {
    pub end: End,
    /// Every byte the machine handed out, in order.
    pub sent: Vec<u8>,
    /// Bytes `receive` reported as consumed, summed.
    pub consumed: usize,
    /// Bytes delivered to this side that it did not consume.
    pub leftover: Vec<u8>,
    /// Each `receive` call: (bytes offered, bytes consumed).
    pub receives: Vec<(usize, usize)>,
    /// The side after each of its calls, the first entry before any.
    pub observations: Vec<Obs>,
    /// What `finish()` returned (its outcome, or its error).
    pub finish: Result<OutcomeView, Error>,
    /// The session `finish()` handed over.
    pub session: Option<Session>,
}

#[derive(Debug)]
pub struct Exchange {
    pub server: SideReport,
    pub client: SideReport,
    pub messages: Vec<Message>,
}

impl Exchange {
    /// Index of the last message `from_server` sent, if any.
    pub fn last_from(&self, from_server: bool) -> Option<usize> {
        self.messages
            .iter()
            .rposition(|m| m.from_server == from_server)
    }

    /// Handshake bytes one side sent, over all its messages.
    pub fn bytes_from(&self, from_server: bool) -> usize {
        self.messages
            .iter()
            .filter(|m| m.from_server == from_server)
            .map(|m| m.bytes.len())
            .sum()
    }

    /// Everything one side sent, in order: the stream its peer read.
    pub fn stream_from(&self, from_server: bool) -> Vec<u8> {
        self.messages
            .iter()
            .filter(|m| m.from_server == from_server)
            .flat_map(|m| m.bytes.iter().copied())
            .collect()
    }
}

/// Records a side after one of its calls; when its
/// `may_send_application_data()` turns true for the first time, writes the
/// plan's application bytes for that side to its peer.
fn after_call(
    m: &dyn AnyMachine,
    sent: usize,
    observations: &mut Vec<Obs>,
    app: Option<&Vec<u8>>,
    app_written: &mut bool,
    peer_inbox: &mut Vec<u8>,
) {
    let o = observe(m, sent);
    if o.may_send && !*app_written {
        if let Some(app) = app {
            peer_inbox.extend_from_slice(app);
        }
        *app_written = true;
    }
    observations.push(o);
}

/// Runs `server` and `client` against each other until neither moves (or
/// the plan stops them), then finishes both, checking the sans-IO contract
/// on every call: `write_output` hands out `min(room, pending)` bytes of one
/// message whose length never changes mid-way; `receive` consumes at most
/// what it is offered, something when it asks for input, and nothing
/// otherwise.
pub fn drive(
    server: Boxed<'_>,
    client: Boxed<'_>,
    chunking: &Chunking,
    plan: &Plan,
) -> Result<Exchange, TestCaseError> {
    let mut machines: [Boxed<'_>; 2] = [server, client];
    let mut writes = [
        Cycle::new(&chunking.server_writes),
        Cycle::new(&chunking.client_writes),
    ];
    let mut reads = [
        Cycle::new(&chunking.server_reads),
        Cycle::new(&chunking.client_reads),
    ];
    let mut inbox: [Vec<u8>; 2] = Default::default();
    let mut sent: [Vec<u8>; 2] = Default::default();
    let mut consumed = [0usize; 2];
    let mut receives: [Vec<(usize, usize)>; 2] = Default::default();
    let mut observations: [Vec<Obs>; 2] = Default::default();
    let mut app_written = [false; 2];
    // Message being sent by each side: (index, bytes sent so far, length).
    let mut current: [Option<(usize, usize, usize)>; 2] = [None, None];
    let mut messages: Vec<Message> = Vec::new();
    let mut calls = 0usize;
    for me in 0..2 {
        observations[me].push(observe(&*machines[me], 0));
    }
    let stop = |calls: usize| plan.stop_after.is_some_and(|k| calls >= k);
    let mut settled = false;
    let mut stopped = false;
    'run: for _ in 0..100_000 {
        let mut progress = false;
        for me in 0..2 {
            let peer = 1 - me;
            let pending = match machines[me].status() {
                Status::Send(p) => Some(p.len()),
                _ => None,
            };
            if let Some(len) = pending {
                if stop(calls) {
                    stopped = true;
                    break 'run;
                }
                prop_assert!(len > 0, "Status::Send with nothing to send");
                let (idx, off, total) = match current[me] {
                    Some(c) => c,
                    None => {
                        messages.push(Message {
                            from_server: me == 0,
                            bytes: Vec::new(),
                        });
                        (messages.len() - 1, 0, len)
                    }
                };
                prop_assert_eq!(off + len, total, "pending output changed mid-message");
                let want = writes[me].take().min(len);
                let mut buf = vec![0u8; want];
                let n = machines[me].write_output(&mut buf);
                calls += 1;
                prop_assert_eq!(n, want, "write_output wrote less than it could");
                messages[idx].bytes.extend_from_slice(&buf);
                sent[me].extend_from_slice(&buf);
                if let Some(f) = plan.flip {
                    if f.msg == idx && (off..off + n).contains(&f.byte) {
                        buf[f.byte - off] ^= 1 << f.bit;
                    }
                }
                inbox[peer].extend_from_slice(&buf);
                if off + n == total {
                    current[me] = None;
                    for (after, extra) in &plan.after {
                        if *after == idx {
                            inbox[peer].extend_from_slice(extra);
                        }
                    }
                } else {
                    current[me] = Some((idx, off + n, total));
                }
                after_call(
                    &*machines[me],
                    sent[me].len(),
                    &mut observations[me],
                    plan.when_allowed[me].as_ref(),
                    &mut app_written[me],
                    &mut inbox[peer],
                );
                progress = true;
            }
            if !inbox[me].is_empty() {
                if stop(calls) {
                    stopped = true;
                    break 'run;
                }
                let asks = matches!(machines[me].status(), Status::NeedInput);
                let offer = reads[me].take().min(inbox[me].len());
                let took = machines[me].receive(&inbox[me][..offer]);
                calls += 1;
                receives[me].push((offer, took));
                prop_assert!(took <= offer, "receive consumed {took} of {offer} bytes");
                if asks {
                    prop_assert!(took > 0, "NeedInput, yet receive refused {offer} bytes");
                } else {
                    prop_assert_eq!(took, 0, "receive consumed bytes while not asking for input");
                }
                inbox[me].drain(..took);
                consumed[me] += took;
                after_call(
                    &*machines[me],
                    sent[me].len(),
                    &mut observations[me],
                    plan.when_allowed[me].as_ref(),
                    &mut app_written[me],
                    &mut inbox[peer],
                );
                progress |= took > 0;
            }
        }
        if !progress {
            settled = true;
            break;
        }
    }
    prop_assert!(settled || stopped, "the exchange never settled");
    let mut ends = [End::Waiting; 2];
    for (me, end) in ends.iter_mut().enumerate() {
        *end = match machines[me].status() {
            Status::Done(o) => End::Done(o.into()),
            Status::Failed(e) => End::Failed(e),
            Status::NeedInput => End::Waiting,
            Status::Send(_) if stopped => End::Sending,
            Status::Send(_) => return Err(TestCaseError::fail("settled with output pending")),
            s => return Err(TestCaseError::fail(format!("unknown status {s:?}"))),
        };
    }
    let [server, client] = machines;
    let finish = |m: Boxed<'_>| match m.finish_boxed() {
        Ok(f) => (Ok(OutcomeView::from(f.outcome)), f.into_session()),
        Err(e) => (Err(e), None),
    };
    let (server_finish, server_session) = finish(server);
    let (client_finish, client_session) = finish(client);
    let [server_inbox, client_inbox] = inbox;
    let [server_sent, client_sent] = sent;
    let [server_receives, client_receives] = receives;
    let [server_obs, client_obs] = observations;
    Ok(Exchange {
        server: SideReport {
            end: ends[0],
            sent: server_sent,
            consumed: consumed[0],
            leftover: server_inbox,
            receives: server_receives,
            observations: server_obs,
            finish: server_finish,
            session: server_session,
        },
        client: SideReport {
            end: ends[1],
            sent: client_sent,
            consumed: consumed[1],
            leftover: client_inbox,
            receives: client_receives,
            observations: client_obs,
            finish: client_finish,
            session: client_session,
        },
        messages,
    })
}

pub fn setup_err(what: &str, e: Error) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e:?}"))
}

/// The comparable part of a native session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    pub key_id: Vec<u8>,
    pub suite: hmac_handshake::native::Suite,
    pub forward_secrecy: bool,
    pub handshake_hash: Vec<u8>,
    pub c2s: Vec<u8>,
    pub s2c: Vec<u8>,
}

pub fn view(s: &Session) -> SessionView {
    SessionView {
        key_id: s.key_id().as_bytes().to_vec(),
        suite: s.suite(),
        forward_secrecy: s.forward_secrecy(),
        handshake_hash: s.handshake_hash().to_vec(),
        c2s: s.client_to_server_key().to_vec(),
        s2c: s.server_to_client_key().to_vec(),
    }
}

pub fn views(r: &SideReport) -> Option<SessionView> {
    r.session.as_ref().map(view)
}

/// `len` bytes exported from `s`.
pub fn export(
    s: &Session,
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Vec<u8>, TestCaseError> {
    let mut out = vec![0u8; len];
    s.export(label, context, &mut out)
        .map_err(|e| setup_err("export", e))?;
    Ok(out)
}
