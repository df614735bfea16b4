//! `--keyring FILE` reloads: on SIGHUP, and when the file changes (its
//! device, inode, modification time or size, through symlinks, polled every
//! [`POLL`]: an atomic rename and a Kubernetes secret update, which swaps a
//! symlink, both show). A new ring replaces the old whole; handshakes in
//! progress keep the snapshot they took. A file that does not parse is
//! refused on stderr and the old ring stays.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmac_handshake::native::{SharedKeyring, Suite};
use tokio::signal::unix::Signal;
use tokio::time::MissedTickBehavior;

use super::out::line;
use crate::keyring;

/// How often the file's metadata is checked.
pub const POLL: Duration = Duration::from_millis(250);

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
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let now = seen(&self.path);
                    if now != last {
                        last = now;
                        self.reload();
                    }
                }
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    last = seen(&self.path);
                    self.reload();
                }
            }
        }
    }

    /// Loads the file and makes it the ring, or says why not and keeps the
    /// old one.
    fn reload(&self) {
        match keyring::load(&self.path, self.suite) {
            Ok(ring) => {
                let n = ring.len();
                self.ring.replace(ring);
                line(&format!(
                    "reloaded keyring {}: {n} keys",
                    self.path.display()
                ));
            }
            // `why` names the file (and the line at fault).
            Err(why) => eprintln!(
                "error: keyring reload refused, keeping the previous {} keys: {why}",
                self.ring.snapshot().len()
            ),
        }
    }
}
