//! The built-in [`KeyLookup`]: a keyring hashed by key id, looked up in
//! constant time, and a cell to replace it atomically for key rotation.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::vec::Vec;

use arc_swap::ArcSwap;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::key::{KeyId, NativeKey};
use super::lookup::{KeyLookup, Lookup};
use super::suite::Suite;
use crate::Error;

/// Slots per bucket. A lookup reads two whole buckets.
const BUCKET: usize = 4;

/// One place of the index: a key id (as words) and where its key is.
/// An empty slot has length 0, which no key id has.
#[derive(Clone, Copy, Default)]
struct Slot {
    words: [u64; 4],
    len: u8,
    index: u32,
}

/// The native server's keys, one suite, each key id once, looked up by key
/// id in constant time.
///
/// - **O(1)**: the id is hashed (SipHash-1-3 with a random key, std's
///   `RandomState`) to two buckets of four slots; a lookup reads those
///   eight slots, whatever the ring's size.
/// - **The same work for every id**: all eight slots are compared (word by
///   word, no early exit, `subtle` for the verdict, a conditional select for
///   the key), and an unknown id gets a stand-in: a real key of the ring,
///   picked by the id's hash, so checking its proof costs what checking any
///   other does and reaches memory the same way (a fresh unknown id finds
///   its stand-in as cold as a fresh known id finds its key).
///   `cargo bench --bench ct` measures the server's handling of proofs
///   naming the first, the last, fresh known and fresh unknown ids;
///   `cargo bench --bench keyring` the cost of a lookup against ring size.
/// - **Refused when built**: an empty ring, a key id that appears twice,
///   keys of more than one suite.
///
/// A ring is immutable: rotate keys by building a new one and swapping it
/// in ([`SharedKeyring`]); a handshake keeps the ring it started with.
/// Memory: one [`NativeKey`] (1152 bytes) per key, plus an index of 40-byte
/// slots, four per bucket, at least one bucket per key (a power of two).
pub struct Keyring {
    suite: Suite,
    keys: Vec<NativeKey>,
    slots: Vec<Slot>,
    /// Number of buckets minus one (a power of two minus one).
    mask: usize,
    hasher: RandomState,
}

impl Keyring {
    /// A ring of `keys`.
    ///
    /// # Errors
    /// [`Error::EmptyKeyring`] for no key. Otherwise the keys are checked in
    /// order, and the first key at fault is reported: with
    /// [`Error::SuiteMismatch`] if it is not of the first key's suite, else
    /// [`Error::DuplicateKeyId`] if its id came before.
    pub fn new(keys: impl IntoIterator<Item = NativeKey>) -> Result<Keyring, Error> {
        let keys = gather(keys.into_iter());
        let suite = keys.first().ok_or(Error::EmptyKeyring)?.suite();
        let mut seen = HashSet::with_capacity(keys.len());
        for key in &keys {
            if key.suite() != suite {
                return Err(Error::SuiteMismatch {
                    expected: suite,
                    got: key.suite(),
                });
            }
            if !seen.insert(key.id()) {
                return Err(Error::DuplicateKeyId(key.id()));
            }
        }
        let (slots, mask, hasher) = index(&keys);
        Ok(Keyring {
            suite,
            keys,
            slots,
            mask,
            hasher,
        })
    }

    /// The suite of every key on the ring.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Number of keys (at least 1).
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a ring holds at least one key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The key named `id`. For administration (not constant time); the
    /// server uses [`KeyLookup::lookup`].
    #[must_use]
    pub fn get(&self, id: &KeyId) -> Option<&NativeKey> {
        self.keys.iter().find(|k| k.id() == *id)
    }

    /// The key ids, in the order the keys were given.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(NativeKey::id)
    }
}

/// The two buckets of `id` (the low and high halves of one 64-bit hash), and
/// the hash itself.
fn buckets(hasher: &RandomState, id: &KeyId, mask: usize) -> ([usize; 2], u64) {
    let h = hasher.hash_one(id.as_bytes());
    ([h as usize & mask, (h >> 32) as usize & mask], h)
}

/// The keys in a `Vec`, leaving no copy of a key in freed memory: a `Vec`
/// that grows frees its old buffer without dropping the keys moved out of
/// it. An iterator of known length (an array, a `Vec`, a slice's `map`) is
/// collected in one allocation (in place for a `Vec`); any other grows by
/// hand, and each outgrown buffer is overwritten with wiped keys before it
/// is freed.
fn gather(keys: impl Iterator<Item = NativeKey>) -> Vec<NativeKey> {
    let (low, high) = keys.size_hint();
    if high == Some(low) {
        return keys.collect();
    }
    let mut gathered: Vec<NativeKey> = Vec::with_capacity(low.max(4));
    for key in keys {
        if gathered.len() == gathered.capacity() {
            let mut bigger = Vec::with_capacity(gathered.capacity() * 2);
            bigger.append(&mut gathered);
            let room = gathered.capacity();
            gathered.extend(core::iter::repeat_with(NativeKey::wiped).take(room));
            drop(core::mem::replace(&mut gathered, bigger));
        }
        gathered.push(key);
    }
    gathered
}

