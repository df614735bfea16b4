//! The native client: check `ServerHello`, send `ClientProof`, check
//! `ServerFinish` (PROTOCOL.md, "Processing", client steps 1 to 3).

use super::key::NativeKey;
use super::session::Session;
use super::suite::{Hasher, Suite};
use super::{
    labels, transcript_start, ClientConfig, ACCEPT, CLIENT_PROOF, MAGIC, MAX_CLIENT_PROOF_LEN,
    MAX_SERVER_FINISH_LEN, NONCE_LEN, REJECT, SERVER_FINISH, SERVER_HELLO_LEN, VERSION,
};
use crate::buf::{Fill, Outbox};
use crate::status::{Confirmation, Outcome, Status};
use crate::{Error, Handshake};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    AwaitHello,
    SendProof,
    AwaitFinish,
    Done,
    Failed(Error),
}

#[derive(Clone)]
pub(crate) struct Client<'k> {
    key: &'k NativeKey,
    config: ClientConfig<'k>,
    nonce: [u8; NONCE_LEN],
    hello: Fill<SERVER_HELLO_LEN>,
    /// Known once `ServerHello` is checked.
    suite: Option<(Suite, Hasher)>,
    out: Outbox<MAX_CLIENT_PROOF_LEN>,
    finish: Fill<MAX_SERVER_FINISH_LEN>,
    stage: Stage,
    session: Option<Session>,
}

