//! Progress, over every profile, digest, suite and role: whenever the
//! status is `NeedInput` and `receive` is given non-empty input, it
//! consumes at least one byte or the status changes, so a driving loop
//! never stalls. Each machine is fed its honest peer's byte stream cut at a
//! random point and followed by random garbage (or garbage alone, or the
//! whole stream and garbage behind it), in random read and write chunks.
//! Also checked on the way: `receive` takes at most what it is offered, and
//! nothing while output is pending or once the handshake is over.

mod prop_support;

use hmac_handshake::native::Suite;
use hmac_handshake::{Key, Status};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// Where the honest stream is cut before the garbage.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Garbage only.
    Nothing,
    /// The whole honest stream, then garbage.
    Everything,
    /// The first `n % (len + 1)` bytes.
    At(usize),
}

/// What one machine is fed, and how.
#[derive(Clone, Debug)]
struct Feed {
    cut: Cut,
    garbage: Bytes,
    reads: Vec<usize>,
    writes: Vec<usize>,
}

impl Feed {
    /// The bytes this machine receives: a prefix of `honest`, then garbage.
    fn input(&self, honest: &[u8]) -> Vec<u8> {
        let n = match self.cut {
            Cut::Nothing => 0,
            Cut::Everything => honest.len(),
            Cut::At(n) => n % (honest.len() + 1),
        };
        let mut v = honest[..n].to_vec();
        v.extend_from_slice(&self.garbage);
        v
    }
}

fn feed() -> impl Strategy<Value = Feed> {
    let cut = prop_oneof![
        1 => Just(Cut::Nothing),
        1 => Just(Cut::Everything),
        4 => any::<usize>().prop_map(Cut::At),
    ];
    (cut, bytes(0..300), chunk_sizes(), chunk_sizes()).prop_map(|(cut, garbage, reads, writes)| {
        Feed {
            cut,
            garbage,
            reads,
            writes,
        }
    })
}

/// Runs `m` on `input` until the input is used up or the handshake is over,
/// checking progress on every `receive` call.
fn check_progress(
    mut m: Boxed<'_>,
    input: &[u8],
    feed: &Feed,
    what: &str,
) -> Result<(), TestCaseError> {
    let mut reads = Cycle::new(&feed.reads);
    let mut writes = Cycle::new(&feed.writes);
    let mut pos = 0;
    // Every step sends or consumes a byte, or changes the status: a bound
    // on the steps is a bound on the stream and the machine's output.
    for _ in 0..input.len() + 10_000 {
        let status = m.status();
        let before = kind(&status);
        let pending = match status {
            Status::Send(p) => p.len(),
            _ => 0,
        };
        match before {
            Kind::Send => {
                if pos < input.len() {
                    prop_assert_eq!(
                        m.receive(&input[pos..]),
                        0,
                        "{}: receive took bytes while output was pending",
                        what
                    );
                }
                let mut buf = vec![0u8; writes.take().min(pending)];
                prop_assert_eq!(
                    m.write_output(&mut buf),
                    buf.len(),
                    "{}: write_output",
                    what
                );
            }
            Kind::NeedInput => {
                if pos == input.len() {
                    return Ok(());
                }
                let offer = reads.take().min(input.len() - pos);
                let took = m.receive(&input[pos..pos + offer]);
                prop_assert!(took <= offer, "{}: took {} of {} bytes", what, took, offer);
                let after = kind(&m.status());
                prop_assert!(
                    took > 0 || after != Kind::NeedInput,
                    "{}: NeedInput, receive took 0 of {} bytes (at byte {} of {}) and the status stayed {:?}",
                    what,
                    offer,
                    pos,
                    input.len(),
                    after
                );
                pos += took;
            }
            Kind::Done | Kind::Failed => {
                if pos < input.len() {
                    prop_assert_eq!(
                        m.receive(&input[pos..]),
                        0,
                        "{}: receive took bytes after the handshake ended ({:?})",
                        what,
                        before
                    );
                }
                return Ok(());
            }
        }
    }
    Err(TestCaseError::fail(format!(
        "{what}: no end after {} steps: the machine stalled",
        input.len() + 10_000
    )))
}

fn progress_classic(
    setups: Vec<Classic>,
    input: &ClassicInput,
    server_feed: &Feed,
    client_feed: &Feed,
) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    for setup in setups {
        let honest = honest_classic(setup, &key, input)?;
        let to_server = server_feed.input(&honest.stream_from(false));
        let to_client = client_feed.input(&honest.stream_from(true));
        let what = format!("{setup:?}");
        check_progress(
            setup.server(&key, input),
            &to_server,
            server_feed,
            &format!("{what} server"),
        )?;
        check_progress(
            setup.client(&key, input),
            &to_client,
            client_feed,
            &format!("{what} client"),
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn progress_recipe(input in classic_input(), server_feed in feed(), client_feed in feed()) {
        progress_classic(recipe_setups(), &input, &server_feed, &client_feed)?;
    }

    #[test]
    fn progress_multiprocessing(input in classic_input(), server_feed in feed(), client_feed in feed()) {
        progress_classic(mp_setups(), &input, &server_feed, &client_feed)?;
    }

    #[test]
    fn progress_native(input in native_input(), server_feed in feed(), client_feed in feed()) {
        for suite in Suite::ALL {
            let s = input.setup(suite);
            let honest = honest_native(&s.ring, &s.client, &input)?;
            let to_server = server_feed.input(&honest.stream_from(false));
            let to_client = client_feed.input(&honest.stream_from(true));
            check_progress(native_server(&s.ring, &input), &to_server, &server_feed, &format!("{suite:?} server"))?;
            check_progress(native_client(&s.client, &input), &to_client, &client_feed, &format!("{suite:?} client"))?;
        }
    }
}
