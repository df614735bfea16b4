//! `serve`: accept connections on a tokio runtime, authenticate each within
//! `--timeout`, then echo; bounded places for handshakes in progress and
//! for authenticated connections ([`admission`]), keyring reloads
//! ([`reload`]), a clean stop on SIGINT / SIGTERM ([`signal`]).

mod admission;
mod budget;
mod conn;
mod echo;
mod framed;
mod keys;
mod limits;
mod listen;
mod out;
mod peer;
mod quickack;
mod reason;
mod reload;
mod signal;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use self::admission::{Admission, Limits, Refusal};
use self::budget::Budget;
use self::conn::Context;
use self::echo::Pace;
use self::keys::Keys;
use self::listen::{Conn, Listener};
use self::out::line;
use self::quickack::QuickAck;
use self::signal::Stop;
use crate::args::ServeArgs;
use crate::failure::Failure;

pub use self::echo::MAX_MESSAGE;
pub use self::listen::UNIX_PREFIX;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin; the connection waits in the backlog meanwhile.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Longest wait for the runtime's tasks once `serve` has returned.
const RUNTIME_GRACE: Duration = Duration::from_millis(100);

/// Longest wait for stdout to take the lines queued: `listening on` before
/// the first accept, everything up to `stopped` before the exit.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// Runs the server on a multi-thread tokio runtime until SIGINT or
/// SIGTERM, then lets the work in progress finish for up to `--timeout`,
/// or less if a second SIGINT or SIGTERM comes (the exit status is 0
/// either way: the stop was asked for, and the last line says what was
/// cut).
///
/// # Errors
/// Bad options, no key, an address that cannot be bound.
pub fn start(args: &ServeArgs) -> Result<(), Failure> {
    out::start().map_err(|e| format!("cannot start the stdout writer: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(run(args));
    runtime.shutdown_timeout(RUNTIME_GRACE);
    result
}

async fn run(args: &ServeArgs) -> Result<(), Failure> {
    let limits = Limits {
        authenticated: args.max_connections,
        pending: args.max_pending,
        per_peer: args.max_pending_per_peer,
    };
    // The file's version before it is read: a change from here on is seen.
    let keyring_seen = args.keyring.as_deref().map(reload::seen);
    let keys = Keys::load(args)?;
    limits::raise_open_files(limits);
    let (mut stop, hup) = signal::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let listener = Listener::bind(&args.listen)?;
    let local = listener
        .local()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    // On stdout only, so that `2>&1` shows it once; out before the first
    // accept, so that whoever reads it may connect.
    line(&format!("listening on {local}"));
    out::flush(FLUSH_WAIT);

    match (&keys, &args.keyring, keyring_seen) {
        (Keys::Native { ring, suite, .. }, Some(path), Some(seen)) => {
            let reload = reload::Reload {
                path: path.clone(),
                suite: *suite,
                ring: Arc::clone(ring),
            };
            tokio::spawn(reload.watch(seen, hup));
        }
        _ => {
            tokio::spawn(signal::ignore_hangups(hup));
        }
    }

    let (stopping, shutdown) = watch::channel(false);
    let admission = Admission::new(limits);
    let ctx = Arc::new(Context {
        keys,
        timeout: args.common.timeout,
        pace: Pace {
            idle: args.idle_timeout,
            write: args.common.timeout,
        },
        budget: Budget::new(args.max_message, args.max_buffered),
        admission: admission.clone(),
        shutdown,
    });
    let why = accept_loop(&listener, &ctx, &mut stop).await;
    // No more accepting; a Unix socket's file goes with the listener.
    drop(listener);
    let grace = args.common.timeout;
    // Counted before the connections are told, as none has ended yet.
    line(&format!(
        "shutting down: {why}: not accepting; {} handshakes and {} connections in progress \
         get up to {}s",
        admission.pending_now(),
        admission.authenticated_now(),
        grace.as_secs_f64()
    ));
    let _ = stopping.send(true);
    // A second SIGINT or SIGTERM cuts the grace short.
    let drained = tokio::select! {
        biased;
        _ = stop.wait() => None,
        drained = tokio::time::timeout(grace, admission.drained()) => Some(drained),
    };
    match drained {
        Some(Ok(())) => line("stopped"),
        Some(Err(_)) => line(&format!(
            "stopped: {} handshakes and {} connections cut at the grace deadline",
            admission.pending_now(),
            admission.authenticated_now()
        )),
        None => line(&format!(
            "stopped: second signal, {} connections cut",
            admission.pending_now() + admission.authenticated_now()
        )),
    }
    out::flush(FLUSH_WAIT);
    Ok(())
}

/// Accepts until SIGINT or SIGTERM (returned by name): a place among
/// `--max-pending` first (while none is free, connections wait in the
/// backlog), then the connection, admitted or refused with a line.
async fn accept_loop(listener: &Listener, ctx: &Arc<Context>, stop: &mut Stop) -> &'static str {
    loop {
        let permit = tokio::select! {
            biased;
            why = stop.wait() => return why,
            permit = ctx.admission.pending_place() => permit,
        };
        let accepted = tokio::select! {
            biased;
            why = stop.wait() => return why,
            accepted = listener.accept() => accepted,
        };
        let (conn, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                say!("accept failed: {e}");
                drop(permit);
                tokio::select! {
                    biased;
                    why = stop.wait() => return why,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let pending = match ctx.admission.admit(permit, peer.group) {
            Ok(pending) => pending,
            Err(refusal) => {
                let limits = ctx.admission.limits();
                let why = match refusal {
                    Refusal::Full => reason::too_many_authenticated(limits.authenticated),
                    Refusal::PeerBound => {
                        reason::too_many_pending(&peer.group.to_string(), limits.per_peer)
                    }
                };
                drop(conn);
                line(&format!("rejected {}: {why}", peer.label));
                continue;
            }
        };
        let ctx = Arc::clone(ctx);
        match conn {
            Conn::Tcp(stream) => {
                tokio::spawn(conn::serve(QuickAck::new(stream), peer, pending, ctx))
            }
            Conn::Unix(stream) => tokio::spawn(conn::serve(stream, peer, pending, ctx)),
        };
    }
}
