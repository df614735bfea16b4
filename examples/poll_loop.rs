//! One thread, nonblocking sockets (mio), a slab of connections: 1,000
//! multiprocessing handshakes at once, server and client sides all in the
//! same poll loop, and a key rotation mid-run. Self-contained; prints the
//! handshakes per second and exits 0 when every check passed.
//!
//! - Each accepted connection gets a `ServerHandshake<Arc<Key>>` built from
//!   the current key and stored in the slab slot: no lifetime, no leak.
//! - The key is rotated the moment the last connection of the first wave is
//!   accepted, while its handshakes are still running: the server machines
//!   that have not checked their client's reply yet check it with the key
//!   they were built with (each holds an `Arc` of it), and all succeed; the
//!   second wave, accepted after the rotation, gets the new key.
//! - The second wave uses the new key; a few clients still holding the old
//!   one are refused (`#FAILURE#`).
//! - A finished machine is consumed by `finish()` and its slot freed.
//!
//! Run: `cargo run --release --example poll_loop`

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use getrandom::SysRng;
use hmac_handshake::{
    multiprocessing, ClientHandshake, Error, Handshake, Key, ServerHandshake, Status,
};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

/// Handshakes in each wave, all started at once.
const WAVE: usize = 1000;
/// Clients of the second wave that still hold the retired key.
const STALE: usize = 10;
/// The whole run must end within this.
const LIMIT: Duration = Duration::from_secs(20);
/// The listener's token; a connection's is its slab key plus one.
const LISTENER: Token = Token(0);

/// One side of one connection.
enum Side {
    Server(ServerHandshake<Arc<Key>>),
    Client(ClientHandshake<Arc<Key>>),
}

struct Conn {
    stream: TcpStream,
    side: Side,
    buf: [u8; 512],
    start: usize,
    end: usize,
}

/// What happened to a connection when it could not go on.
enum Step {
    /// Waiting for the socket.
    Blocked,
    /// The handshake finished: whether this side is the server.
    Done { server: bool },
    /// It failed: whether this side is the server, and why.
    Failed { server: bool, error: String },
}

