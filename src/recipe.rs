//! The "authenticating clients simply" recipe (Python Cookbook, recipe 11.9).
//!
//! ```text
//! server -> client : challenge, 32 random bytes, no framing
//! client -> server : HMAC(key, challenge), the raw tag (16 bytes MD5, 32 SHA-256)
//! ```
//! The server compares in constant time and sends no verdict: on failure it
//! just closes. So the client never learns the verdict from the handshake
//! ([`Confirmation::Unknown`]); a rejected client finds out when its
//! first read after the handshake sees the connection closed.
//!
//! The recipe's `hmac.new(key, msg)` meant HMAC-MD5 on Python 3.7 and older;
//! this crate defaults to SHA-256 and offers MD5 for those peers.

use crate::buf::{Fill, Outbox};
use crate::digest::MAX_TAG_LEN;
use crate::status::{Confirmation, Outcome, Status};
use crate::Handshake;
use crate::{Digest, Error, Key};

/// Challenge length in bytes (`os.urandom(32)` in the recipe).
pub const CHALLENGE_LEN: usize = 32;

/// Settings of the recipe profile, shared by both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The HMAC digest both sides use; default [`Digest::Sha256`].
    /// [`Digest::Md5`] for the recipe as written for Python <= 3.7.
    pub digest: Digest,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            digest: Digest::Sha256,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Exchange,
    Done,
    Failed(Error),
}

/// The recipe's `server_authenticate`: send the challenge, check the reply.
#[derive(Clone)]
pub(crate) struct Server<'k> {
    key: &'k Key,
    digest: Digest,
    challenge: [u8; CHALLENGE_LEN],
    out: Outbox<CHALLENGE_LEN>,
    reply: Fill<MAX_TAG_LEN>,
    stage: Stage,
}

impl<'k> Server<'k> {
    /// `random`: the 32-byte challenge.
    pub(crate) fn new(key: &'k Key, config: Config, random: [u8; CHALLENGE_LEN]) -> Server<'k> {
        let mut out = Outbox::new();
        out.push(&[&random]);
        Server {
            key,
            digest: config.digest,
            challenge: random,
            out,
            reply: Fill::new(),
            stage: Stage::Exchange,
        }
    }
}

impl Handshake for Server<'_> {
    fn status(&self) -> Status<'_> {
        match self.stage {
            Stage::Done => Status::Done(Outcome {
                peer_authenticated: true,
                confirmation: Confirmation::NotApplicable,
                digest: self.digest,
                legacy: false,
                consumed: self.reply.len(),
            }),
            Stage::Failed(e) => Status::Failed(e),
            Stage::Exchange if !self.out.is_empty() => Status::Send(self.out.pending()),
            Stage::Exchange => Status::NeedInput,
        }
    }

    fn sent(&mut self, n: usize) -> Result<(), Error> {
        self.out.sent(n)
    }

    /// Reads exactly `tag_len` reply bytes, like `connection.recv(len(digest))`.
    fn receive(&mut self, input: &[u8]) -> usize {
        if self.stage != Stage::Exchange || !self.out.is_empty() {
            return 0;
        }
        let want = self.digest.tag_len();
        let n = self.reply.fill(input, want);
        if self.reply.len() == want {
            self.stage = match self
                .key
                .verify(self.digest, &self.challenge, self.reply.bytes())
            {
                Ok(()) => Stage::Done,
                Err(e) => Stage::Failed(e),
            };
        }
        n
    }
}

/// The recipe's `client_authenticate`: read the challenge, send the tag.
#[derive(Clone)]
pub(crate) struct Client<'k> {
    key: &'k Key,
    digest: Digest,
    challenge: Fill<CHALLENGE_LEN>,
    out: Outbox<MAX_TAG_LEN>,
    answered: bool,
}

impl<'k> Client<'k> {
    pub(crate) fn new(key: &'k Key, config: Config) -> Client<'k> {
        Client {
            key,
            digest: config.digest,
            challenge: Fill::new(),
            out: Outbox::new(),
            answered: false,
        }
    }
}

impl Handshake for Client<'_> {
    fn status(&self) -> Status<'_> {
        if !self.out.is_empty() {
            Status::Send(self.out.pending())
        } else if self.answered {
            Status::Done(Outcome {
                peer_authenticated: false,
                confirmation: Confirmation::Unknown,
                digest: self.digest,
                legacy: false,
                consumed: self.challenge.len(),
            })
        } else {
            Status::NeedInput
        }
    }

    fn sent(&mut self, n: usize) -> Result<(), Error> {
        self.out.sent(n)
    }

    /// Keeps reading until all 32 challenge bytes have arrived.
    fn receive(&mut self, input: &[u8]) -> usize {
        if self.answered {
            return 0;
        }
        let n = self.challenge.fill(input, CHALLENGE_LEN);
        if self.challenge.len() == CHALLENGE_LEN {
            let tag = self.key.tag(self.digest, self.challenge.bytes());
            self.out.push(&[tag.as_bytes()]);
            self.answered = true;
        }
        n
    }
}
