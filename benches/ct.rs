//! Constant-time evidence, dudect style (Reparaz, Balasch, Verbauwhede,
//! "Dude, is my code constant time?", DATE 2017): the timings of two classes
//! of inputs, interleaved at random, compared with Welch's t-test, on all
//! samples and on samples cropped at 100 upper percentiles (as dudect and the
//! `dudect-bencher` crate do); the largest |t| is reported. |t| below 4.5
//! over a million measurements is the bar.
//!
//! Run: `cargo bench --bench ct` (all benches), `cargo bench --bench ct --
//! NAME` (those whose name contains NAME), `CT_SAMPLES=N` to change the
//! number of measurements (default 1,000,000). Run it on an idle machine.
//!
//! - `verify_*_first_vs_last`: a wrong tag differing from the right one in
//!   its first byte vs in its last byte (same length). A byte-by-byte early
//!   exit would show here.
//! - `verify_sha256_wrong_length_first_vs_last`: tags one byte short, wrong
//!   in the first vs the last byte: rejected on the public length alone,
//!   before any secret-dependent work.
//! - `native_server_proof_first_vs_last`: the same through the native
//!   server machine's `receive` of a whole `ClientProof`.
//! - `keyring_10000_*`: the native server over a 10,000-key `Keyring`, fed
//!   a whole `ClientProof` naming the first vs the last key id, or a known
//!   vs an unknown one (all rejected: a known id with a wrong tag does all
//!   the work of an accepted proof up to the verdict). A lookup whose time
//!   depends on where the id sits, or on whether it exists, shows here.
//!   `keyring_10000_fresh_*`: the same with every call naming an id drawn at
//!   random from 4,000 known vs 4,000 unknown ids, the unknown ones chosen so
//!   that their stand-ins are those same 4,000 keys: a known id's key and an
//!   unknown id's stand-in must be as far away in memory (cache) as each
//!   other.
//! - `control_*`: both classes get the very same input: the harness's noise
//!   floor on this machine.
//! - `positive_control_early_exit_compare`: a comparison that stops at the
//!   first differing byte; it must show |t| far above 4.5, or the harness
//!   is blind.
//!
//! Why a harness of our own rather than `dudect-bencher`'s runner: its
//! `run_one` branches on the class right after the timed call and pushes
//! into one of two vectors, and on this machine its controls (identical
//! inputs in both classes) reached |t| = 13 to 41 for sub-microsecond
//! operations. Here the timed loop does exactly the same thing for both
//! classes: the input is copied into one buffer before the timer starts,
//! chosen by index, and the class is only looked at after all measurements.

use std::hint::black_box;
use std::time::Instant;

use hmac_handshake::native::{self, KeyId, KeyLookup, Keyring, NativeKey, Suite};
use hmac_handshake::{ClientHandshake, Digest, Handshake, Key, ServerHandshake};

/// Calls of the operation timed together in one measurement, to lift it
/// above the timer's own jitter.
const BATCH: usize = 8;

