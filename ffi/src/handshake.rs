//! `hh_handshake`: one connection's handshake, the crate's sans-IO machine
//! of the config's profile and role, driven by its status.

use std::sync::Arc;

use hmac_handshake::native::{Keyring, NativeKey, Session};
use hmac_handshake::{ClientHandshake, Error, Finished, Handshake, Key, ServerHandshake, Status};
use zeroize::Zeroize;

use crate::config::{hh_config, random_len, Keys};
use crate::error::{
    number, HH_ERR_FINISHED, HH_ERR_NOT_FINISHED, HH_ERR_RANDOM_LENGTH, HH_ERR_RNG_FAILED,
    HH_ERR_WRONG_STATE,
};
use crate::guard::{guard, guard_void};
use crate::outcome::hh_outcome;
use crate::ptr;
use crate::settings::{Profile, Role};

/// `hh_handshake_status`: waiting for bytes from the peer
/// (`hh_handshake_receive`).
pub const HH_STATUS_NEED_INPUT: u32 = 1;
/// Bytes to write to the peer (`hh_handshake_pending_output`, then
/// `hh_handshake_sent`).
pub const HH_STATUS_SEND: u32 = 2;
/// The handshake completed: `hh_handshake_finish`. Bytes the last
/// `hh_handshake_receive` did not consume are the application's.
pub const HH_STATUS_DONE: u32 = 3;
/// The handshake failed, and nothing is left to send (`hh_handshake_status`
/// returns the peer error): close. While a failure message is pending the
/// status is `HH_STATUS_SEND`, with the same error.
pub const HH_STATUS_FAILED: u32 = 4;
/// `hh_handshake_finish` was called: only the session calls and
/// `hh_handshake_free` remain (`hh_handshake_status` returns 0, or the
/// error of a failed handshake).
pub const HH_STATUS_FINISHED: u32 = 5;

/// One handshake (opaque): made by `hh_handshake_new`, freed by
/// `hh_handshake_free`. Used by one thread at a time; it may move
/// between threads.
pub struct hh_handshake {
    pub(crate) state: State,
}

/// Where a handshake is.
pub(crate) enum State {
    /// The machine runs.
    Running(Machine),
    /// `hh_handshake_finish` succeeded.
    Finished {
        /// What the native session is derived from, until it is asked for.
        seed: Option<Finished>,
        /// The native session, once derived.
        session: Option<Session>,
    },
    /// `hh_handshake_finish` returned the handshake's error (its number,
    /// which `hh_handshake_status` goes on returning).
    Ended(i32),
}

/// The crate's machines, by role and kind of key.
pub(crate) enum Machine {
    SecretServer(ServerHandshake<Arc<Key>>),
    SecretClient(ClientHandshake<Arc<Key>>),
    NativeServer(ServerHandshake<Arc<Keyring>>),
    NativeClient(ClientHandshake<Arc<Vec<NativeKey>>>),
}

impl Machine {
    fn get(&self) -> &dyn Handshake {
        match self {
            Machine::SecretServer(m) => m,
            Machine::SecretClient(m) => m,
            Machine::NativeServer(m) => m,
            Machine::NativeClient(m) => m,
        }
    }

    fn get_mut(&mut self) -> &mut dyn Handshake {
        match self {
            Machine::SecretServer(m) => m,
            Machine::SecretClient(m) => m,
            Machine::NativeServer(m) => m,
            Machine::NativeClient(m) => m,
        }
    }

    fn finish(self) -> Result<Finished, Error> {
        match self {
            Machine::SecretServer(m) => m.finish(),
            Machine::SecretClient(m) => m.finish(),
            Machine::NativeServer(m) => m.finish(),
            Machine::NativeClient(m) => m.finish(),
        }
    }

