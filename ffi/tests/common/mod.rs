//! Safe helpers over the C functions, for the crate's own tests: they call
//! the `extern "C"` functions exactly as a C program links them.
#![allow(dead_code, reason = "each test file uses a part")]

use std::ptr;

use hmac_handshake_ffi::config::*;
use hmac_handshake_ffi::error::*;
use hmac_handshake_ffi::handshake::*;
use hmac_handshake_ffi::outcome::*;
use hmac_handshake_ffi::settings::*;

/// Settings for `profile` and `role`, everything else zero.
pub fn settings(profile: u32, role: u32) -> hh_settings {
    hh_settings {
        struct_size: size_of::<hh_settings>(),
        profile,
        role,
        digest: 0,
        flags: 0,
        forward_secrecy: 0,
        context: ptr::null(),
        context_len: 0,
        server_name: ptr::null(),
        server_name_len: 0,
    }
}

/// A native key spec borrowing `id` and `secret`.
pub fn native_key(id: &[u8], secret: &[u8], suite: u32) -> hh_native_key {
    hh_native_key {
        struct_size: size_of::<hh_native_key>(),
        key_id: id.as_ptr(),
        key_id_len: id.len(),
        secret: secret.as_ptr(),
        secret_len: secret.len(),
        suite,
    }
}

/// An owned config, freed on drop.
#[derive(Debug)]
pub struct Config(pub *mut hh_config);

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: made by hh_config_new*, freed once.
        unsafe { hh_config_free(self.0) };
    }
}

/// A recipe or multiprocessing config, or its error number.
pub fn secret_config(s: &hh_settings, secret: &[u8]) -> Result<Config, i32> {
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers for the call.
    let rc = unsafe { hh_config_new(s, secret.as_ptr(), secret.len(), &mut out) };
    config_from(rc, out)
}

/// A native config, or its error number.
pub fn native_config(s: &hh_settings, keys: &[hh_native_key]) -> Result<Config, i32> {
    let mut out = ptr::null_mut();
    // SAFETY: valid pointers for the call.
    let rc = unsafe { hh_config_new_native(s, keys.as_ptr(), keys.len(), &mut out) };
    config_from(rc, out)
}

/// What a config constructor returned; `*out` must be written exactly on success.
fn config_from(rc: i32, out: *mut hh_config) -> Result<Config, i32> {
    if rc == HH_OK {
        assert!(!out.is_null());
        Ok(Config(out))
    } else {
        assert!(out.is_null(), "out written on error {rc}");
        Err(rc)
    }
}

/// An owned handshake, freed on drop.
#[derive(Debug)]
pub struct Hs(pub *mut hh_handshake);

impl Drop for Hs {
    fn drop(&mut self) {
        // SAFETY: made by hh_handshake_new*, freed once.
        unsafe { hh_handshake_free(self.0) };
    }
}

impl Hs {
    pub fn new(c: &Config) -> Hs {
        let mut out = ptr::null_mut();
        // SAFETY: a live config, a writable out.
        assert_eq!(unsafe { hh_handshake_new(c.0, &mut out) }, HH_OK);
        Hs(out)
    }

    pub fn pinned(c: &Config, random: &[u8]) -> Result<Hs, i32> {
        let mut out = ptr::null_mut();
        // SAFETY: a live config, `random` readable, a writable out.
        let rc = unsafe { hh_handshake_new_pinned(c.0, random.as_ptr(), random.len(), &mut out) };
        if rc == HH_OK {
            Ok(Hs(out))
        } else {
            assert!(out.is_null());
            Err(rc)
        }
    }

    /// `(status, return value)` of hh_handshake_status.
    pub fn status(&self) -> (u32, i32) {
        let mut s = 0;
        // SAFETY: a live handshake, a writable out.
        let rc = unsafe { hh_handshake_status(self.0, &mut s) };
        (s, rc)
    }

