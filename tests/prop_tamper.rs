//! Tamper rejection, over every profile, digest and suite: one flipped bit
//! anywhere in any message fails the handshake on the side that receives
//! it; never do both sides finish. One exception to "fails": a flip in a
//! byte that sets a message's length (multiprocessing frame header; native
//! key id length or suite) may leave the receiver waiting for bytes that
//! never come, which a real connection ends with a timeout.

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::{Error, Key};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// Whether `flip` hits a byte that sets how long a message is, so the flip
/// can leave a side waiting for bytes that are never sent instead of
/// failing: the 4-byte frame header of a multiprocessing message; in native,
/// the key id length byte of `ClientProof`, and the suite byte of
/// `ServerHello` (a suite with a shorter `L` that the client allows makes
/// its `ClientProof` shorter than the server expects).
fn length_field(native: bool, messages: &[Message], flip: Flip) -> bool {
    if native {
        let from_server = messages[flip.msg].from_server;
        (from_server && flip.msg == 0 && flip.byte == 5) || (!from_server && flip.byte == 1)
    } else {
        flip.byte < 4
    }
}

/// The property for multiprocessing and native exchanges.
fn check_tamper_mutual(
    honest: &Exchange,
    tampered: &Exchange,
    flip: Flip,
    native: bool,
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert!(
        honest.server.end.is_done() && honest.client.end.is_done(),
        "{}: honest exchange failed: {:?} / {:?}",
        what,
        honest.server.end,
        honest.client.end
    );
    prop_assert!(
        !(tampered.server.end.is_done() && tampered.client.end.is_done()),
        "{}: {:?} flipped, yet both sides are Done",
        what,
        flip
    );
    let receiver = if honest.messages[flip.msg].from_server {
        &tampered.client
    } else {
        &tampered.server
    };
    let stalled = receiver.end == End::Waiting
        && receiver.leftover.is_empty()
        && length_field(native, &honest.messages, flip);
    prop_assert!(
        matches!(receiver.end, End::Failed(_)) || stalled,
        "{}: {:?} flipped; the receiving side ended {:?} (server {:?}, client {:?})",
        what,
        flip,
        receiver.end,
        tampered.server.end,
        tampered.client.end
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn tamper_rejected_recipe(input in classic_input(), seed in flip_seed(), chunking in chunking()) {
        let key = Key::new(&input.key);
        for setup in recipe_setups() {
            let honest = honest_classic(setup, &key, &input)?;
            prop_assert_eq!(honest.messages.len(), 2);
            let flip = seed.resolve(&honest.messages);
            let plan = Plan { flip: Some(flip), ..Plan::default() };
            let t = run_classic(setup, &key, &key, &input, &chunking, &plan)?;
            // Challenge or reply: the server's check fails either way.
            prop_assert_eq!(t.server.end, End::Failed(Error::BadTag), "{:?} {:?}", setup, flip);
        }
    }

    #[test]
    fn tamper_rejected_multiprocessing(input in classic_input(), seed in flip_seed(), chunking in chunking()) {
        let key = Key::new(&input.key);
        for setup in mp_setups() {
            let honest = honest_classic(setup, &key, &input)?;
            prop_assert_eq!(honest.messages.len(), 6);
            let flip = seed.resolve(&honest.messages);
            let plan = Plan { flip: Some(flip), ..Plan::default() };
            let t = run_classic(setup, &key, &key, &input, &chunking, &plan)?;
            check_tamper_mutual(&honest, &t, flip, false, &format!("{setup:?}"))?;
        }
    }

    #[test]
    fn tamper_rejected_native(input in native_input(), seed in flip_seed(), chunking in chunking()) {
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let honest = honest_native(&s.ring, &s.client, &input)?;
            prop_assert_eq!(honest.messages.len(), 3);
            let flip = seed.resolve(&honest.messages);
            let plan = Plan { flip: Some(flip), ..Plan::default() };
            let t = run_native(&s.ring, &s.client, &input, &chunking, &plan)?;
            check_tamper_mutual(&honest, &t, flip, true, &format!("{suite:?}"))?;
        }
    }
}