    /// A machine for `config` from `random` (exactly `random_len(config)` bytes).
    fn new(config: &hh_config, random: &[u8]) -> Result<Machine, i32> {
        fn pinned<const N: usize>(random: &[u8]) -> Result<&[u8; N], i32> {
            random.try_into().map_err(|_| HH_ERR_RANDOM_LENGTH)
        }
        Ok(match (&config.keys, config.profile, config.role) {
            (Keys::Secret(key), Profile::Recipe(p), Role::Server) => Machine::SecretServer(
                ServerHandshake::with_pinned_random(key.load_full(), p, pinned(random)?),
            ),
            (Keys::Secret(key), Profile::Recipe(p), Role::Client) => Machine::SecretClient(
                ClientHandshake::with_pinned_random(key.load_full(), p, pinned(random)?),
            ),
            (Keys::Secret(key), Profile::Multiprocessing(p), Role::Server) => {
                Machine::SecretServer(ServerHandshake::with_pinned_random(
                    key.load_full(),
                    p,
                    pinned(random)?,
                ))
            }
            (Keys::Secret(key), Profile::Multiprocessing(p), Role::Client) => {
                Machine::SecretClient(ClientHandshake::with_pinned_random(
                    key.load_full(),
                    p,
                    pinned(random)?,
                ))
            }
            (Keys::Ring(ring), Profile::Native(p), Role::Server) => Machine::NativeServer(
                ServerHandshake::with_pinned_random(ring.snapshot(), p, pinned(random)?),
            ),
            (Keys::Client(keys), Profile::Native(p), Role::Client) => Machine::NativeClient(
                ClientHandshake::with_pinned_random(keys.load_full(), p, pinned(random)?),
            ),
            // hh_config_new* never pair keys and settings otherwise.
            _ => return Err(crate::error::HH_ERR_WRONG_PROFILE),
        })
    }
}

impl hh_handshake {
    /// The running machine, or `HH_ERR_FINISHED`.
    fn machine(&self) -> Result<&Machine, i32> {
        match &self.state {
            State::Running(m) => Ok(m),
            _ => Err(HH_ERR_FINISHED),
        }
    }

    fn machine_mut(&mut self) -> Result<&mut Machine, i32> {
        match &mut self.state {
            State::Running(m) => Ok(m),
            _ => Err(HH_ERR_FINISHED),
        }
    }
}

/// A new handshake for `config`, its randomness (challenge, nonce,
/// ephemeral secret: `hh_config_random_len` bytes) drawn from the
/// operating system (getrandom) and wiped from the stack once the machine
/// holds it. `*out` is the new handle: the only allocation of the
/// handshake, whatever its profile. The server's first message is pending
/// at once (`HH_STATUS_SEND`); the client waits for the server's.
///
/// Returns 0, or `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_RNG_FAILED`; `*out` is then untouched.
///
/// # Safety
/// `config` is NULL or a live config; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_new(
    config: *const hh_config,
    out: *mut *mut hh_handshake,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `config`.
        let config = unsafe { ptr::handle(config) }?;
        let mut random = [0u8; hmac_handshake::native::RANDOM_LEN];
        let random = &mut random[..random_len(config)];
        let machine = getrandom::fill(random)
            .map_err(|_| HH_ERR_RNG_FAILED)
            .and_then(|()| Machine::new(config, random));
        random.zeroize();
        let state = State::Running(machine?);
        // SAFETY: the caller's contract on `out`.
        unsafe { ptr::publish(hh_handshake { state }, out) }
    })
}

/// Like `hh_handshake_new`, with the randomness given: `random_len`
/// bytes at `random`, which must be what `hh_config_random_len` gives.
/// **For conformance vectors and tests** that replay a transcript: a
/// challenge or nonce that repeats lets a recorded answer be replayed.
///
/// Returns 0, or `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_RANDOM_LENGTH`, `HH_ERR_INVALID_ARGUMENT` (`random_len` over
/// `PTRDIFF_MAX`); `*out` is then untouched.
///
/// # Safety
/// As `hh_handshake_new`; `random` points to `random_len` bytes during the call.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_new_pinned(
    config: *const hh_config,
    random: *const u8,
    random_len: usize,
    out: *mut *mut hh_handshake,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `config`.
        let config = unsafe { ptr::handle(config) }?;
        // SAFETY: the caller's contract on `random`.
        let random = unsafe { ptr::bytes(random, random_len) }?;
        let state = State::Running(Machine::new(config, random)?);
        // SAFETY: the caller's contract on `out`.
        unsafe { ptr::publish(hh_handshake { state }, out) }
    })
}

