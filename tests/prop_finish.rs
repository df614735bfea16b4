//! `finish()`, over every profile, digest, suite and role, on exchanges
//! stopped after a random number of calls (or run to the end), honest,
//! wrong-key or tampered, under any chunking: before `Done` it returns
//! `Err(NotFinished)` (a caller error); after `Failed`, the machine's own
//! error (a peer error); at `Done`, the status's outcome, and for native a
//! session (for the other profiles none). When both native sides finish,
//! their sessions agree, exports included.

mod prop_support;

use hmac_handshake::native::{ForwardSecrecy, Suite};
use hmac_handshake::{Error, Key, Origin, Scheme};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// Stop after this many calls, or never.
fn stop_after() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(0)),
        4 => (0..40usize).prop_map(Some),
    ]
}

/// `finish()` against the status it was called in.
fn check_side(s: &SideReport, native: bool, side: &str, what: &str) -> Result<(), TestCaseError> {
    match s.end {
        End::Done(o) => {
            prop_assert_eq!(s.finish, Ok(o), "{}: {} finish at Done", what, side);
            prop_assert_eq!(o.consumed, s.consumed, "{}: {} consumed", what, side);
            match (&s.session, o.scheme) {
                (Some(session), Scheme::Native { suite, key_id }) if native => {
                    prop_assert_eq!(session.suite(), suite, "{}: {} session suite", what, side);
                    prop_assert_eq!(
                        session.key_id(),
                        key_id,
                        "{}: {} session key id",
                        what,
                        side
                    );
                }
                (None, _) if !native => {}
                (session, scheme) => {
                    return Err(TestCaseError::fail(format!(
                        "{what}: {side} finished {scheme:?} with session {session:?}"
                    )))
                }
            }
        }
        End::Failed(e) => {
            prop_assert_eq!(s.finish, Err(e), "{}: {} finish at Failed", what, side);
            prop_assert_eq!(
                e.origin(),
                Origin::Peer,
                "{}: {} failed with {:?}",
                what,
                side,
                e
            );
            prop_assert!(s.session.is_none());
        }
        End::Waiting | End::Sending => {
            prop_assert_eq!(
                s.finish,
                Err(Error::NotFinished),
                "{}: {} finish at {:?}",
                what,
                side,
                s.end
            );
            prop_assert_eq!(Error::NotFinished.origin(), Origin::Caller);
            prop_assert!(s.session.is_none());
        }
    }
    Ok(())
}

fn check_finish(r: &Exchange, native: bool, what: &str) -> Result<(), TestCaseError> {
    check_side(&r.server, native, "server", what)?;
    check_side(&r.client, native, "client", what)?;
    if let (Some(ss), Some(cs)) = (&r.server.session, &r.client.session) {
        prop_assert_eq!(view(ss), view(cs), "{}: sessions", what);
        let len = ss.suite().mac_len() + 7;
        prop_assert_eq!(
            export(ss, b"prop_finish", b"ctx", len)?,
            export(cs, b"prop_finish", b"ctx", len)?,
            "{}: exports",
            what
        );
    }
    Ok(())
}

fn plan_for(perturb: &Perturb, honest: &Exchange, stop: Option<usize>) -> Plan {
    let mut plan = Plan {
        stop_after: stop,
        ..Plan::default()
    };
    if let Perturb::Flip(seed) = perturb {
        plan.flip = Some(seed.resolve(&honest.messages));
    }
    plan
}

fn finish_classic(
    setups: Vec<Classic>,
    input: &ClassicInput,
    perturb: &Perturb,
    chunking: &Chunking,
    stop: Option<usize>,
) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    let wrong;
    let client_key = match perturb {
        Perturb::WrongKey(k) => {
            wrong = Key::new(k);
            &wrong
        }
        _ => &key,
    };
    for setup in setups {
        let what = format!("{setup:?} {perturb:?} stop {stop:?}");
        let honest = honest_classic(setup, &key, input)?;
        check_finish(&honest, false, &what)?;
        let plan = plan_for(perturb, &honest, stop);
        let r = run_classic(setup, &key, client_key, input, chunking, &plan)?;
        check_finish(&r, false, &what)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn finish_recipe(input in classic_input(), perturb in perturb(), chunking in chunking(), stop in stop_after()) {
        finish_classic(recipe_setups(), &input, &perturb, &chunking, stop)?;
    }

    #[test]
    fn finish_multiprocessing(input in classic_input(), perturb in perturb(), chunking in chunking(), stop in stop_after()) {
        finish_classic(mp_setups(), &input, &perturb, &chunking, stop)?;
    }

    #[test]
    fn finish_native(input in native_input(), perturb in perturb(), chunking in chunking(), stop in stop_after()) {
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let wrong = match &perturb {
                Perturb::WrongKey(k) => Some(input.client_keys(suite, input.client_entry().0, &native_secret(k))),
                _ => None,
            };
            let client_keys = wrong.as_deref().unwrap_or(&s.client);
            let what = format!("{suite:?} {perturb:?} stop {stop:?}");
            let honest = honest_native(&s.ring, &s.client, &input)?;
            check_finish(&honest, true, &what)?;
            prop_assert!(honest.server.session.is_some() && honest.client.session.is_some());
            let plan = plan_for(&perturb, &honest, stop);
            let r = run_native(&s.ring, client_keys, &input, &chunking, &plan)?;
            check_finish(&r, true, &what)?;
        }
    }
}

/// A machine fresh from its constructor is not finished, in every profile
/// and role.
#[test]
fn finish_fresh_machine_is_not_finished() {
    let input = ClassicInput {
        key: Bytes(b"key".to_vec()),
        server_random: Bytes(vec![1; 40]),
        client_random: Bytes(vec![2; 40]),
    };
    let key = Key::new(&input.key);
    for setup in recipe_setups().into_iter().chain(mp_setups()) {
        let server = setup.server(&key, &input).finish_boxed();
        let client = setup.client(&key, &input).finish_boxed();
        assert_eq!(server.err(), Some(Error::NotFinished), "{setup:?} server");
        assert_eq!(client.err(), Some(Error::NotFinished), "{setup:?} client");
    }
    let input = NativeInput {
        ring: vec![(Bytes(b"k1".to_vec()), Bytes(vec![7; 32]))],
        client: 0,
        server_random: Bytes(vec![1; 64]),
        client_random: Bytes(vec![2; 64]),
        context: Bytes(b"ctx".to_vec()),
        allowed_mask: 0,
        server_fs: ForwardSecrecy::Required,
        client_fs: ForwardSecrecy::Offered,
    };
    for (server_fs, client_fs) in fs_pairs() {
        let input = input.with_fs(server_fs, client_fs);
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let server = native_server(&s.ring, &input).finish_boxed();
            let client = native_client(&s.client, &input).finish_boxed();
            let what = format!("{suite:?} {server_fs:?}/{client_fs:?}");
            assert_eq!(server.err(), Some(Error::NotFinished), "{what} server");
            assert_eq!(client.err(), Some(Error::NotFinished), "{what} client");
        }
    }
}
