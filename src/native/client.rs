//! The native client: check `ServerHello`, send `ClientProof`, check
//! `ServerFinish` (PROTOCOL.md, "Processing", client steps 1 to 3, and
//! "Forward secrecy").

use super::config::Config;
use super::ephemeral::{DhSecret, Ephemeral, ForwardSecrecy, MODE_REQUIRED, SHARE_LEN};
use super::hash::Hasher;
use super::key::{KeyId, NativeKey};
use super::lookup::ClientKeys;
use super::server::split_random;
use super::session::SessionSeed;
use super::suite::Suite;
use super::{
    labels, transcript_start, ACCEPT, CLIENT_PROOF, CLIENT_PROOF_SHARE, MAGIC,
    MAX_SERVER_FINISH_LEN, NONCE_LEN, RANDOM_LEN, REJECT, SERVER_FINISH, SERVER_HELLO_LEN, VERSION,
};
use crate::buf::Fill;
use crate::machine::{Core, Protocol};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::wipe::scrub_stack;
use crate::Error;

/// What the client holds, before and after `ServerHello`: the settings are
/// needed only until the transcript starts, the transcript only after, so
/// the two share their room.
enum State {
    /// Client step 1: `ServerHello` as it arrives.
    Hello {
        config: Config,
        hello: Fill<SERVER_HELLO_LEN>,
    },
    /// Steps 2 and 3: our proof is out (or going), `ServerFinish` arrives.
    Proving {
        suite: Suite,
        key_id: KeyId,
        /// Fed `T1`, `client_tag`, then `ServerFinish` up to the server
        /// tag (`T2`).
        transcript: Hasher,
        finish: Fill<MAX_SERVER_FINISH_LEN>,
        /// `ClientProof` has been handed out.
        proof_out: bool,
        /// The proof carried `client_share`: `ServerFinish` carries the
        /// server's.
        share: bool,
        /// The server tag verified.
        verified: bool,
        /// In the forward-secrecy mode, once the server tag verified.
        dh: Option<DhSecret>,
    },
}

/// The client's key for `suite`: a key the handle returns for it but keyed
/// for another suite counts as none.
fn key_of(keys: &dyn ClientKeys, suite: Suite) -> Option<&NativeKey> {
    keys.key_for(suite).filter(|k| k.suite() == suite)
}

pub(crate) struct Client {
    nonce: [u8; NONCE_LEN],
    /// Used only in the forward-secrecy mode; wiped once done.
    ephemeral: Ephemeral,
    state: State,
}

impl Client {
    #[inline(always)]
    pub(crate) fn new(config: Config, random: &[u8; RANDOM_LEN]) -> Client {
        let (nonce, ephemeral) = split_random(random);
        Client {
            nonce,
            ephemeral,
            state: State::Hello {
                config,
                hello: Fill::new(),
            },
        }
    }

