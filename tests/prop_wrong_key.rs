//! A wrong key (or, native, an unknown key id) never authenticates, over
//! every profile, digest and suite, under any chunking: unrelated keys and
//! near misses (one bit flipped).

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::{Error, Key};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// The key the client holds.
#[derive(Clone, Debug)]
enum OtherKey {
    /// An unrelated key.
    Unrelated(Bytes),
    /// The right key with bit `bit` of byte `index` (modulo its length)
    /// flipped: a near miss. An empty key gains one byte instead.
    NearMiss { index: usize, bit: u8 },
}

impl OtherKey {
    fn resolve(&self, key: &[u8]) -> Vec<u8> {
        match self {
            OtherKey::Unrelated(k) => k.0.clone(),
            OtherKey::NearMiss { index, bit } => {
                let mut k = key.to_vec();
                match k.len() {
                    0 => k.push(1 << bit),
                    n => k[index % n] ^= 1 << bit,
                }
                k
            }
        }
    }
}

fn other_key() -> impl Strategy<Value = OtherKey> {
    prop_oneof![
        bytes(0..=300).prop_map(OtherKey::Unrelated),
        (any::<usize>(), 0..8u8).prop_map(|(index, bit)| OtherKey::NearMiss { index, bit }),
    ]
}

/// Whether HMAC surely tells two keys apart. RFC 2104 zero-pads keys shorter
/// than the block, so keys equal up to trailing zero bytes can be the same
/// HMAC key; the property skips such pairs.
fn hmac_distinct(a: &[u8], b: &[u8]) -> bool {
    let trim = |k: &[u8]| {
        let end = k.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        k[..end].to_vec()
    };
    trim(a) != trim(b)
}

fn wrong_key_classic(
    setups: Vec<Classic>,
    other: &OtherKey,
    input: &ClassicInput,
    chunking: &Chunking,
) -> Result<(), TestCaseError> {
    let wrong = other.resolve(&input.key);
    prop_assume!(hmac_distinct(&input.key, &wrong));
    let server_key = Key::new(&input.key);
    let client_key = Key::new(&wrong);
    for setup in setups {
        let r = run_classic(
            setup,
            &server_key,
            &client_key,
            input,
            chunking,
            &Plan::default(),
        )?;
        prop_assert_eq!(
            r.server.end,
            End::Failed(Error::BadTag),
            "{:?} server",
            setup
        );
        if setup.is_recipe() {
            // The recipe's client learns nothing from the handshake.
            let (_, client) = setup.expected();
            let client = OutcomeView {
                consumed: 32,
                ..client
            };
            prop_assert_eq!(r.client.end, End::Done(client), "{:?} client", setup);
        } else {
            prop_assert_eq!(
                r.client.end,
                End::Failed(Error::PeerRejected),
                "{:?} client",
                setup
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn wrong_key_rejected_recipe(input in classic_input(), other in other_key(), chunking in chunking()) {
        wrong_key_classic(recipe_setups(), &other, &input, &chunking)?;
    }

    #[test]
    fn wrong_key_rejected_multiprocessing(input in classic_input(), other in other_key(), chunking in chunking()) {
        wrong_key_classic(mp_setups(), &other, &input, &chunking)?;
    }

    /// Same key id, different secret: the server's `BadTag`. A key id not on
    /// the keyring: `UnknownKeyId`. The client sees only the reject verdict.
    #[test]
    fn wrong_key_rejected_native(
        input in native_input(),
        other in other_key(),
        unknown_id in bytes(1..=32),
        chunking in chunking(),
    ) {
        let (id, secret) = input.client_entry();
        let wrong = native_secret(&other.resolve(secret));
        prop_assume!(wrong[..] != secret[..]);
        prop_assume!(input.ring.iter().all(|(i, _)| *i != unknown_id));
        for suite in Suite::ALL {
            let ring = input.keyring(suite);
            let impostor = input.client_keys(suite, id, &wrong);
            let stranger = input.client_keys(suite, &unknown_id, secret);
            for (client_keys, expected) in [(&impostor, Error::BadTag), (&stranger, Error::UnknownKeyId)] {
                let r = run_native(&ring, client_keys, &input, &chunking, &Plan::default())?;
                prop_assert_eq!(r.server.end, End::Failed(expected), "{:?} server", suite);
                prop_assert_eq!(r.client.end, End::Failed(Error::PeerRejected), "{:?} client", suite);
                prop_assert!(r.server.session.is_none() && r.client.session.is_none());
            }
        }
    }
}