/// Runs the machine as far as the socket allows.
fn advance(conn: &mut Conn) -> Step {
    let Conn {
        stream,
        side,
        buf,
        start,
        end,
    } = conn;
    let (machine, server): (&mut dyn Handshake, bool) = match side {
        Side::Server(m) => (m, true),
        Side::Client(m) => (m, false),
    };
    let failed = |error: String| Step::Failed { server, error };
    loop {
        match machine.status() {
            Status::Send(bytes) => match stream.write(bytes) {
                Ok(n) => {
                    if let Err(e) = machine.sent(n) {
                        return failed(e.to_string());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return failed(e.to_string()),
            },
            Status::NeedInput if *start < *end => *start += machine.receive(&buf[*start..*end]),
            Status::NeedInput => match stream.read(buf) {
                Ok(0) => return failed("closed".into()),
                Ok(n) => (*start, *end) = (0, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return failed(e.to_string()),
            },
            Status::Done(_) => return Step::Done { server },
            Status::Failed(e) => return failed(e.to_string()),
            _ => return failed("unknown status".into()),
        }
    }
}

/// Consumes the machine of a finished connection: its outcome, and the slot
/// is free for the next connection.
fn finish(conn: Conn) -> Result<(), Error> {
    let finished = match conn.side {
        Side::Server(m) => m.finish()?,
        Side::Client(m) => m.finish()?,
    };
    assert!(finished.outcome.peer_authenticated);
    Ok(())
}

#[derive(Default)]
struct Tally {
    server_done: usize,
    client_done: usize,
    server_failed: usize,
    client_refused: usize,
    other_failures: usize,
}

/// A key rotation due once the server has accepted `after` connections.
struct Rotation {
    after: usize,
    next: Arc<Key>,
}

struct Loop {
    poll: Poll,
    listener: TcpListener,
    conns: Slab<Conn>,
    /// The key new server machines are built with.
    key: Arc<Key>,
    rotation: Option<Rotation>,
    /// Server machines that had not checked their client's reply yet when
    /// the key was rotated: they check it after, with the old key.
    in_flight_at_rotation: usize,
    /// Connections accepted so far.
    accepted: usize,
    config: multiprocessing::Config,
    tally: Tally,
}

impl Loop {
    fn connect(&mut self, addr: SocketAddr, key: &Arc<Key>) -> io::Result<()> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let machine = ClientHandshake::new(Arc::clone(key), self.config, &mut SysRng)
            .map_err(io::Error::other)?;
        self.insert(stream, Side::Client(machine))
    }

    fn insert(&mut self, mut stream: TcpStream, side: Side) -> io::Result<()> {
        let entry = self.conns.vacant_entry();
        self.poll.registry().register(
            &mut stream,
            Token(entry.key() + 1),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(Conn {
            stream,
            side,
            buf: [0; 512],
            start: 0,
            end: 0,
        });
        Ok(())
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nodelay(true)?;
                    // The key of this handshake: the current generation.
                    let machine =
                        ServerHandshake::new(Arc::clone(&self.key), self.config, &mut SysRng)
                            .map_err(io::Error::other)?;
                    self.insert(stream, Side::Server(machine))?;
                    self.accepted += 1;
                    self.rotate_if_due();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn ready(&mut self, token: Token) -> io::Result<()> {
        let slot = token.0 - 1;
        let Some(conn) = self.conns.get_mut(slot) else {
            return Ok(());
        };
        match advance(conn) {
            Step::Blocked => return Ok(()),
            Step::Done { server } => {
                let mut conn = self.conns.remove(slot);
                self.poll.registry().deregister(&mut conn.stream)?;
                if let Err(e) = finish(conn) {
                    self.tally.other_failures += 1;
                    eprintln!("finish: {e}");
                } else if server {
                    self.tally.server_done += 1;
                } else {
                    self.tally.client_done += 1;
                }
            }
            Step::Failed { server, error } => {
                let mut conn = self.conns.remove(slot);
                self.poll.registry().deregister(&mut conn.stream)?;
                match (server, error.as_str()) {
                    (true, _) if error.contains("MAC did not verify") => {
                        self.tally.server_failed += 1
                    }
                    (false, _) if error.contains("rejected our proof") => {
                        self.tally.client_refused += 1
                    }
                    // A refused client may see the close before reading #FAILURE#.
                    (false, "closed") => self.tally.client_refused += 1,
                    _ => {
                        self.tally.other_failures += 1;
                        eprintln!("{}: {error}", if server { "server" } else { "client" });
                    }
                }
            }
        }
        Ok(())
    }

    /// Rotates the key in the middle of the loop: machines in flight keep
    /// their `Arc` of the old key; later accepts get the new one.
    fn rotate_if_due(&mut self) {
        if self
            .rotation
            .as_ref()
            .is_some_and(|r| self.accepted >= r.after)
        {
            if let Some(r) = self.rotation.take() {
                self.key = r.next;
                self.in_flight_at_rotation = self
                    .conns
                    .iter()
                    .filter(|(_, c)| matches!(&c.side, Side::Server(m) if !m.peer_verified()))
                    .count();
            }
        }
    }

    /// Polls until `done()` or the time limit.
    fn run_until(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&mut Loop) -> bool,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        while !done(self) {
            if Instant::now() > deadline {
                let t = &self.tally;
                let msg =
                    format!(
                    "the run took too long: {} open, {} server done, {} client done, {} failures",
                    self.conns.len(), t.server_done, t.client_done, t.other_failures
                );
                return Err(io::Error::new(io::ErrorKind::TimedOut, msg));
            }
            self.poll
                .poll(&mut events, Some(Duration::from_millis(100)))?;
            for event in events.iter() {
                if event.token() == LISTENER {
                    self.accept()?;
                } else {
                    self.ready(event.token())?;
                }
            }
        }
        Ok(())
    }
}

/// A nonblocking listener whose accept queue holds a whole wave and more.
/// std and mio listen with a backlog of 128: with a wave of 1,000 connects
/// the queue overflows, and a client whose final ACK was dropped believes it
/// is connected and waits for a challenge that never comes.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let deadline = started + LIMIT;
    let poll = Poll::new()?;
    let mut listener = listen("127.0.0.1:0".parse()?)?;
    let addr = listener.local_addr()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let old = Arc::new(Key::new(b"generation 1, from the key file"));
    let mut lp = Loop {
        poll,
        listener,
        conns: Slab::with_capacity(2 * WAVE),
        key: Arc::clone(&old),
        rotation: None,
        in_flight_at_rotation: 0,
        accepted: 0,
        config: multiprocessing::Config::new(),
        tally: Tally::default(),
    };

    // Wave 1: every client at once, all on the first key.
    for _ in 0..WAVE {
        lp.connect(addr, &old)?;
    }
    // Rotate as soon as the whole wave is accepted, its handshakes running.
    let new = Arc::new(Key::new(b"generation 2, from the key file"));
    lp.rotation = Some(Rotation {
        after: WAVE,
        next: Arc::clone(&new),
    });
    lp.run_until(deadline, |lp| lp.conns.is_empty())?;
    let in_flight = lp.in_flight_at_rotation;
    println!(
        "rotated the key once the {WAVE} connections of wave 1 were accepted: {in_flight} server \
         machines had not checked their client's reply yet, and did so after the rotation with \
         the key they were built with"
    );
    let wave1 = lp.tally.server_done;
    let wave1_time = started.elapsed();

    // Wave 2: the new key, and a few clients that never got it.
    let second = Instant::now();
    for i in 0..WAVE + STALE {
        let key = if i < WAVE { &new } else { &old };
        lp.connect(addr, key)?;
    }
    lp.run_until(deadline, |lp| lp.conns.is_empty())?;
    let wave2_time = second.elapsed();
    drop(old);

    let t = &lp.tally;
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "wave 1: {wave1} handshakes ({:.0}/s, both sides in this one thread); \
         wave 2: {} more ({:.0}/s), {} stale clients refused",
        rate(wave1, wave1_time),
        t.server_done - wave1,
        rate(t.server_done - wave1, wave2_time),
        t.client_refused
    );
    let expected = (2 * WAVE, 2 * WAVE, STALE, STALE, 0);
    let got = (
        t.server_done,
        t.client_done,
        t.server_failed,
        t.client_refused,
        t.other_failures,
    );
    if got != expected || in_flight == 0 {
        return Err(format!(
            "expected (server done, client done, server failed, client refused, other) = \
             {expected:?} with handshakes in flight at the rotation, got {got:?}, {in_flight} in flight"
        )
        .into());
    }
    println!("ok");
    Ok(())
}
