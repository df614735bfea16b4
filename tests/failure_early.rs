//! `Handshake::failure` names the error as soon as the machine knows it,
//! while the failure message is still pending as `Status::Send`, in every
//! profile that sends one; `None` while running and after success.

use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::{
    multiprocessing, ClientHandshake, Error, Handshake, Key, ServerHandshake, Status,
};

#[test]
fn multiprocessing_listener_names_the_error_before_failure_is_sent() {
    let key = Key::new(b"abracadabra");
    let mut server =
        ServerHandshake::with_pinned_random(&key, multiprocessing::Config::new(), &[7; 40]);
    let mut wire = [0u8; 128];
    let n = server.write_output(&mut wire);
    assert!(n > 0);
    assert_eq!(server.failure(), None);
    // A 32-byte reply with no {digest} prefix.
    let mut reply = 32u32.to_be_bytes().to_vec();
    reply.extend_from_slice(&[0x55; 32]);
    assert_eq!(server.receive(&reply), 36);
    match server.status() {
        Status::Send(bytes) => assert_eq!(&bytes[4..], b"#FAILURE#"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.failure(), Some(Error::UnknownDigest));
    server.write_output(&mut wire);
    assert_eq!(server.status(), Status::Failed(Error::UnknownDigest));
    assert_eq!(server.failure(), Some(Error::UnknownDigest));
}

#[test]
fn native_server_names_the_error_before_its_reject_is_sent() {
    let server_key = NativeKey::new(b"k1", &[1; 32], Suite::HmacSha256).unwrap();
    let client_key = NativeKey::new(b"k2", &[1; 32], Suite::HmacSha256).unwrap();
    let config = native::Config::default();
    let mut server = ServerHandshake::with_pinned_random(&server_key, config, &[3; 64]);
    let mut client = ClientHandshake::with_pinned_random(&client_key, config, &[4; 64]);
    let mut wire = [0u8; 256];
    let n = server.write_output(&mut wire);
    assert_eq!(client.receive(&wire[..n]), n);
    let n = client.write_output(&mut wire);
    assert_eq!(server.receive(&wire[..n]), n);
    assert_eq!(server.status(), Status::Send(&[0x03, 0x01][..]));
    assert_eq!(server.failure(), Some(Error::UnknownKeyId));
    let n = server.write_output(&mut wire);
    assert_eq!(client.receive(&wire[..n]), n);
    assert_eq!(client.failure(), Some(Error::PeerRejected));
    assert_eq!(server.failure(), Some(Error::UnknownKeyId));
}

#[test]
fn none_while_running_and_after_success() {
    let key = Key::new(b"abracadabra");
    let config = multiprocessing::Config::new();
    let mut server = ServerHandshake::with_pinned_random(&key, config, &[1; 40]);
    let mut client = ClientHandshake::with_pinned_random(&key, config, &[2; 40]);
    let mut wire = [0u8; 128];
    for _ in 0..4 {
        assert_eq!((server.failure(), client.failure()), (None, None));
        let n = server.write_output(&mut wire);
        client.receive(&wire[..n]);
        let n = client.write_output(&mut wire);
        server.receive(&wire[..n]);
    }
    assert!(matches!(server.status(), Status::Done(_)));
    assert_eq!((server.failure(), client.failure()), (None, None));
}
