//! The native client: check `ServerHello`, send `ClientProof`, check
//! `ServerFinish` (PROTOCOL.md, "Processing", client steps 1 to 3).

use super::config::Config;
use super::hash::Hasher;
use super::key::KeyId;
use super::lookup::ClientKeys;
use super::session::Session;
use super::suite::Suite;
use super::{
    labels, transcript_start, ACCEPT, CLIENT_PROOF, MAGIC, MAX_SERVER_FINISH_LEN, NONCE_LEN,
    REJECT, SERVER_FINISH, SERVER_HELLO_LEN, VERSION,
};
use crate::buf::Fill;
use crate::machine::{Core, Protocol};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    AwaitHello,
    ProofOut,
    AwaitFinish,
    Verified,
}

/// What the client knows once `ServerHello` is checked.
struct Proving {
    suite: Suite,
    key_id: KeyId,
    /// Fed `T1`, `client_tag`, then `ServerFinish`.
    transcript: Hasher,
}

pub(crate) struct Client {
    config: Config,
    nonce: [u8; NONCE_LEN],
    hello: Fill<SERVER_HELLO_LEN>,
    finish: Fill<MAX_SERVER_FINISH_LEN>,
    stage: Stage,
    proving: Option<Proving>,
}

impl Client {
    pub(crate) fn new(config: Config, nonce: [u8; NONCE_LEN]) -> Client {
        Client {
            config,
            nonce,
            hello: Fill::new(),
            finish: Fill::new(),
            stage: Stage::AwaitHello,
            proving: None,
        }
    }

    /// Checks what has arrived of `ServerHello`, failing as early as a byte
    /// is wrong (so a peer of another protocol is told at once).
    fn check_hello_prefix(&self, keys: &dyn ClientKeys) -> Result<(), Error> {
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
                Some(s) if keys.key_for(s).is_some() => {}
                _ => return Err(Error::SuiteNotAllowed { id }),
            }
        }
        Ok(())
    }

    /// PROTOCOL.md client steps 1 and 2, on a complete and checked hello.
    fn on_hello(&mut self, keys: &dyn ClientKeys, core: &mut Core) -> Result<(), Error> {
        let hello = self.hello.bytes();
        let not_allowed = Error::SuiteNotAllowed { id: hello[5] };
        let suite = Suite::from_id(hello[5]).ok_or(not_allowed)?;
        let key = keys.key_for(suite).ok_or(not_allowed)?;
        if hello[6..] == self.nonce {
            return Err(Error::ReflectedNonce);
        }
        let mut transcript = transcript_start(suite, self.config.context_hash(suite));
        transcript.update(hello);
        let key_id = key.id();
        let id = key_id.as_bytes();
        // KeyId guarantees 1..=32 bytes.
        let head: [&[u8]; 3] = [&[CLIENT_PROOF, id.len() as u8], id, &self.nonce];
        for part in head {
            transcript.update(part);
        }
        let th1 = transcript.snapshot();
        let tag = key
            .keys()
            .client
            .tag(&[labels::CLIENT_PROOF, th1.as_bytes()]);
        transcript.update(tag.as_bytes());
        core.send(&head);
        core.send(&[tag.as_bytes()]);
        self.proving = Some(Proving {
            suite,
            key_id,
            transcript,
        });
        Ok(())
    }

    /// PROTOCOL.md client step 3, on a complete accepting `ServerFinish`.
    fn on_finish(&mut self, keys: &dyn ClientKeys) -> Result<(), Error> {
        let Some(p) = &mut self.proving else {
            return Err(Error::UnexpectedVerdict);
        };
        let key = keys
            .key_for(p.suite)
            .ok_or(Error::SuiteNotAllowed { id: p.suite.id() })?;
        let (head, server_tag) = self.finish.bytes().split_at(2);
        let th2 = p.transcript.snapshot();
        if !key
            .keys()
            .server
            .verify(&[labels::SERVER_FINISH, th2.as_bytes()], server_tag)
        {
            return Err(Error::BadTag);
        }
        p.transcript.update(head);
        p.transcript.update(server_tag);
        Ok(())
    }

    fn receive_hello(&mut self, keys: &dyn ClientKeys, core: &mut Core, input: &[u8]) -> usize {
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
            if let Err(e) = self.check_hello_prefix(keys) {
                core.fail(e);
                return used;
            }
        }
        if self.hello.len() == SERVER_HELLO_LEN {
            match self.on_hello(keys, core) {
                Ok(()) => self.stage = Stage::ProofOut,
                Err(e) => core.fail(e),
            }
        }
        used
    }

    fn receive_finish(&mut self, keys: &dyn ClientKeys, core: &mut Core, input: &[u8]) -> usize {
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
                core.fail(e);
                return used;
            }
        }
        let want = 2 + self.proving.as_ref().map_or(0, |p| p.suite.mac_len());
        used += self.finish.fill(&input[used..], want);
        if self.finish.len() == want {
            match self.on_finish(keys) {
                Ok(()) => {
                    self.stage = Stage::Verified;
                    core.done();
                }
                Err(e) => core.fail(e),
            }
        }
        used
    }
}

impl Protocol for Client {
    type Keys<'k> = dyn ClientKeys + 'k;

    fn receive(&mut self, keys: &dyn ClientKeys, core: &mut Core, input: &[u8]) -> usize {
        match self.stage {
            Stage::AwaitHello => self.receive_hello(keys, core, input),
            Stage::AwaitFinish => self.receive_finish(keys, core, input),
            Stage::ProofOut | Stage::Verified => 0,
        }
    }

    fn drained(&mut self, _core: &mut Core) {
        if self.stage == Stage::ProofOut {
            self.stage = Stage::AwaitFinish;
        }
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        let (suite, key_id) = self
            .proving
            .as_ref()
            .map_or((Suite::HmacSha256, KeyId::placeholder()), |p| {
                (p.suite, p.key_id)
            });
        Outcome {
            peer_authenticated: true,
            confirmation: Confirmation::Confirmed,
            scheme: Scheme::Native { suite, key_id },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        // PROTOCOL.md client step 2: bytes may follow `ClientProof`.
        self.stage == Stage::AwaitFinish
    }

    fn peer_verified(&self) -> bool {
        self.stage == Stage::Verified
    }

    fn session(&self, keys: &dyn ClientKeys) -> Option<Session> {
        let p = self
            .proving
            .as_ref()
            .filter(|_| self.stage == Stage::Verified)?;
        let prk = &keys.key_for(p.suite)?.keys().prk;
        Some(Session::derive(
            prk,
            p.suite,
            p.key_id,
            p.transcript.snapshot(),
        ))
    }
}
