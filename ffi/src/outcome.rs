//! What a finished handshake hands over: `hh_outcome`, and for the native
//! profile its session (`hh_session`, the exporter).

use hmac_handshake::native::Session;
use hmac_handshake::{Confirmation, Outcome, Scheme};

use crate::error::{number, HH_ERR_NOT_FINISHED, HH_ERR_NO_SESSION};
use crate::guard::guard;
use crate::handshake::{hh_handshake, State};
use crate::ptr;
use crate::settings::{
    digest_number, HH_PROFILE_MULTIPROCESSING, HH_PROFILE_NATIVE, HH_PROFILE_RECIPE,
};

/// `hh_outcome.confirmation`: the peer said it accepted our proof
/// (multiprocessing `#WELCOME#`, a verified native server tag).
pub const HH_CONFIRMATION_CONFIRMED: u32 = 1;
/// The protocol gives this side no verdict: the recipe's client (a
/// rejected one finds the connection closed), and the native server, whose
/// tag the client checks without answering (a client that rejects it closes
/// the connection). The native handshake is still mutual: the server has
/// verified the client (`peer_authenticated`).
pub const HH_CONFIRMATION_UNKNOWN: u32 = 2;
/// This side proved nothing (the recipe's server).
pub const HH_CONFIRMATION_NOT_APPLICABLE: u32 = 3;

/// What a completed handshake concluded, written by `hh_handshake_finish`.
/// Set `struct_size = sizeof(hh_outcome)` before the call. 72 bytes on
/// 64-bit targets, with no padding: every byte is written (the `reserved`
/// ones as zeros), so two outcomes compare with `memcmp`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hh_outcome {
    /// `sizeof(hh_outcome)`, set by the caller.
    pub struct_size: usize,
    /// Handshake bytes consumed from the peer over the whole handshake.
    pub consumed: usize,
    /// `HH_PROFILE_*` of the handshake.
    pub profile: u32,
    /// `HH_DIGEST_*` of the MACs: the recipe's digest; multiprocessing, the
    /// digest of the peer's reply to our challenge, the MAC we verified
    /// (MD5 for a legacy one; our own answer follows the peer's challenge);
    /// native, the suite's hash.
    pub digest: u32,
    /// `HH_CONFIRMATION_*`.
    pub confirmation: u32,
    /// Native: `HH_SUITE_*` the server chose; 0 for the other profiles.
    pub suite: u32,
    /// This side verified a MAC made by the peer with the shared key
    /// (false only for the recipe's client, which verifies nothing).
    pub peer_authenticated: bool,
    /// Multiprocessing: the peer used CPython's legacy (Python <= 3.11) format.
    pub legacy: bool,
    /// Native: a session can be derived (`hh_handshake_session`).
    pub has_session: bool,
    /// Native: the length of `key_id`, 1 to 32; 0 for the other profiles.
    pub key_id_len: u8,
    /// Native: the key id the client proved, `key_id_len` bytes, zero-padded.
    pub key_id: [u8; 32],
    /// Zeros; room for later fields without padding.
    pub reserved: [u8; 4],
}

/// `o` for C.
pub(crate) fn outcome(o: &Outcome, has_session: bool) -> hh_outcome {
    let mut out = hh_outcome {
        struct_size: size_of::<hh_outcome>(),
        consumed: o.consumed,
        profile: 0,
        digest: digest_number(o.scheme.digest()),
        confirmation: match o.confirmation {
            Confirmation::Confirmed => HH_CONFIRMATION_CONFIRMED,
            Confirmation::Unknown => HH_CONFIRMATION_UNKNOWN,
            Confirmation::NotApplicable => HH_CONFIRMATION_NOT_APPLICABLE,
        },
        suite: 0,
        peer_authenticated: o.peer_authenticated,
        legacy: false,
        has_session,
        key_id_len: 0,
        key_id: [0; 32],
        reserved: [0; 4],
    };
    match o.scheme {
        Scheme::Recipe { .. } => out.profile = HH_PROFILE_RECIPE,
        Scheme::Multiprocessing { legacy, .. } => {
            out.profile = HH_PROFILE_MULTIPROCESSING;
            out.legacy = legacy;
        }
        Scheme::Native { suite, key_id } => {
            out.profile = HH_PROFILE_NATIVE;
            out.suite = u32::from(suite.id());
            let id = key_id.as_bytes();
            out.key_id[..id.len()].copy_from_slice(id);
            out.key_id_len = id.len() as u8;
        }
        _ => {}
    }
    out
}

/// A native session (PROTOCOL.md, "Session secrets"), written by
/// `hh_handshake_session`: equal on both sides. Set `struct_size =
/// sizeof(hh_session)` before the call. 216 bytes on 64-bit targets, with
/// no padding. The keys are secret: wipe the struct when done with it
/// (`hh_session_wipe`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct hh_session {
    /// `sizeof(hh_session)`, set by the caller.
    pub struct_size: usize,
    /// `L`, the suite's hash length: the bytes used of each array below
    /// (32, 48 or 64); the rest is zero.
    pub len: usize,
    /// `HH_SUITE_*` of the session.
    pub suite: u32,
    /// The ephemeral X25519 secret was mixed in (forward secrecy).
    pub forward_secrecy: bool,
    /// Zeros; room for later fields without padding.
    pub reserved: [u8; 3],
    /// `handshake_hash`, `L` bytes: public, the same on both sides.
    pub handshake_hash: [u8; 64],
    /// The client-to-server key, `L` bytes.
    pub client_to_server_key: [u8; 64],
    /// The server-to-client key, `L` bytes.
    pub server_to_client_key: [u8; 64],
}

