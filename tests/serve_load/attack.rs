//! The clients that try to lock a server out: idle sockets that connect and
//! send nothing, and drippers that send one byte a second of a handshake
//! answer that never ends (slowloris). Every socket stays open until the
//! attack is dropped; every wait is bounded.
//!
//! The attackers come from many loopback addresses (`127.1.0.1` to
//! `127.1.0.250` for idle sockets, `127.2.0.x` for drippers), never from the
//! good clients' `127.0.0.1`, so a per-peer limit on the server does not
//! shield it from the attack: the server's overall limits get the load.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};

use socket2::{Domain, Socket, Type};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::support::process::WAIT;

/// Threads that open the idle sockets (a connect on loopback is quick, but
/// thousands one after the other add up).
const CONNECTORS: usize = 8;

/// A multiprocessing answer frame announcing 255 bytes (under CPython's
/// 256-byte limit, so the server must wait for all of them): the drippers
/// send these 4 bytes, then `x` bytes, one a second.
const DRIP_HEAD: [u8; 4] = [0, 0, 0, 0xff];

/// How often each dripper sends its next byte.
const DRIP_EVERY: Duration = Duration::from_secs(1);

/// How many loopback source addresses the attackers spread over.
const SOURCES: usize = 250;

/// Opens `n` connections to `addr` and sends nothing on them. Returns the
/// sockets and the connect errors (as text).
pub fn idle(addr: SocketAddr, n: usize) -> (Vec<TcpStream>, Vec<String>) {
    let per = n.div_ceil(CONNECTORS);
    thread::scope(|s| {
        let workers: Vec<_> = (0..CONNECTORS)
            .map(|w| {
                let first = w * per;
                let count = per.min(n.saturating_sub(first));
                s.spawn(move || connect_many(addr, 1, first, count))
            })
            .collect();
        let (mut open, mut errors) = (Vec::with_capacity(n), Vec::new());
        for w in workers {
            let (o, e) = w.join().expect("connector thread");
            open.extend(o);
            errors.extend(e);
        }
        (open, errors)
    })
}

/// Connections `first..first + count` of an attack from `127.NET.0.x`.
fn connect_many(
    addr: SocketAddr,
    net: u8,
    first: usize,
    count: usize,
) -> (Vec<TcpStream>, Vec<String>) {
    let (mut open, mut errors) = (Vec::with_capacity(count), Vec::new());
    for i in first..first + count {
        let host = u8::try_from(1 + i % SOURCES).expect("SOURCES fits a byte");
        match connect_from(Ipv4Addr::new(127, net, 0, host), addr) {
            Ok(s) => open.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (open, errors)
}

/// A connection to `addr` from `source` (any port), within [`WAIT`].
fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((source, 0)).into())?;
    socket.connect_timeout(&addr.into(), WAIT)?;
    Ok(socket.into())
}

/// How many of `sockets` the server has closed (end of stream or reset);
/// what it sent before closing is read and dropped.
pub fn closed_by_server(sockets: &[TcpStream]) -> usize {
    sockets.iter().filter(|s| is_closed(s)).count()
}

fn is_closed(mut socket: &TcpStream) -> bool {
    if socket.set_nonblocking(true).is_err() {
        return true;
    }
    let mut buf = [0u8; 512];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Drippers at work: a thread sends each its next byte every second.
pub struct Drip {
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<DripReport>>,
}

/// What the drippers saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct DripReport {
    /// Connections opened.
    pub opened: usize,
    /// Bytes sent over all of them.
    pub bytes: usize,
    /// Connections on which a write failed (the server closed them).
    pub cut_off: usize,
}

impl Drip {
    /// Opens `n` connections to `addr` (sequentially) and starts dripping.
    pub fn start(addr: SocketAddr, n: usize) -> Drip {
        let (sockets, _) = connect_many(addr, 2, 0, n);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let worker = thread::spawn(move || drip(sockets, &flag));
        Drip {
            stop,
            worker: Some(worker),
        }
    }

    /// Stops dripping (within a second); returns what happened. The
    /// sockets close.
    pub fn stop(mut self) -> DripReport {
        self.halt()
    }

    fn halt(&mut self) -> DripReport {
        self.stop.store(true, Ordering::SeqCst);
        self.worker
            .take()
            .map(|w| w.join().expect("dripper thread"))
            .unwrap_or_default()
    }
}

impl Drop for Drip {
    fn drop(&mut self) {
        self.halt();
    }
}

fn drip(sockets: Vec<TcpStream>, stop: &AtomicBool) -> DripReport {
    let mut report = DripReport {
        opened: sockets.len(),
        ..DripReport::default()
    };
    let mut live: Vec<(TcpStream, usize)> = sockets
        .into_iter()
        .filter(|s| s.set_write_timeout(Some(DRIP_EVERY)).is_ok())
        .map(|s| (s, 0))
        .collect();
    while !stop.load(Ordering::SeqCst) {
        live.retain_mut(|(socket, sent)| {
            let byte = DRIP_HEAD.get(*sent).copied().unwrap_or(b'x');
            if socket.write_all(&[byte]).is_ok() {
                *sent += 1;
                report.bytes += 1;
                true
            } else {
                report.cut_off += 1;
                false
            }
        });
        thread::sleep(DRIP_EVERY);
    }
    report
}
