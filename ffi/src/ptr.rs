//! The caller's pointers, checked before use: every `unsafe` of the crate
//! is here. What can be checked is (NULL, alignment, `struct_size`,
//! lengths over `isize::MAX`); what cannot (that a pointer points to as
//! many live bytes as its length says, that a handle is one this library
//! made and has not freed) is each C function's `# Safety` contract.

use core::mem::size_of;

use crate::error::{
    HH_ERR_INVALID_ARGUMENT, HH_ERR_MISALIGNED, HH_ERR_NULL_POINTER, HH_ERR_STRUCT_SIZE,
};

/// NULL, or not aligned for `T`.
fn check<T>(ptr: *const T) -> Result<(), i32> {
    if ptr.is_null() {
        Err(HH_ERR_NULL_POINTER)
    } else if !ptr.is_aligned() {
        Err(HH_ERR_MISALIGNED)
    } else {
        Ok(())
    }
}

/// `len` bytes at `ptr`; `ptr` may be NULL (or dangling) when `len` is 0.
///
/// # Safety
/// Unless `len` is 0, `ptr` points to `len` initialized bytes that stay
/// valid and unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], i32> {
    if len == 0 {
        return Ok(&[]);
    }
    check(ptr)?;
    if len > isize::MAX as usize {
        return Err(HH_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: `ptr` is non-NULL (checked), `u8` needs no alignment, `len`
    // is at most isize::MAX (checked), and the caller guarantees `len`
    // initialized bytes that live and stay unchanged for 'a.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable bytes at `ptr`; `ptr` may be NULL when `len` is 0.
///
/// # Safety
/// Unless `len` is 0, `ptr` points to `len` writable bytes that nothing
/// else reads or writes during `'a`.
pub(crate) unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], i32> {
    if len == 0 {
        return Ok(&mut []);
    }
    check(ptr)?;
    if len > isize::MAX as usize {
        return Err(HH_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL and at most isize::MAX bytes (checked); the caller
    // guarantees `len` writable bytes used by nobody else during 'a (any
    // byte value is a valid `u8`, so uninitialized C memory is fine to
    // write, and we never read it before writing).
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// A struct the caller passes in, whose first field is `size_t struct_size`.
///
/// # Safety
/// Unless NULL, `ptr` points to at least a readable, initialized `size_t`;
/// when that value equals `sizeof(T)`, to a whole initialized `T` that
/// stays valid and unchanged for `'a`. `T` is a `repr(C)` struct whose
/// first field is a `usize` and every bit pattern of whose fields is valid
/// (integers and raw pointers only).
pub(crate) unsafe fn sized<'a, T>(ptr: *const T) -> Result<&'a T, i32> {
    check(ptr)?;
    // SAFETY: non-NULL and aligned for T (checked), hence for its first
    // field, a usize; the caller guarantees that usize is readable.
    let size = unsafe { ptr.cast::<usize>().read() };
    if size != size_of::<T>() {
        return Err(HH_ERR_STRUCT_SIZE);
    }
    // SAFETY: the caller says the struct is `size` = size_of::<T>() bytes
    // and initialized, and every bit pattern of T's fields is valid.
    Ok(unsafe { &*ptr })
}

/// `count` structs the caller passes in, each with `struct_size` first.
///
/// # Safety
/// Unless `count` is 0, `ptr` points to `count` consecutive `T`s (as
/// `sized` asks of each) that stay valid and unchanged for `'a`.
pub(crate) unsafe fn sized_array<'a, T>(ptr: *const T, count: usize) -> Result<&'a [T], i32> {
    if count == 0 {
        return Ok(&[]);
    }
    check(ptr)?;
    if count > isize::MAX as usize / size_of::<T>() {
        return Err(HH_ERR_INVALID_ARGUMENT);
    }
    for i in 0..count {
        // SAFETY: `i < count` and the caller guarantees `count` elements, so
        // `ptr.add(i)` stays inside them; each is checked by `sized` under
        // the same contract.
        unsafe { sized(ptr.add(i)) }?;
    }
    // SAFETY: non-NULL, aligned, count * size_of::<T>() <= isize::MAX
    // (checked), every element's struct_size checked above, and the caller
    // guarantees `count` initialized elements valid for 'a.
    Ok(unsafe { core::slice::from_raw_parts(ptr, count) })
}

/// Checks an output struct the caller passes in, whose first field is
/// `size_t struct_size`, before `write` fills it.
///
/// # Safety
/// Unless NULL, `ptr` points to at least a readable, initialized `size_t`,
/// and to a writable `T` when that value equals `sizeof(T)`.
pub(crate) unsafe fn check_sized_out<T>(ptr: *mut T) -> Result<(), i32> {
    check(ptr.cast_const())?;
    // SAFETY: non-NULL and aligned (checked); the caller guarantees the
    // first size_t is readable and initialized.
    let size = unsafe { ptr.cast::<usize>().read() };
    if size == size_of::<T>() {
        Ok(())
    } else {
        Err(HH_ERR_STRUCT_SIZE)
    }
}

/// Writes `value` through an output pointer of the caller's (a `size_t *`,
/// a `hh_config **`, or a struct `check_sized_out` accepted).
///
/// # Safety
/// Unless NULL, `ptr` points to a writable `T` that nothing else reads or
/// writes during the call. Its old contents are not read nor dropped.
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) -> Result<(), i32> {
    check(ptr.cast_const())?;
    // SAFETY: non-NULL and aligned (checked), writable (the caller's
    // contract); `write` neither reads nor drops what was there, so
    // uninitialized C memory is fine.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Zeros over the whole `T` at `ptr`, but its first `size_t` (its
/// `struct_size`), with volatile writes the compiler keeps.
///
/// # Safety
/// `ptr` is non-NULL, aligned and points to a writable `T` that starts with
/// a `usize`, used by nobody else during the call.
pub(crate) unsafe fn wipe<T>(ptr: *mut T) {
    let start = size_of::<usize>();
    // SAFETY: the caller's contract: `size_of::<T>()` writable bytes at
    // `ptr`, of which we take those after the first usize.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(ptr.cast::<u8>().add(start), size_of::<T>() - start)
    };
    zeroize::Zeroize::zeroize(bytes);
}

/// A new handle: `value` moved to the heap, owned by the C caller until it
/// is given back to `free`.
fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Hands `value` to the caller as a new handle written to `*out`; on an
/// unusable `out` (NULL, misaligned) the handle is freed again and `*out`
/// is untouched.
///
/// # Safety
/// Unless NULL, `out` points to a writable pointer, as `write` asks.
pub(crate) unsafe fn publish<T>(value: T, out: *mut *mut T) -> Result<(), i32> {
    let handle = into_handle(value);
    // SAFETY: the caller's contract on `out`.
    let written = unsafe { write(out, handle) };
    if written.is_err() {
        // SAFETY: `handle` was made just above and never given out.
        unsafe { free(handle) };
    }
    written
}

/// The object behind a handle, shared.
///
/// # Safety
/// Unless NULL, `ptr` is a handle `into_handle` made for a `T`, not yet
/// freed, and no call mutates it during `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T) -> Result<&'a T, i32> {
    check(ptr)?;
    // SAFETY: a live Box<T> allocation (the caller's contract), aligned and
    // non-NULL (checked), not mutated during 'a.
    Ok(unsafe { &*ptr })
}

/// The object behind a handle, for this call alone.
///
/// # Safety
/// Unless NULL, `ptr` is a handle `into_handle` made for a `T`, not yet
/// freed, and used by no other call (or thread) during `'a`.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, i32> {
    check(ptr.cast_const())?;
    // SAFETY: a live Box<T> allocation used by nobody else during 'a (the
    // caller's contract), aligned and non-NULL (checked).
    Ok(unsafe { &mut *ptr })
}

/// Drops a handle; NULL (or a misaligned pointer) is ignored.
///
/// # Safety
/// Unless NULL, `ptr` is a handle `into_handle` made for a `T`, not yet
/// freed and not in use; it is invalid afterwards.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    // A misaligned pointer is no handle of ours: leave it alone.
    if check(ptr.cast_const()).is_ok() {
        // SAFETY: a live Box<T> from into_handle, given back once (the
        // caller's contract).
        drop(unsafe { Box::from_raw(ptr) });
    }
}
