//! The native server: send `ServerHello`, check `ClientProof`, send
//! `ServerFinish` (PROTOCOL.md, "Processing", server steps 1 to 3, and
//! "Forward secrecy").

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::config::Config;
use super::ephemeral::{DhSecret, Ephemeral, MODE_OFF, MODE_REQUIRED, SHARE_LEN};
use super::hash::{Hasher, Prk, PublicHash};
use super::key::KeyId;
use super::lookup::{KeyLookup, Lookup};
use super::session::SessionSeed;
use super::suite::{Suite, MAX_LEN};
use super::{
    labels, transcript_start, ACCEPT, CLIENT_PROOF, CLIENT_PROOF_SHARE, MAGIC,
    MAX_CLIENT_PROOF_LEN, MAX_KEY_ID_LEN, NONCE_LEN, RANDOM_LEN, REJECT, SERVER_FINISH, VERSION,
};
use crate::buf::Fill;
use crate::mac::{MacState, WireTag};
use crate::machine::{Core, Protocol};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::wipe::scrub_stack;
use crate::Error;

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
    /// `ClientProof` as it arrives, and the ephemeral secret, used only for
    /// a proof with a share and only once it verified (zeroized when the
    /// state moves on, whatever the verdict).
    Reading {
        proof: Fill<MAX_CLIENT_PROOF_LEN>,
        ephemeral: Ephemeral,
        /// The nonce `ServerHello` carried, for the reflection check.
        nonce: [u8; NONCE_LEN],
        /// The mode byte `ServerHello` announced.
        mode: u8,
    },
    /// The proof verified: its key id, a copy of its key's PRK (so that
    /// the session does not depend on the lookup answering again), in
    /// the forward-secrecy mode the X25519 shared secret, and the server
    /// tag (`L` bytes of the 64), which the transcript takes only when the
    /// session is derived.
    Accepted {
        key_id: KeyId,
        prk: Prk,
        dh: Option<DhSecret>,
        server_tag: [u8; MAX_LEN],
    },
    Rejected,
}

/// The suite is the transcript's ([`Hasher::suite`]) and the mode byte
/// is kept only while the proof is read: with the server tag kept for the
/// session, every byte counts to keep a machine within 1 KiB.
pub(crate) struct Server {
    /// Fed `T1` as it arrives, then `client_tag` and `ServerFinish` up to
    /// the server tag (`T2`).
    transcript: Hasher,
    state: State,
}

/// What the server takes out of the key lookup for a proof it accepted.
struct Accept {
    /// Without a share: the server tag over `T2`. With one: the server MAC
    /// state, to make that tag once X25519 has run, after the lookup has
    /// returned (a store lending its key from inside a lock is not held
    /// for X25519).
    finish: Finish,
    prk: Prk,
}

#[allow(
    clippy::large_enum_variant,
    reason = "short-lived, on the stack; boxing would allocate"
)]
enum Finish {
    Tagged(WireTag),
    AfterX25519(MacState),
}

/// The checks of PROTOCOL.md server step 2 (3 to 5) with the key the lookup
/// found, made whatever each other gave, and the first that failed picked
/// without a branch: the work up to the verdict does not tell an unknown id
/// from a wrong tag. On success only (a reject costs no tag and no
/// X25519), the transcript takes `client_tag || 03 00`, and the server tag
/// is made over `T2`, or, for a proof with a share, left to be made after
/// X25519 ([`Finish::AfterX25519`]).
fn check(
    found: Lookup<'_>,
    suite: Suite,
    th1: &PublicHash,
    tag: &[u8],
    reflected: Choice,
    share: bool,
    transcript: &mut Hasher,
) -> Result<Accept, Error> {
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
    transcript.update(tag);
    transcript.update(&[SERVER_FINISH, ACCEPT]);
    let finish = if share {
        Finish::AfterX25519(keys.server.clone())
    } else {
        Finish::Tagged(server_tag(&keys.server, transcript))
    };
    Ok(Accept {
        finish,
        prk: keys.prk.clone(),
    })
}

/// `server_tag = HMAC(server_key, "server finish" || H(T2))`, with `T2` as
/// far as the transcript has it.
fn server_tag(server_key: &MacState, transcript: &Hasher) -> WireTag {
    let th2 = transcript.snapshot();
    server_key.wire_tag(&[labels::SERVER_FINISH, th2.as_bytes()])
}

