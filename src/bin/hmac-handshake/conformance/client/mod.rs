//! `conformance client -- CMD [ARGS...]`: for each case the tester
//! listens on a fresh 127.0.0.1 port, starts CMD once (twice for a replay)
//! with the address, key and message in its environment, plays an honest
//! or a hostile server to it, and judges it by what it sent and how it
//! exited.

mod multiprocessing;
mod native;
mod recipe;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::link::Link;
use super::report::{fail, ok, Outcome, Report, Verdict};
use super::{profile_name, Ctx, MESSAGE};
use crate::failure::Failure;
use crate::key::{HEX_PREFIX, KEY_ENV};
use crate::profile::ProfileName;

/// The variable that gives CMD the address to connect to, `HOST:PORT`.
pub const ADDR_ENV: &str = "HMAC_HANDSHAKE_ADDR";

/// The variable that gives CMD the message to send once authenticated.
pub const MESSAGE_ENV: &str = "HMAC_HANDSHAKE_MESSAGE";

/// How often the tester looks whether CMD connected or exited.
const POLL: Duration = Duration::from_millis(5);

/// What a case's server side concluded, for the exit status to confirm.
pub enum Expect {
    /// An honest run: CMD must exit 0.
    Success,
    /// A hostile run: CMD must exit non-zero. `hang` is the verdict when
    /// it has not exited within the timeout after the tester closed.
    Failure {
        /// The verdict on a CMD still running.
        hang: Verdict,
    },
}

/// What a script returns: the expectation and what it saw, or a `FAIL`.
pub type Scripted = Result<(Expect, String), String>;

/// Runs CMD for each case of `--profile`.
pub struct Runner<'a> {
    ctx: &'a Ctx,
    command: &'a [String],
    /// `hex:HEX` of the key, for CMD's [`KEY_ENV`].
    key_env: Option<zeroize::Zeroizing<String>>,
}

impl Runner<'_> {
    /// One run of CMD against `script`.
    pub fn once(&self, script: impl FnOnce(&mut Link) -> Scripted) -> Outcome {
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on 127.0.0.1: {e}")),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a.to_string(),
            Err(e) => return fail(format!("cannot read the listening address: {e}")),
        };
        let mut child = match self.spawn(&addr) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = pipe.by_ref().take(64 * 1024).read_to_end(&mut text);
                String::from_utf8_lossy(&text).into_owned()
            })
        });
        let timeout = self.ctx.timeout;
        let scripted = match accept(&listener, &mut child, timeout) {
            Ok(stream) => {
                let mut link = Link::new(stream, timeout);
                let scripted = script(&mut link);
                drop(link);
                scripted
            }
            Err(e) => Err(e),
        };
        let status = wait(&mut child, timeout);
        let said = said(stderr);
        judge(scripted, status, timeout, &said)
    }

    /// Two runs of CMD: `first` is honest and records a message of ours
    /// (which must pass), `second` replays it.
    pub fn replay(
        &self,
        first: impl FnOnce(&mut Link) -> Result<(Expect, String, Vec<u8>), String>,
        second: impl FnOnce(&mut Link, Vec<u8>) -> Scripted,
    ) -> Outcome {
        let mut recorded = None;
        let first_run = self.once(|link| {
            let (expect, seen, message) = first(link)?;
            recorded = Some(message);
            Ok((expect, seen))
        });
        match recorded {
            Some(old) if first_run.0 == Verdict::Ok => self.once(|link| second(link, old)),
            _ => fail(format!("the first, honest run: {}", first_run.1)),
        }
    }

    fn spawn(&self, addr: &str) -> Result<Child, String> {
        let message = String::from_utf8_lossy(MESSAGE).into_owned();
        let args: Vec<String> = self.command[1..]
            .iter()
            .map(|a| a.replace("{addr}", addr).replace("{message}", &message))
            .collect();
        let mut command = Command::new(&self.command[0]);
        command
            .args(&args)
            .env(ADDR_ENV, addr)
            .env(MESSAGE_ENV, &message)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(key) = &self.key_env {
            command.env(KEY_ENV, key.as_str());
        }
        command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.command[0]))
    }
}

