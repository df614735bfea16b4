//! Harness code shared by the fuzz targets in `fuzz_targets/`: the input
//! layouts ([`reader`]), the driver that checks the sans-IO contract
//! ([`drive`]), oracles written independently of the library
//! ([`reference`], [`fs_peer`]), and one module per machine family.
//!
//! Every check is an `assert!`: a panic is a finding. See `README.md`.

pub mod drive;
pub mod framing;
/// The key holder of `tests/support/fs_peer.rs` (PROTOCOL.md's tags with
/// the hmac, sha2 and sha3 crates, and the low-order X25519 shares): the
/// native targets' oracle for proofs and finishes that carry a share.
#[path = "../../tests/support/fs_peer.rs"]
pub mod fs_peer;
pub mod mp;
pub mod native;
pub mod pair;
pub mod reader;
pub mod recipe;
pub mod reference;

/// Implements `Arbitrary` for an input type by handing it all the bytes, so
/// `fuzz_target!(|input: T| ...)` decodes our explicit layout and
/// `cargo fuzz fmt` prints the decoded input with `Debug`.
macro_rules! raw_input {
    ($t:ty) => {
        impl<'a> arbitrary::Arbitrary<'a> for $t {
            fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                let n = u.len();
                Ok(<$t>::decode(u.bytes(n)?))
            }

            fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                Ok(<$t>::decode(u.take_rest()))
            }
        }
    };
}
pub(crate) use raw_input;