/// Bytes `ClientProof` has once its type and key id length are known.
fn proof_len(suite: Suite, id_len: usize, share: bool) -> usize {
    2 + id_len + NONCE_LEN + if share { SHARE_LEN } else { 0 } + suite.mac_len()
}

/// Server step 2.1 with the mode: which proof types the announced mode
/// takes (PROTOCOL.md, "Forward secrecy"). `Ok(true)` for a proof with a
/// share.
fn proof_type(mode: u8, t: u8) -> Result<bool, Error> {
    match t {
        CLIENT_PROOF if mode == MODE_REQUIRED => Err(Error::ForwardSecrecyRequired),
        CLIENT_PROOF => Ok(false),
        CLIENT_PROOF_SHARE if mode != MODE_OFF => Ok(true),
        got => Err(Error::UnexpectedMessage {
            expected: if mode == MODE_REQUIRED {
                CLIENT_PROOF_SHARE
            } else {
                CLIENT_PROOF
            },
            got,
        }),
    }
}

impl Server {
    /// Queues `ServerHello` on `core`; the suite is the key lookup's.
    #[inline(always)]
    pub(crate) fn new(
        keys: &dyn KeyLookup,
        config: &Config,
        random: &[u8; RANDOM_LEN],
        core: &mut Core,
    ) -> Server {
        let (nonce, ephemeral) = split_random(random);
        let suite = keys.suite();
        let mode = config.forward_secrecy().mode();
        let mut transcript = transcript_start(suite, config);
        let hello: [&[u8]; 3] = [&MAGIC, &[VERSION, suite.id(), mode], &nonce];
        for part in hello {
            transcript.update(part);
        }
        core.send(&hello);
        Server {
            transcript,
            state: State::Reading {
                proof: Fill::new(),
                ephemeral,
                nonce,
                mode,
            },
        }
    }

    fn reject(&mut self, core: &mut Core, error: Error) {
        self.state = State::Rejected;
        core.reject(&[&[SERVER_FINISH, REJECT]], error);
    }

    /// Checks the complete proof (PROTOCOL.md server step 2) and answers:
    /// `ServerFinish` and [`State::Accepted`], or the reject verdict. The
    /// proof is read where it arrived (no copy); the state it was read in
    /// is replaced either way, and its ephemeral secret, which has done its
    /// work (or never will), is zeroized with it.
    fn on_proof(&mut self, keys: &dyn KeyLookup, core: &mut Core) {
        let Server { transcript, state } = self;
        let suite = transcript.suite();
        let State::Reading {
            proof,
            ephemeral,
            nonce,
            ..
        } = &*state
        else {
            return;
        };
        let answered = answer(suite, proof.bytes(), nonce, ephemeral, keys, transcript);
        match answered {
            Ok((accepted, server_share)) => {
                *state = accepted;
                let State::Accepted { server_tag, .. } = &*state else {
                    return;
                };
                let share: &[u8] = match &server_share {
                    Some(share) => share,
                    None => &[],
                };
                let tag = &server_tag[..suite.mac_len()];
                core.send_last(&[&[SERVER_FINISH, ACCEPT], share, tag]);
            }
            Err(e) => self.reject(core, e),
        }
    }
}

