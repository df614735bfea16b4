//! The listening socket: TCP (`HOST:PORT`) or a Unix socket (`unix:PATH`),
//! with a deep listen backlog, and what `accept` yields.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use super::peer::Peer;

/// Listen backlog asked for (the kernel caps it at `net.core.somaxconn`):
/// where connections wait while every `--max-pending` place is taken.
pub const BACKLOG: i32 = 4096;

/// The prefix of a Unix socket address.
pub const UNIX_PREFIX: &str = "unix:";

/// A listening socket.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A Unix socket, and its file (removed on drop).
    Unix(UnixListener, SocketFile),
}

/// An accepted connection.
pub enum Conn {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix socket.
    Unix(UnixStream),
}

impl Listener {
    /// Binds and listens on `spec`: `HOST:PORT` or `unix:PATH`. Must run
    /// inside the tokio runtime.
    ///
    /// # Errors
    /// A message naming the address.
    pub fn bind(spec: &str) -> Result<Listener, String> {
        match spec.strip_prefix(UNIX_PREFIX) {
            Some(path) => {
                bind_unix(Path::new(path)).map_err(|e| format!("cannot listen on {spec}: {e}"))
            }
            None => bind_tcp(spec).map_err(|e| format!("cannot listen on {spec}: {e}")),
        }
    }

    /// The address for `listening on ADDR`: the real port when port 0 was
    /// asked for, or `unix:PATH`.
    ///
    /// # Errors
    /// The system's, when the address cannot be read.
    pub fn local(&self) -> io::Result<String> {
        match self {
            Listener::Tcp(l) => Ok(l.local_addr()?.to_string()),
            Listener::Unix(_, file) => Ok(format!("{UNIX_PREFIX}{}", file.path.display())),
        }
    }

    /// The next connection and its peer.
    ///
    /// # Errors
    /// The system's (e.g. out of file descriptors).
    pub async fn accept(&self) -> io::Result<(Conn, Peer)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, addr) = l.accept().await?;
                Ok((Conn::Tcp(stream), Peer::tcp(addr)))
            }
            Listener::Unix(l, _) => {
                let (stream, _) = l.accept().await?;
                let cred = stream.peer_cred().ok();
                let peer = Peer::unix(cred.map(|c| c.uid()), cred.and_then(|c| c.pid()));
                Ok((Conn::Unix(stream), peer))
            }
        }
    }
}

fn bind_tcp(spec: &str) -> io::Result<Listener> {
    let mut last = None;
    for addr in spec.to_socket_addrs()? {
        match listen_tcp(addr) {
            Ok(listener) => return Ok(Listener::Tcp(listener)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("the address resolves to no address")))
}

fn listen_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As std's TcpListener does: a restart does not wait out TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

fn bind_unix(path: &Path) -> io::Result<Listener> {
    remove_stale(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    let file = SocketFile::new(path)?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    let listener = UnixListener::from_std(socket.into())?;
    Ok(Listener::Unix(listener, file))
}

/// Removes a socket file left at `path` by a server that is gone; refuses
/// to touch anything else: a file that is not a socket, or a socket some
/// server still accepts on.
fn remove_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket: not replacing it",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another server is listening on this socket",
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

/// The socket file a Unix listener bound: removed on drop, if it is still
/// the one we made.
pub struct SocketFile {
    path: PathBuf,
    id: (u64, u64),
}

impl SocketFile {
    fn new(path: &Path) -> io::Result<SocketFile> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok(SocketFile {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
        })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