/// What the handshake needs next, written to `*status`: `HH_STATUS_*`.
/// Cheap; call it as often as you like.
///
/// Returns 0 while the handshake runs or completed. Once it has failed,
/// the peer error (1 to 63, e.g. `HH_ERR_BAD_TAG`; `hh_is_peer_error`):
/// with `HH_STATUS_SEND` while its failure message (multiprocessing
/// `#FAILURE#`, native `03 01`) is pending (send it if you can, then
/// close), then with `HH_STATUS_FAILED`, and, after `hh_handshake_finish`,
/// with `HH_STATUS_FINISHED` (a finished handshake that succeeded gives 0).
/// `HH_ERR_NULL_POINTER` / `HH_ERR_MISALIGNED`: `*status` untouched.
///
/// # Safety
/// `handshake` is NULL or a live handshake; `status` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_status(
    handshake: *const hh_handshake,
    status: *mut u32,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `handshake`.
        let handshake = unsafe { ptr::handle(handshake) }?;
        let (value, result) = match &handshake.state {
            State::Running(m) => {
                let failure = m.get().failure().map_or(Ok(()), |e| Err(number(e)));
                match m.get().status() {
                    Status::NeedInput => (HH_STATUS_NEED_INPUT, failure),
                    Status::Send(_) => (HH_STATUS_SEND, failure),
                    Status::Done(_) => (HH_STATUS_DONE, failure),
                    Status::Failed(e) => (HH_STATUS_FAILED, Err(number(e))),
                    _ => (HH_STATUS_FAILED, Err(HH_ERR_WRONG_STATE)),
                }
            }
            State::Finished { .. } => (HH_STATUS_FINISHED, Ok(())),
            State::Ended(e) => (HH_STATUS_FINISHED, Err(*e)),
        };
        // SAFETY: the caller's contract on `status`.
        unsafe { ptr::write(status, value) }?;
        result
    })
}

/// Feeds `input_len` bytes read from the peer; `*consumed` is how many
/// were handshake bytes (0 to `input_len`). The rest are the caller's:
/// keep them, and pass them again once the pending output is sent, or hand
/// them to the application at `HH_STATUS_DONE`. Given at least one byte in
/// `HH_STATUS_NEED_INPUT`, it consumes at least one.
///
/// Returns 0; the handshake's peer error if these bytes failed it
/// (`*consumed` still counts the bytes taken, the bad one included; its
/// failure message, if the protocol has one, is then pending:
/// `HH_STATUS_SEND`), or if it had failed before (nothing consumed);
/// `HH_ERR_WRONG_STATE` while the handshake's own output is pending or once
/// it completed (`HH_STATUS_DONE`: the bytes are the application's), nothing
/// consumed; `HH_ERR_FINISHED`; `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`,
/// `HH_ERR_INVALID_ARGUMENT` (`input_len` over `PTRDIFF_MAX`).
/// `*consumed` is written whenever `consumed` is a valid pointer.
///
/// A multiprocessing frame announcing more than 256 bytes fails at once
/// (`HH_ERR_MESSAGE_TOO_LONG`, CPython's `maxlength` in
/// `deliver_challenge`); native messages are at most 162 bytes by their
/// layout.
///
/// # Safety
/// `handshake` is NULL or a live handshake used by no other thread;
/// `input` points to `input_len` bytes during the call; `consumed` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_receive(
    handshake: *mut hh_handshake,
    input: *const u8,
    input_len: usize,
    consumed: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `consumed`.
        unsafe { ptr::write(consumed, 0) }?;
        // SAFETY: the caller's contract on `handshake`.
        let m = unsafe { ptr::handle_mut(handshake) }?
            .machine_mut()?
            .get_mut();
        // SAFETY: the caller's contract on `input`.
        let input = unsafe { ptr::bytes(input, input_len) }?;
        if let Some(e) = m.failure() {
            return Err(number(e));
        }
        if m.status() != Status::NeedInput {
            return Err(HH_ERR_WRONG_STATE);
        }
        let n = m.receive(input);
        // SAFETY: as above.
        unsafe { ptr::write(consumed, n) }?;
        m.failure().map_or(Ok(()), |e| Err(number(e)))
    })
}

