//! Why the server rejected a client, as its `rejected PEER: REASON` line
//! says it.

use std::time::Duration;

use hmac_handshake::adapter::tokio::AuthError;
use hmac_handshake::Error;

/// Why a client using HMAC-MD5 is rejected without `--allow-md5`.
const MD5_NOT_ALLOWED: &str = "the peer uses HMAC-MD5, so it looks like Python <= 3.11 (or \
                               asked for {md5}); enable MD5 with allow_md5 (CLI: --allow-md5) \
                               if that peer is expected";

/// Why a client that sent a proof without a share is rejected by a server
/// with `--forward-secrecy`.
const NO_FORWARD_SECRECY: &str = "the client's proof carries no forward-secrecy share, and \
                                      this server requires one (--forward-secrecy): connect \
                                      with --forward-secrecy, or use a client that supports \
                                      forward secrecy";

/// What a server with `--forward-secrecy` adds when a client hangs up
/// during the handshake: a client without the mode hangs up right after
/// `ServerHello`, without a word.
const CLOSED_MAYBE_NO_FORWARD_SECRECY: &str = " (if it hung up right after the server's \
                                                   hello, it may be a client without forward \
                                                   secrecy, which this server requires: \
                                                   connect --forward-secrecy)";

/// Why the handshake with a client failed, as the server sees it;
/// `forward_secrecy`: the server requires the mode (`--forward-secrecy`).
pub fn handshake(e: &AuthError, timeout: Duration, forward_secrecy: bool) -> String {
    match e {
        AuthError::Timeout => format!(
            "handshake timed out after {}s: the client was silent or too slow",
            timeout.as_secs_f64()
        ),
        AuthError::Closed if forward_secrecy => format!(
            "the client closed the connection during the handshake{CLOSED_MAYBE_NO_FORWARD_SECRECY}"
        ),
        AuthError::Closed => "the client closed the connection during the handshake".into(),
        AuthError::Handshake(Error::ForwardSecrecyRequired) => NO_FORWARD_SECRECY.into(),
        // The CLI's own wording for these two (the library's has changed).
        AuthError::Handshake(Error::Md5NotAllowed) => MD5_NOT_ALLOWED.into(),
        AuthError::Handshake(Error::KeyIdLength { len }) => {
            format!("key id of {len} bytes: key ids are 1 to 32 bytes")
        }
        other => other.to_string(),
    }
}

/// Why a connection is closed when every authenticated place is taken.
pub fn too_many_authenticated(limit: u32) -> String {
    format!("too many authenticated connections (limit {limit}, --max-connections)")
}

/// Why a connection is closed when its peer has too many handshakes in
/// progress.
pub fn too_many_pending(peer: &str, limit: u32) -> String {
    format!("too many handshakes in progress from {peer} (limit {limit}, --max-pending-per-peer)")
}
