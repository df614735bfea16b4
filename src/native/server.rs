//! The native server: send `ServerHello`, check `ClientProof`, send
//! `ServerFinish` (PROTOCOL.md, "Processing", server steps 1 to 3).

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::config::Config;
use super::hash::{Hash, Hasher, Prk};
use super::key::KeyId;
use super::lookup::{KeyLookup, Lookup};
use super::session::Session;
use super::suite::Suite;
use super::{
    labels, transcript_start, ACCEPT, CLIENT_PROOF, MAGIC, MAX_CLIENT_PROOF_LEN, MAX_KEY_ID_LEN,
    NONCE_LEN, REJECT, SERVER_FINISH, VERSION,
};
use crate::buf::Fill;
use crate::machine::{Core, Protocol};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::{Error, Tag};

/// The verdict on a complete proof; a rejection indexes [`REJECTIONS`].
const ACCEPTED: u8 = 0;
const BAD_TAG: u8 = 1;
const REFLECTED: u8 = 2;
const UNKNOWN: u8 = 3;
const REJECTIONS: [Error; 3] = [Error::BadTag, Error::ReflectedNonce, Error::UnknownKeyId];

/// What the server holds: `ClientProof` as it arrives, then, once it is
/// accepted, what the session needs (the proof is no longer needed then,
/// so the two share their room). Boxing would allocate: fixed size by design.
#[allow(clippy::large_enum_variant)]
enum State {
    Reading(Fill<MAX_CLIENT_PROOF_LEN>),
    /// The proof verified: its key id, and a copy of its key's PRK, so that
    /// the session does not depend on the lookup answering again.
    Accepted {
        key_id: KeyId,
        prk: Prk,
    },
    Rejected,
}

pub(crate) struct Server {
    suite: Suite,
    nonce: [u8; NONCE_LEN],
    /// Fed `T1` as it arrives, then `client_tag` and `ServerFinish`.
    transcript: Hasher,
    state: State,
}

/// The checks of PROTOCOL.md server step 2 (3 to 5) with the key the lookup
/// found, made whatever each other gave, and the first that failed picked
/// without a branch: the work up to the verdict does not tell an unknown id
/// from a wrong tag. On success, the server tag over `T2` and the PRK.
fn check(
    found: Lookup<'_>,
    suite: Suite,
    th1: &Hash,
    tag: &[u8],
    reflected: Choice,
    transcript: &mut Hasher,
) -> Result<(Tag, Prk), Error> {
    let keys = found.key.keys();
    let tag_ok = keys
        .client
        .verify(&[labels::CLIENT_PROOF, th1.as_bytes()], tag);
    let known = Choice::from(u8::from(found.known)) & found.key.suite().id().ct_eq(&suite.id());
    let mut verdict = ACCEPTED;
    verdict.conditional_assign(&BAD_TAG, !Choice::from(u8::from(tag_ok)));
    verdict.conditional_assign(&REFLECTED, reflected);
    verdict.conditional_assign(&UNKNOWN, !known);
    if verdict != ACCEPTED {
        return Err(REJECTIONS[usize::from(verdict - 1)]);
    }
    // The server computes its tag only for a client that proved the key.
    transcript.update(tag);
    let th2 = transcript.snapshot();
    let server_tag = keys.server.tag(&[labels::SERVER_FINISH, th2.as_bytes()]);
    Ok((server_tag, keys.prk.clone()))
}

/// Bytes `ClientProof` has once its key id length is known.
fn proof_len(suite: Suite, id_len: usize) -> usize {
    2 + id_len + NONCE_LEN + suite.mac_len()
}

impl Server {
    /// Queues `ServerHello` on `core`; the suite is the key lookup's.
    pub(crate) fn new(
        keys: &dyn KeyLookup,
        config: &Config,
        nonce: [u8; NONCE_LEN],
        core: &mut Core,
    ) -> Server {
        let suite = keys.suite();
        let mut transcript = transcript_start(suite, config);
        let hello: [&[u8]; 3] = [&MAGIC, &[VERSION, suite.id()], &nonce];
        for part in hello {
            transcript.update(part);
        }
        core.send(&hello);
        Server {
            suite,
            nonce,
            transcript,
            state: State::Reading(Fill::new()),
        }
    }

