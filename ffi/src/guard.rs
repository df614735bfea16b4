//! No panic crosses the C boundary: every call runs under `catch_unwind`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::HH_ERR_PANIC;

/// Runs `body`; its error number, 0 (`HH_OK`) on success, or
/// `HH_ERR_PANIC` if it panicked. A panic is a bug of this crate: the
/// handle it ran on is left in a state safe Rust built (no memory is
/// corrupt), and may be freed.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), i32>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(code)) => code,
        Err(_) => HH_ERR_PANIC,
    }
}

/// `guard` for the calls that return nothing (the `free` functions).
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_number() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let code = guard(|| panic!("a bug"));
        guard_void(|| panic!("a bug in free"));
        std::panic::set_hook(prev);
        assert_eq!(code, HH_ERR_PANIC);
        assert_eq!(guard(|| Ok(())), 0);
        assert_eq!(guard(|| Err(7)), 7);
    }
}
