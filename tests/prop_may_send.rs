//! `may_send_application_data()`, over every profile, digest, suite and
//! role, under any chunking:
//! - it is false until this side's last handshake message has been fully
//!   `sent` (nothing more follows from this side once it is true), always
//!   true at `Done` and false at `Failed`, on honest, wrong-key and tampered
//!   exchanges alike;
//! - on an honest exchange it turns true as soon as the last message is
//!   out: before `Done` for the recipe's server (after its challenge), the
//!   multiprocessing Listener (after its reply) and the native client (while
//!   it waits for `ServerFinish`), only at `Done` for the other roles;
//! - application bytes a side writes the moment it turns true arrive at the
//!   peer as leftover bytes, never consumed by the peer's `receive`, intact,
//!   and the handshake is the same as without them.

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::Key;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// Which roles may send before `Done`: `[server, client]`.
const RECIPE_EARLY: [bool; 2] = [true, false];
const MP_EARLY: [bool; 2] = [true, false];
const NATIVE_EARLY: [bool; 2] = [false, true];

fn sides(r: &Exchange) -> [(&'static str, &SideReport); 2] {
    [("server", &r.server), ("client", &r.client)]
}

/// On any exchange: true only once this side has sent everything it will
/// send, with nothing pending and no failure; true at `Done`, false at
/// `Failed`.
fn check_sound(r: &Exchange, what: &str) -> Result<(), TestCaseError> {
    for (side, s) in sides(r) {
        let total = s.sent.len();
        for (i, o) in s.observations.iter().enumerate() {
            if o.may_send {
                prop_assert_eq!(
                    o.sent,
                    total,
                    "{}: {} may send after {} of its {} handshake bytes (observation {}: {:?})",
                    what,
                    side,
                    o.sent,
                    total,
                    i,
                    o
                );
                prop_assert!(
                    !matches!(o.kind, Kind::Send | Kind::Failed),
                    "{}: {} may send at {:?}",
                    what,
                    side,
                    o.kind
                );
            }
            match o.kind {
                Kind::Done => prop_assert!(o.may_send, "{}: {} Done, may not send", what, side),
                Kind::Failed => prop_assert!(!o.may_send, "{}: {} Failed, may send", what, side),
                _ => {}
            }
        }
    }
    Ok(())
}

/// On an honest exchange: true exactly from the moment the last message is
/// out; before `Done` only for the roles of `early`.
fn check_complete(r: &Exchange, early: [bool; 2], what: &str) -> Result<(), TestCaseError> {
    for ((side, s), early) in sides(r).into_iter().zip(early) {
        prop_assert!(s.end.is_done(), "{}: {} ended {:?}", what, side, s.end);
        let total = s.sent.len();
        for o in &s.observations {
            prop_assert_eq!(
                o.may_send,
                o.sent == total,
                "{}: {} after {} of {} bytes: {:?}",
                what,
                side,
                o.sent,
                total,
                o
            );
        }
        let before_done = s
            .observations
            .iter()
            .any(|o| o.may_send && o.kind == Kind::NeedInput);
        prop_assert_eq!(
            before_done,
            early,
            "{}: {} may send while it waits for the peer",
            what,
            side
        );
    }
    Ok(())
}

/// Application bytes written the moment each side may send arrive intact
/// as the peer's leftover, and the handshake is the honest one.
fn check_delivery(
    honest: &Exchange,
    with_app: &Exchange,
    to_server: &[u8],
    to_client: &[u8],
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(&with_app.messages, &honest.messages, "{}: messages", what);
    for ((side, s), (app, handshake)) in sides(with_app).into_iter().zip([
        (to_server, honest.bytes_from(false)),
        (to_client, honest.bytes_from(true)),
    ]) {
        let End::Done(o) = s.end else {
            return Err(TestCaseError::fail(format!(
                "{what}: {side} ended {:?} with application bytes behind the handshake",
                s.end
            )));
        };
        prop_assert_eq!(s.consumed, handshake, "{}: {} consumed", what, side);
        prop_assert_eq!(o.consumed, handshake, "{}: {} outcome.consumed", what, side);
        prop_assert_eq!(&s.leftover[..], app, "{}: {} application bytes", what, side);
    }
    prop_assert_eq!(views(&with_app.server), views(&honest.server));
    prop_assert_eq!(views(&with_app.client), views(&honest.client));
    Ok(())
}

fn app_plan(to_server: &[u8], to_client: &[u8]) -> Plan {
    Plan {
        when_allowed: [Some(to_client.to_vec()), Some(to_server.to_vec())],
        ..Plan::default()
    }
}

/// The three checks on one setup; `run(client_is_honest, chunking, plan)`.
fn check_setup<F>(
    run: F,
    perturb: &Perturb,
    chunking: &Chunking,
    early: [bool; 2],
    to_server: &[u8],
    to_client: &[u8],
    what: &str,
) -> Result<(), TestCaseError>
where
    F: Fn(bool, &Chunking, &Plan) -> Result<Exchange, TestCaseError>,
{
    let honest_whole = run(true, &Chunking::whole(), &Plan::default())?;
    let mut plan = Plan::default();
    if let Perturb::Flip(seed) = perturb {
        plan.flip = Some(seed.resolve(&honest_whole.messages));
    }
    let perturbed = run(!matches!(perturb, Perturb::WrongKey(_)), chunking, &plan)?;
    check_sound(&perturbed, &format!("{what} {perturb:?}"))?;
    let honest = run(true, chunking, &Plan::default())?;
    check_sound(&honest, what)?;
    check_complete(&honest, early, what)?;
    let with_app = run(true, chunking, &app_plan(to_server, to_client))?;
    check_delivery(&honest_whole, &with_app, to_server, to_client, what)?;
    Ok(())
}

fn may_send_classic(
    setups: Vec<Classic>,
    early: [bool; 2],
    input: &ClassicInput,
    perturb: &Perturb,
    chunking: &Chunking,
    to_server: &[u8],
    to_client: &[u8],
) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    let wrong = match perturb {
        Perturb::WrongKey(k) => Key::new(k),
        _ => Key::new(&input.key),
    };
    for setup in setups {
        let run = |honest: bool, c: &Chunking, p: &Plan| {
            let client_key = if honest { &key } else { &wrong };
            run_classic(setup, &key, client_key, input, c, p)
        };
        let what = format!("{setup:?}");
        check_setup(run, perturb, chunking, early, to_server, to_client, &what)?;
    }
    Ok(())
}