    fn reject(&mut self, core: &mut Core, error: Error) {
        self.state = State::Rejected;
        core.reject(&[&[SERVER_FINISH, REJECT]], error);
    }

    /// Checks the complete proof (PROTOCOL.md server step 2) and answers.
    fn on_proof(&mut self, proof: &[u8], keys: &dyn KeyLookup, core: &mut Core) {
        let id_len = usize::from(proof[1]);
        let (head, tag) = proof.split_at(2 + id_len + NONCE_LEN);
        let client_nonce = &head[2 + id_len..];
        // The length byte was checked (1..=32) as it arrived.
        let Ok(id) = KeyId::new(&head[2..2 + id_len]) else {
            self.reject(core, Error::KeyIdLength { len: id_len });
            return;
        };
        self.transcript.update(head);
        let th1 = self.transcript.snapshot();
        let reflected = client_nonce.ct_eq(&self.nonce[..]);
        let (suite, transcript) = (self.suite, &mut self.transcript);
        // A lookup that never calls back rejects, as an unknown id.
        let mut checked = Err(Error::UnknownKeyId);
        let mut called = false;
        keys.lookup(&id, &mut |found| {
            if !called {
                called = true;
                checked = check(found, suite, &th1, tag, reflected, transcript);
            }
        });
        match checked {
            Err(e) => self.reject(core, e),
            Ok((server_tag, prk)) => {
                let finish: [&[u8]; 2] = [&[SERVER_FINISH, ACCEPT], server_tag.as_bytes()];
                for part in finish {
                    self.transcript.update(part);
                }
                core.send_last(&finish);
                self.state = State::Accepted { key_id: id, prk };
            }
        }
    }
}

impl Protocol for Server {
    type Keys<'k> = dyn KeyLookup + 'k;

    fn receive(&mut self, keys: &dyn KeyLookup, core: &mut Core, input: &[u8]) -> usize {
        let suite = self.suite;
        let State::Reading(proof) = &mut self.state else {
            return 0;
        };
        // The type byte and the key id length, one byte at a time, each
        // checked as it arrives: every later length follows from them, and a
        // bad one consumes the same bytes however the input is split.
        let mut used = 0;
        while proof.len() < 2 {
            if used == input.len() {
                return used;
            }
            used += proof.fill(&input[used..], proof.len() + 1);
            let bad = match *proof.bytes() {
                [t, ..] if t != CLIENT_PROOF => Some(Error::UnexpectedMessage {
                    expected: CLIENT_PROOF,
                    got: t,
                }),
                [_, n] if n == 0 || usize::from(n) > MAX_KEY_ID_LEN => {
                    Some(Error::KeyIdLength { len: n.into() })
                }
                _ => None,
            };
            if let Some(e) = bad {
                self.reject(core, e);
                return used;
            }
        }
        let want = proof_len(suite, usize::from(proof.bytes()[1]));
        used += proof.fill(&input[used..], want);
        if proof.len() == want {
            let mut bytes = [0u8; MAX_CLIENT_PROOF_LEN];
            bytes[..want].copy_from_slice(proof.bytes());
            self.on_proof(&bytes[..want], keys, core);
        }
        used
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        let key_id = match &self.state {
            State::Accepted { key_id, .. } => *key_id,
            // Done only after a proof was accepted.
            State::Reading(_) | State::Rejected => KeyId::placeholder(),
        };
        Outcome {
            peer_authenticated: true,
            confirmation: Confirmation::Unknown,
            scheme: Scheme::Native {
                suite: self.suite,
                key_id,
            },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        // `ServerFinish` is the last message, and after it the core is done.
        false
    }

    fn peer_verified(&self) -> bool {
        matches!(self.state, State::Accepted { .. })
    }

    fn session(&self, _keys: &dyn KeyLookup) -> Option<Session> {
        let State::Accepted { key_id, prk } = &self.state else {
            return None;
        };
        Some(Session::derive(
            prk,
            self.suite,
            *key_id,
            self.transcript.snapshot(),
        ))
    }
}
