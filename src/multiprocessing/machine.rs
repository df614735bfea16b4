//! The Listener and Client sides as one machine: `deliver_challenge` and
//! `answer_challenge` run in the order CPython's `Listener.accept()`
//! (deliver, then answer) and `Client()` (answer, then deliver) run them.

use super::frame::{FrameHeader, MessageReader};
use super::message::{
    create_response, verify_response, CHALLENGE, FAILURE, MAX_OWN_CHALLENGE, WELCOME,
};
use super::Config;
use crate::buf::{Fill, Outbox};
use crate::status::{Confirmation, Outcome, Status};
use crate::Handshake;
use crate::{Digest, Error, Key};

/// Largest frame we send: the challenge, 4 + 11 + 50 bytes.
const OUT_CAP: usize = 4 + CHALLENGE.len() + MAX_OWN_CHALLENGE;
// The longest reply, `{sha3_384}` and a 48-byte tag, fits too.
const _: () = assert!(OUT_CAP >= 4 + 10 + Digest::Sha3_384.tag_len());

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// `Listener.accept()`: deliver, then answer.
    Listener,
    /// `Client()`: answer, then deliver.
    Client,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// deliver_challenge: our challenge frame is being sent.
    SendChallenge,
    /// deliver_challenge: waiting for the peer's reply.
    AwaitReply,
    /// deliver_challenge: `#WELCOME#` or `#FAILURE#` is being sent.
    SendVerdict(Option<Error>),
    /// answer_challenge: waiting for the peer's challenge.
    AwaitChallenge,
    /// answer_challenge: our reply is being sent.
    SendResponse,
    /// answer_challenge: waiting for the peer's verdict.
    AwaitVerdict,
    Done,
    Failed(Error),
}

/// Queues one frame: the `send_bytes` length prefix, then `parts`.
fn send_frame(out: &mut Outbox<OUT_CAP>, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.push(&[FrameHeader::new(len as u64).as_bytes()]);
    out.push(parts);
}

/// One side of CPython's mutual handshake. Size: see the crate docs.
#[derive(Clone)]
pub(crate) struct Machine<'k> {
    key: &'k Key,
    config: Config,
    role: Role,
    stage: Stage,
    out: Outbox<OUT_CAP>,
    reader: MessageReader,
    /// Our challenge after `#CHALLENGE#`, kept to verify the reply.
    own: Fill<MAX_OWN_CHALLENGE>,
    consumed: usize,
    /// Digest and legacy flag of the peer's verified reply.
    peer: Option<(Digest, bool)>,
    /// The peer's challenge was legacy (unprefixed).
    peer_challenge_legacy: bool,
}

