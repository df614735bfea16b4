//! A TCP stream that acknowledges at once: `TCP_NODELAY` for our writes,
//! and on Linux `TCP_QUICKACK` re-armed after each read and write for the
//! first reads of a connection.
//!
//! Why: CPython's `multiprocessing` `Client` writes `#WELCOME#` and then
//! its first message as two writes, with Nagle's algorithm on: the second
//! waits until our ACK of the first arrives. Having just written to the
//! client, the kernel is in "pingpong" (interactive) mode and delays that
//! ACK by about 40 ms, hoping to piggyback it on data we have none of.
//! `TCP_QUICKACK` leaves that mode and sends a scheduled ACK now; it is not
//! sticky (the next write enters the mode again), so it is set again after
//! every read and write until [`ARMED_READS`] reads have been made: the
//! handshake's and the first messages', where the stall occurs. Later
//! messages are one write each from CPython, which Nagle's algorithm does
//! not hold.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Reads after which `TCP_QUICKACK` is no longer re-armed: well past a
/// handshake (3 to 5 reads) and the first echoes.
pub const ARMED_READS: u32 = 32;

/// A TCP stream with `TCP_NODELAY` on and `TCP_QUICKACK` re-armed for its
/// first [`ARMED_READS`] reads.
#[derive(Debug)]
pub struct QuickAck {
    stream: TcpStream,
    reads_left: u32,
}

impl QuickAck {
    /// Wraps an accepted stream: `TCP_NODELAY` on, `TCP_QUICKACK` armed.
    pub fn new(stream: TcpStream) -> QuickAck {
        // Errors are ignored: without the options the stream still works,
        // only slower.
        let _ = stream.set_nodelay(true);
        arm(&stream);
        QuickAck {
            stream,
            reads_left: ARMED_READS,
        }
    }

    fn rearm(&self) {
        if self.reads_left > 0 {
            arm(&self.stream);
        }
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
            this.rearm();
            this.reads_left = this.reads_left.saturating_sub(1);
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
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.rearm();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
