//! One complete in-memory handshake per profile (client and server driven
//! against each other, no sockets, machines built and finished inside the
//! timed loop), beside one bare HMAC-SHA256 tag with a pre-keyed state: the
//! ratio of the two is the handshake's cost over the MAC floor. Native runs
//! twice per suite: authentication only (`finish()`, the session never
//! requested) and `_session` (both sides call `Finished::into_session`).
//!
//! Run: `cargo bench --bench handshake`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hmac_handshake::native::{self, Keyring, NativeKey, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Digest, Finished, Handshake, Key, ServerHandshake,
};

/// Builds both machines (in place: the builders run here), drives them to
/// completion through a 256-byte wire buffer and finishes them; `true` when
/// both authenticated (and, for native, both can give a session). The
/// session secrets are not derived: see [`run_with_session`].
fn run<S, C>(server: impl FnOnce() -> S, client: impl FnOnce() -> C) -> bool
where
    S: Handshake,
    C: Handshake,
{
    settle(server, client, |s, c| s.has_session() == c.has_session())
}

/// [`run`], and both sides derive their session secrets (`Finished::into_session`),
/// which must agree (`Finished::into_session`).
fn run_with_session<S, C>(server: impl FnOnce() -> S, client: impl FnOnce() -> C) -> bool
where
    S: Handshake,
    C: Handshake,
{
    settle(server, client, |s, c| {
        match (s.into_session(), c.into_session()) {
            (Some(s), Some(c)) => s.client_to_server_key() == c.client_to_server_key(),
            _ => false,
        }
    })
}

fn settle<S, C>(
    server: impl FnOnce() -> S,
    client: impl FnOnce() -> C,
    judge: impl FnOnce(Finished, Finished) -> bool,
) -> bool
where
    S: Handshake,
    C: Handshake,
{
    let (mut server, mut client) = (server(), client());
    let mut wire = [0u8; 256];
    for _ in 0..8 {
        let n = server.write_output(&mut wire);
        client.receive(&wire[..n]);
        let n = client.write_output(&mut wire);
        server.receive(&wire[..n]);
        if server.outcome().is_some() && client.outcome().is_some() {
            let (s, c) = (server.finish(), client.finish());
            return match (s, c) {
                (Ok(s), Ok(c)) => judge(s, c),
                _ => false,
            };
        }
    }
    false
}

/// A recipe handshake with a pinned challenge.
fn recipe(key: &Key, profile: recipe::Config, challenge: &[u8; 32]) -> bool {
    run(
        || ServerHandshake::with_pinned_random(key, profile, challenge),
        || ClientHandshake::with_pinned_random(key, profile, &[]),
    )
}

fn bench(c: &mut Criterion) {
    let key = Key::new(&[0x42; 32]);
    let random = [0x5a; 40];
    let mut group = c.benchmark_group("handshake");
    group.bench_function("hmac_sha256_tag_prekeyed_40B", |b| {
        b.iter(|| black_box(key.tag(Digest::Sha256, black_box(&random[..40]))))
    });
    for (name, digest) in [
        ("recipe_sha256", Digest::Sha256),
        ("recipe_md5", Digest::Md5),
    ] {
        let profile = recipe::Config { digest };
        let challenge = [0x5a; 32];
        assert!(
            recipe(&key, profile, &challenge),
            "{name} must authenticate"
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(recipe(&key, black_box(profile), &challenge)))
        });
    }
    let profiles = [
        ("multiprocessing_sha256", multiprocessing::Config::new()),
        (
            "multiprocessing_legacy_md5",
            multiprocessing::Config::legacy(),
        ),
    ];
    for (name, profile) in profiles {
        let mp = |p| {
            run(
                || ServerHandshake::with_pinned_random(&key, p, &random),
                || ClientHandshake::with_pinned_random(&key, p, &random),
            )
        };
        assert!(mp(profile), "{name} must authenticate");
        group.bench_function(name, |b| b.iter(|| black_box(mp(black_box(profile)))));
    }
    let config = native::Config::new(b"bench");
    for suite in Suite::ALL {
        let k = NativeKey::new(b"k1", &[0x42; 32], suite).expect("key");
        let run_native = || {
            run(
                || ServerHandshake::with_pinned_random(&k, config, &[0x5a; 64]),
                || ClientHandshake::with_pinned_random(&k, config, &[0xa5; 64]),
            )
        };
        assert!(run_native(), "native {suite} must authenticate");
        group.bench_function(format!("native_{}", suite.name()), |b| {
            b.iter(|| black_box(run_native()))
        });
        let with_session = || {
            run_with_session(
                || ServerHandshake::with_pinned_random(&k, config, &[0x5a; 64]),
                || ClientHandshake::with_pinned_random(&k, config, &[0xa5; 64]),
            )
        };
        assert!(with_session(), "native {suite} must agree on a session");
        group.bench_function(format!("native_{}_session", suite.name()), |b| {
            b.iter(|| black_box(with_session()))
        });
    }
    // The server's real store: a keyring, of 1 and of 10,000 keys.
    for n in [1usize, 10_000] {
        let ring = Keyring::new((0..n).map(|i| {
            NativeKey::new(
                format!("key-{i:05}").as_bytes(),
                &[0x42; 32],
                Suite::HmacSha256,
            )
            .expect("key")
        }))
        .expect("ring");
        let client = NativeKey::new(b"key-00000", &[0x42; 32], Suite::HmacSha256).expect("key");
        let run_ring = || {
            run(
                || ServerHandshake::with_pinned_random(&ring, config, &[0x5a; 64]),
                || ClientHandshake::with_pinned_random(&client, config, &[0xa5; 64]),
            )
        };
        assert!(run_ring(), "native keyring of {n} must authenticate");
        group.bench_function(format!("native_hmac-sha256_keyring_{n}"), |b| {
            b.iter(|| black_box(run_ring()))
        });
    }
    group.bench_function("native_key_schedule_sha256", |b| {
        b.iter(|| {
            black_box(NativeKey::new(
                b"k1",
                black_box(&[0x42; 32]),
                Suite::HmacSha256,
            ))
        })
    });
    group.bench_function("key_schedule_all_digests", |b| {
        b.iter(|| black_box(Key::new(black_box(&[0x42; 32]))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
