//! End to end over loopback TCP: one blocking server thread per kind,
//! serving one connection at a time, and the client side of one whole
//! connection (connect, handshake, a 5-byte echo, close).
//!
//! Lock-step, one client at a time: the client connects, runs its side of
//! the handshake, writes `hello`, reads the echo, then reads until the
//! server's close; the server accepts, runs its side, reads the 5 bytes
//! (first the ones its handshake read past its last message), writes them
//! back and closes. The server closing first keeps the clients' ports out
//! of TIME_WAIT (the server's side of each connection takes it instead), so
//! thousands of connections a second do not run out of ephemeral ports.
//! `TCP_NODELAY` on both ends; randomness from the OS, as a real
//! deployment draws it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use getrandom::SysRng;
use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::{
    multiprocessing, ClientHandshake, Finished, Handshake, Key, ServerHandshake, Status,
};
use rustls::{ClientConnection, ServerConnection};

use crate::machines::session_of;
use crate::tls::Tls;

/// The listen backlog of every server (std's `TcpListener::bind` uses 128).
pub const BACKLOG: i32 = 4096;
/// The most connections one server accepts before it stops on its own.
pub const MAX_CONNECTIONS: u64 = 10_000_000;
/// What the client sends and the server echoes.
pub const MESSAGE: &[u8; 5] = b"hello";

/// One kind of connection, with what both ends need for it.
#[derive(Clone)]
pub enum Kind {
    /// No authentication: connect, echo, close.
    BareTcp,
    /// The native profile, `hmac-sha256`, forward secrecy off: `(psk, key
    /// id, context, pipelined)`; both sides take the session secrets. With
    /// `pipelined`, the client writes its 5 bytes right behind
    /// `ClientProof` (once `may_send_application_data()`, PROTOCOL.md
    /// client step 2), before `ServerFinish` arrives: one round trip less,
    /// and those bytes go out before the server is verified. Without, it
    /// writes them once the handshake is done.
    Native(Vec<u8>, Vec<u8>, Vec<u8>, bool),
    /// CPython multiprocessing's `{sha256}` (`multiprocessing::Config::new()`).
    Multiprocessing(Vec<u8>),
    /// rustls TLS 1.3.
    Tls(Arc<Tls>),
}

fn other<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// Runs `machine` to the end over `stream` with a small blocking loop over
/// [`Handshake`]: reads into `buf` when it needs input, and keeps the bytes
/// `receive` did not consume. What it hands out is gathered in `out` and
/// written in one `write_all` only when the machine is about to wait for
/// input (corked, as a `BufWriter` flushed before each read would): a
/// message and the bytes behind it leave in one segment. `pipeline`, if
/// given, joins `out` as soon as `may_send_application_data()` says it may
/// follow the handshake's bytes. Returns the [`Finished`], where in `buf`
/// the bytes read past the handshake are, and `out` unwritten once the
/// handshake is done: the caller writes it, with its own bytes behind.
///
/// # Errors
/// I/O errors; the handshake's error (as `io::ErrorKind::Other`); a stream
/// that ends mid-handshake (`UnexpectedEof`).
pub fn drive<H: Handshake, S: Read + Write>(
    mut machine: H,
    stream: &mut S,
    buf: &mut [u8],
    mut pipeline: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> io::Result<(Finished, Range<usize>)> {
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        if machine.may_send_application_data() {
            if let Some(payload) = pipeline.take() {
                out.extend_from_slice(payload);
            }
        }
        match machine.status() {
            Status::Send(bytes) => {
                out.extend_from_slice(bytes);
                let n = bytes.len();
                machine.sent(n).map_err(other)?;
            }
            Status::NeedInput => {
                if start == end {
                    if !out.is_empty() {
                        stream.write_all(out)?;
                        out.clear();
                    }
                    let n = match stream.read(buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                        other => other?,
                    };
                    (start, end) = (0, n);
                }
                start += machine.receive(&buf[start..end]);
            }
            Status::Done(_) => return Ok((machine.finish().map_err(other)?, start..end)),
            Status::Failed(e) => {
                // The failure message (`#FAILURE#`, `03 01`) goes out.
                stream.write_all(out)?;
                return Err(other(e));
            }
            _ => return Err(other("unknown handshake status")),
        }
    }
}

