//! The signals `serve` handles: SIGINT and SIGTERM stop it cleanly; SIGHUP
//! reloads the keyring (and is otherwise ignored, not fatal).

use std::io;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT and SIGTERM.
pub struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    /// Waits for SIGINT or SIGTERM; returns its name.
    pub async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Installs the handlers (before `listening on` is printed, so that a
/// signal sent right after it is handled, not fatal).
///
/// # Errors
/// The system's, when a handler cannot be installed.
pub fn install() -> io::Result<(Stop, Signal)> {
    let stop = Stop {
        interrupt: signal(SignalKind::interrupt())?,
        terminate: signal(SignalKind::terminate())?,
    };
    Ok((stop, signal(SignalKind::hangup())?))
}

/// Without a keyring to reload: notes each SIGHUP on stderr.
pub async fn ignore_hangups(mut hup: Signal) {
    while hup.recv().await.is_some() {
        say!("SIGHUP: nothing to reload (no --keyring)");
    }
}
