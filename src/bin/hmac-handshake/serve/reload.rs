//! `--keyring FILE` reloads: on SIGHUP, and when the file changes (its
//! device, inode, modification time or size, through symlinks, polled every
//! [`POLL`]: an atomic rename and a Kubernetes secret update, which swaps a
//! symlink, both show). A new ring replaces the old whole; handshakes in
//! progress keep the snapshot they took. A file that does not parse, or is
//! not a regular file, is refused on stderr and the old ring stays.
//!
//! The file is read on tokio's blocking pool, within [`READ_LIMIT`], so no
//! runtime worker ever waits on it (a slow or hung file system included).

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmac_handshake::native::Keyring;
use hmac_handshake::native::{SharedKeyring, Suite};
use tokio::signal::unix::Signal;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::out::line;
use crate::keyring;

/// How often the file's metadata is checked.
pub const POLL: Duration = Duration::from_millis(250);

/// Longest wait for one read of the file; past it the reload is refused
/// (the old ring stays) and no other read starts until that one ends.
pub const READ_LIMIT: Duration = Duration::from_secs(5);

/// One read of the file on the blocking pool.
type Read = JoinHandle<Result<Keyring, String>>;

/// What identifies one version of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The file: device, inode, modification time (seconds, nanoseconds)
    /// and size.
    File(u64, u64, i64, i64, u64),
    /// The file cannot be read (missing, a broken symlink): the error kind.
    Unreadable(io::ErrorKind),
}

/// The version of the file at `path` now (following symlinks).
pub fn seen(path: &std::path::Path) -> Seen {
    match std::fs::metadata(path) {
        Ok(m) => Seen::File(m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.size()),
        Err(e) => Seen::Unreadable(e.kind()),
    }
}

/// A keyring file and the ring it feeds.
pub struct Reload {
    /// The file.
    pub path: PathBuf,
    /// The suite its keys are keyed for.
    pub suite: Suite,
    /// The ring handshakes take snapshots of.
    pub ring: Arc<SharedKeyring>,
}

impl Reload {
    /// Watches the file (from `last`, its version before the first load)
    /// and SIGHUP, reloading on each change, until SIGHUP can no longer be
    /// received.
    pub async fn watch(self, mut last: Seen, mut hup: Signal) {
        // A read that outlived READ_LIMIT, still running.
        let mut stuck: Option<Read> = None;
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let now = seen(&self.path);
                    if now != last {
                        last = now;
                        self.reload(&mut stuck).await;
                    }
                }
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    last = seen(&self.path);
                    self.reload(&mut stuck).await;
                }
            }
        }
    }

    /// Loads the file and makes it the ring, or says why not and keeps the
    /// old one. `stuck` holds a read that outlived [`READ_LIMIT`]: while it
    /// runs, no other starts.
    async fn reload(&self, stuck: &mut Option<Read>) {
        match self.read(stuck).await {
            Ok(ring) => {
                let n = ring.len();
                self.ring.replace(ring);
                line(&format!(
                    "reloaded keyring {}: {n} keys",
                    self.path.display()
                ));
            }
            // `why` names the file (and the line at fault).
            Err(why) => say!(
                "error: keyring reload refused, keeping the previous {} keys: {why}",
                self.ring.snapshot().len()
            ),
        }
    }

    /// Reads and parses the file on the blocking pool, within
    /// [`READ_LIMIT`].
    async fn read(&self, stuck: &mut Option<Read>) -> Result<Keyring, String> {
        let path = self.path.display();
        if stuck.as_ref().is_some_and(|read| !read.is_finished()) {
            return Err(format!(
                "an earlier read of keyring {path} has not ended yet"
            ));
        }
        let (file, suite) = (self.path.clone(), self.suite);
        let mut read = tokio::task::spawn_blocking(move || keyring::load(&file, suite));
        match tokio::time::timeout(READ_LIMIT, &mut read).await {
            Ok(joined) => {
                *stuck = None;
                joined.unwrap_or_else(|e| Err(format!("the read of keyring {path} failed: {e}")))
            }
            Err(_) => {
                *stuck = Some(read);
                Err(format!(
                    "reading keyring {path} took over {}s",
                    READ_LIMIT.as_secs_f64()
                ))
            }
        }
    }
}
