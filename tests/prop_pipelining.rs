//! Pipelining, over every profile, digest and suite: application bytes
//! behind the last handshake message a side receives are never consumed,
//! under any chunking; with whole reads, the read that carries the last
//! message and the application bytes returns exactly the message's length.

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::Key;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// `plan` appends application bytes behind the last message each side
/// sends (so behind the last one each side receives).
fn check_pipelining(
    honest: &Exchange,
    piped: &Exchange,
    to_server: &[u8],
    to_client: &[u8],
    what: &str,
) -> Result<(), TestCaseError> {
    for (side, r, app, handshake) in [
        ("server", &piped.server, to_server, honest.bytes_from(false)),
        ("client", &piped.client, to_client, honest.bytes_from(true)),
    ] {
        let End::Done(o) = r.end else {
            return Err(TestCaseError::fail(format!(
                "{what}: {side} ended {:?} with pipelined bytes",
                r.end
            )));
        };
        prop_assert_eq!(r.consumed, handshake, "{}: {} consumed", what, side);
        prop_assert_eq!(o.consumed, handshake, "{}: {} outcome.consumed", what, side);
        prop_assert_eq!(&r.leftover[..], app, "{}: {} application bytes", what, side);
    }
    Ok(())
}

/// With whole reads: the read that carries the last handshake message and
/// the application bytes returns exactly the message's length.
fn check_pipelined_read(
    honest: &Exchange,
    piped: &Exchange,
    to_server: &[u8],
    to_client: &[u8],
    what: &str,
) -> Result<(), TestCaseError> {
    for (side, r, app, from_server) in [
        ("server", &piped.server, to_server, false),
        ("client", &piped.client, to_client, true),
    ] {
        let last = honest.last_from(from_server).expect("a message");
        let len = honest.messages[last].bytes.len();
        let read = r.receives.iter().rev().find(|(_, took)| *took > 0);
        prop_assert_eq!(
            read.copied(),
            Some((len + app.len(), len)),
            "{}: {} last handshake read",
            what,
            side
        );
    }
    Ok(())
}

fn pipelining_plan(honest: &Exchange, to_server: &[u8], to_client: &[u8]) -> Plan {
    Plan {
        after: vec![
            (
                honest.last_from(false).expect("a client message"),
                to_server.to_vec(),
            ),
            (
                honest.last_from(true).expect("a server message"),
                to_client.to_vec(),
            ),
        ],
        ..Plan::default()
    }
}

fn pipelining_classic(
    setups: Vec<Classic>,
    input: &ClassicInput,
    chunking: &Chunking,
    to_server: &[u8],
    to_client: &[u8],
) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    for setup in setups {
        let what = format!("{setup:?}");
        let honest = honest_classic(setup, &key, input)?;
        let plan = pipelining_plan(&honest, to_server, to_client);
        let piped = run_classic(setup, &key, &key, input, chunking, &plan)?;
        check_pipelining(&honest, &piped, to_server, to_client, &what)?;
        let whole = run_classic(setup, &key, &key, input, &Chunking::whole(), &plan)?;
        check_pipelining(&honest, &whole, to_server, to_client, &what)?;
        check_pipelined_read(&honest, &whole, to_server, to_client, &what)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    /// The recipe's server receives the client's tag last; the client, the
    /// challenge.
    #[test]
    fn pipelining_recipe(input in classic_input(), chunking in chunking(), to_server in app_bytes(), to_client in app_bytes()) {
        pipelining_classic(recipe_setups(), &input, &chunking, &to_server, &to_client)?;
    }

    /// The Listener receives the client's `#WELCOME#` frame last; the
    /// client, the Listener's reply to its challenge.
    #[test]
    fn pipelining_multiprocessing(input in classic_input(), chunking in chunking(), to_server in app_bytes(), to_client in app_bytes()) {
        pipelining_classic(mp_setups(), &input, &chunking, &to_server, &to_client)?;
    }

    /// The native server receives `ClientProof` last (the client may
    /// pipeline behind it); the client, `ServerFinish`.
    #[test]
    fn pipelining_native(input in native_input(), chunking in chunking(), to_server in app_bytes(), to_client in app_bytes()) {
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let what = format!("{suite:?}");
            let honest = honest_native(&s.ring, &s.client, &input)?;
            let plan = pipelining_plan(&honest, &to_server, &to_client);
            let piped = run_native(&s.ring, &s.client, &input, &chunking, &plan)?;
            check_pipelining(&honest, &piped, &to_server, &to_client, &what)?;
            prop_assert_eq!(views(&piped.server), views(&honest.server));
            prop_assert_eq!(views(&piped.client), views(&honest.client));
            let whole = run_native(&s.ring, &s.client, &input, &Chunking::whole(), &plan)?;
            check_pipelining(&honest, &whole, &to_server, &to_client, &what)?;
            check_pipelined_read(&honest, &whole, &to_server, &to_client, &what)?;
        }
    }
}