impl<'k> Machine<'k> {
    /// `random` must be [`Config::random_len`] bytes (checked by the caller).
    pub(crate) fn new(key: &'k Key, config: Config, role: Role, random: &[u8]) -> Machine<'k> {
        let mut own = Fill::new();
        if let Some(d) = config.challenge_digest() {
            for part in [b"{".as_slice(), d.name().as_bytes(), b"}"] {
                own.fill(part, own.len() + part.len());
            }
        }
        own.fill(random, own.len() + random.len());
        let mut m = Machine {
            key,
            config,
            role,
            stage: Stage::AwaitChallenge,
            out: Outbox::new(),
            reader: MessageReader::new(),
            own,
            consumed: 0,
            peer: None,
            peer_challenge_legacy: false,
        };
        if role == Role::Listener {
            m.start_deliver();
        }
        m
    }

    fn start_deliver(&mut self) {
        send_frame(&mut self.out, &[CHALLENGE, self.own.bytes()]);
        self.stage = Stage::SendChallenge;
    }

    fn outcome_unchecked(&self) -> Outcome {
        let (digest, legacy_reply) = self.peer.unwrap_or((Digest::Md5, true));
        Outcome {
            peer_authenticated: self.peer.is_some(),
            confirmation: Confirmation::Confirmed,
            digest,
            legacy: legacy_reply || self.peer_challenge_legacy,
            consumed: self.consumed,
        }
    }

    fn on_message(&mut self) {
        match self.stage {
            Stage::AwaitReply => self.on_reply(),
            Stage::AwaitChallenge => self.on_challenge(),
            Stage::AwaitVerdict => self.on_verdict(),
            _ => {}
        }
    }

    /// deliver_challenge, after `recv_bytes(256)`.
    fn on_reply(&mut self) {
        let checked = verify_response(
            self.key,
            self.own.bytes(),
            self.reader.message(),
            self.config.allow_md5,
        );
        let verdict = match checked {
            Ok(peer) => {
                self.peer = Some(peer);
                None
            }
            Err(e) => Some(e),
        };
        send_frame(
            &mut self.out,
            &[if verdict.is_none() { WELCOME } else { FAILURE }],
        );
        self.stage = Stage::SendVerdict(verdict);
    }

    /// answer_challenge, after `recv_bytes(256)`.
    fn on_challenge(&mut self) {
        let message = self.reader.message();
        let Some(challenge) = message.strip_prefix(CHALLENGE) else {
            self.stage = Stage::Failed(Error::MissingChallenge);
            return;
        };
        if challenge.len() < super::message::MD5ONLY_MESSAGE_LENGTH {
            self.stage = Stage::Failed(Error::ChallengeTooShort {
                len: challenge.len(),
            });
            return;
        }
        match create_response(self.key, challenge, self.config.allow_md5) {
            Err(e) => self.stage = Stage::Failed(e),
            Ok((digest, legacy, tag)) => {
                self.peer_challenge_legacy = legacy;
                if legacy {
                    send_frame(&mut self.out, &[tag.as_bytes()]);
                } else {
                    send_frame(
                        &mut self.out,
                        &[b"{", digest.name().as_bytes(), b"}", tag.as_bytes()],
                    );
                }
                self.stage = Stage::SendResponse;
            }
        }
    }

    /// answer_challenge, after the last `recv_bytes(256)`.
    fn on_verdict(&mut self) {
        let message = self.reader.message();
        if message == WELCOME {
            match self.role {
                Role::Listener => self.stage = Stage::Done,
                Role::Client => self.start_deliver(),
            }
        } else if message == FAILURE {
            self.stage = Stage::Failed(Error::PeerRejected);
        } else {
            self.stage = Stage::Failed(Error::UnexpectedVerdict);
        }
    }
}

impl Handshake for Machine<'_> {
    fn status(&self) -> Status<'_> {
        if !self.out.is_empty() {
            return Status::Send(self.out.pending());
        }
        match self.stage {
            Stage::Done => Status::Done(self.outcome_unchecked()),
            Stage::Failed(e) => Status::Failed(e),
            _ => Status::NeedInput,
        }
    }

    fn sent(&mut self, n: usize) -> Result<(), Error> {
        self.out.sent(n)?;
        if self.out.is_empty() {
            self.stage = match self.stage {
                Stage::SendChallenge => Stage::AwaitReply,
                Stage::SendResponse => Stage::AwaitVerdict,
                Stage::SendVerdict(Some(e)) => Stage::Failed(e),
                Stage::SendVerdict(None) => match self.role {
                    Role::Listener => Stage::AwaitChallenge,
                    Role::Client => Stage::Done,
                },
                other => other,
            };
        }
        Ok(())
    }

    fn receive(&mut self, input: &[u8]) -> usize {
        let mut used = 0;
        while self.out.is_empty() && used < input.len() {
            if !matches!(
                self.stage,
                Stage::AwaitReply | Stage::AwaitChallenge | Stage::AwaitVerdict
            ) {
                break;
            }
            let (n, complete) = self.reader.read(&input[used..]);
            used += n;
            self.consumed += n;
            match complete {
                Err(e) => self.stage = Stage::Failed(e),
                Ok(false) => {}
                Ok(true) => {
                    self.on_message();
                    self.reader.reset();
                }
            }
        }
        used
    }
}
