//! `hmac-handshake serve` as the load test and the bench run it: started
//! with a key in its environment, its process id at hand for its memory
//! (`VmRSS`) and for whether it still runs, its stdout drained and tallied
//! (`accepted` / `rejected` lines), killed on drop.

use std::fs;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::mpsc::Receiver;

use crate::child::{spawn_announced, Announced};
use crate::support::cli::{serve_args, BIN, KEY_ENV};
use crate::support::process::KillOnDrop;

/// A running `serve`; killed on drop.
pub struct LoadServer {
    child: KillOnDrop,
    lines: Receiver<String>,
    /// Where it listens (`listening on ADDR`).
    pub addr: SocketAddr,
    tally: Tally,
}

/// What `serve` said about its connections so far.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// `accepted ...` lines.
    pub accepted: usize,
    /// `rejected ...` lines.
    pub rejected: usize,
    /// The reasons of the first few `rejected` lines, for a report.
    pub first_reasons: Vec<String>,
}

/// How many rejection reasons a [`Tally`] keeps.
const REASONS_KEPT: usize = 3;

impl LoadServer {
    /// `serve --profile PROFILE --listen 127.0.0.1:0 EXTRA...` with `key`
    /// in `HMAC_HANDSHAKE_KEY`; returns once it printed its address.
    pub fn start(profile: &str, extra: &[&str], key: &str) -> Result<LoadServer, String> {
        let mut cmd = Command::new(BIN);
        cmd.args(serve_args(profile, extra)).env(KEY_ENV, key);
        let Announced { child, lines, rest } = spawn_announced(&mut cmd, "listening on ")?;
        let addr = rest
            .parse()
            .map_err(|e| format!("listening address {rest:?}: {e}"))?;
        Ok(LoadServer {
            child,
            lines,
            addr,
            tally: Tally::default(),
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Whether the process still runs (it is not reaped here).
    pub fn running(&mut self) -> bool {
        matches!(self.child.0.try_wait(), Ok(None))
    }

    /// Its resident memory (`VmRSS` of `/proc/PID/status`), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Takes in every stdout line printed so far; returns the tally.
    pub fn tally(&mut self) -> &Tally {
        for line in self.lines.try_iter() {
            if line.starts_with("accepted ") {
                self.tally.accepted += 1;
            } else if let Some(rest) = line.strip_prefix("rejected ") {
                self.tally.rejected += 1;
                if self.tally.first_reasons.len() < REASONS_KEPT {
                    let reason = rest.split_once(": ").map_or(rest, |(_, r)| r);
                    self.tally.first_reasons.push(reason.to_string());
                }
            }
        }
        &self.tally
    }
}
