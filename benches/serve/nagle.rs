//! The Nagle figure (issue 8, item 4): what one CPython 3.13 `Client`
//! doing connect + authenticate + a 5-byte echo + close costs against
//! `serve --profile multiprocessing`, and beside it against CPython's own
//! `multiprocessing.connection.Listener`, with the client unchanged and, as
//! a reference, with TCP_NODELAY set on the client. Times come from
//! `time.perf_counter()` inside the client's interpreter.
//!
//! Why it matters: after the handshake the client sends `#WELCOME#` and
//! then its first message, two small writes in a row. With Nagle's
//! algorithm on (CPython's default) the second waits for the ACK of the
//! first, and a peer that delays its ACKs (Linux: about 40 ms) stalls every
//! short-lived connection by that much, unless the server ACKs at once
//! (TCP_QUICKACK).

use std::process::Command;
use std::time::Duration;

use crate::child::{spawn_announced, Announced};
use crate::py_clients::{self, Clients};
use crate::python::Python;
use crate::server::LoadServer;
use crate::stats::Spread;
use crate::support::process::KillOnDrop;

/// Timed clients per row.
const RUNS: usize = 50;
/// Clients run first and left out (first connection, caches).
const WARMUP: usize = 3;
/// Message prefix: with four digits, 5-byte messages (`e0000`).
const PREFIX: &str = "e";
/// How long one row may take.
const ROW_LIMIT: Duration = Duration::from_secs(60);

/// CPython's Listener echo server (`mp_load.py --role listener`), killed on
/// drop.
struct PyListener {
    _child: KillOnDrop,
    port: u16,
}

impl PyListener {
    fn start(py: &Python, key: &[u8]) -> Result<PyListener, String> {
        let mut cmd = Command::new(&py.path);
        cmd.arg(py_clients::script())
            .args(["--role", "listener", "--key-hex", &hex::encode(key)])
            .args(["--deadline", "600"]);
        let Announced { child, rest, .. } = spawn_announced(&mut cmd, "PORT ")?;
        let port = rest
            .parse()
            .map_err(|e| format!("listener port {rest:?}: {e}"))?;
        Ok(PyListener {
            _child: child,
            port,
        })
    }
}

/// One row of the table: which server, which client, the spreads in ms.
struct Row {
    server: &'static str,
    client: &'static str,
    spread: Result<Timed, String>,
}

/// The spreads of one row, in ms.
struct Timed {
    /// Connect to close.
    total: Spread,
    /// Connect to the end of the handshake.
    handshake: Spread,
}

/// Runs the four rows with `py` and prints them.
pub fn run(py: &Python, key: &str) {
    println!(
        "\n## Nagle figure: CPython {} Client, connect + authenticate + 5-byte echo + close, \
         ms per client ({RUNS} runs after {WARMUP} warm-up, perf_counter inside Python)\n",
        py.label()
    );
    let ours = LoadServer::start("multiprocessing", &[], key);
    let theirs = PyListener::start(py, key.as_bytes());
    let ports = [
        (
            "serve --profile multiprocessing",
            ours.as_ref().map(|s| s.addr.port()),
        ),
        ("CPython Listener", theirs.as_ref().map(|l| l.port)),
    ];
    let mut rows = Vec::new();
    for (server, port) in ports {
        for (client, nodelay) in [("Client() unchanged", false), ("TCP_NODELAY", true)] {
            let spread = port
                .map_err(|e| e.to_string())
                .and_then(|port| time_clients(py, port, key.as_bytes(), nodelay));
            rows.push(Row {
                server,
                client,
                spread,
            });
        }
    }
    print_rows(&rows);
}

/// The times of `RUNS` clients, in ms.
fn time_clients(py: &Python, port: u16, key: &[u8], nodelay: bool) -> Result<Timed, String> {
    let results =
        Clients::spawn(py, port, key, WARMUP + RUNS, PREFIX, nodelay)?.finish(ROW_LIMIT)?;
    if let Some(failed) = results.failed.first() {
        return Err(format!(
            "{} clients failed, first: {failed}",
            results.failed.len()
        ));
    }
    let bad_echo = results
        .served
        .iter()
        .find(|s| s.echo != py_clients::message(PREFIX, s.index));
    if let Some(s) = bad_echo {
        return Err(format!("client {}: echo {:?}", s.index, s.echo));
    }
    let timed: Vec<_> = results
        .served
        .iter()
        .filter(|s| s.index >= WARMUP)
        .collect();
    let ms = |f: fn(&py_clients::Served) -> f64| {
        let samples: Vec<f64> = timed.iter().map(|s| f(s) * 1000.0).collect();
        Spread::of(&samples).ok_or_else(|| "no client reported".to_string())
    };
    Ok(Timed {
        total: ms(|s| s.total)?,
        handshake: ms(|s| s.handshake)?,
    })
}

fn print_rows(rows: &[Row]) {
    println!("| server | client | p50 ms | p10 | p90 | min | max | n | handshake alone p50 ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        match &row.spread {
            Ok(Timed {
                total: s,
                handshake,
            }) => println!(
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.2} |",
                row.server, row.client, s.p50, s.p10, s.p90, s.min, s.max, s.n, handshake.p50
            ),
            Err(e) => println!(
                "| {} | {} | failed: {e} | | | | | | |",
                row.server, row.client
            ),
        }
    }
}
