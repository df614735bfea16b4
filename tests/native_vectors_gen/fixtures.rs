//! Fixed keys, key ids, contexts and nonces, and the parties built of them.

use hmac_handshake::native::{ForwardSecrecy, Suite};

use crate::model::{ClientSpec, Export, ServerSpec};

pub const SHA256: Suite = Suite::HmacSha256;
pub const SHA384: Suite = Suite::HmacSha384;
pub const SHA512: Suite = Suite::HmacSha512;
pub const SHA3: Suite = Suite::HmacSha3_256;

/// Index of the first message of each kind in an honest run.
pub const HELLO: usize = 0;
pub const PROOF: usize = 1;
pub const FINISH: usize = 2;

/// Offsets in the baseline `ClientProof` (7-byte key id, 32-byte tag).
pub const P_ID: usize = 2;
pub const P_NONCE: usize = 2 + 7;
pub const P_TAG: usize = 2 + 7 + 32;
pub const P_LEN: usize = 2 + 7 + 32 + 32;

/// `len` bytes `start, start + step, ...` (mod 256).
pub fn pattern(len: usize, start: u8, step: u8) -> Vec<u8> {
    (0..len)
        .map(|i| start.wrapping_add(step.wrapping_mul(i as u8)))
        .collect()
}

pub fn nonce(start: u8) -> [u8; 32] {
    pattern(32, start, 1).try_into().unwrap()
}

const SERVER_NONCE: u8 = 0x00;
const CLIENT_NONCE: u8 = 0x80;

pub fn key16() -> Vec<u8> {
    b"sixteen byte key".to_vec()
}
pub fn key32() -> Vec<u8> {
    pattern(32, 0x40, 1)
}
pub fn key64() -> Vec<u8> {
    pattern(64, 0xa0, 3)
}
pub fn key200() -> Vec<u8> {
    pattern(200, 0x11, 7)
}
pub fn billing() -> Vec<u8> {
    b"billing-workers/v3".to_vec()
}
pub fn ctx300() -> Vec<u8> {
    pattern(300, 0x20, 5)
}
pub fn id32() -> Vec<u8> {
    b"projects/billing/keys/2026-05-v1".to_vec()
}
pub fn id_binary() -> Vec<u8> {
    vec![0xff, 0xfe, 0x00, 0x80, 0xc3]
}

/// Three keys under rotation: the client of a test usually uses the 2nd or 3rd.
pub fn keyring3() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (b"2026-q1".to_vec(), pattern(32, 0x01, 5)),
        (b"2026-q2".to_vec(), key32()),
        (b"2026-q3".to_vec(), key200()),
    ]
}

pub fn server(suite: Suite, context: Vec<u8>, keyring: Vec<(Vec<u8>, Vec<u8>)>) -> ServerSpec {
    ServerSpec {
        suite,
        context,
        server_name: Vec::new(),
        keyring,
        random: nonce(SERVER_NONCE),
        forward_secrecy: ForwardSecrecy::Off,
        ephemeral: [0; 32],
    }
}

pub fn client(key_id: &[u8], key: Vec<u8>, context: Vec<u8>) -> ClientSpec {
    ClientSpec {
        key_id: key_id.to_vec(),
        key,
        allowed: Suite::ALL.to_vec(),
        context,
        server_name: Vec::new(),
        random: nonce(CLIENT_NONCE),
        forward_secrecy: ForwardSecrecy::Off,
        ephemeral: [0; 32],
    }
}

/// A server and client that agree: one key, same context.
pub fn pair(
    suite: Suite,
    key_id: &[u8],
    key: Vec<u8>,
    context: Vec<u8>,
) -> (ServerSpec, ClientSpec) {
    (
        server(suite, context.clone(), vec![(key_id.to_vec(), key.clone())]),
        client(key_id, key, context),
    )
}

/// The baseline pair most invalid cases tamper with: SHA-256, key id
/// "2026-q2" on a three-key ring, context "billing-workers/v3".
pub fn base() -> (ServerSpec, ClientSpec) {
    (
        server(SHA256, billing(), keyring3()),
        client(b"2026-q2", key32(), billing()),
    )
}

pub fn suite_title(suite: Suite) -> &'static str {
    match suite {
        Suite::HmacSha256 => "HMAC-SHA-256",
        Suite::HmacSha384 => "HMAC-SHA-384",
        Suite::HmacSha512 => "HMAC-SHA-512",
        Suite::HmacSha3_256 => "HMAC-SHA3-256",
        other => panic!("no title for {other}"),
    }
}

pub fn default_exports() -> Vec<Export> {
    vec![
        (b"EXPORTER-hmac-handshake-test".to_vec(), Vec::new(), 32),
        (b"a".to_vec(), billing(), 1),
        (b"channel keys".to_vec(), pattern(40, 0x00, 1), 100),
    ]
}

/// The ephemeral X25519 secrets of the forward-secrecy cases (any 32
/// bytes do: X25519 clamps them).
pub fn server_ephemeral() -> [u8; 32] {
    pattern(32, 0x5e, 1).try_into().unwrap()
}
pub fn client_ephemeral() -> [u8; 32] {
    pattern(32, 0xce, 1).try_into().unwrap()
}

/// These parties with forward-secrecy settings `sfs` (server) and `cfs`
/// (client), each side with the mode on holding its ephemeral secret.
pub fn with_fs(
    (mut s, mut c): (ServerSpec, ClientSpec),
    sfs: ForwardSecrecy,
    cfs: ForwardSecrecy,
) -> (ServerSpec, ClientSpec) {
    s.forward_secrecy = sfs;
    c.forward_secrecy = cfs;
    s.ephemeral = if sfs == ForwardSecrecy::Off {
        [0; 32]
    } else {
        server_ephemeral()
    };
    c.ephemeral = if cfs == ForwardSecrecy::Off {
        [0; 32]
    } else {
        client_ephemeral()
    };
    (s, c)
}

/// The baseline pair (three-key ring, key 2026-q2, context
/// "billing-workers/v3") under `suite`, with these settings.
pub fn fs_base(suite: Suite, sfs: ForwardSecrecy, cfs: ForwardSecrecy) -> (ServerSpec, ClientSpec) {
    with_fs(
        (
            server(suite, billing(), keyring3()),
            client(b"2026-q2", key32(), billing()),
        ),
        sfs,
        cfs,
    )
}

pub fn setting_name(setting: ForwardSecrecy) -> &'static str {
    match setting {
        ForwardSecrecy::Off => "off",
        ForwardSecrecy::Offered => "offered",
        ForwardSecrecy::Required => "required",
    }
}
