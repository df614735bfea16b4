//! snow's `Noise_NNpsk0_25519_ChaChaPoly_SHA256`, both sides in memory.

/// The Noise pattern the benches compare with.
pub const NOISE: &str = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";

/// [`NOISE`], parsed.
///
/// # Panics
/// Never: the name is valid.
#[must_use]
pub fn params() -> snow::params::NoiseParams {
    NOISE.parse().expect("noise params")
}

/// One complete NNpsk0 handshake with `psk` at position 0: both sides
/// built, `-> psk, e` and `<- e, ee` exchanged, both in transport mode.
pub fn noise(
    params: &snow::params::NoiseParams,
    psk: &[u8; 32],
) -> Option<(snow::TransportState, snow::TransportState)> {
    let mut i = snow::Builder::new(params.clone())
        .psk(0, psk)
        .ok()?
        .build_initiator()
        .ok()?;
    let mut r = snow::Builder::new(params.clone())
        .psk(0, psk)
        .ok()?
        .build_responder()
        .ok()?;
    let (mut msg, mut payload) = ([0u8; 128], [0u8; 64]);
    let n = i.write_message(&[], &mut msg).ok()?; // -> psk, e
    r.read_message(&msg[..n], &mut payload).ok()?;
    let n = r.write_message(&[], &mut msg).ok()?; // <- e, ee
    i.read_message(&msg[..n], &mut payload).ok()?;
    Some((i.into_transport_mode().ok()?, r.into_transport_mode().ok()?))
}

/// A handshake, then one message through it: panics unless `ping` arrives.
///
/// # Panics
/// When the handshake or the message fails.
pub fn check(params: &snow::params::NoiseParams, psk: &[u8; 32]) {
    let (mut i, mut r) = noise(params, psk).expect("noise must complete");
    let (mut ct, mut pt) = ([0u8; 64], [0u8; 64]);
    let n = i.write_message(b"ping", &mut ct).expect("encrypt");
    let m = r.read_message(&ct[..n], &mut pt).expect("decrypt");
    assert_eq!(&pt[..m], b"ping");
}