/// A small xorshift generator for the class sequence: reproducible from
/// `CT_SEED`, and cheap; no secret depends on it.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn next_bit(&mut self) -> usize {
        (self.next() >> 32) as usize & 1
    }

    /// A uniform index below `n` (`n` far below 2^32).
    fn next_index(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// Welch's t statistic of two samples, from running sums.
#[derive(Default, Clone, Copy)]
struct Welch {
    n: [f64; 2],
    sum: [f64; 2],
    sum_sq: [f64; 2],
}

impl Welch {
    fn push(&mut self, class: usize, x: f64) {
        self.n[class] += 1.0;
        self.sum[class] += x;
        self.sum_sq[class] += x * x;
    }

    fn t(&self) -> f64 {
        let mean = |c: usize| self.sum[c] / self.n[c];
        let var = |c: usize| {
            ((self.sum_sq[c] - self.n[c] * mean(c) * mean(c)) / (self.n[c] - 1.0)).max(0.0)
        };
        let diff = mean(0) - mean(1);
        let se = (var(0) / self.n[0] + var(1) / self.n[1]).sqrt();
        if se == 0.0 {
            // Every timing in both classes identical (the timer's resolution):
            // no difference at all, unless the two means differ.
            return if diff == 0.0 {
                0.0
            } else {
                f64::INFINITY.copysign(diff)
            };
        }
        diff / se
    }
}

/// Measures `f` on `left` or `right` (picked at random) `samples` times and
/// returns (max |t| with its sign, samples in that test).
fn measure<R>(
    samples: usize,
    seed: u64,
    left: &[u8],
    right: &[u8],
    f: impl Fn(&[u8]) -> R,
) -> (f64, usize) {
    measure_prepared(samples, seed, left, right, || (), |(), input| f(input))
}

/// Like [`measure`], for an operation that consumes a fresh state (a
/// machine): `prepare` builds [`BATCH`] of them before the timer starts, the
/// same for both classes, and `f` uses one per call.
fn measure_prepared<S, R>(
    samples: usize,
    seed: u64,
    left: &[u8],
    right: &[u8],
    prepare: impl FnMut() -> S,
    f: impl Fn(S, &[u8]) -> R,
) -> (f64, usize) {
    measure_pools(
        samples,
        seed,
        &[left.to_vec()],
        &[right.to_vec()],
        prepare,
        f,
    )
}

/// Like [`measure_prepared`], each class drawing its inputs at random from a
/// pool (all inputs of one length): every call of a measurement gets its
/// own input, so a pool of many inputs measures fresh ones.
fn measure_pools<S, R>(
    samples: usize,
    seed: u64,
    left: &[Vec<u8>],
    right: &[Vec<u8>],
    mut prepare: impl FnMut() -> S,
    f: impl Fn(S, &[u8]) -> R,
) -> (f64, usize) {
    let pools = [left, right];
    let mut rng = XorShift(seed | 1);
    let classes: Vec<usize> = (0..samples).map(|_| rng.next_bit()).collect();
    let mut picks = XorShift(seed.rotate_left(17) | 1);
    let mut times = vec![0u64; samples];
    let mut inputs = vec![vec![0u8; left[0].len()]; BATCH];
    let mut states: Vec<Option<S>> = (0..BATCH).map(|_| None).collect();
    let mut next = |c: usize, inputs: &mut [Vec<u8>]| {
        for input in inputs.iter_mut() {
            let pick = picks.next_index(pools[c].len());
            input.copy_from_slice(&pools[c][pick]);
        }
    };
    // Warm up caches and the branch predictors on both classes.
    for &c in classes.iter().take(10_000) {
        next(c, &mut inputs[..1]);
        black_box(f(prepare(), black_box(&inputs[0])));
    }
    for (time, &c) in times.iter_mut().zip(&classes) {
        next(c, &mut inputs);
        for state in &mut states {
            *state = Some(prepare());
        }
        let start = Instant::now();
        for (state, input) in states.iter_mut().zip(&inputs) {
            if let Some(state) = state.take() {
                black_box(f(state, black_box(input)));
            }
        }
        *time = start.elapsed().as_nanos() as u64;
    }
    // dudect's crops: keep samples below the percentile 1 - 0.5^(10k/100).
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let thresholds: Vec<u64> = (1..=100)
        .map(|k| {
            let p = 1.0 - 0.5f64.powf(f64::from(10 * k) / 100.0);
            sorted[((p * samples as f64) as usize).min(samples - 1)]
        })
        .collect();
    let mut tests = vec![Welch::default(); 1 + thresholds.len()];
    for (&t, &c) in times.iter().zip(&classes) {
        tests[0].push(c, t as f64);
        for (test, &limit) in tests[1..].iter_mut().zip(&thresholds) {
            if t < limit {
                test.push(c, t as f64);
            }
        }
    }
    tests
        .iter()
        .filter(|w| w.n[0] > 1000.0 && w.n[1] > 1000.0)
        .map(|w| (w.t(), (w.n[0] + w.n[1]) as usize))
        .max_by(|a, b| a.0.abs().total_cmp(&b.0.abs()))
        .unwrap_or((0.0, 0))
}

/// The right tag with its first byte flipped, and with its last flipped,
/// cut to `len` bytes.
fn first_and_last(right: &[u8], len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut first = right[..len].to_vec();
    first[0] ^= 0x01;
    let mut last = right[..len].to_vec();
    last[len - 1] ^= 0x01;
    (first, last)
}

fn verify(samples: usize, seed: u64, digest: Digest, short: bool, control: bool) -> (f64, usize) {
    let key = Key::new(b"constant-time evidence key, 32 b");
    let message = [0x5au8; 40];
    let right = key.tag(digest, &message);
    let len = digest.tag_len() - usize::from(short);
    let (first, last) = first_and_last(right.as_bytes(), len);
    let other = if control { &first } else { &last };
    measure(samples, seed, &first, other, |tag| {
        key.verify(digest, &message, tag).is_err()
    })
}

/// A fresh native server per call (built before the timer, the same work in
/// both classes) over `ring`, waiting for `ClientProof`.
fn native_server<L: KeyLookup>(ring: L) -> ServerHandshake<L> {
    let mut server = ServerHandshake::with_pinned_random(ring, native::Config::default(), &[1; 64]);
    let mut hello = [0u8; 64];
    server.write_output(&mut hello);
    server
}

fn native_server_hello(key: &NativeKey) -> ServerHandshake<&NativeKey> {
    ServerHandshake::with_pinned_random(key, native::Config::default(), &[1; 64])
}

/// The whole `ClientProof` `client` sends to a server with the pinned
/// server nonce, its first or last tag byte flipped (so that a known id is
/// rejected too, `bad_tag`, doing all the work an accepted one does before
/// the verdict).
fn proof_of(client: &NativeKey, flip_first: bool) -> Vec<u8> {
    // The hello depends only on the suite and the pinned nonce: any server
    // of the suite sends the same one.
    let mut hello_out = native_server_hello(client);
    let mut hello = [0u8; 64];
    let n = hello_out.write_output(&mut hello);
    let mut c = ClientHandshake::with_pinned_random(client, native::Config::default(), &[2; 64]);
    c.receive(&hello[..n]);
    let mut wire = [0u8; 256];
    let n = c.write_output(&mut wire);
    let mut proof = wire[..n].to_vec();
    let tag_start = proof.len() - client.suite().mac_len();
    let at = if flip_first {
        tag_start
    } else {
        proof.len() - 1
    };
    proof[at] ^= 0x01;
    proof
}

/// The native server's `receive` of a whole `ClientProof` whose tag is wrong
/// in its first vs last byte.
fn native(samples: usize, seed: u64, control: bool) -> (f64, usize) {
    let key = NativeKey::new(b"k1", &[0x42; 32], Suite::HmacSha256).expect("key");
    let first = proof_of(&key, true);
    let last = proof_of(&key, false);
    let other = if control { &first } else { &last };
    measure_prepared(
        samples,
        seed,
        &first,
        other,
        || native_server(&key),
        |mut m, input| m.receive(input),
    )
}

/// Keys `key-00000` to `key-09999` (same length ids), SHA-256.
fn big_ring() -> Keyring {
    Keyring::new((0..RING_KEYS).map(|i| {
        NativeKey::new(
            format!("key-{i:05}").as_bytes(),
            &[0x42; 32],
            Suite::HmacSha256,
        )
        .expect("key")
    }))
    .expect("ring")
}

/// Keys on the big ring.
const RING_KEYS: usize = 10_000;

/// A proof naming key id `id` (wrong tag), as its client would send it.
fn ring_proof(id: &str) -> Vec<u8> {
    let key = NativeKey::new(id.as_bytes(), &[0x42; 32], Suite::HmacSha256).expect("key");
    proof_of(&key, false)
}

/// The native server over a 10,000-key ring, fed a whole `ClientProof`
/// naming `left` vs `right` (both rejected: a wrong tag for a known id, an
/// unknown id).
fn keyring(samples: usize, seed: u64, left: &str, right: &str) -> (f64, usize) {
    let ring = big_ring();
    let (l, r) = (ring_proof(left), ring_proof(right));
    measure_prepared(
        samples,
        seed,
        &l,
        &r,
        || native_server(&ring),
        |mut m, input| m.receive(input),
    )
}

/// Unknown ids (`key-10000` and up) whose stand-in keys are all different,
/// and as many known ids: each class then reaches `n` different keys of the
/// ring, uniformly. (Ids drawn freely would not be alike: two unknown ids
/// may share a stand-in, so their class would reach fewer keys and find
/// more of them in the cache.) Known ids come first in the result.
fn alike_ids(ring: &Keyring, n: usize) -> (Vec<String>, Vec<String>) {
    let mut used = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut unknown = Vec::new();
    let mut candidate = RING_KEYS;
    while unknown.len() < n {
        // Ids are 9 bytes, `key-` and five digits: 90,000 unknown ones.
        assert!(
            candidate < 100_000,
            "only {} unknown ids with different stand-ins: the lookup's stand-ins do not \
             spread over the ring",
            unknown.len()
        );
        let id = format!("key-{candidate:05}");
        candidate += 1;
        let mut stand_in = None;
        ring.lookup(&KeyId::new(id.as_bytes()).expect("id"), &mut |found| {
            assert!(!found.known, "{id} is on the ring");
            stand_in = Some(found.key.id());
        });
        let stand_in = stand_in.expect("the lookup calls back");
        if seen.insert(stand_in) {
            used.push(stand_in);
            unknown.push(id);
        }
    }
    let known = used.iter().map(|id| id.to_string()).collect();
    (known, unknown)
}

/// The native server over a 10,000-key ring, every call naming a fresh id
/// drawn at random: a known id vs an unknown id whose stand-in is one of
/// those same keys (`alike_ids`), or, for the control, the same known ids in
/// both classes. A known id's key must be reached in memory like an unknown
/// id's stand-in, or this shows. (With a fixed stand-in key, as this crate
/// first had, this case gave |t| in the hundreds: the stand-in stayed in the
/// cache.)
fn keyring_fresh(samples: usize, seed: u64, control: bool) -> (f64, usize) {
    let ring = big_ring();
    let (known, unknown) = alike_ids(&ring, 4000);
    let proofs = |ids: &[String]| ids.iter().map(|id| ring_proof(id)).collect::<Vec<_>>();
    let left = proofs(&known);
    // The control draws both classes from the same known ids.
    let right = if control {
        left.clone()
    } else {
        proofs(&unknown)
    };
    measure_pools(
        samples,
        seed,
        &left,
        &right,
        || native_server(&ring),
        |mut m, input| m.receive(input),
    )
}

/// The positive control: a byte-by-byte comparison that stops at the first
/// difference, the leak the verify benches look for. The harness must flag it.
fn early_exit(samples: usize, seed: u64) -> (f64, usize) {
    let right = [0x5au8; 32];
    let (first, last) = first_and_last(&right, 32);
    measure(samples, seed, &first, &last, |tag| {
        let mut equal = true;
        for (a, b) in tag.iter().zip(black_box(&right)) {
            if a != b {
                equal = false;
                break;
            }
        }
        equal
    })
}

type Bench = fn(usize, u64) -> (f64, usize);

fn main() {
    let benches: [(&str, Bench); 14] = [
        ("verify_sha256_first_vs_last", |n, s| {
            verify(n, s, Digest::Sha256, false, false)
        }),
        ("verify_md5_first_vs_last", |n, s| {
            verify(n, s, Digest::Md5, false, false)
        }),
        ("verify_sha3_256_first_vs_last", |n, s| {
            verify(n, s, Digest::Sha3_256, false, false)
        }),
        ("verify_sha256_wrong_length_first_vs_last", |n, s| {
            verify(n, s, Digest::Sha256, true, false)
        }),
        ("control_verify_sha256_same_input", |n, s| {
            verify(n, s, Digest::Sha256, false, true)
        }),
        ("native_server_proof_first_vs_last", |n, s| {
            native(n, s, false)
        }),
        ("control_native_server_same_input", |n, s| {
            native(n, s, true)
        }),
        ("keyring_10000_first_vs_last_id", |n, s| {
            keyring(n, s, "key-00000", "key-09999")
        }),
        ("keyring_10000_first_vs_unknown_id", |n, s| {
            keyring(n, s, "key-00000", "key-10000")
        }),
        ("keyring_10000_last_vs_unknown_id", |n, s| {
            keyring(n, s, "key-09999", "key-99999")
        }),
        ("control_keyring_10000_same_id", |n, s| {
            keyring(n, s, "key-05000", "key-05000")
        }),
        ("keyring_10000_fresh_known_vs_fresh_unknown_ids", |n, s| {
            keyring_fresh(n, s, false)
        }),
        (
            "control_keyring_10000_fresh_known_vs_fresh_known",
            |n, s| keyring_fresh(n, s, true),
        ),
        ("positive_control_early_exit_compare", early_exit),
    ];
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let samples = env("CT_SAMPLES", 1_000_000) as usize;
    let seed = env("CT_SEED", 0x5eed_c0de_d00d_f00d);
    // `cargo bench` passes `--bench`; any other argument filters by name.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (name, bench) in benches {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let (t, n) = bench(samples, seed);
        let verdict = match (t.abs() < 4.5, name.starts_with("positive_control")) {
            (true, false) => "ok",
            (false, false) => "LEAK?",
            (false, true) => "ok: the harness sees this leak",
            (true, true) => "HARNESS BLIND: the known leak was not seen",
        };
        println!("{name:42} n = {n:>8}  max t = {t:+8.2}  {verdict}");
    }
}
