//! `conformance server ADDR`: the tester plays many clients, honest and
//! hostile, one connection after another, and judges the server.

mod multiprocessing;
mod native;
mod recipe;

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::link::Link;
use super::report::{fail, Outcome, Report};
use super::{profile_name, Ctx};
use crate::failure::Failure;
use crate::profile::ProfileName;

/// The pause where a protocol gives no answer to wait for (after the
/// recipe's tag, after multiprocessing's `#WELCOME#`), so that an honest
/// case does not pipeline by accident.
pub const PAUSE: Duration = Duration::from_millis(50);

/// Connections of a freshness case: at least 8, as the issue asks.
pub const FRESH_CONNECTIONS: usize = 8;

/// The server under test.
pub struct Target {
    addr: SocketAddr,
    timeout: Duration,
}

impl Target {
    /// A new connection to the server.
    ///
    /// # Errors
    /// Why it could not connect.
    pub fn connect(&self) -> Result<Link, String> {
        TcpStream::connect_timeout(&self.addr, self.timeout)
            .map(|stream| Link::new(stream, self.timeout))
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr))
    }
}

/// A case: a `Result` whose error is a `FAIL` with its text.
pub type Step = Result<Outcome, String>;

/// Runs case `name` of the profile and records it.
pub fn case(report: &mut Report, ctx: &Ctx, name: &str, run: impl FnOnce() -> Step) {
    if report.halted() {
        return;
    }
    let id = format!("{}.server.{name}", profile_name(ctx.profile));
    report.add(&id, run().unwrap_or_else(fail));
}

/// Runs every case that applies to `--profile` against the server at
/// `addr` (TCP).
///
/// # Errors
/// An address that does not parse or resolve; a legacy multiprocessing
/// server without `--allow-md5`.
pub fn run(ctx: &Ctx, addr: &str, report: &mut Report) -> Result<(), Failure> {
    let addr = addr
        .to_socket_addrs()
        .map_err(|e| Failure::Usage(format!("ADDR {addr}: {e} (HOST:PORT, e.g. 127.0.0.1:7000)")))?
        .next()
        .ok_or_else(|| format!("{addr} resolves to no address"))?;
    let target = Target {
        addr,
        timeout: ctx.timeout,
    };
    // A server that is not there fails every case alike: one error.
    drop(target.connect()?);
    match ctx.profile {
        ProfileName::Recipe => recipe::run(ctx, &target, report),
        ProfileName::Multiprocessing => multiprocessing::run(ctx, &target, report)?,
        ProfileName::Native => native::run(ctx, &target, report),
    }
    Ok(())
}

/// A replay case's `ok`: what the server did, noting a repeated challenge
/// (which the freshness case judges).
pub fn replayed(seen: String, repeated: bool) -> Outcome {
    super::report::ok(if repeated {
        format!("{seen} (although the challenge repeated)")
    } else {
        seen
    })
}