/// Reads the echo after the handshake ([`read_after`]); when it is not
/// all there yet, writes `out` (the handshake's last message) first, as
/// the peer waits for it.
fn flush_then_read(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    rest: &[u8],
    echo: &mut [u8],
) -> io::Result<()> {
    if rest.len() < echo.len() {
        stream.write_all(out)?;
        out.clear();
    }
    read_after(stream, rest, echo)
}

/// Reads exactly `out.len()` bytes: first from `leftover`, then `stream`.
fn read_after<S: Read>(stream: &mut S, leftover: &[u8], out: &mut [u8]) -> io::Result<()> {
    let n = leftover.len().min(out.len());
    out[..n].copy_from_slice(&leftover[..n]);
    if leftover.len() > out.len() {
        return Err(other("more bytes than the echo after the handshake"));
    }
    stream.read_exact(&mut out[n..])
}

/// Reads until the peer's close; anything more is an error.
fn expect_eof<S: Read>(stream: &mut S) -> io::Result<()> {
    let mut b = [0u8; 1];
    match stream.read(&mut b)? {
        0 => Ok(()),
        _ => Err(other("bytes after the echo")),
    }
}

/// One end's keys for a kind, built once (in the server's thread, or
/// outside the client's timed loop); boxed, as they are large.
enum Keys {
    None,
    /// The key, the settings, and whether the client pipelines.
    Native(Box<(NativeKey, native::Config)>, bool),
    Multiprocessing(Box<Key>),
    Tls(Arc<Tls>),
}

impl Keys {
    fn new(kind: &Kind) -> Keys {
        match kind {
            Kind::BareTcp => Keys::None,
            Kind::Native(psk, id, context, pipelined) => Keys::Native(
                Box::new((
                    NativeKey::new(id, psk, Suite::HmacSha256).expect("native key"),
                    native::Config::new(context),
                )),
                *pipelined,
            ),
            Kind::Multiprocessing(psk) => Keys::Multiprocessing(Box::new(Key::new(psk))),
            Kind::Tls(t) => Keys::Tls(t.clone()),
        }
    }
}

/// The server's side of one connection.
fn serve_one(keys: &Keys, mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 256];
    let mut echo = [0u8; MESSAGE.len()];
    // The handshake's last message, written with the echo when the echo
    // came with the peer's last message (a pipelining client), before it
    // is read otherwise.
    let mut out = Vec::with_capacity(256);
    match keys {
        Keys::None => stream.read_exact(&mut echo)?,
        Keys::Native(native, _) => {
            let (key, cfg) = &**native;
            let machine = ServerHandshake::new(key, *cfg, &mut SysRng).map_err(other)?;
            let (finished, rest) = drive(machine, &mut stream, &mut buf, None, &mut out)?;
            let session = session_of(finished).ok_or_else(|| other("no native session"))?;
            std::hint::black_box(&session);
            flush_then_read(&mut stream, &mut out, &buf[rest], &mut echo)?;
        }
        Keys::Multiprocessing(key) => {
            let cfg = multiprocessing::Config::new();
            let machine = ServerHandshake::new(&**key, cfg, &mut SysRng).map_err(other)?;
            let (finished, rest) = drive(machine, &mut stream, &mut buf, None, &mut out)?;
            if !finished.outcome.peer_authenticated {
                return Err(other("multiprocessing: peer not authenticated"));
            }
            flush_then_read(&mut stream, &mut out, &buf[rest], &mut echo)?;
        }
        Keys::Tls(t) => {
            let mut conn = ServerConnection::new(t.server.clone()).map_err(other)?;
            let mut tls = rustls::Stream::new(&mut conn, &mut stream);
            tls.read_exact(&mut echo)?;
            tls.write_all(&echo)?;
            tls.flush()?;
            conn.send_close_notify();
            conn.complete_io(&mut stream)?;
            return Ok(());
        }
    }
    if &echo != MESSAGE {
        return Err(other("the echo is not hello"));
    }
    out.extend_from_slice(&echo);
    stream.write_all(&out)?;
    Ok(())
    // Dropped here: the server closes first.
}

/// What a server did, returned when it stops.
#[derive(Debug, Default)]
pub struct Served {
    /// Connections served to the end.
    pub ok: u64,
    /// Connections that failed.
    pub failed: u64,
    /// The first failure.
    pub first_error: Option<String>,
}

/// A running loopback server of one kind.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Served>>,
}

/// A listener on 127.0.0.1, a free port, with [`BACKLOG`].
///
/// # Errors
/// The socket calls' errors.
pub fn listener() -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    s.listen(BACKLOG)?;
    Ok(s.into())
}

