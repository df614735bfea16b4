#![forbid(unsafe_code)]
//! `hmac-handshake serve` under measurement (issue 8, item 4): the Nagle
//! figure (CPython 3.13 `Client` against `serve` and against CPython's own
//! `Listener`) and handshakes per second at 1, 100 and 1,000 concurrent
//! Rust clients, multiprocessing and native. Prints markdown tables and the
//! command to reproduce; about a minute in all.
//!
//! `cargo bench --all-features --bench serve`
//!
//! CPython 3.13 is found as by the interop tests (`PYENV_ROOT`, else
//! `/root/.pyenv/versions`, else `PATH`); without it the Nagle table is
//! skipped, saying so.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/interop/python.rs"]
#[allow(dead_code)]
mod python;

#[path = "../tests/serve_load/child.rs"]
mod child;
#[path = "serve/nagle.rs"]
mod nagle;
#[path = "../tests/serve_load/py_clients.rs"]
mod py_clients;
#[path = "../tests/serve_load/server.rs"]
mod server;
#[path = "../tests/serve_load/stats.rs"]
mod stats;
#[path = "serve/throughput.rs"]
mod throughput;

/// The shared key (32 bytes: the native profile needs 16 or more).
const KEY: &str = "bench serve: a 32-byte key here!";

/// The command that runs this bench.
const COMMAND: &str = "cargo bench --all-features --bench serve";

fn main() {
    println!("# serve bench ({COMMAND})");
    println!("binary: {}", support::cli::BIN);
    match python::pythons("serve bench")
        .and_then(|all| all.iter().find(|p| p.version.0 == 3 && p.version.1 == 13))
    {
        Some(py) => nagle::run(py, KEY),
        None => println!("\nNagle figure: skipped: no CPython 3.13 found"),
    }
    throughput::run(KEY);
    println!("\nreproduce: {COMMAND}");
}
