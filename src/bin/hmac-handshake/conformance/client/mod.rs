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
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
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

/// Native: the variables that give CMD the key id, the context and the
/// server name the tester uses (`--key-id`, `--context`, `--server-name`).
pub const NATIVE_ENV: [&str; 3] = [
    "HMAC_HANDSHAKE_KEY_ID",
    "HMAC_HANDSHAKE_CONTEXT",
    "HMAC_HANDSHAKE_SERVER_NAME",
];

/// `true` when `program` can be started: a path to a file, or a name
/// found in a `PATH` directory.
fn on_path(program: &str) -> bool {
    let program = std::path::Path::new(program);
    if program.components().count() > 1 {
        return program.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

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
        let stderr = child.stderr.take().map(tail);
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
        // Whatever CMD left behind (`sh -c '... &'`) goes with it.
        kill_group(&child);
        let said = self.redact(&said(stderr));
        judge(scripted, status, timeout, &said)
    }

    /// `text` without our key, should CMD print it: its hex, and its bytes
    /// when they are text.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        if let Some(key) = &self.key_env {
            text = text.replace(key.as_str(), "<the key>");
            let hex = &key[HEX_PREFIX.len()..];
            text = text.replace(hex, "<the key>");
        }
        if let Ok(secret) = std::str::from_utf8(&self.ctx.secret) {
            if secret.len() >= 4 {
                text = text.replace(secret, "<the key>");
            }
        }
        text
    }

    /// `n` honest runs of CMD, each recording a value (the client's
    /// challenge or nonce): the values, or the first run's failure.
    pub fn collect<T>(
        &self,
        n: usize,
        run: impl Fn(&mut Link) -> Result<(Expect, String, T), String>,
    ) -> Result<Vec<T>, Outcome> {
        let mut values = Vec::new();
        for i in 0..n {
            let mut value = None;
            let outcome = self.once(|link| {
                let (expect, seen, v) = run(link)?;
                value = Some(v);
                Ok((expect, seen))
            });
            match value {
                Some(v) if outcome.0 == Verdict::Ok => values.push(v),
                _ => return Err(fail(format!("run {} of {n}: {}", i + 1, outcome.1))),
            }
        }
        Ok(values)
    }

    /// Two runs of CMD: `first` is honest and records what a replay needs
    /// (which must pass), `second` replays it.
    pub fn replay<T>(
        &self,
        first: impl FnOnce(&mut Link) -> Result<(Expect, String, T), String>,
        second: impl FnOnce(&mut Link, T) -> Scripted,
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
            .stderr(Stdio::piped())
            // Its own process group, so that what it starts is killed with it.
            .process_group(0);
        if let Some(key) = &self.key_env {
            command.env(KEY_ENV, key.as_str());
        }
        if let Some(native) = &self.ctx.native {
            let values = [
                native.key_id.clone(),
                String::from_utf8_lossy(&native.context).into_owned(),
                String::from_utf8_lossy(&native.server_name).into_owned(),
            ];
            for (name, value) in NATIVE_ENV.iter().zip(values) {
                command.env(name, value);
            }
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

/// Bytes of CMD's stderr kept: the last 64 KiB (the rest is read and
/// dropped, so a chatty CMD never blocks on its pipe).
const STDERR_KEPT: usize = 64 * 1024;

/// Reads CMD's stderr to its end, keeping the last [`STDERR_KEPT`] bytes;
/// the receiver gets them.
fn tail(mut pipe: ChildStderr) -> Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * STDERR_KEPT {
                kept.drain(..kept.len() - STDERR_KEPT);
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

/// Kills CMD's process group (what it left running), quietly: through
/// `kill(1)`, as the crate forbids `unsafe` (and so `libc::kill`).
fn kill_group(child: &Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last line CMD wrote on stderr, for the report (waiting at most a
/// second for the pipe to close).
fn said(stderr: Option<Receiver<Vec<u8>>>) -> String {
    let bytes = stderr
        .and_then(|rx| rx.recv_timeout(Duration::from_secs(1)).ok())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cut: String = l.chars().take(300).collect();
            if cut.len() < l.len() {
                cut.push_str("...");
            }
            format!(" (its stderr: {cut})")
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
    if report.halted() {
        return;
    }
    let id = format!("{}.client.{name}", profile_name(ctx.profile));
    report.add(&id, run());
}

/// Runs every case that applies to `--profile` against `command`.
///
/// # Errors
/// An empty command.
pub fn run(ctx: &Ctx, command: &[String], report: &mut Report) -> Result<(), Failure> {
    if command.is_empty() {
        return Err(Failure::Usage("no command to run after --".into()));
    }
    if !on_path(&command[0]) {
        return Err(Failure::Usage(format!(
            "cannot find the command {:?} (a path, or a name on PATH)",
            command[0]
        )));
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

/// Runs CMD once per script: `ok` with what each saw when all pass, else
/// the first that did not.
pub fn every<S: FnOnce(&mut Link) -> Scripted>(
    runner: &Runner<'_>,
    scripts: impl IntoIterator<Item = S>,
) -> Outcome {
    let mut seen = Vec::new();
    for script in scripts {
        let outcome = runner.once(script);
        if outcome.0 != Verdict::Ok {
            return outcome;
        }
        seen.push(outcome.1);
    }
    ok(seen.join("; "))
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
