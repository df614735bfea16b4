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

use core::borrow::Borrow;

use crate::buf::Fill;
use crate::digest::MAX_TAG_LEN;
use crate::machine::{Core, Machine, Proto, Protocol};
use crate::profile::{sealed, ClientProfile, Profile, ServerProfile};
use crate::status::{Confirmation, Outcome, Scheme};
use crate::{Digest, Key};

/// Challenge length in bytes (`os.urandom(32)` in the recipe).
pub const CHALLENGE_LEN: usize = 32;

/// Settings of the recipe profile, shared by both sides. The server draws
/// a 32-byte challenge (`[u8; 32]`); the client draws nothing (`[u8; 0]`).
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

impl sealed::Sealed for Config {}

impl<K: Borrow<Key>> ServerProfile<K> for Config {
    type Random = [u8; CHALLENGE_LEN];
    const PROFILE: Profile = Profile::Recipe;

    #[inline(always)]
    fn server(self, keys: K, random: &[u8; CHALLENGE_LEN]) -> Machine<K> {
        Machine::new(keys, |_, core| {
            core.send(&[random]);
            Proto::RecipeServer(
                Server {
                    digest: self.digest,
                    challenge: *random,
                    reply: Fill::new(),
                    verified: false,
                },
                <K as Borrow<Key>>::borrow,
            )
        })
    }
}

impl<K: Borrow<Key>> ClientProfile<K> for Config {
    type Random = [u8; 0];
    const PROFILE: Profile = Profile::Recipe;

    #[inline(always)]
    fn client(self, keys: K, _random: &[u8; 0]) -> Machine<K> {
        Machine::new(keys, |_, _| {
            Proto::RecipeClient(
                Client {
                    digest: self.digest,
                    challenge: Fill::new(),
                },
                <K as Borrow<Key>>::borrow,
            )
        })
    }
}

/// The recipe's `server_authenticate`: send the challenge, check the reply.
pub(crate) struct Server {
    digest: Digest,
    challenge: [u8; CHALLENGE_LEN],
    reply: Fill<MAX_TAG_LEN>,
    verified: bool,
}

impl Protocol for Server {
    type Keys<'k> = Key;

    /// Reads exactly `tag_len` reply bytes, like `connection.recv(len(digest))`.
    fn receive(&mut self, key: &Key, core: &mut Core, input: &[u8]) -> usize {
        let want = self.digest.tag_len();
        let n = self.reply.fill(input, want);
        if self.reply.len() == want {
            match key.verify(self.digest, &self.challenge, self.reply.bytes()) {
                Ok(()) => {
                    self.verified = true;
                    core.done();
                }
                Err(e) => core.fail(e),
            }
        }
        n
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        Outcome {
            peer_authenticated: true,
            confirmation: Confirmation::NotApplicable,
            scheme: Scheme::Recipe {
                digest: self.digest,
            },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        // The challenge is the server's only message.
        true
    }

    fn peer_verified(&self) -> bool {
        self.verified
    }
}

/// The recipe's `client_authenticate`: read the challenge, send the tag.
pub(crate) struct Client {
    digest: Digest,
    challenge: Fill<CHALLENGE_LEN>,
}

impl Protocol for Client {
    type Keys<'k> = Key;

    /// Keeps reading until all 32 challenge bytes have arrived.
    fn receive(&mut self, key: &Key, core: &mut Core, input: &[u8]) -> usize {
        let n = self.challenge.fill(input, CHALLENGE_LEN);
        if self.challenge.len() == CHALLENGE_LEN {
            let tag = key.tag(self.digest, self.challenge.bytes());
            core.send_last(&[tag.as_bytes()]);
        }
        n
    }

    fn outcome(&self, consumed: usize) -> Outcome {
        Outcome {
            peer_authenticated: false,
            confirmation: Confirmation::Unknown,
            scheme: Scheme::Recipe {
                digest: self.digest,
            },
            consumed,
        }
    }

    fn sent_last(&self) -> bool {
        false
    }

    fn peer_verified(&self) -> bool {
        false
    }
}
