//! A native-profile server on tokio, self-contained: the server and its
//! clients run in one process over loopback, and it exits 0 when every
//! check passed.
//!
//! - Each accepted connection gets a `ServerHandshake` built in the accept
//!   loop from the current keyring snapshot and moved into its own task
//!   (the machine owns an `Arc<Keyring>`: `Send + 'static`).
//! - The keyring is replaced while clients connect: `2026-11` alone, then
//!   `2026-11` and `2026-12` (an overlap), then `2026-12` alone. Running
//!   handshakes keep the ring they started with; a client still on the
//!   retired key is refused at the end.
//! - The server runs each machine with `adapter::tokio::drive`, whose
//!   deadline cuts off a client that connects and says nothing.
//! - Each client pipelines its first application line right behind its
//!   proof (as soon as `may_send_application_data()`), and the server
//!   delivers it: the leftover bytes of the handshake come first.
//!
//! Run: `cargo run --features tokio --example tokio_server`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use getrandom::SysRng;
use hmac_handshake::adapter::{self, AuthError};
use hmac_handshake::native::{self, Keyring, NativeKey, SharedKeyring, Suite};
use hmac_handshake::{ClientHandshake, Error, Finished, Handshake, ServerHandshake, Status};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the server saw, per connection.
#[derive(Default)]
struct Counts {
    served: AtomicUsize,
    /// Served, and the pipelined line came in the read that carried the proof.
    with_proof: AtomicUsize,
    timed_out: AtomicUsize,
    refused: AtomicUsize,
}

/// How long a handshake may take, whole.
const DEADLINE: Duration = Duration::from_millis(500);

/// The two key generations: (key id, secret). A real deployment loads the
/// secrets from a file (`hmac-handshake keygen`); fixed here so that the
/// example's clients and server agree.
const NOVEMBER: (&[u8], [u8; 32]) = (b"2026-11", [0x11; 32]);
const DECEMBER: (&[u8], [u8; 32]) = (b"2026-12", [0x12; 32]);

fn key((id, secret): (&[u8], [u8; 32])) -> Result<NativeKey, Error> {
    NativeKey::new(id, &secret, Suite::HmacSha256)
}

fn ring(generations: &[(&[u8], [u8; 32])]) -> Result<Keyring, Error> {
    Keyring::new(
        generations
            .iter()
            .map(|&g| key(g))
            .collect::<Result<Vec<_>, _>>()?,
    )
}

/// The client's loop: the sans-IO machine driven by hand, because it
/// writes `pipelined` in the same write as the proof (the adapter's
/// `drive`, used by the server, writes handshake messages only).
/// `pipelined` is written as soon as `may_send_application_data()` allows,
/// which for the native client is right behind its proof, before the
/// server's answer. Returns what `finish` hands over, the bytes read past
/// the handshake, and whether `pipelined` went out before the handshake
/// was over.
async fn drive<H, S>(
    mut machine: H,
    stream: &mut S,
    pipelined: &[u8],
) -> Result<(Finished, Vec<u8>, bool), Failure>
where
    H: Handshake,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = [0u8; 4096];
    let (mut start, mut end) = (0, 0);
    // Output is gathered and written once the machine waits for the peer:
    // one write for a handshake message and the bytes pipelined behind it.
    let mut out = Vec::new();
    let mut written = pipelined.is_empty();
    let mut early = false;
    loop {
        if !written && machine.may_send_application_data() {
            early = !matches!(machine.status(), Status::Done(_));
            out.extend_from_slice(pipelined);
            written = true;
        }
        match machine.status() {
            Status::Send(bytes) => {
                let n = bytes.len();
                out.extend_from_slice(bytes);
                machine.sent(n)?;
            }
            Status::NeedInput if start < end => start += machine.receive(&buf[start..end]),
            Status::NeedInput => {
                stream.write_all(&out).await?;
                out.clear();
                (start, end) = (0, stream.read(&mut buf).await?);
                if end == 0 {
                    return Err("the peer closed the connection during the handshake".into());
                }
            }
            Status::Done(_) => {
                stream.write_all(&out).await?;
                return Ok((machine.finish()?, buf[start..end].to_vec(), early));
            }
            Status::Failed(e) => {
                // Hand out the failure message (the native reject verdict).
                stream.write_all(&out).await?;
                return Err(e.into());
            }
            _ => return Err("unknown handshake status".into()),
        }
    }
}

