//! `hmac-handshake`: an authenticated echo server and client over TCP or
//! Unix sockets, in the recipe, CPython multiprocessing or native profile,
//! and a key generator (feature `cli`).

#![forbid(unsafe_code)]

mod args;
mod connect;
mod failure;
mod key;
mod keygen;
mod keyring;
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
