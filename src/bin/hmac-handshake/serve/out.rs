//! The server's stdout line protocol: one whole line per event, in order,
//! written by one thread of its own.
//!
//! Connections never write to stdout themselves: [`line`] puts the line in
//! a bounded queue ([`QUEUE`] lines) and returns at once, so a stdout that
//! is not read (a full pipe) holds up only the writer thread, never a
//! runtime worker. When the queue is full the line is dropped and counted;
//! the next line that gets in is preceded by `dropped N log lines (stdout
//! was not keeping up)`. [`flush`] waits, within a limit, for every line
//! queued so far to be written.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// Lines the queue holds before new ones are dropped.
pub const QUEUE: usize = 4096;

/// How often [`flush`] tries again to queue its marker while the queue is
/// full.
const RETRY: Duration = Duration::from_millis(5);

/// The server's log, once [`start`] has run.
static LOG: OnceLock<Log> = OnceLock::new();

/// A queue of lines and its writer thread.
pub struct Log {
    queue: SyncSender<Message>,
    /// Lines dropped since the last one queued.
    dropped: AtomicU64,
}

/// What the writer thread is sent.
enum Message {
    /// A line, after a notice of the lines dropped before it (if any).
    Line { dropped: u64, text: String },
    /// Written once every message before it is: answered on `done`.
    Flush { dropped: u64, done: SyncSender<()> },
}

/// Starts the writer thread of stdout; from then on [`line`] queues.
///
/// # Errors
/// The system's, when the thread cannot be started.
pub fn start() -> io::Result<()> {
    let log = Log::spawn(QUEUE, io::stdout())?;
    // Started once, by `serve` (a second log would be unused).
    let _ = LOG.set(log);
    Ok(())
}

/// Writes one whole line on stdout: queued once [`start`] has run (or
/// dropped and counted, when the queue is full), written at once before.
/// Errors are ignored: a closed stdout must not stop the server.
pub fn line(text: &str) {
    match LOG.get() {
        Some(log) => log.line(text),
        None => {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Waits until every line queued so far is written and flushed, for at
/// most `within`; `false` when that did not happen in time.
pub fn flush(within: Duration) -> bool {
    LOG.get().is_none_or(|log| log.flush(within))
}

impl Log {
    /// A log of at most `capacity` queued lines, written to `sink` by a
    /// thread of its own.
    fn spawn(capacity: usize, sink: impl Write + Send + 'static) -> io::Result<Log> {
        let (queue, lines) = mpsc::sync_channel(capacity);
        thread::Builder::new()
            .name("stdout".into())
            .spawn(move || write_lines(&lines, sink))?;
        Ok(Log {
            queue,
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues `text`, or drops and counts it when the queue is full.
    fn line(&self, text: &str) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        let message = Message::Line {
            dropped,
            text: text.to_owned(),
        };
        if self.queue.try_send(message).is_err() {
            self.dropped.fetch_add(dropped + 1, Ordering::Relaxed);
        }
    }

    /// See [`flush`].
    fn flush(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let (done, written) = mpsc::sync_channel(1);
        let mut message = Message::Flush {
            dropped: self.dropped.swap(0, Ordering::Relaxed),
            done,
        };
        loop {
            match self.queue.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    message = back;
                    thread::sleep(RETRY);
                }
                Err(TrySendError::Full(back) | TrySendError::Disconnected(back)) => {
                    if let Message::Flush { dropped, .. } = back {
                        self.dropped.fetch_add(dropped, Ordering::Relaxed);
                    }
                    return false;
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        written.recv_timeout(left).is_ok()
    }
}

/// The writer thread: writes each message as it comes, flushing whenever
/// the queue is empty (one write for a burst of lines), until every
/// sender is gone.
fn write_lines(lines: &Receiver<Message>, sink: impl Write) {
    let mut out = BufWriter::new(sink);
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            write_one(&mut out, message);
            next = lines.try_recv().ok();
        }
        let _ = out.flush();
    }
}

/// Writes one message (errors ignored, as in [`line`]).
fn write_one(out: &mut impl Write, message: Message) {
    let dropped = match &message {
        Message::Line { dropped, .. } | Message::Flush { dropped, .. } => *dropped,
    };
    if dropped > 0 {
        let _ = writeln!(
            out,
            "dropped {dropped} log lines (stdout was not keeping up)"
        );
    }
    match message {
        Message::Line { text, .. } => {
            let _ = writeln!(out, "{text}");
        }
        Message::Flush { done, .. } => {
            let _ = out.flush();
            let _ = done.try_send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::mpsc::{self, Receiver, Sender};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::Log;

    /// A sink whose first write waits for a go, saying when it started.
    struct Stuck {
        started: Sender<()>,
        go: Option<Receiver<()>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(go) = self.go.take() {
                let _ = self.started.send(());
                let _ = go.recv();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A log of `capacity` lines whose sink is [`Stuck`]: its first write
    /// is said on `entered` and returns once `release` is sent to.
    struct Setup {
        log: Log,
        entered: Receiver<()>,
        release: Sender<()>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Setup {
        fn new(capacity: usize) -> Setup {
            let (started, entered) = mpsc::channel();
            let (release, go) = mpsc::channel();
            let written = Arc::new(Mutex::new(Vec::new()));
            let sink = Stuck {
                started,
                go: Some(go),
                written: Arc::clone(&written),
            };
            let log = Log::spawn(capacity, sink).unwrap();
            Setup {
                log,
                entered,
                release,
                written,
            }
        }

        /// Waits until the writer is in its first write.
        fn stuck(&self) {
            self.entered.recv_timeout(Duration::from_secs(5)).unwrap();
        }

        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn a_full_queue_drops_lines_counts_them_and_keeps_the_order() {
        let s = Setup::new(4);
        s.log.line("line 0");
        // The writer holds line 0 in a write that does not return yet.
        s.stuck();
        for i in 1..10 {
            s.log.line(&format!("line {i}"));
        }
        // Lines 1 to 4 are queued, 5 to 9 dropped (and not blocked on).
        s.release.send(()).unwrap();
        assert!(s.log.flush(Duration::from_secs(5)));
        s.log.line("line 10");
        assert!(s.log.flush(Duration::from_secs(5)));
        assert_eq!(
            s.text(),
            "line 0\nline 1\nline 2\nline 3\nline 4\n\
             dropped 5 log lines (stdout was not keeping up)\nline 10\n"
        );
    }

    #[test]
    fn a_flush_that_cannot_get_in_gives_up_at_its_limit() {
        let s = Setup::new(1);
        s.log.line("a");
        s.stuck();
        s.log.line("b");
        assert!(!s.log.flush(Duration::from_millis(50)));
        s.release.send(()).unwrap();
        assert!(s.log.flush(Duration::from_secs(5)));
        assert_eq!(s.text(), "a\nb\n");
    }
}
