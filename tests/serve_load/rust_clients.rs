//! Good Rust clients on the blocking adapter: connect, multiprocessing
//! handshake, one `send_bytes` message, its echo, close; several threads at
//! once, each timing its own handshakes.

use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Instant;

use hmac_handshake::adapter::blocking::client_authenticate_within;
use hmac_handshake::{multiprocessing, Key};

use crate::support::process::WAIT;

/// Largest echo accepted back.
const MAX_ECHO: u64 = 1024;

/// One client's handshake time in seconds, or why it failed.
pub type Outcome = Result<f64, String>;

/// Runs `count` clients over `threads` threads against `addr`; client `i`
/// sends `message(i)` and must get exactly it back. Returns each client's
/// outcome, in index order.
pub fn run(
    addr: SocketAddr,
    key: &Key,
    count: usize,
    threads: usize,
    message: impl Fn(usize) -> Vec<u8> + Sync,
) -> Vec<Outcome> {
    let threads = threads.clamp(1, count.max(1));
    let message = &message;
    thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..count)
                        .step_by(threads)
                        .map(|i| (i, one(addr, key, &message(i))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Outcome)> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("client thread"))
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, o)| o).collect()
    })
}

/// One client: its handshake time, once its echo came back intact.
fn one(addr: SocketAddr, key: &Key, message: &[u8]) -> Outcome {
    let start = Instant::now();
    let stream = TcpStream::connect_timeout(&addr, WAIT).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let mut auth = client_authenticate_within(&stream, key, multiprocessing::Config::new(), WAIT)
        .map_err(|e| format!("handshake: {e}"))?;
    let handshake = start.elapsed().as_secs_f64();
    stream
        .set_read_timeout(Some(WAIT))
        .and_then(|()| stream.set_write_timeout(Some(WAIT)))
        .map_err(|e| format!("timeouts: {e}"))?;
    auth.send_bytes(message)
        .map_err(|e| format!("send_bytes: {e}"))?;
    match auth.recv_bytes(MAX_ECHO) {
        Ok(Some(echo)) if echo == message => Ok(handshake),
        Ok(Some(echo)) => Err(format!("echo {echo:?}, sent {message:?}")),
        Ok(None) => Err("closed before the echo".into()),
        Err(e) => Err(format!("recv_bytes: {e}")),
    }
}
