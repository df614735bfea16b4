//! Honest server and client of one profile, then one byte changed (see fuzz/README.md).
#![no_main]

use hmac_handshake_fuzz::pair::{self, PairInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: PairInput| {
    pair::run(&input);
});
