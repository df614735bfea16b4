//! Constant-time evidence, dudect style (Reparaz, Balasch, Verbauwhede,
//! "Dude, is my code constant time?", 2017), with the `dudect-bencher` crate:
//! Welch's t-test between the timings of two classes of inputs, interleaved
//! at random. |t| below 4.5 over a million measurements is the bar.
//!
//! Run: `cargo bench --bench ct` (each bench takes 1,000,000 measurements;
//! `cargo bench --bench ct -- --continuous verify_sha256_first_vs_last`
//! keeps sampling one of them).
//!
//! - `verify_*_first_vs_last`: a wrong tag differing from the right one in
//!   its first byte vs in its last byte (same length). A byte-by-byte early
//!   exit would show here.
//! - `verify_sha256_wrong_length_first_vs_last`: tags one byte short, wrong
//!   in the first vs the last byte: rejected on the public length alone,
//!   before any secret-dependent work.
//! - `native_server_proof_first_vs_last`: the same through the native
//!   server machine's `receive` of a whole `ClientProof`.

use dudect_bencher::ctbench::{run_benches_console, BenchMetadata, BenchName, BenchOpts};
use dudect_bencher::{BenchRng, Class, CtRunner};
use hmac_handshake::native::{ClientConfig, NativeKey, ServerConfig};
use hmac_handshake::{ClientHandshake, Digest, Handshake, Key, ServerHandshake};
use rand::RngExt;

const SAMPLES: usize = 1_000_000;

fn classes(rng: &mut BenchRng) -> Vec<Class> {
    (0..SAMPLES)
        .map(|_| {
            if rng.random::<bool>() {
                Class::Left
            } else {
                Class::Right
            }
        })
        .collect()
}

/// Left: the right tag with byte 0 flipped; Right: with the last byte flipped.
fn verify_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng, digest: Digest, short: bool) {
    let key = Key::new(b"constant-time evidence key, 32 b");
    let message = [0x5au8; 40];
    let right = key.tag(digest, &message);
    let len = if short {
        digest.tag_len() - 1
    } else {
        digest.tag_len()
    };
    let mut first = right.as_bytes()[..len].to_vec();
    first[0] ^= 0x01;
    let mut last = right.as_bytes()[..len].to_vec();
    last[len - 1] ^= 0x01;
    for class in classes(rng) {
        let tag = if matches!(class, Class::Left) {
            &first
        } else {
            &last
        };
        runner.run_one(class, || key.verify(digest, &message, tag).is_err());
    }
}

fn verify_sha256_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    verify_first_vs_last(runner, rng, Digest::Sha256, false);
}

fn verify_md5_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    verify_first_vs_last(runner, rng, Digest::Md5, false);
}

fn verify_sha3_256_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    verify_first_vs_last(runner, rng, Digest::Sha3_256, false);
}

fn verify_sha256_wrong_length_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    verify_first_vs_last(runner, rng, Digest::Sha256, true);
}

/// A native server fed a whole `ClientProof` whose tag is wrong in its
/// first vs its last byte.
fn native_server_proof_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    let ring = [NativeKey::new(b"k1", &[0x42; 32]).expect("key")];
    let server_nonce = [1u8; 32];
    let mut server =
        ServerHandshake::native(&ring, ServerConfig::default(), &server_nonce).expect("server");
    let mut client =
        ClientHandshake::native(&ring[0], ClientConfig::default(), &[2; 32]).expect("client");
    let mut wire = [0u8; 256];
    let n = server.write_output(&mut wire);
    client.receive(&wire[..n]);
    let n = client.write_output(&mut wire);
    let proof = wire[..n].to_vec();
    let tag_start = proof.len() - 32;
    let mut first = proof.clone();
    first[tag_start] ^= 0x01;
    let mut last = proof;
    last[tag_start + 31] ^= 0x01;
    // Each measurement clones a fresh server (the same work in both
    // classes) and feeds it the whole proof.
    let fresh = server;
    for class in classes(rng) {
        let input = if matches!(class, Class::Left) {
            &first
        } else {
            &last
        };
        runner.run_one(class, || {
            let mut m = fresh.clone();
            m.receive(input)
        });
    }
}

type BenchFn = fn(&mut CtRunner, &mut BenchRng);

/// `cargo bench` passes `--bench`, which dudect-bencher's own `main` macro
/// refuses, so this `main` reads only `--filter NAME` and `--continuous NAME`.
fn main() {
    let benches: [(&'static str, BenchFn); 5] = [
        ("verify_sha256_first_vs_last", verify_sha256_first_vs_last),
        ("verify_md5_first_vs_last", verify_md5_first_vs_last),
        (
            "verify_sha3_256_first_vs_last",
            verify_sha3_256_first_vs_last,
        ),
        (
            "verify_sha256_wrong_length_first_vs_last",
            verify_sha256_wrong_length_first_vs_last,
        ),
        (
            "native_server_proof_first_vs_last",
            native_server_proof_first_vs_last,
        ),
    ];
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let opts = BenchOpts {
        continuous: value_of("--continuous").is_some(),
        filter: value_of("--continuous").or_else(|| value_of("--filter")),
        ..BenchOpts::default()
    };
    let benches = benches
        .into_iter()
        .map(|(name, benchfn)| BenchMetadata {
            name: BenchName(name),
            seed: None,
            benchfn,
        })
        .collect();
    run_benches_console(opts, benches).expect("console output");
}
