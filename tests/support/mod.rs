//! Harness code shared by the integration-test crates that run programs,
//! included with `mod support;`: [`process`] for any child process, [`cli`]
//! for the `hmac-handshake` binary (feature `cli`). No crate uses all of it.
#![allow(dead_code)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod process;
