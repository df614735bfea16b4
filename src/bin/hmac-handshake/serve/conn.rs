//! One connection, from accept to close: the handshake within
//! `--timeout`, its `accepted` or `rejected` line, then the echo.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use hmac_handshake::Scheme;

use super::admission::{Admission, Pending};
use super::budget::Budget;
use super::echo::{Echo, End, Pace};
use super::keys::Keys;
use super::out::line;
use super::peer::Peer;
use super::reason;

/// Longest wait for a closing connection's shutdown (our FIN) to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// What every connection shares.
pub struct Context {
    /// The keys and settings.
    pub keys: Keys,
    /// `--timeout`: the whole handshake.
    pub timeout: Duration,
    /// The pace after it.
    pub pace: Pace,
    /// The memory messages may take.
    pub budget: Budget,
    /// The places.
    pub admission: Admission,
    /// Turns `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Serves one connection holding `pending` (given back when the
/// handshake ends, before its line).
pub async fn serve<S>(stream: S, peer: Peer, pending: Pending, ctx: Arc<Context>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let result = ctx.keys.authenticate(stream, ctx.timeout).await;
    // Free the place before the line, so that whoever reacts to the line
    // finds it free.
    drop(pending);
    let mut auth = match result {
        Ok(auth) => auth,
        Err(e) => {
            line(&format!(
                "rejected {}: {}",
                peer.label,
                reason::handshake(&e, ctx.timeout, ctx.keys.requires_forward_secrecy())
            ));
            return;
        }
    };
    let Some(_place) = ctx.admission.authenticated() else {
        let limit = ctx.admission.limits().authenticated;
        line(&format!(
            "rejected {}: {}",
            peer.label,
            reason::too_many_authenticated(limit)
        ));
        return;
    };
    // Native: the suite by its name, as `connect` prints it (issue 12);
    // the other profiles: the digest.
    match auth.outcome.scheme {
        Scheme::Native { suite, key_id } => line(&format!(
            "accepted {} suite={suite} key_id={key_id}",
            peer.label
        )),
        scheme => line(&format!(
            "accepted {} digest={}",
            peer.label,
            scheme.digest()
        )),
    }
    let echo = Echo {
        auth: &mut auth,
        pace: ctx.pace,
        budget: &ctx.budget,
        shutdown: ctx.shutdown.clone(),
    };
    let end = if ctx.keys.is_raw() {
        echo.raw().await
    } else {
        echo.frames().await
    };
    match end {
        Ok(End::Closed | End::Shutdown) => {}
        Ok(end) => say!("{}: closed: {}", peer.label, why_closed(&end, &ctx)),
        Err(e) => say!("{}: echo ended: {e}", peer.label),
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, auth.shutdown()).await;
}

/// Why the server closed an authenticated connection that `end`ed.
fn why_closed(end: &End, ctx: &Context) -> String {
    let idle = ctx.pace.idle.as_secs_f64();
    match end {
        End::Closed => "the peer closed the connection".into(),
        End::Shutdown => "the server shuts down".into(),
        End::Idle => format!("no message for {idle}s (--idle-timeout)"),
        End::TooLong { len } => format!(
            "a message of {len} bytes, over --max-message {}",
            ctx.budget.max_message()
        ),
        End::OverBudget { len } => format!(
            "a message of {len} bytes, over --max-buffered {}",
            ctx.budget.total()
        ),
        End::NoRoom { len } => format!(
            "a message of {len} bytes found no room in --max-buffered {} within {idle}s \
             (--idle-timeout)",
            ctx.budget.total()
        ),
    }
}
