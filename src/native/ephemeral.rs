//! The forward-secrecy mode: ephemeral X25519 (RFC 7748) on top of the PSK
//! (PROTOCOL.md, "Forward secrecy").

use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

use super::hash::{Hash, Prk};
use super::labels;
use super::suite::Suite;
use crate::Error;

/// Length of an X25519 share (public key) and of an ephemeral secret, in bytes.
pub const SHARE_LEN: usize = 32;

/// `ServerHello`'s mode byte: no ephemeral keys.
pub(crate) const MODE_OFF: u8 = 0x00;
/// `ServerHello`'s mode byte: the server takes a proof with or without a share.
pub(crate) const MODE_OFFERED: u8 = 0x01;
/// `ServerHello`'s mode byte: the server takes only a proof with a share.
pub(crate) const MODE_REQUIRED: u8 = 0x02;

/// Whether a side uses the ephemeral X25519 mode, which gives the session
/// keys forward secrecy: a PSK (or a server's keyring) leaked later does
/// not reveal them. Costs two X25519 operations per side, a base and a
/// variable-base scalar multiplication (both sides together: about 194 us
/// on this project's 2-vCPU test machine, against 6 us without the mode
/// and 291 us for snow's `Noise_NNpsk0`; README, "Benchmarks").
///
/// | setting | server announces | client |
/// |---|---|---|
/// | `Off` (default) | mode `00`: proofs without a share only | sends no share; fails against a server that requires one |
/// | `Offered` | mode `01`: either proof | sends a share when the server offers or requires one |
/// | `Required` | mode `02`: proofs with a share only | sends a share; fails against a server without the mode |
///
/// A side that requires the mode and meets a peer that does not use it fails
/// with [`Error::ForwardSecrecyRequired`]. The mode byte is in the
/// transcript, so an attacker who strips or adds it in flight fails the
/// handshake: with [`Error::BadTag`] / [`Error::PeerRejected`] for a
/// changed transcript, [`Error::ForwardSecrecyRequired`] or
/// [`Error::UnexpectedMessage`] for a proof of the other type
/// (PROTOCOL.md, "Forward secrecy").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ForwardSecrecy {
    /// No ephemeral keys: the PSK-only handshake.
    #[default]
    Off,
    /// Used when the peer takes it (a server accepts either proof; a client
    /// sends a share to any server that announces the mode).
    Offered,
    /// Always used; a peer without it is refused.
    Required,
}

impl ForwardSecrecy {
    /// The mode byte a server with this setting announces.
    pub(crate) const fn mode(self) -> u8 {
        match self {
            ForwardSecrecy::Off => MODE_OFF,
            ForwardSecrecy::Offered => MODE_OFFERED,
            ForwardSecrecy::Required => MODE_REQUIRED,
        }
    }

    /// Client step 1: whether a client with this setting sends a share to a
    /// server announcing `mode` (a known mode byte).
    ///
    /// # Errors
    /// [`Error::ForwardSecrecyRequired`] when one of the two requires the
    /// mode and the other does not use it.
    pub(crate) fn client_sends_share(self, mode: u8) -> Result<bool, Error> {
        match (self, mode) {
            (ForwardSecrecy::Required, MODE_OFF) | (ForwardSecrecy::Off, MODE_REQUIRED) => {
                Err(Error::ForwardSecrecyRequired)
            }
            (ForwardSecrecy::Off, _) | (_, MODE_OFF) => Ok(false),
            _ => Ok(true),
        }
    }
}

/// A side's ephemeral X25519 secret: 32 bytes of the caller's randomness
/// (clamped by X25519 itself, RFC 7748 section 5), zeroized on drop.
pub(crate) struct Ephemeral {
    secret: [u8; SHARE_LEN],
}

/// The X25519 shared secret, never all zeros, zeroized on drop. Cloned
/// only into a finished machine's [`SessionSeed`](super::session::SessionSeed).
#[derive(Clone)]
pub(crate) struct DhSecret {
    bytes: [u8; SHARE_LEN],
}

impl Ephemeral {
    #[cfg(test)]
    const fn new(secret: [u8; SHARE_LEN]) -> Ephemeral {
        Ephemeral { secret }
    }