    /// The pending output, copied.
    pub fn pending(&self) -> Result<Vec<u8>, i32> {
        let mut data = ptr::null();
        let mut len = 0;
        // SAFETY: a live handshake, writable outs.
        let rc = unsafe { hh_handshake_pending_output(self.0, &mut data, &mut len) };
        if rc != HH_OK {
            return Err(rc);
        }
        if len == 0 {
            assert!(data.is_null());
            return Ok(Vec::new());
        }
        // SAFETY: the library says `len` bytes at `data`, valid until the next change.
        Ok(unsafe { std::slice::from_raw_parts(data, len) }.to_vec())
    }

    pub fn sent(&self, n: usize) -> i32 {
        // SAFETY: a live handshake.
        unsafe { hh_handshake_sent(self.0, n) }
    }

    /// `(consumed, return value)`.
    pub fn receive(&self, input: &[u8]) -> (usize, i32) {
        let mut consumed = usize::MAX;
        // SAFETY: a live handshake, readable input, writable out.
        let rc =
            unsafe { hh_handshake_receive(self.0, input.as_ptr(), input.len(), &mut consumed) };
        (consumed, rc)
    }

    pub fn finish(&self) -> Result<hh_outcome, i32> {
        let mut o = empty_outcome();
        // SAFETY: a live handshake, a writable outcome with struct_size.
        match unsafe { hh_handshake_finish(self.0, &mut o) } {
            HH_OK => Ok(o),
            e => Err(e),
        }
    }

    pub fn session(&self) -> Result<hh_session, i32> {
        let mut s = empty_session();
        // SAFETY: a live handshake, a writable session with struct_size.
        match unsafe { hh_handshake_session(self.0, &mut s) } {
            HH_OK => Ok(s),
            e => Err(e),
        }
    }

    pub fn export(&self, label: &[u8], context: &[u8], len: usize) -> Result<Vec<u8>, i32> {
        let mut out = vec![0u8; len];
        // SAFETY: a live handshake, readable label and context, writable out.
        let rc = unsafe {
            hh_handshake_export(
                self.0,
                label.as_ptr(),
                label.len(),
                context.as_ptr(),
                context.len(),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        if rc == HH_OK {
            Ok(out)
        } else {
            Err(rc)
        }
    }
}

pub fn empty_outcome() -> hh_outcome {
    hh_outcome {
        struct_size: size_of::<hh_outcome>(),
        profile: 0,
        digest: 0,
        confirmation: 0,
        suite: 0,
        peer_authenticated: false,
        legacy: false,
        has_session: false,
        key_id_len: 0,
        key_id: [0; 32],
        consumed: 0,
        reserved: [0xAA; 4],
    }
}

pub fn empty_session() -> hh_session {
    hh_session {
        struct_size: size_of::<hh_session>(),
        suite: 0,
        forward_secrecy: false,
        reserved: [0xAA; 3],
        len: 0,
        handshake_hash: [0; 64],
        client_to_server_key: [0; 64],
        server_to_client_key: [0; 64],
    }
}

/// What both sides wrote, in order: `(from_server, bytes)`.
pub type Transcript = Vec<(bool, Vec<u8>)>;

/// Drives `server` and `client` against each other, feeding `chunk` bytes
/// at a time, until neither moves; returns the transcript and each side's
/// last status return value.
pub fn drive(server: &Hs, client: &Hs, chunk: usize) -> (Transcript, i32, i32) {
    let mut transcript = Transcript::new();
    let mut to_client: Vec<u8> = Vec::new();
    let mut to_server: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        let mut moved = false;
        for (side, from_server) in [(server, true), (client, false)] {
            let out = side.pending().unwrap();
            if !out.is_empty() {
                assert_eq!(side.sent(out.len()), HH_OK);
                if from_server {
                    &mut to_client
                } else {
                    &mut to_server
                }
                .extend_from_slice(&out);
                transcript.push((from_server, out));
                moved = true;
            }
            let inbox = if from_server {
                &mut to_server
            } else {
                &mut to_client
            };
            if side.status().0 == HH_STATUS_NEED_INPUT && !inbox.is_empty() {
                let n = chunk.min(inbox.len());
                let (consumed, _) = side.receive(&inbox[..n]);
                assert!(
                    consumed >= 1 && consumed <= n,
                    "progress: {consumed} of {n}"
                );
                inbox.drain(..consumed);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    (transcript, server.status().1, client.status().1)
}
