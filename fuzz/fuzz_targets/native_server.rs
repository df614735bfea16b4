//! Native server against arbitrary client bytes (see fuzz/README.md).
#![no_main]

use hmac_handshake_fuzz::native::{self, NativeServerInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: NativeServerInput| {
    native::server(&input);
});
