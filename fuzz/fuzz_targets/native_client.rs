//! Native client against arbitrary server bytes (see fuzz/README.md).
#![no_main]

use hmac_handshake_fuzz::native::{self, NativeClientInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: NativeClientInput| {
    native::client(&input);
});