    /// The secret from the first 32 bytes of `random` (at least 32).
    pub(crate) fn from_slice(random: &[u8]) -> Ephemeral {
        let mut ephemeral = Ephemeral {
            secret: [0; SHARE_LEN],
        };
        ephemeral.secret.copy_from_slice(&random[..SHARE_LEN]);
        ephemeral
    }

    /// Zeroizes the secret once it has done its work; it is not used again.
    pub(crate) fn wipe(&mut self) {
        self.secret.zeroize();
    }

    /// This side's share: `X25519(secret, 9)`, 32 bytes.
    pub(crate) fn share(&self) -> [u8; SHARE_LEN] {
        PublicKey::from(&StaticSecret::from(self.secret)).to_bytes()
    }

    /// `X25519(secret, peer_share)`.
    ///
    /// # Errors
    /// [`Error::ZeroSharedSecret`] when the result is all zeros (a
    /// low-order `peer_share`; RFC 7748 section 6.1), checked in constant time.
    pub(crate) fn agree(&self, peer_share: &[u8]) -> Result<DhSecret, Error> {
        let mut peer = [0u8; SHARE_LEN];
        peer.copy_from_slice(&peer_share[..SHARE_LEN]);
        let shared = StaticSecret::from(self.secret).diffie_hellman(&PublicKey::from(peer));
        let dh = DhSecret {
            bytes: *shared.as_bytes(),
        };
        if bool::from(dh.bytes.ct_eq(&[0u8; SHARE_LEN])) {
            return Err(Error::ZeroSharedSecret);
        }
        Ok(dh)
    }
}

impl DhSecret {
    /// PROTOCOL.md "Forward secrecy": the PRK the session secrets come from,
    /// `HKDF-Extract(salt = Expand(PRK, "derived", "", L), ikm = dh_secret)`.
    pub(crate) fn session_prk(&self, prk: &Prk, suite: Suite) -> Prk {
        let mut salt = Hash::zeroed(suite.mac_len());
        // L bytes are always within 255 * L.
        prk.expand_label(suite, labels::DERIVED, &[], salt.as_mut());
        Prk::extract(suite, salt.as_bytes(), &self.bytes)
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl Drop for DhSecret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::{Ephemeral, ForwardSecrecy, MODE_OFF, MODE_OFFERED, MODE_REQUIRED};
    use crate::Error;

    /// RFC 7748 section 6.1: Alice's and Bob's keys, shares and shared secret.
    #[test]
    fn rfc7748_section_6_1() {
        let hex = |s: &str| -> [u8; 32] {
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
            }
            out
        };
        let alice = Ephemeral::new(hex(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let bob = Ephemeral::new(hex(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        assert_eq!(
            alice.share(),
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            bob.share(),
            hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        );
        let shared = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(alice.agree(&bob.share()).unwrap().bytes, shared);
        assert_eq!(bob.agree(&alice.share()).unwrap().bytes, shared);
        // A low-order share (here 0, and 1) gives all zeros: refused.
        assert!(matches!(
            alice.agree(&[0; 32]),
            Err(Error::ZeroSharedSecret)
        ));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(matches!(alice.agree(&one), Err(Error::ZeroSharedSecret)));
    }

    #[test]
    fn client_decision_per_mode() {
        use ForwardSecrecy::{Off, Offered, Required};
        let fs = Err(Error::ForwardSecrecyRequired);
        for (setting, mode, expected) in [
            (Off, MODE_OFF, Ok(false)),
            (Off, MODE_OFFERED, Ok(false)),
            (Off, MODE_REQUIRED, fs),
            (Offered, MODE_OFF, Ok(false)),
            (Offered, MODE_OFFERED, Ok(true)),
            (Offered, MODE_REQUIRED, Ok(true)),
            (Required, MODE_OFF, fs),
            (Required, MODE_OFFERED, Ok(true)),
            (Required, MODE_REQUIRED, Ok(true)),
        ] {
            assert_eq!(
                setting.client_sends_share(mode),
                expected,
                "{setting:?} {mode}"
            );
        }
    }
}
