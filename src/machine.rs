//! The one machine core every profile and role runs on: the outbox, the
//! sticky phase, `status` / `sent` and the receive guard, written once. A
//! profile only says what to do with input it is given and when its
//! pending message has been sent ([`Protocol`]).

use crate::buf::Outbox;
use crate::native::{self, ClientKeys, KeyLookup, SessionSeed};
use crate::status::{Finished, Outcome, Status};
use crate::wipe::{span, span_aligned, wipe, Wipe};
use crate::{multiprocessing, recipe, Error, Key};

/// Capacity of the outbox: the largest message of any profile (a native
/// `ClientProof` with a 32-byte key id, an X25519 share and a 64-byte tag,
/// 162 bytes).
pub(crate) const OUT_CAP: usize = native::MAX_CLIENT_PROOF_LEN;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The protocol runs; its own stage says what it awaits.
    Open,
    /// The last message is pending: then done (`None`) or failed.
    Closing(Option<Error>),
    Done,
    Failed(Error),
    /// Zeros over the room an error takes ([`crate::wipe`]): a phase is
    /// built over it, so that `Open` and `Done`, which write only the tag,
    /// leave zeros in that room, not stale stack bytes (a key schedule's,
    /// say) that a move would carry into a machine on the heap. Also what
    /// a dropped machine's phase becomes.
    #[allow(dead_code, reason = "never read: written for its bytes")]
    Wiped([u8; PHASE_SPAN]),
}

const PHASE_SPAN: usize = span_aligned(
    &[
        core::mem::size_of::<Option<Error>>(),
        core::mem::size_of::<Error>(),
    ],
    core::mem::align_of::<Error>(),
);

impl Wipe for Phase {
    fn wiped() -> Phase {
        Phase::Wiped([0; PHASE_SPAN])
    }
}

/// The part of every machine that is not the protocol.
pub(crate) struct Core {
    out: Outbox<OUT_CAP>,
    phase: Phase,
    consumed: usize,
}

impl Core {
    fn new() -> Core {
        let mut core = Core {
            out: Outbox::new(),
            phase: Phase::wiped(),
            consumed: 0,
        };
        // The zeros are kept: only then the tag is written.
        core::hint::black_box(&mut core.phase);
        core.phase = Phase::Open;
        core
    }

    /// Queues a message; the protocol stays open, and its
    /// [`Protocol::drained`] runs once the message has been sent.
    pub(crate) fn send(&mut self, parts: &[&[u8]]) {
        self.out.push(parts);
    }

    /// Queues this side's last message: done once it has been sent.
    pub(crate) fn send_last(&mut self, parts: &[&[u8]]) {
        self.close(parts, None);
    }

    /// Queues the protocol's failure message (`#FAILURE#`, native `03 01`):
    /// failed with `error` once it has been sent.
    pub(crate) fn reject(&mut self, parts: &[&[u8]], error: Error) {
        self.close(parts, Some(error));
    }

    fn close(&mut self, parts: &[&[u8]], error: Option<Error>) {
        self.out.push(parts);
        // Nothing to hand out (no protocol queues an empty message, but a
        // machine must never wait on an empty outbox): the end is now.
        self.phase = match (self.out.is_empty(), error) {
            (false, e) => Phase::Closing(e),
            (true, None) => Phase::Done,
            (true, Some(e)) => Phase::Failed(e),
        };
    }

    /// Done now: nothing more to send.
    pub(crate) fn done(&mut self) {
        self.phase = Phase::Done;
    }

    /// Failed now: nothing more to send.
    pub(crate) fn fail(&mut self, error: Error) {
        self.phase = Phase::Failed(error);
    }

    /// Open with nothing pending: the protocol may take input.
    pub(crate) fn idle(&self) -> bool {
        self.phase == Phase::Open && self.out.is_empty()
    }
}

/// What a profile and role adds to the [`Core`].
pub(crate) trait Protocol {
    /// What it reads its keys through.
    type Keys<'k>: ?Sized;

