//! The Listener and Client sides as one protocol: `deliver_challenge` and
//! `answer_challenge` run in the order CPython's `Listener.accept()`
//! (deliver, then answer) and `Client()` (answer, then deliver) run them.

use super::frame::{FrameHeader, MessageReader};
use super::message::{
    create_response, verify_response, CHALLENGE, FAILURE, MAX_OWN_CHALLENGE,
    MD5ONLY_MESSAGE_LENGTH, WELCOME,
};
use super::Config;
use crate::buf::Fill;
use crate::machine::{Core, Protocol, OUT_CAP};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::{Digest, Error, Key};

// The largest frame we send, the challenge (4 + 11 + 50 bytes), and the
// longest reply, `{sha3_384}` and a 48-byte tag, fit the core's outbox.
const _: () = assert!(OUT_CAP >= 4 + CHALLENGE.len() + MAX_OWN_CHALLENGE);
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
    ChallengeOut,
    /// deliver_challenge: waiting for the peer's reply.
    AwaitReply,
    /// deliver_challenge: `#WELCOME#` is being sent (the Listener goes on).
    WelcomeOut,
    /// answer_challenge: waiting for the peer's challenge.
    AwaitChallenge,
    /// answer_challenge: our reply is being sent.
    ResponseOut,
    /// answer_challenge: waiting for the peer's verdict.
    AwaitVerdict,
}

/// What follows a frame we queue.
enum Then {
    /// The protocol goes on.
    More,
    /// It was this side's last message: done once sent.
    Done,
    /// It was `#FAILURE#`: failed with this error once sent.
    Fail(Error),
}

/// Queues one frame: the `send_bytes` length prefix, then `parts`.
fn send_frame(core: &mut Core, parts: &[&[u8]], then: Then) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    core.send(&[FrameHeader::new(len as u64).as_bytes()]);
    match then {
        Then::More => core.send(parts),
        Then::Done => core.send_last(parts),
        Then::Fail(e) => core.reject(parts, e),
    }
}

/// One side of CPython's mutual handshake.
pub(crate) struct Machine {
    config: Config,
    role: Role,
    stage: Stage,
    reader: MessageReader,
    /// Our challenge after `#CHALLENGE#`, kept to verify the reply.
    own: Fill<MAX_OWN_CHALLENGE>,
    /// Digest and legacy flag of the peer's verified reply.
    peer: Option<(Digest, bool)>,
    /// The peer's challenge was legacy (unprefixed).
    peer_challenge_legacy: bool,
}

impl Machine {
    /// `random`: [`Config::challenge_len`] bytes. A Listener queues its
    /// challenge on `core` at once.
    pub(crate) fn new(config: Config, role: Role, random: &[u8], core: &mut Core) -> Machine {
        let mut own = Fill::new();
        if let Some(d) = config.challenge_digest() {
            for part in [b"{".as_slice(), d.name().as_bytes(), b"}"] {
                own.fill(part, own.len() + part.len());
            }
        }
        own.fill(random, own.len() + random.len());
        let mut m = Machine {
            config,
            role,
            stage: Stage::AwaitChallenge,
            reader: MessageReader::new(),
            own,
            peer: None,
            peer_challenge_legacy: false,
        };
        if role == Role::Listener {
            m.start_deliver(core);
        }
        m
    }

    fn start_deliver(&mut self, core: &mut Core) {
        send_frame(core, &[CHALLENGE, self.own.bytes()], Then::More);
        self.stage = Stage::ChallengeOut;
    }

    fn on_message(&mut self, key: &Key, core: &mut Core) {
        match self.stage {
            Stage::AwaitReply => self.on_reply(key, core),
            Stage::AwaitChallenge => self.on_challenge(key, core),
            Stage::AwaitVerdict => self.on_verdict(core),
            _ => {}
        }
    }

    /// deliver_challenge, after `recv_bytes(256)`.
    fn on_reply(&mut self, key: &Key, core: &mut Core) {
        let checked = verify_response(
            key,
            self.own.bytes(),
            self.reader.message(),
            self.config.allow_md5(),
        );
        match checked {
            Err(e) => send_frame(core, &[FAILURE], Then::Fail(e)),
            Ok(peer) => {
                self.peer = Some(peer);
                match self.role {
                    // The Client's verdict is its last message.
                    Role::Client => send_frame(core, &[WELCOME], Then::Done),
                    Role::Listener => {
                        send_frame(core, &[WELCOME], Then::More);
                        self.stage = Stage::WelcomeOut;
                    }
                }
            }
        }
    }

    /// answer_challenge, after `recv_bytes(256)`.
    fn on_challenge(&mut self, key: &Key, core: &mut Core) {
        let message = self.reader.message();
        let Some(challenge) = message.strip_prefix(CHALLENGE) else {
            core.fail(Error::MissingChallenge);
            return;
        };
        if challenge.len() < MD5ONLY_MESSAGE_LENGTH {
            core.fail(Error::ChallengeTooShort {
                len: challenge.len(),
            });
            return;
        }
        match create_response(key, challenge, self.config.allow_md5()) {
            Err(e) => core.fail(e),
            Ok((digest, legacy, tag)) => {
                self.peer_challenge_legacy = legacy;
                if legacy {
                    send_frame(core, &[tag.as_bytes()], Then::More);
                } else {
                    let name = digest.name().as_bytes();
                    send_frame(core, &[b"{", name, b"}", tag.as_bytes()], Then::More);
                }
                self.stage = Stage::ResponseOut;
            }
        }
    }

    /// answer_challenge, after the last `recv_bytes(256)`.
    fn on_verdict(&mut self, core: &mut Core) {
        let message = self.reader.message();
        if message == WELCOME {
            match self.role {
                Role::Listener => core.done(),
                Role::Client => self.start_deliver(core),
            }
        } else if message == FAILURE {
            core.fail(Error::PeerRejected);
        } else {
            core.fail(Error::UnexpectedVerdict);
        }
    }
}

impl Protocol for Machine {
    type Keys<'k> = Key;

    fn receive(&mut self, key: &Key, core: &mut Core, input: &[u8]) -> usize {
        let mut used = 0;
        while core.idle() && used < input.len() {
            if !matches!(
                self.stage,
                Stage::AwaitReply | Stage::AwaitChallenge | Stage::AwaitVerdict
            ) {
                break;
            }
            let (n, complete) = self.reader.read(&input[used..]);
            used += n;
            match complete {
                Err(e) => core.fail(e),
                Ok(false) => {}
                Ok(true) => {
                    self.on_message(key, core);
                    self.reader.reset();
                }
            }
        }
        used
    }

    fn drained(&mut self, _core: &mut Core) {
        self.stage = match self.stage {
            Stage::ChallengeOut => Stage::AwaitReply,
            Stage::WelcomeOut => Stage::AwaitChallenge,
            Stage::ResponseOut => Stage::AwaitVerdict,
            other => other,
        };
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        let (digest, legacy_reply) = self.peer.unwrap_or((Digest::Md5, true));
        Outcome {
            peer_authenticated: self.peer.is_some(),
            confirmation: Confirmation::Confirmed,
            scheme: Scheme::Multiprocessing {
                digest,
                legacy: legacy_reply || self.peer_challenge_legacy,
            },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        // The Listener's reply is its last message; the Client's is its
        // verdict, after which it is done.
        self.role == Role::Listener && self.stage == Stage::AwaitVerdict
    }

    fn peer_verified(&self) -> bool {
        self.peer.is_some()
    }
}