/// The bytes to write to the peer: `*data` points to `*len` bytes (1 to
/// 162, one protocol message) inside the handle, valid until the next call
/// that changes the handshake (`receive`, `sent`, `finish`, `free`); NULL
/// and 0 when nothing is pending. Report what was written with
/// `hh_handshake_sent`. A failed handshake may still have its failure
/// message pending (multiprocessing `#FAILURE#`, native `03 01`).
///
/// Returns 0, or `HH_ERR_FINISHED`, `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`.
///
/// # Safety
/// `handshake` is NULL or a live handshake; `data` and `len` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_pending_output(
    handshake: *const hh_handshake,
    data: *mut *const u8,
    len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `data` and `len`.
        unsafe { ptr::write(data, core::ptr::null()) }?;
        // SAFETY: as above.
        unsafe { ptr::write(len, 0) }?;
        // SAFETY: the caller's contract on `handshake`.
        let m = unsafe { ptr::handle(handshake) }?.machine()?.get();
        if let Status::Send(bytes) = m.status() {
            // SAFETY: as above.
            unsafe { ptr::write(data, bytes.as_ptr()) }?;
            // SAFETY: as above.
            unsafe { ptr::write(len, bytes.len()) }?;
        }
        Ok(())
    })
}

/// Reports that the first `n` bytes of the pending output were written to
/// the peer (partial writes are fine; `n` = 0 changes nothing).
///
/// Returns 0, or `HH_ERR_SENT_TOO_MUCH` (`n` over the pending output;
/// nothing changes), `HH_ERR_FINISHED`, `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`.
///
/// # Safety
/// `handshake` is NULL or a live handshake used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_sent(handshake: *mut hh_handshake, n: usize) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `handshake`.
        let m = unsafe { ptr::handle_mut(handshake) }?
            .machine_mut()?
            .get_mut();
        m.sent(n).map_err(number)
    })
}

/// Whether the handshake's own last message is out, so that bytes the
/// application writes now follow it on the stream (`*value` 1), else 0
/// (`Handshake::may_send_application_data`). Whether to send before the
/// peer is verified (`hh_handshake_peer_verified`) is the caller's choice:
/// the recipe's server says 1 once its challenge is out, before it has
/// checked the client's answer, and the native client once its proof is
/// out, before it has checked the server's tag. Send nothing secret before
/// the peer is verified.
///
/// Returns 0, or `HH_ERR_FINISHED`, `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`.
///
/// # Safety
/// `handshake` is NULL or a live handshake; `value` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_may_send_application_data(
    handshake: *const hh_handshake,
    value: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `handshake`.
        let m = unsafe { ptr::handle(handshake) }?.machine()?.get();
        // SAFETY: the caller's contract on `value`.
        unsafe { ptr::write(value, m.may_send_application_data()) }
    })
}

/// Whether this side has verified a MAC the peer made with the shared key
/// (`*value` 1), else 0 (`Handshake::peer_verified`).
///
/// Returns 0, or `HH_ERR_FINISHED`, `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED`.
///
/// # Safety
/// `handshake` is NULL or a live handshake; `value` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_peer_verified(
    handshake: *const hh_handshake,
    value: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `handshake`.
        let m = unsafe { ptr::handle(handshake) }?.machine()?.get();
        // SAFETY: the caller's contract on `value`.
        unsafe { ptr::write(value, m.peer_verified()) }
    })
}