/// PROTOCOL.md server step 2 on the complete `proof`: the accepted state
/// (key id, PRK, X25519 secret, server tag) and the server's share, if the
/// proof carried one. `transcript` takes the proof's head (and, once
/// accepted, `client_tag`, `03 00` and the share): `T2`. The server tag is
/// made over `T2` and kept, not fed to the transcript: only the session's
/// `handshake_hash` needs it there, and that is derived on request
/// ([`SessionSeed`]).
fn answer(
    suite: Suite,
    proof: &[u8],
    nonce: &[u8; NONCE_LEN],
    ephemeral: &Ephemeral,
    keys: &dyn KeyLookup,
    transcript: &mut Hasher,
) -> Result<(State, Option<[u8; SHARE_LEN]>), Error> {
    let id_len = usize::from(proof[1]);
    let share = proof[0] == CLIENT_PROOF_SHARE;
    let head_len = 2 + id_len + NONCE_LEN + if share { SHARE_LEN } else { 0 };
    let (head, tag) = proof.split_at(head_len);
    let mut client_nonce = [0u8; NONCE_LEN];
    client_nonce.copy_from_slice(&head[2 + id_len..][..NONCE_LEN]);
    // `head` ends with the 32-byte share exactly when there is one.
    let client_share: Option<&[u8; SHARE_LEN]> = head[2 + id_len + NONCE_LEN..].try_into().ok();
    // The length byte was checked (1..=32) as it arrived.
    let id = KeyId::new(&head[2..2 + id_len]).map_err(|_| Error::KeyIdLength { len: id_len })?;
    transcript.update(head);
    let th1 = transcript.snapshot();
    let reflected = crate::ct::eq32(&client_nonce, nonce);
    // A lookup that never calls back rejects, as an unknown id.
    let mut checked = Err(Error::UnknownKeyId);
    let mut called = false;
    keys.lookup(&id, &mut |found| {
        if !called {
            called = true;
            checked = check(found, suite, &th1, tag, reflected, share, transcript);
        }
    });
    let accept = checked?;
    let (server_tag, server_share, dh) = match accept.finish {
        Finish::Tagged(tag) => (tag, None, None),
        Finish::AfterX25519(server_key) => {
            // The proof had a share (`check` is asked for this finish only
            // then).
            let Some(client_share) = client_share else {
                return Err(Error::UnexpectedMessage {
                    expected: CLIENT_PROOF_SHARE,
                    got: proof[0],
                });
            };
            let server_share = ephemeral.share();
            let dh = ephemeral.agree(client_share);
            // X25519's copies of the secrets go from the stack (README,
            // "Assurance"): about 1.5 us, against about 100 for X25519.
            scrub_stack();
            let dh = dh?;
            transcript.update(&server_share);
            let tag = server_tag(&server_key, transcript);
            (tag, Some(server_share), Some(dh))
        }
    };
    let mut tag_bytes = [0u8; MAX_LEN];
    tag_bytes[..suite.mac_len()].copy_from_slice(server_tag.as_bytes());
    let accepted = State::Accepted {
        key_id: id,
        prk: accept.prk,
        dh,
        server_tag: tag_bytes,
    };
    Ok((accepted, server_share))
}

/// The nonce and the ephemeral secret out of a role's 64 random bytes.
pub(crate) fn split_random(random: &[u8; RANDOM_LEN]) -> ([u8; NONCE_LEN], Ephemeral) {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&random[..NONCE_LEN]);
    (nonce, Ephemeral::from_slice(&random[NONCE_LEN..]))
}

impl Protocol for Server {
    type Keys<'k> = dyn KeyLookup + 'k;

    fn receive(&mut self, keys: &dyn KeyLookup, core: &mut Core, input: &[u8]) -> usize {
        let suite = self.transcript.suite();
        let State::Reading { proof, mode, .. } = &mut self.state else {
            return 0;
        };
        let mode = *mode;
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
                [t] => proof_type(mode, t).err(),
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
        let share = proof.bytes()[0] == CLIENT_PROOF_SHARE;
        let want = proof_len(suite, usize::from(proof.bytes()[1]), share);
        used += proof.fill(&input[used..], want);
        if proof.len() == want {
            self.on_proof(keys, core);
        }
        used
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        let key_id = match &self.state {
            State::Accepted { key_id, .. } => *key_id,
            // Done only after a proof was accepted.
            State::Reading { .. } | State::Rejected => KeyId::placeholder(),
        };
        Outcome {
            peer_authenticated: true,
            confirmation: Confirmation::Unknown,
            scheme: Scheme::Native {
                suite: self.transcript.suite(),
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

    #[inline(always)]
    fn session_seed(&self, _keys: &dyn KeyLookup) -> Option<SessionSeed> {
        let State::Accepted {
            key_id,
            prk,
            dh,
            server_tag,
        } = &self.state
        else {
            return None;
        };
        let suite = self.transcript.suite();
        Some(SessionSeed::new(
            prk,
            dh.as_ref(),
            *key_id,
            &self.transcript,
            &server_tag[..suite.mac_len()],
        ))
    }
}
