//! Driving the crate's own native machines over a [`Link`] for the
//! tester: an honest side, whose messages a case may change in transit.

use hmac_handshake::native::{
    self, ForwardSecrecy, NativeKey, Suite, RANDOM_LEN, SERVER_HELLO_LEN,
};
use hmac_handshake::{ClientHandshake, Handshake, ServerHandshake, Status};

use super::link::Link;

/// Fresh random bytes for a native machine: a nonce, then an X25519 secret.
pub fn random() -> [u8; RANDOM_LEN] {
    let mut random = [0u8; RANDOM_LEN];
    getrandom::fill(&mut random).expect("the OS random generator failed");
    random
}

/// The forward-secrecy setting a server's mode byte announces.
pub fn mode_setting(mode: u8) -> ForwardSecrecy {
    match mode {
        0x01 => ForwardSecrecy::Offered,
        0x02 => ForwardSecrecy::Required,
        _ => ForwardSecrecy::Off,
    }
}

/// What the machine wants to send now, marked sent.
///
/// # Errors
/// The machine's error when it failed instead, or a note that it has
/// nothing to send.
pub fn take_output(machine: &mut impl Handshake, what: &str) -> Result<Vec<u8>, String> {
    let bytes = match machine.status() {
        Status::Send(bytes) => bytes.to_vec(),
        Status::Failed(e) => return Err(format!("our {what} failed: {e}")),
        other => return Err(format!("our {what} has nothing to send ({other:?})")),
    };
    machine
        .sent(bytes.len())
        .map_err(|e| format!("our {what}: {e}"))?;
    Ok(bytes)
}

/// Feeds the peer's bytes to `machine`, one at a time, until it has
/// something to send or is over, all within one timeout; bytes after the
/// handshake stay in `link`. Returns the bytes fed (the peer's message).
///
/// # Errors
/// How the peer ended first.
pub fn feed(machine: &mut impl Handshake, link: &mut Link) -> Result<Vec<u8>, super::link::End> {
    let deadline = std::time::Instant::now() + link.timeout();
    let mut fed = Vec::new();
    while machine.status() == Status::NeedInput {
        let byte = link.read_exact_by(1, deadline)?;
        machine.receive(&byte);
        fed.extend_from_slice(&byte);
    }
    Ok(fed)
}

/// The server's 39-byte `ServerHello`.
///
/// # Errors
/// What the peer did instead.
pub fn read_hello(link: &mut Link) -> Result<Vec<u8>, String> {
    let hello = link
        .read_exact(SERVER_HELLO_LEN)
        .map_err(|e| format!("no ServerHello: it {}", e.describe()))?;
    if hello[..4] != native::MAGIC {
        return Err(format!(
            "it does not speak the native protocol: {}",
            super::link::show(&hello)
        ));
    }
    Ok(hello)
}

/// The suite a `ServerHello` announces.
///
/// # Errors
/// An unknown suite id.
pub fn hello_suite(hello: &[u8]) -> Result<Suite, String> {
    Suite::from_id(hello[5]).ok_or_else(|| format!("its ServerHello names suite {:#04x}", hello[5]))
}

/// A client machine over `keys` with `config`, drawing fresh randomness.
pub fn client(keys: Vec<NativeKey>, config: native::Config) -> ClientHandshake<Vec<NativeKey>> {
    ClientHandshake::with_pinned_random(keys, config, &random())
}

/// A server machine over `key` with `config` and the given randomness.
pub fn server(
    key: NativeKey,
    config: native::Config,
    random: &[u8; RANDOM_LEN],
) -> ServerHandshake<NativeKey> {
    ServerHandshake::with_pinned_random(key, config, random)
}
