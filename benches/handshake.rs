//! One complete in-memory handshake per profile (client and server driven
//! against each other, no sockets), beside one bare HMAC-SHA256 tag with a
//! pre-keyed state: the ratio of the two is the handshake's cost over the
//! MAC floor.
//!
//! Run: `cargo bench --bench handshake`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Digest, Handshake, Key, Profile, ServerHandshake,
};

/// Drives both machines to completion through a 128-byte wire buffer.
fn run(key: &Key, profile: Profile, server_random: &[u8], client_random: &[u8]) -> bool {
    let mut server = ServerHandshake::new(key, profile, server_random).expect("server");
    let mut client = ClientHandshake::new(key, profile, client_random).expect("client");
    let mut wire = [0u8; 128];
    for _ in 0..8 {
        let n = server.write_output(&mut wire);
        client.receive(&wire[..n]);
        let n = client.write_output(&mut wire);
        server.receive(&wire[..n]);
        if server.outcome().is_some() && client.outcome().is_some() {
            return true;
        }
    }
    false
}

fn bench(c: &mut Criterion) {
    let key = Key::new(&[0x42; 32]);
    let random = [0x5a; 64];
    let mut group = c.benchmark_group("handshake");
    group.bench_function("hmac_sha256_tag_prekeyed_40B", |b| {
        b.iter(|| black_box(key.tag(Digest::Sha256, black_box(&random[..40]))))
    });
    let profiles = [
        ("recipe_sha256", Profile::Recipe(recipe::Config::default())),
        (
            "recipe_md5",
            Profile::Recipe(recipe::Config {
                digest: Digest::Md5,
            }),
        ),
        (
            "multiprocessing_sha256",
            Profile::Multiprocessing(multiprocessing::Config::default()),
        ),
        (
            "multiprocessing_legacy_md5",
            Profile::Multiprocessing(multiprocessing::Config {
                legacy_challenge: true,
                ..multiprocessing::Config::with_md5()
            }),
        ),
    ];
    for (name, profile) in profiles {
        let s = &random[..profile.server_random_len()];
        let c_ = &random[..profile.client_random_len()];
        assert!(run(&key, profile, s, c_), "{name} must authenticate");
        group.bench_function(name, |b| {
            b.iter(|| black_box(run(&key, black_box(profile), s, c_)))
        });
    }
    let ring = [NativeKey::new(b"k1", &[0x42; 32]).expect("key")];
    for suite in Suite::ALL {
        let sconf = native::ServerConfig {
            suite,
            context: b"bench",
        };
        let cconf = native::ClientConfig {
            context: b"bench",
            ..native::ClientConfig::default()
        };
        let run_native = || {
            let mut server = ServerHandshake::native(&ring, sconf, &[0x5a; 32]).expect("server");
            let mut client = ClientHandshake::native(&ring[0], cconf, &[0xa5; 32]).expect("client");
            let mut wire = [0u8; 256];
            for _ in 0..4 {
                let n = server.write_output(&mut wire);
                client.receive(&wire[..n]);
                let n = client.write_output(&mut wire);
                server.receive(&wire[..n]);
            }
            server.session().is_some() && client.session().is_some()
        };
        assert!(run_native(), "native {suite} must authenticate");
        group.bench_function(format!("native_{}", suite.name()), |b| {
            b.iter(|| black_box(run_native()))
        });
    }
    group.bench_function("native_key_schedule_all_suites", |b| {
        b.iter(|| black_box(NativeKey::new(b"k1", black_box(&[0x42; 32]))))
    });
    group.bench_function("key_schedule_all_digests", |b| {
        b.iter(|| black_box(Key::new(black_box(&[0x42; 32]))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