impl core::fmt::Debug for hh_session {
    /// The suite, length and handshake hash: never the keys.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("hh_session")
            .field("suite", &self.suite)
            .field("forward_secrecy", &self.forward_secrecy)
            .field("len", &self.len)
            .field("handshake_hash", &&self.handshake_hash[..self.len.min(64)])
            .finish_non_exhaustive()
    }
}

/// The session of a finished native handshake, derived on first use.
fn session(handshake: &mut hh_handshake) -> Result<&Session, i32> {
    match &mut handshake.state {
        State::Running(_) => Err(HH_ERR_NOT_FINISHED),
        State::Ended(_) => Err(HH_ERR_NO_SESSION),
        State::Finished { seed, session } => {
            if session.is_none() {
                *session = seed.take().and_then(|f| f.into_session());
            }
            session.as_ref().ok_or(HH_ERR_NO_SESSION)
        }
    }
}

/// Writes the native session to `*out` (see `hh_session`); the first
/// session call derives it, and drops what it was derived from.
///
/// Returns 0, or `HH_ERR_NOT_FINISHED` (before `hh_handshake_finish`),
/// `HH_ERR_NO_SESSION` (not native, or the handshake failed),
/// `HH_ERR_STRUCT_SIZE`, `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`.
///
/// # Safety
/// `handshake` is NULL or a live handshake used by no other thread; `out`
/// is NULL or points to a writable `hh_session` whose `struct_size` is set.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_session(
    handshake: *mut hh_handshake,
    out: *mut hh_session,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `handshake`.
        let handshake = unsafe { ptr::handle_mut(handshake) }?;
        // SAFETY: the caller's contract on `out`.
        unsafe { ptr::check_sized_out(out) }?;
        let s = session(handshake)?;
        let mut value = hh_session {
            struct_size: size_of::<hh_session>(),
            suite: u32::from(s.suite().id()),
            forward_secrecy: s.forward_secrecy(),
            reserved: [0; 3],
            len: s.handshake_hash().len(),
            handshake_hash: [0; 64],
            client_to_server_key: [0; 64],
            server_to_client_key: [0; 64],
        };
        let len = value.len;
        value.handshake_hash[..len].copy_from_slice(s.handshake_hash());
        value.client_to_server_key[..len].copy_from_slice(s.client_to_server_key());
        value.server_to_client_key[..len].copy_from_slice(s.server_to_client_key());
        // SAFETY: checked by check_sized_out; the caller's contract.
        let written = unsafe { ptr::write(out, value) };
        zeroize::Zeroize::zeroize(&mut value.client_to_server_key);
        zeroize::Zeroize::zeroize(&mut value.server_to_client_key);
        written
    })
}

/// The native session's keying material exporter (PROTOCOL.md, "Exporter";
/// as RFC 8446 section 7.5): fills `out_len` bytes at `out` from `label`
/// (0 to 255 bytes) and `context` (any length). Both sides get the same
/// bytes; other labels, contexts or lengths give independent ones.
///
/// Returns 0, or `HH_ERR_EXPORT_TOO_LONG` (a label over 255 bytes, or
/// `out_len` over `255 * L`; nothing written), `HH_ERR_NOT_FINISHED`,
/// `HH_ERR_NO_SESSION`, `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_INVALID_ARGUMENT` (a length over `PTRDIFF_MAX`, checked first).
///
/// # Safety
/// `handshake` is NULL or a live handshake used by no other thread;
/// `label`, `context` point to `label_len`, `context_len` bytes and `out`
/// to `out_len` writable bytes during the call.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_export(
    handshake: *mut hh_handshake,
    label: *const u8,
    label_len: usize,
    context: *const u8,
    context_len: usize,
    out: *mut u8,
    out_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `label`.
        let label = unsafe { ptr::bytes(label, label_len) }?;
        // SAFETY: the caller's contract on `context`.
        let context = unsafe { ptr::bytes(context, context_len) }?;
        // SAFETY: the caller's contract on `out`.
        let out = unsafe { ptr::bytes_mut(out, out_len) }?;
        // SAFETY: the caller's contract on `handshake`.
        let s = session(unsafe { ptr::handle_mut(handshake) }?)?;
        s.export(label, context, out).map_err(number)
    })
}

/// Overwrites a whole `hh_session` with zeros in a way the compiler does
/// not remove (volatile writes, the `zeroize` crate), keeping
/// `struct_size`. Call it when done with the keys.
///
/// Returns 0, or `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_STRUCT_SIZE`: then **nothing is wiped** (the struct is not one
/// this header describes, so its size is unknown): wipe it yourself.
///
/// # Safety
/// `session` is NULL or points to a writable `hh_session` (at least its
/// `struct_size` readable).
#[no_mangle]
pub unsafe extern "C" fn hh_session_wipe(session: *mut hh_session) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `session`.
        unsafe { ptr::check_sized_out(session) }?;
        // SAFETY: checked above: a writable hh_session of this size.
        unsafe { ptr::wipe(session) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_padding_in_the_structs_we_write() {
        // Every field's size adds up to the struct's: no byte is left to
        // carry stale stack bytes to the caller.
        let outcome = 2 * size_of::<usize>() + 4 * 4 + 3 + 1 + 32 + 4;
        assert_eq!(size_of::<hh_outcome>(), outcome);
        let session = 2 * size_of::<usize>() + 4 + 1 + 3 + 3 * 64;
        assert_eq!(size_of::<hh_session>(), session);
    }
}
