//! HeaderDecoder / FrameHeader against a reference decoder (see fuzz/README.md).
#![no_main]

use hmac_handshake_fuzz::framing::{self, FramingInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: FramingInput| {
    framing::run(&input);
});
