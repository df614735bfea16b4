//! Regression tests for findings of the fuzz targets in `fuzz/` (see
//! fuzz/README.md, "From a crash to a regression test"). Each test replays
//! a minimised fuzzer input through the public API and names the invariant.

use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};

type Server = ServerHandshake<NativeKey>;
type Client = ClientHandshake<[NativeKey; 4]>;

/// The crash input's machines: suite HMAC-SHA-256, one key (id `a`, secret
/// `sixteen byte key`), empty context, server nonce 00..1f, client nonce
/// 80..9f; the client accepts every suite (one key per suite, same id and
/// secret), as the old default client did.
fn machines() -> (Server, Client) {
    let key = |suite| NativeKey::new(b"a", b"sixteen byte key", suite).unwrap();
    // The nonce, then an ephemeral secret (unused: the mode is off).
    let server_nonce: [u8; 64] = core::array::from_fn(|i| i as u8);
    let client_nonce: [u8; 64] = core::array::from_fn(|i| 0x80 + i as u8);
    let server = ServerHandshake::with_pinned_random(
        key(Suite::HmacSha256),
        native::Config::default(),
        &server_nonce,
    );
    let client = ClientHandshake::with_pinned_random(
        Suite::ALL.map(key),
        native::Config::default(),
        &client_nonce,
    );
    (server, client)
}

/// Runs the first `steps` half-steps of the exchange: even ones hand the
/// server's output to the client, odd ones the client's to the server.
fn run(steps: usize) -> (Server, Client) {
    let (mut server, mut client) = machines();
    let mut wire = [0u8; 256];
    for step in 0..steps {
        if step % 2 == 0 {
            let n = server.write_output(&mut wire);
            assert_eq!(client.receive(&wire[..n]), n);
        } else {
            let n = client.write_output(&mut wire);
            assert_eq!(server.receive(&wire[..n]), n);
        }
    }
    (server, client)
}

/// `finish()` hands over a session exactly when the status is `Done`; on a
/// machine that is not done it refuses with `NotFinished` (or the
/// machine's own error), and hands over nothing. Returns the handshake
/// hash of the session, if any.
fn session_iff_done<H: Handshake>(m: H, who: &str, step: usize) -> Option<Vec<u8>> {
    let status = format!("{:?}", m.status());
    let done = matches!(m.status(), Status::Done(_));
    let refusal = match m.status() {
        Status::Failed(e) => e,
        _ => Error::NotFinished,
    };
    match m.finish() {
        Ok(f) => {
            assert!(
                done,
                "{who}, step {step}: finish() succeeded while {status}"
            );
            let session = f.into_session().unwrap_or_else(|| {
                panic!("{who}, step {step}: a done native machine without a session")
            });
            Some(session.handshake_hash().to_vec())
        }
        Err(e) => {
            assert!(
                !done,
                "{who}, step {step}: finish() refused a done machine: {e:?}"
            );
            assert_eq!(e, refusal, "{who}, step {step}: finish() while {status}");
            None
        }
    }
}

/// Fuzz target `native_server`, per-step check "a session exactly when
/// Done": after verifying a valid `ClientProof` the server returned its
/// session while its `ServerFinish` was still pending (`Status::Send`), i.e.
/// before the handshake was `Done`. Any accepted proof triggers it, so the
/// crash input (the seed from vectors/handshake/native.json tcId 1: suite
/// HMAC-SHA-256, one key, id `a`, secret `sixteen byte key`, empty context,
/// server nonce 00..1f, client nonce 80..9f, the honest proof, 1-byte
/// chunks) does not minimise further; the chunking does not matter.
///
/// The session now comes only from `finish()`, which consumes the machine,
/// so each step is checked on machines rebuilt and run up to that step
/// (the machines are not `Clone`).
#[test]
fn native_server_session_only_when_done() {
    // Before and after each of the old loop's 8 rounds of two half-steps.
    for step in 0..=16 {
        let (server, client) = run(step);
        session_iff_done(server, "server", step);
        session_iff_done(client, "client", step);
    }
    // The step the crash was at: the proof verified, `ServerFinish` pending.
    let (server, _) = run(2);
    assert!(matches!(server.status(), Status::Send(_)), "{server:?}");
    assert!(server.peer_verified());
    assert_eq!(server.finish().unwrap_err(), Error::NotFinished);
    let (server, client) = run(16);
    assert!(matches!(server.status(), Status::Done(_)));
    assert!(matches!(client.status(), Status::Done(_)));
    let server_hash = session_iff_done(server, "server", 16).unwrap();
    let client_hash = session_iff_done(client, "client", 16).unwrap();
    assert_eq!(server_hash, client_hash);
}
