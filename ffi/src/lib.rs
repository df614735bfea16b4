//! The C ABI of `hmac-handshake`: its sans-IO handshake machines, every
//! profile and role, behind opaque handles (`include/hmac_handshake.h`,
//! generated with cbindgen).
//!
//! The calls follow the machines' own loop (`hmac_handshake::Handshake`):
//! ```text
//! hh_config_new / hh_config_new_native     settings and keys, once (owned by the library)
//! hh_handshake_new(config)                  one per connection: the only allocation
//! loop:
//!   hh_handshake_status        NEED_INPUT | SEND | DONE | FAILED
//!   hh_handshake_pending_output + hh_handshake_sent    write what is pending
//!   hh_handshake_receive       feed what was read; keep what it did not consume
//! hh_handshake_finish          the outcome (and, native, the session)
//! hh_handshake_free, hh_config_free
//! ```
//!
//! - **Errors** are `int32_t` numbers: 0 is success, 1 to 63 the peer's
//!   (a failed handshake), 64 to 127 the caller's as the Rust crate reports
//!   them (`hmac_handshake::Error::number`), 128 to 191 this layer's own
//!   (a null pointer, a wrong `struct_size`, a call out of order).
//!   `hh_error_name` gives each its stable code, e.g. `"bad_tag"`.
//! - **Keys** are copied in once (`hh_config_new*`, `hh_config_replace_*`)
//!   into the crate's key types, zeroized on drop; a handshake keeps the
//!   keys it started with, so a config may be freed or its keys replaced
//!   while handshakes are running.
//! - **No panic crosses the boundary**: each call runs under
//!   `catch_unwind` and reports a caught panic as `HH_ERR_PANIC`.
//! - **Threads**: a config may be used from several threads at once
//!   (creating handshakes, replacing keys); a handshake by one thread at a time.
//!
//! The unsafe code (reading the caller's pointers) is in `src/ptr.rs`, each
//! block with its `// SAFETY:` argument; the library crate itself keeps
//! `#![forbid(unsafe_code)]`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]
#![allow(non_camel_case_types, reason = "C type names: hh_config, hh_handshake")]

pub mod config;
pub mod error;
mod guard;
pub mod handshake;
pub mod outcome;
mod ptr;
pub mod settings;
