//! Pre-keyed HMAC states (RFC 2104 section 2): the hash states after
//! absorbing `K XOR ipad` and `K XOR opad`, kept serialized in plain byte
//! arrays and restored for every tag, so the key schedule runs once per key.

use hmac::digest::common::hazmat::{SerializableState, SerializedState};
use hmac::digest::common::BlockSizeUser;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::{Digest, Tag};

/// The HMAC inner and outer pads (RFC 2104 section 2).
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// The largest hash block of the six digests (SHA3-256's 136 bytes).
const BLOCK_MAX: usize = 136;

/// Bytes of the serialized hash state of `D`.
const fn state_len<D: SerializableState>() -> usize {
    core::mem::size_of::<SerializedState<D>>()
}

/// The largest of two sizes (`max` is not `const` for `usize`).
const fn larger(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// The largest serialized hash state of the six digests.
const STATE_MAX: usize = larger(
    larger(
        larger(state_len::<md5::Md5>(), state_len::<sha2::Sha256>()),
        larger(state_len::<sha2::Sha384>(), state_len::<sha2::Sha512>()),
    ),
    larger(state_len::<sha3::Sha3_256>(), state_len::<sha3::Sha3_384>()),
);

/// One digest's keyed HMAC state.
///
/// The two hash states are kept serialized (`digest`'s
/// `SerializableState`) in fixed byte arrays, whatever the digest: a value
/// with no padding (only bytes) and no dependency type inside, so `Drop`
/// wipes every byte of it. (An enum of `hmac::Hmac` states, as before, left
/// secrets behind on drop: the bytes of a smaller variant's padding, filled
/// by the moves that built it with `K XOR opad` blocks from the stack, and
/// `SimpleHmac`'s unwiped copy of `K XOR opad`.) Each tag restores both
/// states into hashers, which `zeroize` wipes on drop.
pub(crate) struct MacState {
    digest: Digest,
    /// The serialized state after `K XOR ipad`, then zero bytes.
    inner: [u8; STATE_MAX],
    /// The serialized state after `K XOR opad`, then zero bytes.
    outer: [u8; STATE_MAX],
}

/// What HMAC needs of a hash: `Digest`, its block size, a state that can
/// be serialized.
trait Hash: hmac::digest::Digest + BlockSizeUser + SerializableState {}

impl<D: hmac::digest::Digest + BlockSizeUser + SerializableState> Hash for D {}

/// Hashes `block` into a fresh `D` and writes its serialized state into `out`.
fn absorb_block<D: Hash>(block: &[u8], out: &mut [u8; STATE_MAX]) {
    let mut h = D::new();
    h.update(block);
    let mut state = h.serialize();
    let n = state.len().min(STATE_MAX);
    out[..n].copy_from_slice(&state[..n]);
    state.as_mut_slice().zeroize();
}

/// Keys HMAC-`D` with `key` (of any length: longer than the block, it is
/// hashed first) into `inner` and `outer`. The padded key is wiped here.
fn key_schedule<D: Hash>(key: &[u8], inner: &mut [u8; STATE_MAX], outer: &mut [u8; STATE_MAX]) {
    let mut padded = [0u8; BLOCK_MAX];
    let block = <D as BlockSizeUser>::block_size().min(BLOCK_MAX);
    if key.len() <= block {
        padded[..key.len()].copy_from_slice(key);
    } else {
        let mut hashed = D::digest(key);
        let n = hashed.len().min(block);
        padded[..n].copy_from_slice(&hashed[..n]);
        hashed.as_mut_slice().zeroize();
    }
    padded[..block].iter_mut().for_each(|b| *b ^= IPAD);
    absorb_block::<D>(&padded[..block], inner);
    padded[..block].iter_mut().for_each(|b| *b ^= IPAD ^ OPAD);
    absorb_block::<D>(&padded[..block], outer);
    padded.zeroize();
}

/// The hasher whose serialized state begins `bytes`; `None` if the bytes
/// are not a state of `D` (never for bytes of [`absorb_block`]).
fn restore<D: Hash>(bytes: &[u8; STATE_MAX]) -> Option<D> {
    let mut state = SerializedState::<D>::default();
    let n = state.len().min(STATE_MAX);
    state[..n].copy_from_slice(&bytes[..n]);
    let hasher = D::deserialize(&state).ok();
    state.as_mut_slice().zeroize();
    hasher
}

/// HMAC-`D` over the concatenation of `parts`, from the keyed states;
/// `None` if a state cannot be restored (see [`restore`]).
fn hmac<D: Hash>(inner: &[u8; STATE_MAX], outer: &[u8; STATE_MAX], parts: &[&[u8]]) -> Option<Tag> {
    let mut h = restore::<D>(inner)?;
    for part in parts {
        h.update(part);
    }
    let mut inner_hash = h.finalize();
    let mut o = restore::<D>(outer)?;
    o.update(&inner_hash);
    inner_hash.as_mut_slice().zeroize();
    Some(Tag::from_slice(&o.finalize()))
}

/// Runs `$f::<D>($args)` with `D` the hash type of `$digest`: the one
/// place the digests are listed for dispatch.
macro_rules! each_digest {
    ($digest:expr, $f:ident($($arg:expr),*)) => {
        match $digest {
            Digest::Md5 => $f::<md5::Md5>($($arg),*),
            Digest::Sha256 => $f::<sha2::Sha256>($($arg),*),
            Digest::Sha384 => $f::<sha2::Sha384>($($arg),*),
            Digest::Sha512 => $f::<sha2::Sha512>($($arg),*),
            Digest::Sha3_256 => $f::<sha3::Sha3_256>($($arg),*),
            Digest::Sha3_384 => $f::<sha3::Sha3_384>($($arg),*),
        }
    };
}

impl MacState {
    /// Keys HMAC-`digest` with `key` (any length, RFC 2104 section 2).
    pub(crate) fn new(digest: Digest, key: &[u8]) -> MacState {
        let mut state = MacState {
            digest,
            inner: [0; STATE_MAX],
            outer: [0; STATE_MAX],
        };
        each_digest!(
            digest,
            key_schedule(key, &mut state.inner, &mut state.outer)
        );
        state
    }

    /// HMAC over the concatenation of `parts`: [`Digest::tag_len`] bytes.
    /// (A state that does not restore, which cannot happen, gives an empty
    /// tag: one that no peer accepts.)
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> Tag {
        each_digest!(self.digest, hmac(&self.inner, &self.outer, parts))
            .unwrap_or_else(|| Tag::from_slice(&[]))
    }

    /// Checks `tag` against HMAC over `parts`. Constant time in the tag
    /// bytes (`subtle`), after the public length check.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        match each_digest!(self.digest, hmac(&self.inner, &self.outer, parts)) {
            Some(ours) => {
                let ours = ours.as_bytes();
                ours.len() == tag.len() && bool::from(ours.ct_eq(tag))
            }
            None => false,
        }
    }
}

impl Drop for MacState {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}
