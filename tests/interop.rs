#![cfg(feature = "std")]
//! Interop with real CPython peers (`tests/peers/`): the multiprocessing
//! profile against `multiprocessing.connection` and the recipe profile
//! against the Cookbook recipe, on every interpreter found (2.7 to 3.13),
//! both roles, right and wrong keys, pipelined and trickled bytes.
//!
//! Interpreters: `$PYENV_ROOT/versions/*/bin/python`, else
//! `/root/.pyenv/versions/*/bin/python`, else `python3` / `python2` on
//! `PATH`. With none, every test prints `skipped: ...` and passes, unless
//! `HMAC_HANDSHAKE_REQUIRE_PYTHON=1` (CI), which also requires 2.7, 3.7,
//! 3.11, 3.12 and 3.13. Each test runs its scenario on all interpreters in
//! parallel threads and fails once, listing the versions that failed.
//!
//! `cargo test --test interop -- --nocapture` prints the matrix.

#[cfg(feature = "cli")]
#[path = "interop/cli.rs"]
mod cli;
#[path = "interop/multiprocessing.rs"]
mod multiprocessing;
#[path = "interop/python.rs"]
mod python;
#[path = "interop/recipe.rs"]
mod recipe;
#[path = "interop/sans_io.rs"]
mod sans_io;
mod support;
