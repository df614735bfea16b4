//! Recipe client against arbitrary server bytes (see fuzz/README.md).
#![no_main]

use hmac_handshake_fuzz::recipe::{self, RecipeInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: RecipeInput| {
    recipe::client(&input);
});
