//! Handshakes per second against `serve` (issue 8, item 4): Rust clients
//! on tokio, each looping connect (TCP_NODELAY) + handshake + one 5-byte
//! echo + close, at 1, 100 and 1,000 at once, for the multiprocessing and
//! native profiles; several rounds each, medians with spread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac_handshake::adapter::tokio::client_authenticate;
use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::{multiprocessing, Key};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use crate::server::LoadServer;
use crate::stats::Spread;
use crate::support::process::WAIT;

/// Clients at once.
const CONCURRENCY: [usize; 3] = [1, 100, 1_000];
/// Rounds per row.
const ROUNDS: usize = 5;
/// How long each round's clients start new connections.
const ROUND_TIME: Duration = Duration::from_millis(1_000);
/// What the server's caps are lifted to.
const CAPS: usize = 20_000;
/// The echoed message.
const MESSAGE: &[u8] = b"hello";
/// A connection this slow most likely waited for a SYN retry (a full
/// listen backlog) or a retransmission.
const SLOW: Duration = Duration::from_secs(1);

/// What a client holds.
#[derive(Clone)]
enum Client {
    Multiprocessing(Arc<Key>),
    Native(Arc<NativeKey>),
}

/// What one round came to.
#[derive(Default)]
struct Round {
    done: usize,
    failed: Vec<String>,
    latencies: Vec<f64>,
}

/// Runs every row and prints the table.
pub fn run(key: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Lift the caps where the options exist (the old serve's 256
    // connections, the pending caps of issue 8, per peer too: every client
    // here is 127.0.0.1), so the 1,000 row measures throughput, not a cap.
    let room = || CAPS.to_string();
    let extra: Vec<String> = [
        "--max-connections",
        "--max-pending",
        "--max-pending-per-peer",
    ]
    .into_iter()
    .flat_map(|flag| [flag.to_string(), room()])
    .collect();
    println!(
        "\n## Throughput: Rust tokio clients, connect + handshake + 5-byte echo + close, \
         {ROUNDS} rounds of {:.1} s per row; serve {}\n",
        ROUND_TIME.as_secs_f64(),
        extra.join(" ")
    );
    println!(
        "| profile | clients at once | handshakes/s p50 | min | max | latency ms p50 | p99 | max | \
         failed | >= 1 s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let native_key = NativeKey::new(b"default", key.as_bytes(), Suite::HmacSha256)
        .expect("a native key of 16 bytes or more");
    let profiles = [
        (
            "multiprocessing",
            Client::Multiprocessing(Arc::new(Key::new(key.as_bytes()))),
        ),
        ("native", Client::Native(Arc::new(native_key))),
    ];
    for (profile, client) in profiles {
        let mut served = match LoadServer::start(profile, &extra, key) {
            Ok(s) => s,
            Err(e) => {
                println!("| {profile} | | serve failed: {e} | | | | | | | |");
                continue;
            }
        };
        for concurrency in CONCURRENCY {
            row(&rt, profile, served.addr, &client, concurrency);
        }
        let rss = served.rss_kib();
        let running = served.running();
        let tally = served.tally();
        println!(
            "  (serve --profile {profile}: VmRSS {} KiB after its rows; {} accepted and {} \
             rejected lines; still running: {running})",
            rss.map_or("?".to_string(), |k| k.to_string()),
            tally.accepted,
            tally.rejected,
        );
        if let Some(reason) = tally.first_reasons.first() {
            println!("  (first rejection: {reason})");
        }
    }
}

/// Runs the rounds of one row and prints it.
fn row(rt: &Runtime, profile: &str, addr: SocketAddr, client: &Client, concurrency: usize) {
    let mut rates = Vec::new();
    let mut latencies = Vec::new();
    let mut failed = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let round = rt.block_on(round(addr, client, concurrency));
        rates.push(round.done as f64 / start.elapsed().as_secs_f64());
        latencies.extend(round.latencies);
        failed.extend(round.failed);
    }
    let slow = latencies
        .iter()
        .filter(|&&s| s >= SLOW.as_secs_f64())
        .count();
    let (Some(rate), Some(ms)) = (
        Spread::of(&rates),
        Spread::of(&latencies).map(|s| s.scaled(1000.0)),
    ) else {
        println!("| {profile} | {concurrency} | no handshake done: {failed:?} | | | | | | | |");
        return;
    };
    println!(
        "| {profile} | {concurrency} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {slow} |",
        rate.p50,
        rate.min,
        rate.max,
        ms.p50,
        ms.p99,
        ms.max,
        failed.len(),
    );
    if let Some(first) = failed.first() {
        println!("  ({profile}, {concurrency}: first failure: {first})");
    }
    if slow > 0 {
        println!(
            "  ({profile}, {concurrency}: {slow} connections took 1 s or more: SYN retries? \
             the server's listen backlog may be too short)"
        );
    }
}

/// `concurrency` clients, each looping for [`ROUND_TIME`].
async fn round(addr: SocketAddr, client: &Client, concurrency: usize) -> Round {
    let until = Instant::now() + ROUND_TIME;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(client_loop(addr, client.clone(), until)))
        .collect();
    let mut total = Round::default();
    for task in tasks {
        match task.await {
            Ok(r) => {
                total.done += r.done;
                total.failed.extend(r.failed);
                total.latencies.extend(r.latencies);
            }
            Err(e) => total.failed.push(format!("task: {e}")),
        }
    }
    total
}

async fn client_loop(addr: SocketAddr, client: Client, until: Instant) -> Round {
    let mut r = Round::default();
    while Instant::now() < until {
        let start = Instant::now();
        match one(addr, &client).await {
            Ok(()) => {
                r.done += 1;
                r.latencies.push(start.elapsed().as_secs_f64());
            }
            Err(e) => r.failed.push(e),
        }
    }
    r
}

/// One connection: connect, handshake, echo, close.
async fn one(addr: SocketAddr, client: &Client) -> Result<(), String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let auth = match client {
        Client::Multiprocessing(key) => {
            client_authenticate(
                stream,
                Arc::clone(key),
                multiprocessing::Config::new(),
                WAIT,
            )
            .await
        }
        Client::Native(key) => {
            client_authenticate(stream, Arc::clone(key), native::Config::new(b""), WAIT).await
        }
    };
    let mut auth = auth.map_err(|e| format!("handshake: {e}"))?;
    auth.send_bytes(MESSAGE)
        .await
        .map_err(|e| format!("send_bytes: {e}"))?;
    match tokio::time::timeout(WAIT, auth.recv_bytes(64)).await {
        Ok(Ok(Some(echo))) if echo == MESSAGE => Ok(()),
        Ok(Ok(other)) => Err(format!("echo {other:?}")),
        Ok(Err(e)) => Err(format!("recv_bytes: {e}")),
        Err(_) => Err(format!("no echo within {WAIT:?}")),
    }
}
