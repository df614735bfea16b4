//! A child process that announces itself on its first stdout line
//! (`listening on ADDR`, `PORT N`): spawned, that line awaited within
//! [`WAIT`], the rest of its stdout left to read, killed on drop.

use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;

use crate::support::process::{self, KillOnDrop, WAIT};

/// A running child that has announced itself.
pub struct Announced {
    pub child: KillOnDrop,
    /// Its stdout lines after the first.
    pub lines: Receiver<String>,
    /// The first line past `announce`.
    pub rest: String,
}

/// Spawns `cmd` (stdin closed, stdout piped, stderr dropped) and waits for
/// a first line that starts with `announce`.
pub fn spawn_announced(cmd: &mut Command, announce: &str) -> Result<Announced, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
    let lines = process::lines(child.stdout.take().expect("piped stdout"));
    let child = KillOnDrop(child);
    let first = lines
        .recv_timeout(WAIT)
        .map_err(|e| format!("{:?} printed no first line: {e}", cmd.get_program()))?;
    let rest = first
        .strip_prefix(announce)
        .ok_or_else(|| format!("first line {first:?}, not {announce:?}..."))?
        .to_string();
    Ok(Announced { child, lines, rest })
}
