//! Round trip, over every profile, digest and suite: random keys,
//! randomness and contexts authenticate with the expected outcomes, and
//! both native sides hold the same session and exports (from `finish()`),
//! with forward secrecy exactly when both use the mode (the native
//! settings are any pair that completes; tests/prop_forward_secrecy.rs
//! has all nine, chunked).

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::{Error, Key};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

fn round_trip_classic(setups: Vec<Classic>, input: &ClassicInput) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    for setup in setups {
        let r = honest_classic(setup, &key, input)?;
        let (mut server, mut client) = setup.expected();
        server.consumed = r.bytes_from(false);
        client.consumed = r.bytes_from(true);
        prop_assert_eq!(r.server.end, End::Done(server), "{:?} server", setup);
        prop_assert_eq!(r.client.end, End::Done(client), "{:?} client", setup);
        prop_assert!(r.server.session.is_none() && r.client.session.is_none());
        if setup.is_recipe() {
            prop_assert_eq!(r.messages.len(), 2);
        }
    }
    Ok(())
}

/// An export request: label, context, and output length as a fraction of
/// the suite's bound `255 * L`.
#[derive(Clone, Debug)]
struct ExportRequest {
    label: Bytes,
    context: Bytes,
    /// Output length: `255 * L` for `usize::MAX`, else `len % (255 * L + 1)`.
    len: usize,
}

fn export_request() -> impl Strategy<Value = ExportRequest> {
    (
        bytes(0..=255),
        bytes(0..100),
        prop_oneof![14 => 0..=80usize, 1 => any::<usize>(), 1 => Just(usize::MAX)],
    )
        .prop_map(|(label, context, len)| ExportRequest {
            label,
            context,
            len,
        })
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn round_trip_recipe(input in classic_input()) {
        round_trip_classic(recipe_setups(), &input)?;
    }

    #[test]
    fn round_trip_multiprocessing(input in classic_input()) {
        round_trip_classic(mp_setups(), &input)?;
    }

    #[test]
    fn round_trip_native(input in native_input(), req in export_request()) {
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let r = honest_native(&s.ring, &s.client, &input)?;
            let (mut server, mut client) = input.expected(suite);
            server.consumed = r.bytes_from(false);
            client.consumed = r.bytes_from(true);
            prop_assert_eq!(r.server.end, End::Done(server), "{:?} server", suite);
            prop_assert_eq!(r.client.end, End::Done(client), "{:?} client", suite);
            let (Some(ss), Some(cs)) = (&r.server.session, &r.client.session) else {
                return Err(TestCaseError::fail(format!("{suite:?}: no session")));
            };
            prop_assert_eq!(view(ss), view(cs), "{:?} sessions", suite);
            // The mode is used exactly when both sides have it on.
            prop_assert_eq!(Some(ss.forward_secrecy()), input.fs(), "{:?} forward secrecy", suite);
            let l = suite.mac_len();
            let key_id = ss.key_id();
            prop_assert_eq!(key_id.as_bytes(), input.client_entry().0);
            prop_assert_eq!(ss.suite(), suite);
            prop_assert_eq!(ss.handshake_hash().len(), l);
            prop_assert_eq!(ss.client_to_server_key().len(), l);
            prop_assert_eq!(ss.server_to_client_key().len(), l);
            prop_assert_ne!(ss.client_to_server_key(), ss.server_to_client_key());

            let len = if req.len == usize::MAX { 255 * l } else { req.len % (255 * l + 1) };
            let exported = export(ss, &req.label, &req.context, len)?;
            prop_assert_eq!(&exported, &export(cs, &req.label, &req.context, len)?, "{:?} export", suite);
            if len >= 16 {
                // The label and the context both select the output (compared
                // on a prefix: a shorter HKDF output is a prefix of a longer).
                let n = len.min(64);
                let mut other_context = req.context.0.clone();
                other_context.push(0);
                prop_assert_ne!(&exported[..n], &export(cs, &req.label, &other_context, n)?[..]);
                let mut other_label = req.label.0.clone();
                if other_label.len() < 255 {
                    other_label.push(0);
                } else {
                    other_label[0] ^= 1;
                }
                prop_assert_ne!(&exported[..n], &export(cs, &other_label, &req.context, n)?[..]);
            }
            // Past the bounds, nothing is written.
            let mut big = vec![0u8; 255 * l + 1];
            prop_assert_eq!(ss.export(&req.label, &req.context, &mut big), Err(Error::ExportTooLong));
            prop_assert_eq!(cs.export(&[0; 256], &req.context, &mut big[..1]), Err(Error::ExportTooLong));
        }
    }
}