impl<'k> Client<'k> {
    pub(crate) fn new(
        key: &'k NativeKey,
        config: ClientConfig<'k>,
        nonce: [u8; NONCE_LEN],
    ) -> Client<'k> {
        Client {
            key,
            config,
            nonce,
            hello: Fill::new(),
            suite: None,
            out: Outbox::new(),
            finish: Fill::new(),
            stage: Stage::AwaitHello,
            session: None,
        }
    }

    /// Checks what has arrived of `ServerHello`, failing as early as a byte
    /// is wrong (so a peer of another protocol is told at once).
    fn check_hello_prefix(&self) -> Result<(), Error> {
        let h = self.hello.bytes();
        let magic = h.len().min(MAGIC.len());
        if h[..magic] != MAGIC[..magic] {
            return Err(Error::NotNative);
        }
        if let Some(&v) = h.get(4) {
            if v != VERSION {
                return Err(Error::VersionMismatch {
                    ours: VERSION,
                    theirs: v,
                });
            }
        }
        if let Some(&id) = h.get(5) {
            match Suite::from_id(id) {
                Some(s) if self.config.allowed.contains(s) => {}
                _ => return Err(Error::SuiteNotAllowed { id }),
            }
        }
        Ok(())
    }

    /// PROTOCOL.md client steps 1 and 2, on a complete and checked hello.
    fn on_hello(&mut self) -> Result<(), Error> {
        let hello = self.hello.bytes();
        let suite = Suite::from_id(hello[5]).ok_or(Error::SuiteNotAllowed { id: hello[5] })?;
        if hello[6..] == self.nonce {
            return Err(Error::ReflectedNonce);
        }
        let mut transcript = transcript_start(suite, self.config.context);
        transcript.update(hello);
        let id = self.key.id();
        let id = id.as_bytes();
        // KeyId guarantees 1..=32 bytes.
        let head: [&[u8]; 3] = [&[CLIENT_PROOF, id.len() as u8], id, &self.nonce];
        for part in head {
            transcript.update(part);
        }
        let th1 = transcript.snapshot();
        let keys = self.key.suite(suite);
        let tag = keys.client.tag(&[labels::CLIENT_PROOF, th1.as_bytes()]);
        transcript.update(tag.as_bytes());
        self.out.push(&head);
        self.out.push(&[tag.as_bytes()]);
        self.suite = Some((suite, transcript));
        Ok(())
    }

    /// PROTOCOL.md client step 3, on a complete accepting `ServerFinish`.
    fn on_finish(&mut self) -> Result<(), Error> {
        let Some((suite, transcript)) = &mut self.suite else {
            return Err(Error::UnexpectedVerdict);
        };
        let suite = *suite;
        let (head, server_tag) = self.finish.bytes().split_at(2);
        let th2 = transcript.snapshot();
        let keys = self.key.suite(suite);
        if !keys
            .server
            .verify(&[labels::SERVER_FINISH, th2.as_bytes()], server_tag)
        {
            return Err(Error::BadTag);
        }
        transcript.update(head);
        transcript.update(server_tag);
        let hh = transcript.snapshot();
        self.session = Some(Session::derive(keys, suite, self.key.id(), hh));
        Ok(())
    }

    fn receive_hello(&mut self, input: &[u8]) -> usize {
        // Magic, version and suite one byte at a time, each checked as it
        // arrives (a peer of another protocol is told at once, and a failure
        // consumes the same bytes however the input is split); then the nonce.
        let mut used = 0;
        while used < input.len() && self.hello.len() < SERVER_HELLO_LEN {
            let want = if self.hello.len() < SERVER_HELLO_LEN - NONCE_LEN {
                self.hello.len() + 1
            } else {
                SERVER_HELLO_LEN
            };
            used += self.hello.fill(&input[used..], want);
            if let Err(e) = self.check_hello_prefix() {
                self.stage = Stage::Failed(e);
                return used;
            }
        }
        if self.hello.len() == SERVER_HELLO_LEN {
            self.stage = match self.on_hello() {
                Ok(()) => Stage::SendProof,
                Err(e) => Stage::Failed(e),
            };
        }
        used
    }

    fn receive_finish(&mut self, input: &[u8]) -> usize {
        // The type byte and the verdict one byte at a time, then the tag.
        let mut used = 0;
        while self.finish.len() < 2 {
            if used == input.len() {
                return used;
            }
            used += self.finish.fill(&input[used..], self.finish.len() + 1);
            let bad = match *self.finish.bytes() {
                [t, ..] if t != SERVER_FINISH => Some(Error::UnexpectedMessage {
                    expected: SERVER_FINISH,
                    got: t,
                }),
                [_, REJECT] => Some(Error::PeerRejected),
                [_, v] if v != ACCEPT => Some(Error::UnexpectedVerdict),
                _ => None,
            };
            if let Some(e) = bad {
                self.stage = Stage::Failed(e);
                return used;
            }
        }
        let want = 2 + self.suite.as_ref().map_or(0, |(s, _)| s.mac_len());
        used += self.finish.fill(&input[used..], want);
        if self.finish.len() == want {
            self.stage = match self.on_finish() {
                Ok(()) => Stage::Done,
                Err(e) => Stage::Failed(e),
            };
        }
        used
    }
}

impl Handshake for Client<'_> {
    fn status(&self) -> Status<'_> {
        if !self.out.is_empty() {
            return Status::Send(self.out.pending());
        }
        match self.stage {
            Stage::Done => Status::Done(Outcome {
                peer_authenticated: true,
                confirmation: Confirmation::Confirmed,
                digest: self
                    .suite
                    .as_ref()
                    .map_or(crate::Digest::Sha256, |(s, _)| s.digest()),
                legacy: false,
                consumed: self.hello.len() + self.finish.len(),
            }),
            Stage::Failed(e) => Status::Failed(e),
            _ => Status::NeedInput,
        }
    }

    fn sent(&mut self, n: usize) -> Result<(), Error> {
        self.out.sent(n)?;
        if self.out.is_empty() && self.stage == Stage::SendProof {
            self.stage = Stage::AwaitFinish;
        }
        Ok(())
    }

    fn receive(&mut self, input: &[u8]) -> usize {
        if !self.out.is_empty() {
            return 0;
        }
        match self.stage {
            Stage::AwaitHello => self.receive_hello(input),
            Stage::AwaitFinish => self.receive_finish(input),
            _ => 0,
        }
    }

    fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
}
