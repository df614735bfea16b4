//! Regression tests for findings of the fuzz targets in `fuzz/` (see
//! fuzz/README.md, "From a crash to a regression test"). Each test replays
//! a minimised fuzzer input through the public API and names the invariant.

use hmac_handshake::native::{ClientConfig, NativeKey, ServerConfig, Suite};
use hmac_handshake::{ClientHandshake, Handshake, ServerHandshake, Status};

/// `session()` is `Some` exactly when the status is `Done` (the `Handshake`
/// trait: "once the status is `Status::Done`"), at every step.
fn assert_session_iff_done(m: &dyn Handshake, who: &str) {
    assert_eq!(
        m.session().is_some(),
        matches!(m.status(), Status::Done(_)),
        "{who}: session() is {:?} while the status is {:?}",
        m.session(),
        m.status()
    );
}

/// Fuzz target `native_server`, per-step check "session() is Some exactly
/// when Done": after verifying a valid `ClientProof` the server returned its
/// session while its `ServerFinish` was still pending (`Status::Send`), i.e.
/// before the handshake was `Done`. Any accepted proof triggers it, so the
/// crash input (the seed from vectors/handshake/native.json tcId 1: suite
/// HMAC-SHA-256, one key, id `a`, secret `sixteen byte key`, empty context,
/// server nonce 00..1f, client nonce 80..9f, the honest proof, 1-byte
/// chunks) does not minimise further; the chunking does not matter.
#[test]
fn native_server_session_only_when_done() {
    let key = NativeKey::new(b"a", b"sixteen byte key").unwrap();
    let ring = [key.clone()];
    let server_nonce: Vec<u8> = (0x00..0x20).collect();
    let client_nonce: Vec<u8> = (0x80..0xa0).collect();
    let mut server = ServerHandshake::native(
        &ring,
        ServerConfig {
            suite: Suite::HmacSha256,
            context: b"",
        },
        &server_nonce,
    )
    .unwrap();
    let mut client = ClientHandshake::native(&key, ClientConfig::default(), &client_nonce).unwrap();
    let mut wire = [0u8; 256];
    for _ in 0..8 {
        assert_session_iff_done(&server, "server");
        assert_session_iff_done(&client, "client");
        let n = server.write_output(&mut wire);
        assert_eq!(client.receive(&wire[..n]), n);
        assert_session_iff_done(&server, "server");
        assert_session_iff_done(&client, "client");
        let n = client.write_output(&mut wire);
        assert_eq!(server.receive(&wire[..n]), n);
    }
    assert!(matches!(server.status(), Status::Done(_)));
    assert!(matches!(client.status(), Status::Done(_)));
    assert_eq!(
        server.session().unwrap().handshake_hash(),
        client.session().unwrap().handshake_hash()
    );
}
