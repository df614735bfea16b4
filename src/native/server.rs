//! The native server: send `ServerHello`, check `ClientProof`, send
//! `ServerFinish` (PROTOCOL.md, "Processing", server steps 1 to 3).

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::config::Config;
use super::hash::Hasher;
use super::key::KeyId;
use super::lookup::KeyLookup;
use super::session::Session;
use super::suite::Suite;
use super::{
    labels, transcript_start, ACCEPT, CLIENT_PROOF, MAGIC, MAX_CLIENT_PROOF_LEN, MAX_KEY_ID_LEN,
    NONCE_LEN, REJECT, SERVER_FINISH, VERSION,
};
use crate::buf::Fill;
use crate::machine::{Core, Protocol};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::Error;

/// The verdict on a complete proof; a rejection indexes the errors in
/// `on_proof`.
const ACCEPTED: u8 = 0;
const BAD_TAG: u8 = 1;
const REFLECTED: u8 = 2;
const UNKNOWN: u8 = 3;

pub(crate) struct Server {
    suite: Suite,
    nonce: [u8; NONCE_LEN],
    /// Fed `T1` as it arrives, then `client_tag` and `ServerFinish`.
    transcript: Hasher,
    proof: Fill<MAX_CLIENT_PROOF_LEN>,
    /// The key id of an accepted proof; its key is looked up again for the
    /// session (a lookup answers the same for as long as the handle lives).
    accepted: Option<KeyId>,
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
        let mut transcript = transcript_start(suite, config.context_hash(suite));
        let hello: [&[u8]; 3] = [&MAGIC, &[VERSION, suite.id()], &nonce];
        for part in hello {
            transcript.update(part);
        }
        core.send(&hello);
        Server {
            suite,
            nonce,
            transcript,
            proof: Fill::new(),
            accepted: None,
        }
    }

    /// Bytes `ClientProof` has once its key id length is known.
    fn proof_len(&self, id_len: usize) -> usize {
        2 + id_len + NONCE_LEN + self.suite.mac_len()
    }

    /// Checks the complete proof; PROTOCOL.md server step 2.
    fn on_proof(&mut self, keys: &dyn KeyLookup, core: &mut Core) {
        let proof = self.proof.bytes();
        let id_len = usize::from(proof[1]);
        let (head, tag) = proof.split_at(2 + id_len + NONCE_LEN);
        let client_nonce = &head[2 + id_len..];
        // The length byte was checked (1..=32) as it arrived.
        let Ok(id) = KeyId::new(&head[2..2 + id_len]) else {
            core.reject(
                &[&[SERVER_FINISH, REJECT]],
                Error::KeyIdLength { len: id_len },
            );
            return;
        };
        // An unknown key id does the same work against the lookup's
        // stand-in key, and gets the same verdict as a wrong tag.
        let found = keys.lookup(&id);
        let suite_keys = found.key.keys();
        self.transcript.update(head);
        let th1 = self.transcript.snapshot();
        let tag_ok = suite_keys
            .client
            .verify(&[labels::CLIENT_PROOF, th1.as_bytes()], tag);
        // Every check is made whatever the others gave, and the first that
        // failed (in PROTOCOL.md's order) is picked without a branch, so the
        // work up to the verdict does not tell an unknown id from a wrong tag.
        let known =
            Choice::from(u8::from(found.known)) & found.key.suite().id().ct_eq(&self.suite.id());
        let reflected = client_nonce.ct_eq(&self.nonce[..]);
        let mut verdict = ACCEPTED;
        verdict.conditional_assign(&BAD_TAG, !Choice::from(u8::from(tag_ok)));
        verdict.conditional_assign(&REFLECTED, reflected);
        verdict.conditional_assign(&UNKNOWN, !known);
        if verdict != ACCEPTED {
            let reject = [Error::BadTag, Error::ReflectedNonce, Error::UnknownKeyId];
            core.reject(
                &[&[SERVER_FINISH, REJECT]],
                reject[usize::from(verdict - 1)],
            );
            return;
        }
        self.transcript.update(tag);
        let th2 = self.transcript.snapshot();
        let server_tag = suite_keys
            .server
            .tag(&[labels::SERVER_FINISH, th2.as_bytes()]);
        let finish: [&[u8]; 2] = [&[SERVER_FINISH, ACCEPT], server_tag.as_bytes()];
        for part in finish {
            self.transcript.update(part);
        }
        core.send_last(&finish);
        self.accepted = Some(id);
    }
}

impl Protocol for Server {
    type Keys<'k> = dyn KeyLookup + 'k;

    fn receive(&mut self, keys: &dyn KeyLookup, core: &mut Core, input: &[u8]) -> usize {
        // The type byte and the key id length, one byte at a time, each
        // checked as it arrives: every later length follows from them, and a
        // bad one consumes the same bytes however the input is split.
        let mut used = 0;
        while self.proof.len() < 2 {
            if used == input.len() {
                return used;
            }
            used += self.proof.fill(&input[used..], self.proof.len() + 1);
            let bad = match *self.proof.bytes() {
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
                core.reject(&[&[SERVER_FINISH, REJECT]], e);
                return used;
            }
        }
        let id_len = usize::from(self.proof.bytes()[1]);
        let want = self.proof_len(id_len);
        used += self.proof.fill(&input[used..], want);
        if self.proof.len() == want {
            self.on_proof(keys, core);
        }
        used
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        Outcome {
            peer_authenticated: true,
            confirmation: Confirmation::Unknown,
            scheme: Scheme::Native {
                suite: self.suite,
                // Done only after a proof was accepted.
                key_id: self.accepted.unwrap_or(KeyId::placeholder()),
            },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        // `ServerFinish` is the last message, and after it the core is done.
        false
    }

    fn peer_verified(&self) -> bool {
        self.accepted.is_some()
    }

    fn session(&self, keys: &dyn KeyLookup) -> Option<Session> {
        let id = self.accepted?;
        let found = keys.lookup(&id);
        found.known.then(|| {
            let prk = &found.key.keys().prk;
            Session::derive(prk, self.suite, id, self.transcript.snapshot())
        })
    }
}
