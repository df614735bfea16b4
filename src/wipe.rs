//! Wiping dependency states whole when they are dropped.
//!
//! The keyed states come from `hmac` and `hkdf`, inside enums (one variant
//! per digest). Their own `Drop` (the `zeroize` features) wipes their hash
//! states, but not everything: `hmac` 0.13's `SimpleHmac` (SHA-3) keeps
//! `K XOR opad` in a plain array, and neither the padding inside their
//! types nor the enum's room past a smaller variant is ever written by a
//! `Drop`; a move copies whatever stale stack bytes were there, `K XOR opad`
//! among them (issue 9, item 6).
//!
//! So each such enum has one more variant, `Wiped`, a byte array that spans
//! every other variant's payload, and its holder's `Drop` assigns that
//! variant: the old state is dropped (its own wipe runs), then every byte
//! but the tag is written with zeros. [`black_box`](core::hint::black_box)
//! keeps the compiler from dropping the dead store.

/// An enum of keyed states with an all-zero variant spanning the others.
pub(crate) trait Wipe {
    /// The all-zero variant.
    fn wiped() -> Self;
}

/// Overwrites `state` with its all-zero variant, after dropping it.
pub(crate) fn wipe<T: Wipe>(state: &mut T) {
    *state = T::wiped();
    core::hint::black_box(state);
}

/// The length of a `Wiped` variant's array. Laid out right after the
/// one-byte tag, it must reach the end of the enum, tail padding included:
/// the largest payload plus its alignment (at most 16 bytes), rounded so
/// that tag and array fill a whole number of 16-byte units. Then the enum
/// is exactly one tag byte and the array (checked by `spans_every_byte`).
pub(crate) const fn span(sizes: &[usize]) -> usize {
    (largest(sizes) + 16 + 1).div_ceil(16) * 16 - 1
}

const fn largest(sizes: &[usize]) -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < sizes.len() {
        if sizes[i] > max {
            max = sizes[i];
        }
        i += 1;
    }
    max
}

/// [`span`] for payloads whose alignment is known to be at most `align`
/// (a power of two): the payload then sits at offset `align`, so the
/// enum is `align + max` rounded up to `align`, and the array is that less
/// the tag. Exact where `span` allows 16 bytes of slack.
pub(crate) const fn span_aligned(sizes: &[usize], align: usize) -> usize {
    (align + largest(sizes)).div_ceil(align) * align - 1
}

/// How many bytes of the stack [`scrub_stack`] overwrites: more than the
/// deepest key schedule uses, debug builds included (`tests/zeroize_stack.rs`
/// fails in debug at 16 KiB).
#[cfg(feature = "std")]
const SCRUB_LEN: usize = 32 * 1024;

/// Without `std` (a microcontroller, whose whole stack may be a few tens
/// of KiB), the scrub is 8 KiB: enough for an optimized key schedule (the
/// release run of `tests/zeroize_stack.rs` passes at 8 KiB; at 4 KiB it
/// finds a SHA3-256 PRK), not for a debug build. `Key::new`,
/// `NativeKey::new` and a forward-secrecy handshake then need 8 KiB of
/// stack below their own frame.
#[cfg(not(feature = "std"))]
const SCRUB_LEN: usize = 8 * 1024;

/// Overwrites the `SCRUB_LEN` bytes of stack below the caller's frame with
/// zeros: where the callees it just returned from left their temporaries
/// (`hmac`'s padded key block, `K XOR ipad` and `K XOR opad`, `hkdf`'s PRK
/// and expand blocks, moved states). Best effort: safe Rust cannot name
/// dead stack, so this writes a fresh zeroed array that covers it and
/// keeps the writes with `black_box`. About 1.5 us a scrub; run when a key
/// is built and after X25519 in the forward-secrecy mode, never in the
/// PSK-only handshake (`cargo bench --bench handshake --
/// key_schedule`, side by side with the commit before the scrubs: the
/// SHA-256 `NativeKey` schedule, which scrubs twice, 1.42 -> 4.50 us; the
/// six-digest `Key` schedule 4.53 -> 8.77 us).
#[inline(never)]
pub(crate) fn scrub_stack() {
    let mut area = [0u64; SCRUB_LEN / 8];
    core::hint::black_box(&mut area);
}
