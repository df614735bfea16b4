//! A TCP stream that acknowledges at once: `TCP_NODELAY` for our writes,
//! and on Linux `TCP_QUICKACK` set again after every read, for the whole
//! connection (one `setsockopt` per read).
//!
//! Why: CPython's `multiprocessing` `Client` writes in two parts with
//! Nagle's algorithm on: `#WELCOME#` and then its first message, and any
//! message over 16 KiB as its length prefix and then its payload. The
//! second part waits until our ACK of the first arrives. Having just
//! written to the client, the kernel is in "pingpong" (interactive) mode
//! and delays that ACK by about 40 ms, hoping to piggyback it on data we
//! have none of. `TCP_QUICKACK` leaves that mode and sends a scheduled ACK
//! now; it is not sticky (the kernel may enter the mode again), so it is
//! set again after every read. It once stopped after the first 32 reads:
//! a Client echoing 20,000-byte messages then waited 44 ms per round trip
//! from its 6th message on.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream with `TCP_NODELAY` on and `TCP_QUICKACK` re-armed after
/// every read.
#[derive(Debug)]
pub struct QuickAck {
    stream: TcpStream,
}

impl QuickAck {
    /// Wraps an accepted stream: `TCP_NODELAY` on, `TCP_QUICKACK` armed.
    pub fn new(stream: TcpStream) -> QuickAck {
        // Errors are ignored: without the options the stream still works,
        // only slower.
        let _ = stream.set_nodelay(true);
        arm(&stream);
        QuickAck { stream }
    }
}

/// Sets `TCP_QUICKACK` (Linux only; a no-op elsewhere).
fn arm(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            arm(&this.stream);
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
