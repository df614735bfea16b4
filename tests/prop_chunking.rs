//! Chunking invariance, over every profile (the recipe with each digest of
//! `Digest::ALL`, multiprocessing with each digest of `ALLOWED_DIGESTS`,
//! MD5 with `allow_md5`, legacy challenges, mixed legacy/modern peers and
//! peers naming different digests, native with each suite): any split of
//! reads and writes on either side gives the same bytes, final statuses
//! (outcomes incl. `consumed`) and native sessions, for honest, wrong-key
//! and tampered exchanges alike.

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::Key;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// `run` under `chunking` matches `run` with whole reads and writes.
fn check_chunking<F>(
    run: F,
    chunking: &Chunking,
    plan: &Plan,
    what: &str,
) -> Result<(), TestCaseError>
where
    F: Fn(&Chunking, &Plan) -> Result<Exchange, TestCaseError>,
{
    let whole = run(&Chunking::whole(), plan)?;
    let split = run(chunking, plan)?;
    prop_assert_eq!(&split.messages, &whole.messages, "{}: messages", what);
    prop_assert_eq!(
        &split.server.sent,
        &whole.server.sent,
        "{}: server output",
        what
    );
    prop_assert_eq!(
        &split.client.sent,
        &whole.client.sent,
        "{}: client output",
        what
    );
    prop_assert_eq!(split.server.end, whole.server.end, "{}: server end", what);
    prop_assert_eq!(split.client.end, whole.client.end, "{}: client end", what);
    prop_assert_eq!(
        views(&split.server),
        views(&whole.server),
        "{}: server session",
        what
    );
    prop_assert_eq!(
        views(&split.client),
        views(&whole.client),
        "{}: client session",
        what
    );
    for (side, r) in [("server", &split.server), ("client", &split.client)] {
        if let End::Done(o) = r.end {
            prop_assert_eq!(o.consumed, r.consumed, "{}: {} consumed", what, side);
            prop_assert!(
                r.leftover.is_empty(),
                "{}: {} left handshake bytes",
                what,
                side
            );
        }
    }
    Ok(())
}

fn chunking_classic(
    setups: Vec<Classic>,
    input: &ClassicInput,
    chunking: &Chunking,
    perturb: &Perturb,
) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    let wrong;
    let other = match perturb {
        Perturb::WrongKey(k) => {
            wrong = Key::new(k);
            &wrong
        }
        _ => &key,
    };
    for setup in setups {
        let what = format!("{setup:?} {perturb:?}");
        let mut plan = Plan::default();
        if let Perturb::Flip(seed) = perturb {
            let honest = run_classic(setup, &key, &key, input, &Chunking::whole(), &plan)?;
            plan.flip = Some(seed.resolve(&honest.messages));
        }
        let run = |c: &Chunking, p: &Plan| run_classic(setup, &key, other, input, c, p);
        check_chunking(run, chunking, &plan, &what)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn chunking_invariance_recipe(input in classic_input(), chunking in chunking(), perturb in perturb()) {
        chunking_classic(recipe_setups(), &input, &chunking, &perturb)?;
    }

    #[test]
    fn chunking_invariance_multiprocessing(input in classic_input(), chunking in chunking(), perturb in perturb()) {
        chunking_classic(mp_setups(), &input, &chunking, &perturb)?;
    }

    #[test]
    fn chunking_invariance_native(input in native_input(), chunking in chunking(), perturb in perturb()) {
        for suite in Suite::ALL {
            let setup = input.setup(suite);
            let wrong = match &perturb {
                Perturb::WrongKey(k) => Some(input.client_keys(suite, input.client_entry().0, &native_secret(k))),
                _ => None,
            };
            let client_keys = wrong.as_deref().unwrap_or(&setup.client);
            let what = format!("{suite:?} {perturb:?}");
            let mut plan = Plan::default();
            if let Perturb::Flip(seed) = perturb {
                let honest = run_native(&setup.ring, &setup.client, &input, &Chunking::whole(), &plan)?;
                plan.flip = Some(seed.resolve(&honest.messages));
            }
            let run = |c: &Chunking, p: &Plan| run_native(&setup.ring, client_keys, &input, c, p);
            check_chunking(run, &chunking, &plan, &what)?;
        }
    }
}
