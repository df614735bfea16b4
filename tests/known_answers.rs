//! The known answers the design names, checked through the state machines.

use hmac_handshake::multiprocessing::Config;
use hmac_handshake::{
    recipe, ClientHandshake, Confirmation, Digest, Error, Handshake, Key, ServerHandshake, Status,
};

fn counting(n: u8) -> Vec<u8> {
    (0..n).collect()
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as i32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// Runs `client` against a scripted server: feeds each server frame and
/// returns the client's output after it.
fn client_reply(client: &mut ClientHandshake<&Key>, input: &[u8]) -> Vec<u8> {
    assert_eq!(client.receive(input), input.len());
    let mut out = [0u8; 256];
    let n = client.write_output(&mut out);
    out[..n].to_vec()
}

#[test]
fn legacy_challenge_reply_is_raw_hmac_md5() {
    let key = Key::new(b"abracadabra");
    let mut client = ClientHandshake::with_pinned_random(&key, Config::with_md5(), &[0; 40]);
    let mut challenge = b"#CHALLENGE#".to_vec();
    challenge.extend(counting(20));
    let reply = client_reply(&mut client, &frame(&challenge));
    assert_eq!(
        reply,
        frame(&hex::decode("ff63d69f0d1055b99f32d588bd840b74").unwrap())
    );
}

#[test]
fn legacy_challenge_refused_without_md5() {
    let key = Key::new(b"abracadabra");
    let mut client = ClientHandshake::with_pinned_random(&key, Config::new(), &[0; 40]);
    let mut challenge = b"#CHALLENGE#".to_vec();
    challenge.extend(counting(20));
    let reply = client_reply(&mut client, &frame(&challenge));
    assert!(reply.is_empty());
    assert_eq!(client.status(), Status::Failed(Error::Md5NotAllowed));
}

#[test]
fn modern_challenge_reply_is_prefixed_sha256_over_whole_message() {
    let key = Key::new(b"abracadabra");
    let mut client = ClientHandshake::with_pinned_random(&key, Config::new(), &[0; 40]);
    let mut challenge = b"#CHALLENGE#{sha256}".to_vec();
    challenge.extend(counting(40));
    let reply = client_reply(&mut client, &frame(&challenge));
    let mut expected = b"{sha256}".to_vec();
    expected.extend(
        hex::decode("536016a8c32ca9231522a6e91ddbbd637ba292f333e6fd43599971f107db3002").unwrap(),
    );
    assert_eq!(reply, frame(&expected));
}

#[test]
fn server_accepts_python_311_md5_reply_only_with_md5() {
    let key = Key::new(b"abracadabra");
    let md5_reply = frame(&hex::decode("7690e2569f3bc902fa21a77cf545d7f6").unwrap());
    for (config, verdict) in [
        (Config::with_md5(), &b"#WELCOME#"[..]),
        (Config::new(), &b"#FAILURE#"[..]),
    ] {
        let random: [u8; 40] = counting(40).try_into().unwrap();
        let mut server = ServerHandshake::with_pinned_random(&key, config, &random);
        let mut out = [0u8; 256];
        let n = server.write_output(&mut out);
        let mut challenge = b"#CHALLENGE#{sha256}".to_vec();
        challenge.extend(counting(40));
        assert_eq!(&out[..n], &frame(&challenge)[..]);
        assert_eq!(server.receive(&md5_reply), md5_reply.len());
        let n = server.write_output(&mut out);
        assert_eq!(&out[..n], &frame(verdict)[..]);
        if config.allow_md5() {
            assert_eq!(server.status(), Status::NeedInput);
        } else {
            assert_eq!(server.status(), Status::Failed(Error::Md5NotAllowed));
        }
    }
}

#[test]
fn recipe_md5_peekaboo() {
    let key = Key::new(b"peekaboo");
    let profile = recipe::Config {
        digest: Digest::Md5,
    };
    let mut client = ClientHandshake::with_pinned_random(&key, profile, &[]);
    let reply = client_reply(&mut client, &[0u8; 32]);
    assert_eq!(
        reply,
        hex::decode("9d98b93e73866fa9d85a3b9aed30f340").unwrap()
    );
    let outcome = client.outcome().unwrap();
    assert_eq!(outcome.confirmation, Confirmation::Unknown);
    assert!(!outcome.peer_authenticated);

    let mut server = ServerHandshake::with_pinned_random(&key, profile, &[0u8; 32]);
    let mut out = [0u8; 64];
    assert_eq!(server.write_output(&mut out), 32);
    assert_eq!(server.receive(&reply), 16);
    assert!(server.outcome().unwrap().peer_authenticated);
}
