//! `hmac-handshake`: an authenticated echo server and client over TCP or
//! Unix sockets, in the recipe, CPython multiprocessing or native profile,
//! and a key generator (feature `cli`).

#![forbid(unsafe_code)]

/// `eprintln!` that never panics: when a write to stderr fails (a pipe
/// whose reader went away, `2>/dev/full`) the line is dropped and the
/// command goes on to its own exit status, where `eprintln!` panics (exit
/// 101).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod conformance;
mod connect;
mod failure;
mod key;
mod keygen;
mod keyring;
mod probe;
mod profile;
mod secret_file;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::start(&args),
        Command::Connect(args) => connect::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Probe(args) => probe::run(&args),
        Command::Conformance(args) => conformance::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