    /// Takes bytes while the core is [`idle`](Core::idle) (never called
    /// otherwise, nor with empty input); returns how many it consumed.
    /// Consumes at least one byte, or leaves the core not idle.
    fn receive(&mut self, keys: &Self::Keys<'_>, core: &mut Core, input: &[u8]) -> usize;

    /// The pending message has been sent and the core is still open.
    fn drained(&mut self, core: &mut Core) {
        let _ = core;
    }

    /// The outcome, once done; `consumed` is the core's count.
    fn outcome(&self, consumed: usize) -> Outcome;

    /// While open and idle: this side's last handshake message is out, so
    /// application bytes may follow it on the stream.
    fn sent_last(&self) -> bool;

    /// This side has verified a MAC made by the peer.
    fn peer_verified(&self) -> bool;

    /// What the session secrets are derived from when the application asks
    /// for them, once done (native only).
    fn session_seed(&self, keys: &Self::Keys<'_>) -> Option<SessionSeed> {
        let _ = keys;
        None
    }
}

/// Reads the key a recipe or multiprocessing machine needs from its handle.
pub(crate) type GetKey<K> = fn(&K) -> &Key;
/// Reads the native server's key lookup from its handle.
pub(crate) type GetLookup<K> = fn(&K) -> &dyn KeyLookup;
/// Reads the native client's keys from its handle.
pub(crate) type GetClientKeys<K> = fn(&K) -> &dyn ClientKeys;

/// Every protocol of every profile and role, each with the function that
/// reads its keys from the handle `K` (fixed when the machine is built, where
/// the handle's type is known to fit). Boxing the larger variants would
/// allocate; the machines are fixed-size by design.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Proto<K> {
    RecipeServer(recipe::Server, GetKey<K>),
    RecipeClient(recipe::Client, GetKey<K>),
    Multiprocessing(multiprocessing::machine::Machine, GetKey<K>),
    NativeServer(native::server::Server, GetLookup<K>),
    NativeClient(native::client::Client, GetClientKeys<K>),
    /// What a dropped machine's protocol becomes: zeros over all of its
    /// room ([`crate::wipe`]), padding included, which may hold stale stack
    /// bytes from when the machine was built (key schedules, tags). Never
    /// seen by a method: it is set only in `Drop`.
    #[allow(dead_code, reason = "never read: written for its bytes")]
    Wiped([u8; PROTO_SPAN]),
}

/// Every payload's size; `fn()` stands for the key readers (every function
/// pointer has the same size whatever `K`).
const PROTO_SPAN: usize = span(&[
    core::mem::size_of::<(recipe::Server, fn())>(),
    core::mem::size_of::<(recipe::Client, fn())>(),
    core::mem::size_of::<(multiprocessing::machine::Machine, fn())>(),
    core::mem::size_of::<(native::server::Server, fn())>(),
    core::mem::size_of::<(native::client::Client, fn())>(),
]);

impl<K> Wipe for Proto<K> {
    fn wiped() -> Proto<K> {
        Proto::Wiped([0; PROTO_SPAN])
    }
}

/// Runs `$body` with `$m` bound to the protocol and `$k` to its keys
/// (read from `$keys`): the one place the protocols are dispatched.
macro_rules! each_proto {
    ($proto:expr, |$m:ident| $body:expr) => {
        match $proto {
            Proto::RecipeServer($m, _) => $body,
            Proto::RecipeClient($m, _) => $body,
            Proto::Multiprocessing($m, _) => $body,
            Proto::NativeServer($m, _) => $body,
            Proto::NativeClient($m, _) => $body,
            Proto::Wiped(_) => unreachable!("a machine is wiped only when dropped"),
        }
    };
    ($proto:expr, $keys:expr, |$m:ident, $k:ident| $body:expr) => {
        match $proto {
            Proto::RecipeServer($m, get) => {
                let $k = get($keys);
                $body
            }
            Proto::RecipeClient($m, get) => {
                let $k = get($keys);
                $body
            }
            Proto::Multiprocessing($m, get) => {
                let $k = get($keys);
                $body
            }
            Proto::NativeServer($m, get) => {
                let $k = get($keys);
                $body
            }
            Proto::NativeClient($m, get) => {
                let $k = get($keys);
                $body
            }
            Proto::Wiped(_) => unreachable!("a machine is wiped only when dropped"),
        }
    };
}

/// A handshake machine: its key handle, the core and the protocol. Public
/// only so that the sealed profile traits can name it; not reachable from
/// outside the crate.
pub struct Machine<K> {
    keys: K,
    core: Core,
    proto: Proto<K>,
}

