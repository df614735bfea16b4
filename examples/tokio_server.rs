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
//! - Every handshake has a deadline (`tokio::time::timeout`): a client that
//!   connects and says nothing is cut off after it.
//! - Each client pipelines its first application line right behind its
//!   proof (as soon as `may_send_application_data()`), and the server
//!   delivers it: the leftover bytes of the handshake come first.
//!
//! Run: `cargo run --example tokio_server`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use getrandom::SysRng;
use hmac_handshake::native::{self, Keyring, NativeKey, SharedKeyring, Suite};
use hmac_handshake::{ClientHandshake, Error, Finished, Handshake, ServerHandshake, Status};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

type Failure = Box<dyn std::error::Error + Send + Sync>;

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

/// Runs a machine to completion over `stream`: the sans-IO loop, async.
/// Returns what `finish` hands over and the bytes read past the handshake.
/// `on_last_sent` runs once, when application bytes may follow our last
/// handshake message (for pipelining).
async fn drive<H, S>(
    mut machine: H,
    stream: &mut S,
    mut on_last_sent: impl FnMut(),
) -> Result<(Finished, Vec<u8>), Failure>
where
    H: Handshake,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = [0u8; 4096];
    let (mut start, mut end) = (0, 0);
    let mut told = false;
    loop {
        if !told && machine.may_send_application_data() {
            told = true;
            on_last_sent();
        }
        match machine.status() {
            Status::Send(bytes) => {
                let n = bytes.len();
                stream.write_all(bytes).await?;
                machine.sent(n)?;
            }
            Status::NeedInput if start < end => start += machine.receive(&buf[start..end]),
            Status::NeedInput => {
                (start, end) = (0, stream.read(&mut buf).await?);
                if end == 0 {
                    return Err("the peer closed the connection during the handshake".into());
                }
            }
            Status::Done(_) => return Ok((machine.finish()?, buf[start..end].to_vec())),
            Status::Failed(e) => return Err(e.into()),
            _ => return Err("unknown handshake status".into()),
        }
    }
}

/// The server side of one connection: the handshake under the deadline,
/// then the pipelined line (leftover bytes first), echoed back.
async fn serve(
    machine: ServerHandshake<Arc<Keyring>>,
    mut stream: TcpStream,
) -> Result<String, Failure> {
    let (finished, leftover) =
        match tokio::time::timeout(DEADLINE, drive(machine, &mut stream, || {})).await {
            Ok(result) => result?,
            Err(_) => return Err("handshake deadline passed".into()),
        };
    let key_id = finished.session.as_ref().map(|s| s.key_id().to_string());
    let mut reader = BufReader::new(leftover.as_slice().chain(&mut stream));
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    stream.write_all(line.as_bytes()).await?;
    Ok(format!(
        "{} said {:?}",
        key_id.unwrap_or_default(),
        line.trim_end()
    ))
}

/// One client: connects, proves `generation`, pipelines `line`, reads the echo.
async fn client(
    addr: std::net::SocketAddr,
    generation: (&'static [u8], [u8; 32]),
    line: String,
) -> Result<(), Failure> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = native::Config::new(b"tokio-example/v1");
    let machine = ClientHandshake::new(Arc::new(key(generation)?), config, &mut SysRng)?;
    let mut pipelined = false;
    let (finished, leftover) = drive(machine, &mut stream, || pipelined = true).await?;
    assert!(pipelined, "the client may send right behind its proof");
    assert!(
        leftover.is_empty(),
        "the server sends nothing after ServerFinish"
    );
    assert!(finished.outcome.peer_authenticated);
    stream.write_all(line.as_bytes()).await?;
    let mut echo = vec![0u8; line.len()];
    stream.read_exact(&mut echo).await?;
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
    let served = Arc::new(AtomicUsize::new(0));
    let timed_out = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let config = native::Config::new(b"tokio-example/v1");

    let server = {
        let (shared, served, timed_out, refused) = (
            Arc::clone(&shared),
            Arc::clone(&served),
            Arc::clone(&timed_out),
            Arc::clone(&refused),
        );
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
                let (served, timed_out, refused) = (
                    Arc::clone(&served),
                    Arc::clone(&timed_out),
                    Arc::clone(&refused),
                );
                tokio::spawn(async move {
                    match serve(machine, stream).await {
                        Ok(_) => served.fetch_add(1, Ordering::SeqCst),
                        Err(e) if e.to_string().contains("deadline") => {
                            timed_out.fetch_add(1, Ordering::SeqCst)
                        }
                        Err(_) => refused.fetch_add(1, Ordering::SeqCst),
                    };
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
    let (served, timed_out, refused) = (
        served.load(Ordering::SeqCst),
        timed_out.load(Ordering::SeqCst),
        refused.load(Ordering::SeqCst),
    );
    println!(
        "served {served} handshakes with pipelined lines, {timed_out} cut off by the {} ms \
         deadline, {refused} refused, in {:.0} ms",
        DEADLINE.as_millis(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    if (served, timed_out, refused) != (81, 1, 1) {
        return Err("unexpected counts: expected 81 served, 1 timed out, 1 refused".into());
    }
    println!("ok");
    Ok(())
}