    /// Checks what has arrived of `ServerHello`, failing as early as a byte
    /// is wrong (so a peer of another protocol is told at once).
    fn check_hello_prefix(
        h: &[u8],
        keys: &dyn ClientKeys,
        setting: ForwardSecrecy,
    ) -> Result<(), Error> {
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
                Some(s) if key_of(keys, s).is_some() => {}
                _ => return Err(Error::SuiteNotAllowed { id }),
            }
        }
        if let Some(&mode) = h.get(6) {
            if mode > MODE_REQUIRED {
                return Err(Error::UnknownMode { mode });
            }
            setting.client_sends_share(mode)?;
        }
        Ok(())
    }

    /// PROTOCOL.md client steps 1 and 2, on a complete and checked hello:
    /// queues `ClientProof` and moves to [`State::Proving`].
    fn on_hello(
        &mut self,
        config: &Config,
        hello: &[u8],
        keys: &dyn ClientKeys,
        core: &mut Core,
    ) -> Result<(), Error> {
        let not_allowed = Error::SuiteNotAllowed { id: hello[5] };
        let suite = Suite::from_id(hello[5]).ok_or(not_allowed)?;
        let key = key_of(keys, suite).ok_or(not_allowed)?;
        if hello[7..] == self.nonce {
            return Err(Error::ReflectedNonce);
        }
        // The mode byte was checked as it arrived.
        let share = config.forward_secrecy().client_sends_share(hello[6])?;
        let mut transcript = transcript_start(suite, config);
        transcript.update(hello);
        let key_id = key.id();
        let id = key_id.as_bytes();
        let client_share = if share {
            let client_share = self.ephemeral.share();
            scrub_stack();
            client_share
        } else {
            [0; SHARE_LEN]
        };
        let (kind, client_share) = if share {
            (CLIENT_PROOF_SHARE, &client_share[..])
        } else {
            (CLIENT_PROOF, &[][..])
        };
        // KeyId guarantees 1..=32 bytes.
        let head: [&[u8]; 4] = [&[kind, id.len() as u8], id, &self.nonce, client_share];
        for part in head {
            transcript.update(part);
        }
        let th1 = transcript.snapshot();
        let tag = key
            .keys()
            .client
            .wire_tag(&[labels::CLIENT_PROOF, th1.as_bytes()]);
        transcript.update(tag.as_bytes());
        core.send(&head);
        core.send(&[tag.as_bytes()]);
        self.state = State::Proving {
            suite,
            key_id,
            transcript,
            finish: Fill::new(),
            proof_out: false,
            share,
            verified: false,
            dh: None,
        };
        Ok(())
    }

    fn receive_hello(&mut self, keys: &dyn ClientKeys, core: &mut Core, input: &[u8]) -> usize {
        let State::Hello { config, hello } = &mut self.state else {
            return 0;
        };
        let setting = config.forward_secrecy();
        // Magic, version and suite one byte at a time, each checked as it
        // arrives (a peer of another protocol is told at once, and a failure
        // consumes the same bytes however the input is split); then the nonce.
        let mut used = 0;
        while used < input.len() && hello.len() < SERVER_HELLO_LEN {
            let want = if hello.len() < SERVER_HELLO_LEN - NONCE_LEN {
                hello.len() + 1
            } else {
                SERVER_HELLO_LEN
            };
            used += hello.fill(&input[used..], want);
            if let Err(e) = Self::check_hello_prefix(hello.bytes(), keys, setting) {
                self.ephemeral.wipe();
                core.fail(e);
                return used;
            }
        }
        if hello.len() == SERVER_HELLO_LEN {
            let mut bytes = [0u8; SERVER_HELLO_LEN];
            bytes.copy_from_slice(hello.bytes());
            let config = *config;
            if let Err(e) = self.on_hello(&config, &bytes, keys, core) {
                self.ephemeral.wipe();
                core.fail(e);
            }
        }
        used
    }

    fn receive_finish(&mut self, keys: &dyn ClientKeys, core: &mut Core, input: &[u8]) -> usize {
        let State::Proving {
            suite,
            transcript,
            finish,
            share,
            verified,
            dh,
            ..
        } = &mut self.state
        else {
            return 0;
        };
        // The type byte and the verdict one byte at a time, then the tag.
        let mut used = 0;
        while finish.len() < 2 {
            if used == input.len() {
                return used;
            }
            used += finish.fill(&input[used..], finish.len() + 1);
            let bad = match *finish.bytes() {
                [t, ..] if t != SERVER_FINISH => Some(Error::UnexpectedMessage {
                    expected: SERVER_FINISH,
                    got: t,
                }),
                [_, REJECT] => Some(Error::PeerRejected),
                [_, v] if v != ACCEPT => Some(Error::UnexpectedVerdict),
                _ => None,
            };
            if let Some(e) = bad {
                self.ephemeral.wipe();
                core.fail(e);
                return used;
            }
        }
        let share_len = if *share { SHARE_LEN } else { 0 };
        let want = 2 + share_len + suite.mac_len();
        used += finish.fill(&input[used..], want);
        if finish.len() == want {
            // PROTOCOL.md client step 3, on a complete accepting `ServerFinish`:
            // `T2` ends with its head and the server's share.
            let (head, server_tag) = finish.bytes().split_at(2 + share_len);
            transcript.update(head);
            let th2 = transcript.snapshot();
            let ok = key_of(keys, *suite).is_some_and(|key| {
                key.keys()
                    .server
                    .verify(&[labels::SERVER_FINISH, th2.as_bytes()], server_tag)
            });
            // The share is authenticated now; X25519 runs only then.
            let agreed = match (ok, *share) {
                (false, _) => Err(Error::BadTag),
                (true, true) => match head[2..].try_into() {
                    Ok(server_share) => self.ephemeral.agree(server_share).map(Some),
                    // `head` is `03 00` and the 32-byte share here.
                    Err(_) => Err(Error::BadTag),
                },
                (true, false) => Ok(None),
            };
            self.ephemeral.wipe();
            if *share {
                // X25519's copies of the secrets go from the stack (README,
                // "Assurance"): about 1.5 us, against about 100 for X25519.
                scrub_stack();
            }
            match agreed {
                Ok(secret) => {
                    // The transcript takes `server_tag` only when the
                    // session is derived (`SessionSeed`): it stays in
                    // `finish`.
                    *dh = secret;
                    *verified = true;
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
        match self.state {
            State::Hello { .. } => self.receive_hello(keys, core, input),
            State::Proving { .. } => self.receive_finish(keys, core, input),
        }
    }

    fn drained(&mut self, _core: &mut Core) {
        if let State::Proving { proof_out, .. } = &mut self.state {
            *proof_out = true;
        }
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        let (suite, key_id) = match &self.state {
            State::Proving { suite, key_id, .. } => (*suite, *key_id),
            // Done only after `ServerFinish` verified.
            State::Hello { .. } => (Suite::HmacSha256, KeyId::placeholder()),
        };
        Outcome {
            peer_authenticated: true,
            confirmation: Confirmation::Confirmed,
            scheme: Scheme::Native { suite, key_id },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        // PROTOCOL.md client step 2: bytes may follow `ClientProof`.
        matches!(
            self.state,
            State::Proving {
                proof_out: true,
                ..
            }
        )
    }

    fn peer_verified(&self) -> bool {
        matches!(self.state, State::Proving { verified: true, .. })
    }

    #[inline(always)]
    fn session_seed(&self, keys: &dyn ClientKeys) -> Option<SessionSeed> {
        let State::Proving {
            suite,
            key_id,
            transcript,
            finish,
            verified: true,
            dh,
            ..
        } = &self.state
        else {
            return None;
        };
        let prk = &key_of(keys, *suite)?.keys().prk;
        // `ServerFinish` ends with the server tag.
        let finish = finish.bytes();
        let server_tag = &finish[finish.len().saturating_sub(suite.mac_len())..];
        Some(SessionSeed::new(
            prk,
            dh.as_ref(),
            *key_id,
            transcript,
            server_tag,
        ))
    }
}
