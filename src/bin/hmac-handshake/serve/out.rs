//! The server's stdout line protocol: one whole line per event, flushed.

use std::io::{self, Write};

/// Writes one whole line on stdout and flushes it (errors are ignored: a
/// closed stdout must not stop the server).
pub fn line(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}