/// The client's connection, within `timeout`.
fn accept(
    listener: &TcpListener,
    child: &mut Child,
    timeout: Duration,
) -> Result<std::net::TcpStream, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot set the socket mode: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(|e| format!("cannot set the socket mode: {e}"))?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("cannot accept: {e}")),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "the client exited {} without connecting",
                exit_text(status)
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the client did not connect within {:.1} s",
                timeout.as_secs_f64()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// CMD's exit status, or `None` when it was still running `timeout` after
/// the connection closed (it is then killed).
fn wait(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// The last line CMD wrote on stderr, for the report.
fn said(stderr: Option<JoinHandle<String>>) -> String {
    let text = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| {
            let l: String = l.chars().take(160).collect();
            format!(" (its stderr: {l})")
        })
        .unwrap_or_default()
}

/// The case's verdict from the script and CMD's exit.
fn judge(scripted: Scripted, status: Option<ExitStatus>, timeout: Duration, said: &str) -> Outcome {
    let secs = timeout.as_secs_f64();
    match (scripted, status) {
        (Err(why), _) => fail(format!("{why}{said}")),
        (Ok((Expect::Success, seen)), Some(s)) if s.success() => ok(format!("{seen}; it exited 0")),
        (Ok((Expect::Success, seen)), Some(s)) => {
            fail(format!("{seen}; but it exited {}{said}", exit_text(s)))
        }
        (Ok((Expect::Success, seen)), None) => {
            fail(format!("{seen}; but it did not exit within {secs:.1} s"))
        }
        (Ok((Expect::Failure { .. }, seen)), Some(s)) if s.success() => fail(format!(
            "{seen}; but it exited 0: it took the connection as authenticated"
        )),
        (Ok((Expect::Failure { .. }, seen)), Some(s)) => {
            ok(format!("{seen}; it exited {}", exit_text(s)))
        }
        (Ok((Expect::Failure { hang }, seen)), None) => (
            hang,
            format!("{seen}; it did not exit within {secs:.1} s after that (killed)"),
        ),
    }
}

/// `1`, or `on signal 9`.
fn exit_text(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("on signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// Runs case `name` and records it.
pub fn case(report: &mut Report, ctx: &Ctx, name: &str, run: impl FnOnce() -> Outcome) {
    let id = format!("{}.client.{name}", profile_name(ctx.profile));
    report.add(&id, run());
}

/// Runs every case that applies to `--profile` against `command`.
///
/// # Errors
/// An empty command.
pub fn run(ctx: &Ctx, command: &[String], report: &mut Report) -> Result<(), Failure> {
    if command.is_empty() {
        return Err(Failure::Other("no command to run after --".into()));
    }
    // Always in hex, so that CMD gets the tester's key whether it came
    // from --key-file or from the variable (text or hex).
    let key_env = Some(zeroize::Zeroizing::new(format!(
        "{HEX_PREFIX}{}",
        hex::encode(&ctx.secret[..])
    )));
    let runner = Runner {
        ctx,
        command,
        key_env,
    };
    match ctx.profile {
        ProfileName::Recipe => recipe::run(ctx, &runner, report),
        ProfileName::Multiprocessing => multiprocessing::run(ctx, &runner, report),
        ProfileName::Native => native::run(ctx, &runner, report),
    }
    Ok(())
}

/// What a hostile case's server saw after its last bytes: nothing may
/// come from the client (`Ok` with how it ended), or `Err` naming it.
pub fn silent_after(link: &mut Link, after: &str) -> Scripted {
    let (got, end) = link.drain(4096);
    if got.is_empty() {
        Ok((
            Expect::Failure {
                hang: Verdict::Warn,
            },
            format!("sent nothing after {after}: it {}", end.describe()),
        ))
    } else {
        Err(format!(
            "went on after {after}: it sent {}",
            super::link::show(&got)
        ))
    }
}