/// Ends a handshake that is over: completed (`HH_STATUS_DONE`) or failed
/// (a failure message still pending is dropped unsent). The machine's
/// nonces and key handle are dropped; on success `*outcome` (when
/// `outcome` is not NULL) gets what it concluded, and is not written
/// otherwise. A native handshake keeps what its session is derived from
/// until `hh_handshake_session` / `hh_handshake_export` or
/// `hh_handshake_free`: free it soon (without forward secrecy, that is
/// the key's PRK).
///
/// Returns 0; the handshake's peer error if it failed; `HH_ERR_NOT_FINISHED`
/// while it runs (nothing changes); `HH_ERR_FINISHED` on a second call.
/// The arguments are checked first, in this order, and then nothing
/// changes: `HH_ERR_NULL_POINTER`, `HH_ERR_MISALIGNED` (of `handshake`,
/// then of `outcome`), `HH_ERR_STRUCT_SIZE`. After a first call, success or
/// not, `hh_handshake_status` gives `HH_STATUS_FINISHED` (returning 0, or
/// the error), the session calls need a successful native handshake (else
/// `HH_ERR_NO_SESSION`), and the other calls but `hh_handshake_free` give
/// `HH_ERR_FINISHED` (their own argument checks come first).
///
/// # Safety
/// `handshake` is NULL or a live handshake used by no other thread;
/// `outcome` is NULL or points to a writable `hh_outcome` whose
/// `struct_size` is set.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_finish(
    handshake: *mut hh_handshake,
    outcome: *mut hh_outcome,
) -> i32 {
    guard(|| {
        // SAFETY: the caller's contract on `handshake`.
        let handshake = unsafe { ptr::handle_mut(handshake) }?;
        if !outcome.is_null() {
            // SAFETY: the caller's contract on `outcome`.
            unsafe { ptr::check_sized_out(outcome) }?;
        }
        let m = handshake.machine()?.get();
        if let Some(e) = m.failure() {
            handshake.state = State::Ended(number(e));
            return Err(number(e));
        }
        if !matches!(m.status(), Status::Done(_)) {
            return Err(HH_ERR_NOT_FINISHED);
        }
        let running = std::mem::replace(&mut handshake.state, State::Ended(HH_ERR_NOT_FINISHED));
        let State::Running(machine) = running else {
            return Err(HH_ERR_FINISHED);
        };
        let finished = match machine.finish() {
            Ok(f) => f,
            Err(e) => {
                handshake.state = State::Ended(number(e));
                return Err(number(e));
            }
        };
        if !outcome.is_null() {
            let value = crate::outcome::outcome(&finished.outcome, finished.has_session());
            // SAFETY: checked by check_sized_out above; the caller's contract.
            unsafe { ptr::write(outcome, value) }?;
        }
        handshake.state = State::Finished {
            seed: finished.has_session().then_some(finished),
            session: None,
        };
        Ok(())
    })
}

/// Frees a handshake (running or not); NULL is ignored. Its nonces, key
/// handle and session secrets are zeroized.
///
/// # Safety
/// `handshake` is NULL or a live handshake not in use, and not used again.
#[no_mangle]
pub unsafe extern "C" fn hh_handshake_free(handshake: *mut hh_handshake) {
    // SAFETY: the caller's contract.
    guard_void(|| unsafe { ptr::free(handshake) });
}

/// The name of a status, a static NUL-terminated string: `"need_input"`,
/// `"send"`, `"done"`, `"failed"`, `"finished"`, or `"unknown"`. Never NULL.
#[no_mangle]
pub extern "C" fn hh_status_name(status: u32) -> *const core::ffi::c_char {
    match status {
        HH_STATUS_NEED_INPUT => c"need_input",
        HH_STATUS_SEND => c"send",
        HH_STATUS_DONE => c"done",
        HH_STATUS_FAILED => c"failed",
        HH_STATUS_FINISHED => c"finished",
        _ => c"unknown",
    }
    .as_ptr()
}