impl<K> Drop for Machine<K> {
    fn drop(&mut self) {
        wipe(&mut self.proto);
        wipe(&mut self.core.phase);
    }
}

impl<K> Machine<K> {
    /// Builds a machine; `start` queues the protocol's first message, if any.
    #[inline(always)]
    pub(crate) fn new(keys: K, start: impl FnOnce(&K, &mut Core) -> Proto<K>) -> Machine<K> {
        let mut core = Core::new();
        let proto = start(&keys, &mut core);
        Machine { keys, core, proto }
    }

    #[inline]
    pub(crate) fn status(&self) -> Status<'_> {
        if !self.core.out.is_empty() {
            return Status::Send(self.core.out.pending());
        }
        match self.core.phase {
            Phase::Done => Status::Done(self.outcome_unchecked()),
            Phase::Failed(e) => Status::Failed(e),
            Phase::Open | Phase::Closing(_) | Phase::Wiped(_) => Status::NeedInput,
        }
    }

    fn outcome_unchecked(&self) -> Outcome {
        let consumed = self.core.consumed;
        each_proto!(&self.proto, |m| m.outcome(consumed))
    }

    #[inline]
    pub(crate) fn receive(&mut self, input: &[u8]) -> usize {
        if input.is_empty() || !self.core.idle() {
            return 0;
        }
        let core = &mut self.core;
        let keys = &self.keys;
        let n = each_proto!(&mut self.proto, keys, |m, k| m.receive(k, core, input));
        // A protocol never takes more than it is given; the bound keeps the
        // caller's slicing safe whatever happens.
        let n = n.min(input.len());
        self.core.consumed += n;
        n
    }

    #[inline]
    pub(crate) fn sent(&mut self, n: usize) -> Result<(), Error> {
        self.core.out.sent(n)?;
        if self.core.out.is_empty() {
            match self.core.phase {
                Phase::Open => {
                    let core = &mut self.core;
                    each_proto!(&mut self.proto, |m| m.drained(core));
                }
                Phase::Closing(None) => self.core.phase = Phase::Done,
                Phase::Closing(Some(e)) => self.core.phase = Phase::Failed(e),
                Phase::Done | Phase::Failed(_) | Phase::Wiped(_) => {}
            }
        }
        Ok(())
    }

    pub(crate) fn may_send_application_data(&self) -> bool {
        match self.core.phase {
            Phase::Done => true,
            Phase::Open if self.core.out.is_empty() => {
                each_proto!(&self.proto, |m| m.sent_last())
            }
            _ => false,
        }
    }

    /// The error, once the handshake has failed: also while its failure
    /// message is still pending (`Closing(Some(_))`).
    pub(crate) fn failure(&self) -> Option<Error> {
        match self.core.phase {
            Phase::Failed(e) | Phase::Closing(Some(e)) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn peer_verified(&self) -> bool {
        !matches!(self.core.phase, Phase::Failed(_) | Phase::Closing(Some(_)))
            && each_proto!(&self.proto, |m| m.peer_verified())
    }

    /// What `finish` hands over; the caller drops the machine afterwards
    /// (by reference, so the machine is not moved to compute it). The same
    /// verdict as [`status`](Self::status): done only with nothing pending.
    #[inline(always)]
    pub(crate) fn finish(&self) -> Result<Finished, Error> {
        if !self.core.out.is_empty() {
            return Err(Error::NotFinished);
        }
        match self.core.phase {
            Phase::Done => {
                let consumed = self.core.consumed;
                Ok(each_proto!(&self.proto, &self.keys, |m, k| Finished::new(
                    m.outcome(consumed),
                    m.session_seed(k)
                )))
            }
            Phase::Failed(e) => Err(e),
            Phase::Open | Phase::Closing(_) | Phase::Wiped(_) => Err(Error::NotFinished),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Phase, Proto, PHASE_SPAN, PROTO_SPAN};

    /// The `Wiped` array and the tag are the whole enum (see `crate::wipe`).
    #[test]
    fn spans_every_byte() {
        assert_eq!(core::mem::size_of::<Proto<()>>(), 1 + PROTO_SPAN);
        assert_eq!(core::mem::size_of::<Phase>(), 1 + PHASE_SPAN);
    }
}
