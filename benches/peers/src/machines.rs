//! The crate's machines driven against each other in memory, and the one
//! place a finished machine's session secrets are taken.

use hmac_handshake::native::Session;
use hmac_handshake::{Finished, Handshake};

/// The session secrets of a finished native handshake (`None` for the
/// other profiles), derived here by `Finished::into_session`: the only place the
/// benches take them. A case that never calls this helper (auth only)
/// skips the derivation.
#[inline(always)]
#[must_use]
pub fn session_of(f: Finished) -> Option<Session> {
    f.into_session()
}

/// Builds both machines (in place: the builders run here), drives them to
/// the end through a 256-byte wire buffer (server first, then client, at
/// most 8 rounds) and finishes both: their [`Finished`], or `None` if
/// either failed. The sessions are not asked for.
#[inline(always)]
pub fn handshake<S: Handshake, C: Handshake>(
    server: impl FnOnce() -> S,
    client: impl FnOnce() -> C,
) -> Option<(Finished, Finished)> {
    let (mut server, mut client) = (server(), client());
    let mut wire = [0u8; 256];
    for _ in 0..8 {
        let n = server.write_output(&mut wire);
        client.receive(&wire[..n]);
        let n = client.write_output(&mut wire);
        server.receive(&wire[..n]);
        if server.outcome().is_some() && client.outcome().is_some() {
            return Some((server.finish().ok()?, client.finish().ok()?));
        }
    }
    None
}

/// [`handshake`], then both sides' session secrets (server, client).
#[inline(always)]
pub fn sessions<S: Handshake, C: Handshake>(
    server: impl FnOnce() -> S,
    client: impl FnOnce() -> C,
) -> Option<(Session, Session)> {
    let (s, c) = handshake(server, client)?;
    Some((session_of(s)?, session_of(c)?))
}

/// One handshake with every byte recorded: what each side sent, in order,
/// and both [`Finished`].
pub struct Capture {
    /// Everything the server wrote, concatenated.
    pub server_to_client: Vec<u8>,
    /// Everything the client wrote, concatenated.
    pub client_to_server: Vec<u8>,
    /// The server's result.
    pub server: Finished,
    /// The client's result.
    pub client: Finished,
}

/// [`handshake`], recording the wire (not for timing).
///
/// # Panics
/// When the handshake does not complete on both sides.
pub fn capture<S: Handshake, C: Handshake>(mut server: S, mut client: C) -> Capture {
    let (mut s2c, mut c2s) = (Vec::new(), Vec::new());
    let mut wire = [0u8; 256];
    for _ in 0..8 {
        let n = server.write_output(&mut wire);
        s2c.extend_from_slice(&wire[..n]);
        assert_eq!(client.receive(&wire[..n]), n, "the client left bytes");
        let n = client.write_output(&mut wire);
        c2s.extend_from_slice(&wire[..n]);
        assert_eq!(server.receive(&wire[..n]), n, "the server left bytes");
        if server.outcome().is_some() && client.outcome().is_some() {
            return Capture {
                server_to_client: s2c,
                client_to_server: c2s,
                server: server.finish().expect("the server must authenticate"),
                client: client.finish().expect("the client must authenticate"),
            };
        }
    }
    panic!("the handshake did not complete in 8 rounds");
}
