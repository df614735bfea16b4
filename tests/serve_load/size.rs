//! How big the load test runs (full, or reduced for CI), and the open-file
//! limit that size needs.

use std::env;

/// Picks a size whatever `CI` says: `full` or `ci`.
pub const SIZE_ENV: &str = "HMAC_HANDSHAKE_LOAD";

/// Descriptors beyond the sockets: pipes, the binary, the interpreters.
const SPARE_FILES: u64 = 256;

/// One size of the load test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub name: &'static str,
    /// Connections that send nothing.
    pub idle: usize,
    /// Connections that send a byte a second.
    pub drippers: usize,
    /// Good Rust clients.
    pub rust: usize,
    /// CPython processes of good clients.
    pub py_procs: usize,
    /// Good clients per CPython process.
    pub py_each: usize,
}

/// The figures.
pub const FULL: Size = Size {
    name: "full",
    idle: 5_000,
    drippers: 100,
    rust: 100,
    py_procs: 4,
    py_each: 25,
};

/// Small enough for CI's time.
pub const REDUCED: Size = Size {
    name: "ci",
    idle: 1_000,
    drippers: 20,
    rust: 26,
    py_procs: 2,
    py_each: 12,
};

impl Size {
    /// [`SIZE_ENV`] if set, else [`REDUCED`] under `CI=true`, else [`FULL`].
    pub fn chosen() -> Size {
        match env::var(SIZE_ENV).as_deref() {
            Ok("full") => FULL,
            Ok("ci") => REDUCED,
            Ok(other) => panic!("{SIZE_ENV}={other:?}: use full or ci"),
            Err(_) if env::var("CI").is_ok_and(|v| v == "true") => REDUCED,
            Err(_) => FULL,
        }
    }

    /// Good clients in all.
    pub fn good(&self) -> usize {
        self.rust + self.py_procs * self.py_each
    }

    /// Open files one process needs: every connection has an end in this
    /// process and one in the server.
    pub fn open_files(&self) -> u64 {
        (self.idle + self.drippers + self.good()) as u64 + SPARE_FILES
    }

    /// Raises this process's soft open-file limit to [`Size::open_files`]
    /// (children inherit it). `false`, after printing why the test is
    /// skipped, when the hard limit is lower.
    pub fn raise_open_file_limit(&self) -> bool {
        let need = self.open_files();
        match rlimit::increase_nofile_limit(need) {
            Ok(got) if got >= need => true,
            Ok(got) => {
                println!(
                    "serve_load: skipped: {need} open files needed, the hard limit allows {got} \
                     (raise it, or {SIZE_ENV}=ci)"
                );
                false
            }
            Err(e) => {
                println!("serve_load: skipped: cannot raise the open-file limit: {e}");
                false
            }
        }
    }
}