/// Builds the index of `keys`: each id in the emptier of its two buckets.
/// When a bucket pair is full, the table doubles and is rebuilt with a new
/// hash key; with at most one key per bucket on average that is rare, and
/// each rebuild halves the load.
fn index(keys: &[NativeKey]) -> (Vec<Slot>, usize, RandomState) {
    let mut buckets_n = keys.len().next_power_of_two().max(2);
    loop {
        let hasher = RandomState::new();
        let mask = buckets_n - 1;
        let mut slots = std::vec![Slot::default(); buckets_n * BUCKET];
        let placed = keys.iter().enumerate().all(|(i, key)| {
            let id = key.id();
            let used = |b: usize| {
                slots[b * BUCKET..][..BUCKET]
                    .iter()
                    .filter(|s| s.len != 0)
                    .count()
            };
            let ([b1, b2], _) = buckets(&hasher, &id, mask);
            let b = if used(b2) < used(b1) { b2 } else { b1 };
            let Some(slot) = slots[b * BUCKET..][..BUCKET]
                .iter_mut()
                .find(|s| s.len == 0)
            else {
                return false;
            };
            let (words, len) = id.words();
            // A ring of over 4 billion keys does not fit in memory.
            *slot = Slot {
                words,
                len,
                index: u32::try_from(i).unwrap_or(u32::MAX),
            };
            true
        });
        if placed {
            return (slots, mask, hasher);
        }
        buckets_n *= 2;
    }
}

impl KeyLookup for Keyring {
    fn suite(&self) -> Suite {
        self.suite
    }

    /// Reads both buckets of `id` whole, comparing every slot without an
    /// early exit, and picks the key (or the stand-in) by a conditional
    /// select: the same work for a first, last or unknown id.
    fn lookup(&self, id: &KeyId, found: &mut dyn FnMut(Lookup<'_>)) {
        let (words, len) = id.words();
        let (buckets, hash) = buckets(&self.hasher, id, self.mask);
        // The stand-in of an unknown id: a key of the ring, by the id's hash
        // (public: the id is the peer's own). Bounded by the ring's size.
        // (Multiply and shift, not a division: its time does not vary.)
        let stand_in = ((hash >> 32) * self.keys.len() as u64) >> 32;
        let mut index = stand_in as u32;
        let mut known = Choice::from(0);
        for b in buckets {
            for slot in &self.slots[b * BUCKET..][..BUCKET] {
                let diff = (slot.words[0] ^ words[0])
                    | (slot.words[1] ^ words[1])
                    | (slot.words[2] ^ words[2])
                    | (slot.words[3] ^ words[3])
                    | u64::from(slot.len ^ len);
                let eq = diff.ct_eq(&0);
                index.conditional_assign(&slot.index, eq);
                known |= eq;
            }
        }
        let key = self.keys.get(index as usize).unwrap_or(&self.keys[0]);
        found(Lookup {
            key,
            known: known.into(),
        });
    }
}

impl core::fmt::Debug for Keyring {
    /// The suite and the key ids; no key material.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keyring")
            .field("suite", &self.suite)
            .field(
                "ids",
                &self.keys.iter().map(NativeKey::id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A [`Keyring`] that can be replaced atomically while handshakes run: key
/// rotation without a lock on the accept path (`arc-swap`).
///
/// Each new handshake takes a [`snapshot`](Self::snapshot) (an
/// `Arc<Keyring>`, a few nanoseconds, no lock) and keeps it to the end, so
/// a [`replace`](Self::replace) affects only handshakes started after it.
///
/// ```
/// use hmac_handshake::native::{self, Keyring, NativeKey, SharedKeyring, Suite};
/// use hmac_handshake::ServerHandshake;
///
/// # fn secret() -> [u8; 32] { [7; 32] }
/// let ring = SharedKeyring::new(Keyring::new([NativeKey::new(b"2026-11", &secret(), Suite::HmacSha256)?])?);
/// let server = ServerHandshake::new(ring.snapshot(), native::Config::default(), &mut getrandom::SysRng);
/// // Rotation: the new ring holds the old key and the new one (an overlap).
/// ring.replace(Keyring::new([
///     NativeKey::new(b"2026-11", &secret(), Suite::HmacSha256)?,
///     NativeKey::new(b"2026-12", &secret(), Suite::HmacSha256)?,
/// ])?);
/// assert_eq!(ring.snapshot().len(), 2);
/// # drop(server);
/// # Ok::<(), hmac_handshake::Error>(())
/// ```
pub struct SharedKeyring {
    current: ArcSwap<Keyring>,
}

impl SharedKeyring {
    /// A cell holding `ring`.
    #[must_use]
    pub fn new(ring: Keyring) -> SharedKeyring {
        SharedKeyring {
            current: ArcSwap::from_pointee(ring),
        }
    }

    /// The current ring, for one handshake (or several) to keep.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Keyring> {
        self.current.load_full()
    }

    /// Makes `ring` current for every later snapshot; returns the previous
    /// ring (handshakes holding it keep it alive until they end).
    pub fn replace(&self, ring: Keyring) -> Arc<Keyring> {
        self.current.swap(Arc::new(ring))
    }
}

impl core::fmt::Debug for SharedKeyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SharedKeyring")
            .field(&*self.current.load())
            .finish()
    }
}
