//! The native server: send `ServerHello`, check `ClientProof`, send
//! `ServerFinish` (PROTOCOL.md, "Processing", server steps 1 to 3).

use super::key::NativeKey;
use super::session::Session;
use super::suite::{Hasher, Suite};
use super::{
    labels, transcript_start, ServerConfig, ACCEPT, CLIENT_PROOF, MAGIC, MAX_CLIENT_PROOF_LEN,
    MAX_KEY_ID_LEN, MAX_SERVER_FINISH_LEN, NONCE_LEN, REJECT, SERVER_FINISH, VERSION,
};
use crate::buf::{Fill, Outbox};
use crate::status::{Confirmation, Outcome, Status};
use crate::{Error, Handshake};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    SendHello,
    AwaitProof,
    SendFinish(Option<Error>),
    Done,
    Failed(Error),
}

#[derive(Clone)]
pub(crate) struct Server<'k> {
    keyring: &'k [NativeKey],
    suite: Suite,
    nonce: [u8; NONCE_LEN],
    /// Fed `T1` as it arrives, then `client_tag` and `ServerFinish`.
    transcript: Hasher,
    out: Outbox<MAX_SERVER_FINISH_LEN>,
    proof: Fill<MAX_CLIENT_PROOF_LEN>,
    stage: Stage,
    session: Option<Session>,
}

impl<'k> Server<'k> {
    pub(crate) fn new(
        keyring: &'k [NativeKey],
        config: ServerConfig<'_>,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Server<'k>, Error> {
        if keyring.is_empty() {
            return Err(Error::EmptyKeyring);
        }
        let suite = config.suite;
        let mut transcript = transcript_start(suite, config.context);
        let mut out = Outbox::new();
        let hello: [&[u8]; 3] = [&MAGIC, &[VERSION, suite.id()], &nonce];
        for part in hello {
            transcript.update(part);
        }
        out.push(&hello);
        Ok(Server {
            keyring,
            suite,
            nonce,
            transcript,
            out,
            proof: Fill::new(),
            stage: Stage::SendHello,
            session: None,
        })
    }

    /// Bytes `ClientProof` has once its key id length is known.
    fn proof_len(&self, id_len: usize) -> usize {
        2 + id_len + NONCE_LEN + self.suite.mac_len()
    }

    fn reject(&mut self, error: Error) {
        self.out.push(&[&[SERVER_FINISH, REJECT]]);
        self.stage = Stage::SendFinish(Some(error));
    }

    /// Checks the complete proof; PROTOCOL.md server step 2.
    fn on_proof(&mut self) {
        let proof = self.proof.bytes();
        let id_len = usize::from(proof[1]);
        let (head, tag) = proof.split_at(2 + id_len + NONCE_LEN);
        let id = &head[2..2 + id_len];
        let client_nonce = &head[2 + id_len..];
        let found = self.keyring.iter().find(|k| k.id().as_bytes() == id);
        // An unknown key id does the same work against a keyring key, and
        // gets the same verdict as a wrong tag.
        let keys = found.unwrap_or(&self.keyring[0]).suite(self.suite);
        self.transcript.update(head);
        let th1 = self.transcript.snapshot();
        let tag_ok = keys
            .client
            .verify(&[labels::CLIENT_PROOF, th1.as_bytes()], tag);
        let verdict = match found {
            None => Err(Error::UnknownKeyId),
            Some(_) if client_nonce == self.nonce => Err(Error::ReflectedNonce),
            Some(_) if !tag_ok => Err(Error::BadTag),
            Some(key) => Ok(key),
        };
        match verdict {
            Ok(key) => {
                self.transcript.update(tag);
                let th2 = self.transcript.snapshot();
                let server_tag = keys.server.tag(&[labels::SERVER_FINISH, th2.as_bytes()]);
                let finish: [&[u8]; 2] = [&[SERVER_FINISH, ACCEPT], server_tag.as_bytes()];
                for part in finish {
                    self.transcript.update(part);
                }
                self.out.push(&finish);
                let hh = self.transcript.snapshot();
                self.session = Some(Session::derive(keys, self.suite, key.id(), hh));
                self.stage = Stage::SendFinish(None);
            }
            Err(e) => self.reject(e),
        }
    }
}

impl Handshake for Server<'_> {
    fn status(&self) -> Status<'_> {
        if !self.out.is_empty() {
            return Status::Send(self.out.pending());
        }
        match self.stage {
            Stage::Done => Status::Done(Outcome {
                peer_authenticated: true,
                confirmation: Confirmation::Unknown,
                digest: self.suite.digest(),
                legacy: false,
                consumed: self.proof.len(),
            }),
            Stage::Failed(e) => Status::Failed(e),
            _ => Status::NeedInput,
        }
    }

    fn sent(&mut self, n: usize) -> Result<(), Error> {
        self.out.sent(n)?;
        if self.out.is_empty() {
            self.stage = match self.stage {
                Stage::SendHello => Stage::AwaitProof,
                Stage::SendFinish(None) => Stage::Done,
                Stage::SendFinish(Some(e)) => Stage::Failed(e),
                other => other,
            };
        }
        Ok(())
    }

    fn receive(&mut self, input: &[u8]) -> usize {
        if self.stage != Stage::AwaitProof || !self.out.is_empty() {
            return 0;
        }
        // The type byte and the key id length, one byte at a time, each
        // checked as it arrives: every later length follows from them, and a
        // bad one consumes the same bytes however the input is split.
        let mut used = 0;
        while self.proof.len() < 2 {
            if used == input.len() {
                return used;
            }
            used += self.proof.fill(&input[used..], self.proof.len() + 1);
            let head = self.proof.bytes();
            let bad = match *head {
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
                self.reject(e);
                return used;
            }
        }
        let id_len = usize::from(self.proof.bytes()[1]);
        let want = self.proof_len(id_len);
        used += self.proof.fill(&input[used..], want);
        if self.proof.len() == want {
            self.on_proof();
        }
        used
    }

    fn session(&self) -> Option<&Session> {
        // Derived when the proof verifies, but the handshake is not over
        // until `ServerFinish` has been sent: `Some` only once `Done`.
        match self.stage {
            Stage::Done => self.session.as_ref(),
            _ => None,
        }
    }
}