/// The server side of one connection, on the crate's tokio adapter: the
/// machine built in the accept loop runs under the deadline, and the
/// authenticated stream hands out the pipelined line (the handshake's
/// leftover bytes) first; the line is echoed back. Returns whether the line
/// came in the same read as the proof.
async fn serve(machine: ServerHandshake<Arc<Keyring>>, stream: TcpStream) -> Result<bool, Failure> {
    let conn = match adapter::tokio::drive(machine, stream, DEADLINE).await {
        Ok(conn) => conn,
        Err(AuthError::Timeout) => return Err("handshake deadline passed".into()),
        Err(e) => return Err(e.into()),
    };
    let with_proof = !conn.leftover().is_empty();
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    reader.get_mut().write_all(line.as_bytes()).await?;
    Ok(with_proof)
}

/// One client: connects, proves `generation`, pipelines `line` right behind
/// its proof, then reads the echo.
async fn client(
    addr: std::net::SocketAddr,
    generation: (&'static [u8], [u8; 32]),
    line: String,
) -> Result<(), Failure> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = native::Config::new(b"tokio-example/v1");
    let machine = ClientHandshake::new(Arc::new(key(generation)?), config, &mut SysRng)?;
    let (finished, leftover, early) = drive(machine, &mut stream, line.as_bytes()).await?;
    if !early {
        return Err("the line did not go out behind the proof".into());
    }
    assert!(finished.outcome.peer_authenticated);
    // The echo may already have come with ServerFinish: leftover bytes first.
    let mut echo = vec![0u8; line.len()];
    leftover
        .as_slice()
        .chain(&mut stream)
        .read_exact(&mut echo)
        .await?;
    if echo != line.as_bytes() {
        return Err("the echo differs from our line".into());
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let started = Instant::now();
    let shared = Arc::new(SharedKeyring::new(ring(&[NOVEMBER])?));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let counts = Arc::new(Counts::default());
    let config = native::Config::new(b"tokio-example/v1");

    let server = {
        let (shared, counts) = (Arc::clone(&shared), Arc::clone(&counts));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                // Built here, moved into the task: it owns its ring snapshot.
                let machine = match ServerHandshake::new(shared.snapshot(), config, &mut SysRng) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("no randomness: {e}");
                        continue;
                    }
                };
                let counts = Arc::clone(&counts);
                tokio::spawn(async move {
                    let counter = match serve(machine, stream).await {
                        Ok(with_proof) => {
                            if with_proof {
                                counts.with_proof.fetch_add(1, Ordering::SeqCst);
                            }
                            &counts.served
                        }
                        Err(e) if e.to_string().contains("deadline") => &counts.timed_out,
                        Err(_) => &counts.refused,
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
    };

    // A silent client: connects and sends nothing. The deadline frees it.
    let silent = TcpStream::connect(addr).await?;

    // Wave 1: November clients, while the ring gains December (overlap).
    let mut wave = Vec::new();
    for i in 0..40 {
        wave.push(tokio::spawn(client(
            addr,
            NOVEMBER,
            format!("november {i}\n"),
        )));
        if i == 20 {
            shared.replace(ring(&[NOVEMBER, DECEMBER])?);
        }
    }
    for c in wave.drain(..) {
        c.await??;
    }
    // Wave 2: both generations during the overlap.
    for i in 0..40 {
        let generation = if i % 2 == 0 { NOVEMBER } else { DECEMBER };
        wave.push(tokio::spawn(client(
            addr,
            generation,
            format!("overlap {i}\n"),
        )));
    }
    for c in wave.drain(..) {
        c.await??;
    }
    // November is retired: December still works, November is refused.
    let previous = shared.replace(ring(&[DECEMBER])?);
    println!("retired ring: {:?}", previous);
    client(addr, DECEMBER, "december\n".into()).await?;
    let retired = client(addr, NOVEMBER, "too late\n".into()).await;
    match retired {
        Err(e) if e.to_string().contains("rejected our proof") => {}
        other => return Err(format!("a retired key must be refused, got {other:?}").into()),
    }

    // Let the silent connection's deadline pass, then check the counts.
    tokio::time::sleep(DEADLINE + Duration::from_millis(200)).await;
    drop(silent);
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.abort();
    let load = |c: &AtomicUsize| c.load(Ordering::SeqCst);
    let (served, with_proof) = (load(&counts.served), load(&counts.with_proof));
    let (timed_out, refused) = (load(&counts.timed_out), load(&counts.refused));
    println!(
        "served {served} handshakes, each client's line sent right behind its proof \
         ({with_proof} came in the same read as the proof, out of the handshake's leftover \
         bytes); {timed_out} cut off by the {} ms deadline, {refused} refused, in {:.0} ms",
        DEADLINE.as_millis(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    if (served, timed_out, refused) != (81, 1, 1) {
        return Err("unexpected counts: expected 81 served, 1 timed out, 1 refused".into());
    }
    if with_proof == 0 {
        return Err("no pipelined line ever came with its proof".into());
    }
    println!("ok");
    Ok(())
}
