//! Keyring lookup cost against ring size: a lookup by key id in a ring of 1
//! key and of 10,000 keys, known and unknown ids, one id over and over and
//! ids spread over the whole ring (so the 10,000-key index is read from
//! all over memory). The index reads two buckets of four slots whatever the
//! size, so the times should not grow with the ring beyond cache effects.
//!
//! Run: `cargo bench --bench keyring`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hmac_handshake::native::{KeyId, KeyLookup, Keyring, NativeKey, Suite};

/// Whether the ring knows `id` (the lookup's callback, as a value).
fn known(ring: &Keyring, id: &KeyId) -> bool {
    let mut known = false;
    ring.lookup(id, &mut |found| known = found.known);
    known
}

fn ring(n: usize) -> Keyring {
    Keyring::new((0..n).map(|i| {
        NativeKey::new(
            format!("key-{i:05}").as_bytes(),
            &[0x42; 32],
            Suite::HmacSha256,
        )
        .expect("key")
    }))
    .expect("ring")
}

/// 1,024 ids spread over `0..n` (known) or beyond it (unknown), same length.
fn ids(n: usize, known: bool) -> Vec<KeyId> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = x as usize % n + if known { 0 } else { 10_000 };
            KeyId::new(format!("key-{i:05}").as_bytes()).expect("id")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyring_lookup");
    for n in [1usize, 10_000] {
        let ring = ring(n);
        let one = KeyId::new(b"key-00000").expect("id");
        assert!(known(&ring, &one));
        group.bench_with_input(BenchmarkId::new("known_same_id", n), &ring, |b, ring| {
            b.iter(|| black_box(known(ring, black_box(&one))))
        });
        for (name, known) in [("known_spread_ids", true), ("unknown_spread_ids", false)] {
            let ids = ids(n, known);
            assert!(ids.iter().all(|id| self::known(&ring, id) == known));
            let mut next = ids.iter().cycle();
            group.bench_with_input(BenchmarkId::new(name, n), &ring, |b, ring| {
                b.iter(|| black_box(self::known(ring, black_box(next.next().expect("cycle")))))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
