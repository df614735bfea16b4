//! Multiprocessing Listener against arbitrary Client bytes (see fuzz/README.md).
#![no_main]

use hmac_handshake_fuzz::mp::{self, MpInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: MpInput| {
    mp::server(&input);
});