impl Server {
    /// Starts a server thread for `kind`: it serves connections one after
    /// another (at most [`MAX_CONNECTIONS`]) until [`Server::stop`].
    ///
    /// # Panics
    /// When the listener cannot be made.
    #[must_use]
    pub fn start(kind: &Kind) -> Server {
        let listener = listener().expect("loopback listener");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let (kind, flag) = (kind.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let keys = Keys::new(&kind);
            let mut served = Served::default();
            for _ in 0..MAX_CONNECTIONS {
                let stream = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(e) => {
                        served.failed += 1;
                        served.first_error.get_or_insert_with(|| e.to_string());
                        continue;
                    }
                };
                if flag.load(Ordering::Acquire) {
                    break;
                }
                match serve_one(&keys, stream) {
                    Ok(()) => served.ok += 1,
                    Err(e) => {
                        served.failed += 1;
                        served.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            served
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server (one last connection wakes its `accept`) and
    /// returns what it did.
    ///
    /// # Panics
    /// When its thread panicked.
    pub fn stop(mut self) -> Served {
        self.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect(self.addr);
        self.thread
            .take()
            .map(|t| t.join().expect("server thread"))
            .unwrap_or_default()
    }
}

/// The client's keys for a kind, built once outside the timed loop.
pub struct Client {
    addr: SocketAddr,
    keys: Keys,
}

impl Client {
    /// A client of `kind` for the server at `addr`.
    ///
    /// # Panics
    /// For an invalid native key.
    #[must_use]
    pub fn new(kind: &Kind, addr: SocketAddr) -> Client {
        Client {
            addr,
            keys: Keys::new(kind),
        }
    }

    /// One whole connection: connect, `TCP_NODELAY`, the handshake, write
    /// `hello`, read the echo, read until the server's close, close.
    ///
    /// # Errors
    /// Any I/O or handshake error, and an echo that is not `hello`.
    pub fn connect_once(&self) -> io::Result<()> {
        let mut stream = TcpStream::connect(self.addr)?;
        stream.set_nodelay(true)?;
        let mut buf = [0u8; 256];
        let mut echo = [0u8; MESSAGE.len()];
        match &self.keys {
            Keys::None => {
                stream.write_all(MESSAGE)?;
                stream.read_exact(&mut echo)?;
                expect_eof(&mut stream)?;
            }
            Keys::Native(native, pipelined) => {
                let (key, cfg) = &**native;
                let machine = ClientHandshake::new(key, *cfg, &mut SysRng).map_err(other)?;
                let pipeline = pipelined.then_some(&MESSAGE[..]);
                let mut out = Vec::with_capacity(256);
                let (finished, rest) = drive(machine, &mut stream, &mut buf, pipeline, &mut out)?;
                let session = session_of(finished).ok_or_else(|| other("no native session"))?;
                std::hint::black_box(&session);
                if !pipelined {
                    out.extend_from_slice(MESSAGE);
                }
                stream.write_all(&out)?;
                read_after(&mut stream, &buf[rest], &mut echo)?;
                expect_eof(&mut stream)?;
            }
            Keys::Multiprocessing(key) => {
                let cfg = multiprocessing::Config::new();
                let machine = ClientHandshake::new(&**key, cfg, &mut SysRng).map_err(other)?;
                let mut out = Vec::with_capacity(256);
                let (finished, rest) = drive(machine, &mut stream, &mut buf, None, &mut out)?;
                if !finished.outcome.peer_authenticated {
                    return Err(other("multiprocessing: peer not authenticated"));
                }
                // The handshake's last message (`#WELCOME#`) and `hello`
                // in one write.
                out.extend_from_slice(MESSAGE);
                stream.write_all(&out)?;
                read_after(&mut stream, &buf[rest], &mut echo)?;
                expect_eof(&mut stream)?;
            }
            Keys::Tls(t) => {
                let mut conn =
                    ClientConnection::new(t.client.clone(), t.name.clone()).map_err(other)?;
                let mut tls = rustls::Stream::new(&mut conn, &mut stream);
                tls.write_all(MESSAGE)?;
                tls.flush()?;
                tls.read_exact(&mut echo)?;
                // The server's close_notify, then its close.
                expect_eof(&mut tls)?;
            }
        }
        if &echo != MESSAGE {
            return Err(other("the echo is not hello"));
        }
        Ok(())
    }
}
