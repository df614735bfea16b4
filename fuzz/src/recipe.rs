//! `recipe_server` and `recipe_client`.

use std::fmt;

use hmac_handshake::{
    recipe, ClientHandshake, Confirmation, Digest, Key, Scheme, ServerHandshake, MAX_TAG_LEN,
};

use crate::drive::{check_machine, Snap};
use crate::reader::{Hex, Plan, Reader};
use crate::reference::hmac;

/// Largest message of the recipe profile: the 32-byte challenge, or a tag.
pub const MAX_MESSAGE: usize = if MAX_TAG_LEN > recipe::CHALLENGE_LEN {
    MAX_TAG_LEN
} else {
    recipe::CHALLENGE_LEN
};

/// Layout: `u8(digest) || lp16(key, <= 300) || challenge(32) || plan || peer`.
/// `digest` indexes `Digest::ALL` modulo 6. The client ignores `challenge`.
pub struct RecipeInput {
    pub digest: Digest,
    pub key: Vec<u8>,
    pub challenge: [u8; recipe::CHALLENGE_LEN],
    pub plan: Plan,
    pub peer: Vec<u8>,
}

impl RecipeInput {
    pub fn decode(data: &[u8]) -> RecipeInput {
        let mut r = Reader::new(data);
        RecipeInput {
            digest: Digest::ALL[usize::from(r.u8()) % Digest::ALL.len()],
            key: r.lp16(300).to_vec(),
            challenge: r.array(),
            plan: Plan::decode(&mut r),
            peer: r.rest().to_vec(),
        }
    }
}

crate::raw_input!(RecipeInput);

impl fmt::Debug for RecipeInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipeInput")
            .field("digest", &self.digest)
            .field("key", &Hex(&self.key))
            .field("challenge", &Hex(&self.challenge))
            .field("plan", &self.plan)
            .field("peer", &Hex(&self.peer))
            .finish()
    }
}

/// The server sends the challenge and must accept exactly
/// `HMAC(key, challenge)`, checked here with the harness's own HMAC.
pub fn server(input: &RecipeInput) {
    let key = Key::new(&input.key);
    let config = recipe::Config {
        digest: input.digest,
    };
    let make = || ServerHandshake::with_pinned_random(&key, config, &input.challenge);
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_MESSAGE);
    assert_eq!(
        t.messages,
        vec![input.challenge.to_vec()],
        "the server sends only the challenge"
    );
    assert!(t.session.is_none());
    // The challenge is the server's only message: application bytes may
    // follow it at once.
    assert_eq!(
        t.may_send_at,
        Some(recipe::CHALLENGE_LEN),
        "may_send_application_data() not right after the challenge"
    );
    assert_eq!(
        t.verified_at,
        matches!(t.end, Snap::Done(_)).then_some(t.consumed),
        "peer_verified() is not exactly \"the tag verified\""
    );
    let expected = hmac(input.digest, &input.key, &input.challenge);
    let tag_len = input.digest.tag_len();
    match t.end {
        Snap::Done(o) => {
            assert!(o.peer_authenticated);
            assert_eq!(o.confirmation, Confirmation::NotApplicable);
            assert_eq!(
                o.scheme,
                Scheme::Recipe {
                    digest: input.digest
                }
            );
            assert_eq!(
                &input.peer[..t.consumed],
                &expected[..],
                "recipe server accepted a reply that is not HMAC(key, challenge)"
            );
        }
        Snap::Failed(e) => {
            assert_eq!(t.consumed, tag_len, "the server reads exactly one tag");
            assert_eq!(e, hmac_handshake::Error::BadTag);
            assert_ne!(
                &input.peer[..tag_len],
                &expected[..],
                "recipe server rejected the right tag"
            );
        }
        Snap::NeedInput => assert!(input.peer.len() < tag_len && t.consumed == input.peer.len()),
        Snap::Send(_) => unreachable!(),
    }
}

/// The client reads 32 bytes and answers `HMAC(key, challenge)`; it never
/// authenticates the server.
pub fn client(input: &RecipeInput) {
    let key = Key::new(&input.key);
    let config = recipe::Config {
        digest: input.digest,
    };
    let make = || ClientHandshake::with_pinned_random(&key, config, &[]);
    let t = check_machine(make, &input.peer, &input.plan, &|_| MAX_MESSAGE);
    assert!(t.session.is_none());
    // The tag is the client's last message, and then it is done; it never
    // verifies anything of the server's.
    assert_eq!(
        t.may_send_at,
        matches!(t.end, Snap::Done(_)).then_some(t.output.len())
    );
    assert_eq!(t.verified_at, None, "the recipe client verified something");
    match t.end {
        Snap::Done(o) => {
            assert_eq!(t.consumed, recipe::CHALLENGE_LEN);
            assert!(
                !o.peer_authenticated,
                "the recipe client cannot authenticate the server"
            );
            assert_eq!(o.confirmation, Confirmation::Unknown);
            assert_eq!(
                o.scheme,
                Scheme::Recipe {
                    digest: input.digest
                }
            );
            let expected = hmac(
                input.digest,
                &input.key,
                &input.peer[..recipe::CHALLENGE_LEN],
            );
            assert_eq!(
                t.messages,
                vec![expected],
                "the client's reply is not HMAC(key, challenge)"
            );
        }
        Snap::NeedInput => {
            assert!(input.peer.len() < recipe::CHALLENGE_LEN);
            assert!(t.output.is_empty());
        }
        other => panic!("recipe client ended {other:?}"),
    }
}