fn app() -> impl Strategy<Value = Bytes> {
    bytes(1..200)
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn may_send_recipe(input in classic_input(), perturb in perturb(), chunking in chunking(), to_server in app(), to_client in app()) {
        may_send_classic(recipe_setups(), RECIPE_EARLY, &input, &perturb, &chunking, &to_server, &to_client)?;
    }

    #[test]
    fn may_send_multiprocessing(input in classic_input(), perturb in perturb(), chunking in chunking(), to_server in app(), to_client in app()) {
        may_send_classic(mp_setups(), MP_EARLY, &input, &perturb, &chunking, &to_server, &to_client)?;
    }

    #[test]
    fn may_send_native(input in native_input(), perturb in perturb(), chunking in chunking(), to_server in app(), to_client in app()) {
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let wrong = match &perturb {
                Perturb::WrongKey(k) => input.client_keys(suite, input.client_entry().0, &native_secret(k)),
                _ => Vec::new(),
            };
            let run = |honest: bool, c: &Chunking, p: &Plan| {
                let client_keys = if honest { &s.client } else { &wrong };
                run_native(&s.ring, client_keys, &input, c, p)
            };
            check_setup(run, &perturb, &chunking, NATIVE_EARLY, &to_server, &to_client, &format!("{suite:?}"))?;
        }
    }
}
