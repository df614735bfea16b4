//! The crate's one error type, its stable codes and numbers.

use core::fmt;

use crate::native::{KeyId, Suite};
use crate::Digest;

/// Why a handshake failed, or why a call was refused.
///
/// Every variant is `Copy` and allocation-free, so a state machine can keep
/// it: errors are sticky, and once a machine reports
/// [`Status::Failed`](crate::Status::Failed) it keeps reporting the same one.
///
/// Errors come from one of two places ([`Error::origin`]):
/// - [`Origin::Peer`]: the bytes the peer sent (a wrong key, tampering, a peer
///   of another protocol or version). These are the only errors a machine
///   fails with, and the names the conformance vectors use.
/// - [`Origin::Caller`]: this program's own configuration or calls (a key id
///   that is too long, a keyring with a duplicate id, `sent` told too much).
///   Returned by constructors and methods, never by a handshake in progress.
///
/// [`Error::code`] is a stable short name (the `serverResult` /
/// `clientResult` values of `vectors/handshake/`), [`Error::number`] a stable
/// number for FFI and logs: 1 to 63 for peer errors, 64 and up for caller
/// errors. Neither changes once released; new errors get new ones.
/// Numbers 128 to 191 are taken by the C ABI's own errors (a null pointer,
/// a call out of order: the `ffi/` crate, `HH_ERR_*`), and never by this type.
///
/// | number | code | origin | meaning |
/// |---:|---|---|---|
/// | 1 | `bad_tag` | peer | the peer's MAC did not verify |
/// | 2 | `peer_rejected` | peer | the peer rejected our proof (`#FAILURE#`, native `03 01`) |
/// | 3 | `tag_length` | peer | a reply of the wrong length for its digest |
/// | 4 | `unknown_digest` | peer | no `{digest}` prefix we know, and not legacy |
/// | 5 | `md5_not_allowed` | peer | the peer uses HMAC-MD5 and `allow_md5` is off |
/// | 6 | `message_too_long` | peer | a length prefix over the receive limit |
/// | 7 | `bad_length` | peer | a negative length prefix other than -1 |
/// | 8 | `missing_challenge` | peer | the first frame is not `#CHALLENGE#` |
/// | 9 | `challenge_too_short` | peer | a challenge under 20 bytes |
/// | 10 | `unexpected_verdict` | peer | a verdict that is neither accept nor reject |
/// | 11 | `not_native` | peer | no `HMHS` magic: not the native protocol |
/// | 12 | `version_mismatch` | peer | another native protocol version |
/// | 13 | `suite_not_allowed` | peer | a native suite this client holds no key for |
/// | 14 | `unexpected_message` | peer | a native message of the wrong type |
/// | 15 | `key_id_length` | peer | a key id outside 1 to 32 bytes in `ClientProof` |
/// | 16 | `unknown_key_id` | peer | a key id the server does not hold |
/// | 17 | `reflected_nonce` | peer | the peer's nonce equals ours |
/// | 18 | `forward_secrecy_required` | peer | one side requires the native X25519 mode and the other does not use it |
/// | 19 | `unknown_mode` | peer | a native `ServerHello` mode byte other than `00`, `01`, `02` |
/// | 20 | `zero_shared_secret` | peer | the X25519 shared secret is all zeros (a low-order share) |
/// | 64 | `sent_too_much` | caller | `sent(n)` with `n` over the pending output |
/// | 65 | `not_finished` | caller | `finish()` before the handshake was done |
/// | 66 | `invalid_key_id` | caller | building a key id outside 1 to 32 bytes |
/// | 67 | `key_too_short` | caller | a native pre-shared key under 16 bytes |
/// | 68 | `empty_keyring` | caller | a keyring with no key |
/// | 69 | `duplicate_key_id` | caller | a keyring holding the same key id twice |
/// | 70 | `suite_mismatch` | caller | a keyring mixing keys of different suites |
/// | 71 | `unsupported_digest` | caller | a multiprocessing digest CPython does not allow |
/// | 72 | `md5_disabled` | caller | settings that would send MD5 without `allow_md5` |
/// | 73 | `export_too_long` | caller | an exporter label over 255 bytes or output over `255 * L` |
/// | 74 | `server_name_too_long` | caller | a native server name over 255 bytes |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer's MAC did not verify: the peer holds a different key, or a
    /// byte of the exchange was changed in flight. Check both sides' keys.
    BadTag,
    /// The peer told us it rejected our proof (CPython's `#FAILURE#`, the
    /// native reject verdict `03 01`): the two sides hold different keys, or
    /// the native server does not hold our key id.
    PeerRejected,
    /// The peer's reply has the wrong length for its digest (CPython
    /// `_verify_challenge`: "expected 'sha256' of length 32 got N").
    TagLength {
        /// The digest the reply named (or MD5 for an unprefixed legacy reply).
        digest: Digest,
        /// Tag length that digest produces, in bytes.
        expected: usize,
        /// Tag length received, in bytes.
        got: usize,
    },
    /// A challenge or reply has no `{digest}` prefix we know, and is not a
    /// legacy 16- or 20-byte message (CPython `_get_digest_name_and_payload`).
    UnknownDigest,
    /// The peer uses HMAC-MD5: it looks like Python 3.11 or older (legacy
    /// unprefixed format) or asked for `{md5}`. Enable it with
    /// [`multiprocessing::Config::with_md5`](crate::multiprocessing::Config::with_md5)
    /// if that peer is expected.
    Md5NotAllowed,
    /// A length prefix announced a message over the receive limit
    /// (CPython's `recv_bytes(256)`); nothing of it was read.
    MessageTooLong {
        /// Announced length in bytes.
        len: u64,
        /// Largest accepted length in bytes.
        max: usize,
    },
    /// A 4-byte length prefix was negative and not -1 (the only negative
    /// value CPython's framing defines, announcing an 8-byte length).
    BadLength(i32),
    /// The server's first message does not start with `#CHALLENGE#`.
    MissingChallenge,
    /// The challenge after `#CHALLENGE#` is shorter than 20 bytes (CPython
    /// `answer_challenge`).
    ChallengeTooShort {
        /// Challenge length received, in bytes.
        len: usize,
    },
    /// The verdict is neither accept nor reject: a multiprocessing frame that
    /// is neither `#WELCOME#` nor `#FAILURE#`, or a native verdict byte other
    /// than `00` / `01`.
    UnexpectedVerdict,
    /// Native: the server's first bytes are not the `HMHS` magic; the peer
    /// does not speak the native protocol (another profile, or not this crate).
    NotNative,
    /// Native: the peer speaks another protocol version.
    VersionMismatch {
        /// The version this side speaks.
        ours: u8,
        /// The version the peer announced.
        theirs: u8,
    },
    /// Native: the server chose a suite this client holds no key for (or one
    /// this crate does not know). Give the client a key of that suite, or
    /// change the server's keys.
    SuiteNotAllowed {
        /// The suite's wire id.
        id: u8,
    },
    /// Native: a message has the wrong type byte.
    UnexpectedMessage {
        /// The type byte expected.
        expected: u8,
        /// The type byte received.
        got: u8,
    },
    /// Native: the key id length byte of `ClientProof` is outside 1..=32.
    KeyIdLength {
        /// The announced length in bytes.
        len: usize,
    },
    /// Native: the client named a key id that is not on the server's keyring
    /// (it may have been rotated out). The client sees the same verdict as
    /// for a wrong key.
    UnknownKeyId,
    /// Native: the peer's nonce equals ours (a reflected message).
    ReflectedNonce,
    /// Native: one side requires the X25519 forward-secrecy mode and the
    /// other does not use it (PROTOCOL.md, "Forward secrecy"): a client
    /// requiring it met a server without it, a server requiring it got a
    /// proof without a share, or a client with the mode off met a server
    /// requiring it.
    ForwardSecrecyRequired,
    /// Native: the `ServerHello` mode byte is not `00`, `01` or `02`.
    UnknownMode {
        /// The mode byte received.
        mode: u8,
    },
    /// Native: the X25519 shared secret is all zeros, because the peer's
    /// share is a low-order point (RFC 7748 section 6.1).
    ZeroSharedSecret,
    /// `sent` was told more bytes were sent than the machine handed out;
    /// nothing changed.
    SentTooMuch,
    /// `finish` was called before the status was [`Status::Done`](crate::Status::Done).
    NotFinished,
    /// A native key id must be 1 to 32 bytes.
    InvalidKeyId {
        /// Its length in bytes.
        len: usize,
    },
    /// A native pre-shared key shorter than 16 bytes; use 32 random bytes.
    KeyTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// A keyring must hold at least one key.
    EmptyKeyring,
    /// A keyring may hold each key id once: which key a client means would
    /// otherwise depend on the order of the keys.
    DuplicateKeyId(KeyId),
    /// A keyring holds keys of one suite (the suite its server announces).
    SuiteMismatch {
        /// The suite of the keyring's first key.
        expected: Suite,
        /// The suite of a later key.
        got: Suite,
    },
    /// A multiprocessing challenge digest that CPython's `_ALLOWED_DIGESTS`
    /// does not hold (SHA-512, say).
    UnsupportedDigest(Digest),
    /// Multiprocessing settings that would send an MD5 challenge (legacy, or
    /// `{md5}`) while MD5 is not allowed.
    Md5Disabled,
    /// Native: an exporter label over 255 bytes or output over 255 * L bytes.
    ExportTooLong,
    /// Native: a server name ([`native::Config::with_server_name`](crate::native::Config::with_server_name))
    /// over 255 bytes.
    ServerNameTooLong {
        /// Length of the name given, in bytes.
        len: usize,
    },
}

/// Where an [`Error`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The peer's bytes: the handshake failed.
    Peer,
    /// This program's configuration or calls.
    Caller,
}

impl Error {
    /// A stable short name for the error, as used in the vectors'
    /// `serverResult` / `clientResult` fields (e.g. `"bad_tag"`); see the
    /// table on [`Error`].
    #[must_use]
    pub const fn code(&self) -> &'static str {
        self.entry().1
    }

    /// A stable number for the error (see the table on [`Error`]): 1 to 63
    /// for peer errors, 64 and up for caller errors.
    #[must_use]
    pub const fn number(&self) -> u16 {
        self.entry().0
    }

    /// Whether the peer's bytes or this program's own calls caused it.
    #[must_use]
    pub const fn origin(&self) -> Origin {
        if self.number() < FIRST_CALLER_NUMBER {
            Origin::Peer
        } else {
            Origin::Caller
        }
    }

    /// The code of the error numbered `number` (see the table on [`Error`]),
    /// for a program that carries only the number (a C caller of the FFI
    /// crate, a log): e.g. `Some("bad_tag")` for 1. `None` for a number no
    /// error has.
    #[must_use]
    pub const fn code_for_number(number: u16) -> Option<&'static str> {
        let mut i = 0;
        while i < EVERY.len() {
            let (n, code) = EVERY[i].entry();
            if n == number {
                return Some(code);
            }
            i += 1;
        }
        None
    }

    /// `(number, code)`: the one place both are written.
    const fn entry(&self) -> (u16, &'static str) {
        match self {
            Error::BadTag => (1, "bad_tag"),
            Error::PeerRejected => (2, "peer_rejected"),
            Error::TagLength { .. } => (3, "tag_length"),
            Error::UnknownDigest => (4, "unknown_digest"),
            Error::Md5NotAllowed => (5, "md5_not_allowed"),
            Error::MessageTooLong { .. } => (6, "message_too_long"),
            Error::BadLength(_) => (7, "bad_length"),
            Error::MissingChallenge => (8, "missing_challenge"),
            Error::ChallengeTooShort { .. } => (9, "challenge_too_short"),
            Error::UnexpectedVerdict => (10, "unexpected_verdict"),
            Error::NotNative => (11, "not_native"),
            Error::VersionMismatch { .. } => (12, "version_mismatch"),
            Error::SuiteNotAllowed { .. } => (13, "suite_not_allowed"),
            Error::UnexpectedMessage { .. } => (14, "unexpected_message"),
            Error::KeyIdLength { .. } => (15, "key_id_length"),
            Error::UnknownKeyId => (16, "unknown_key_id"),
            Error::ReflectedNonce => (17, "reflected_nonce"),
            Error::ForwardSecrecyRequired => (18, "forward_secrecy_required"),
            Error::UnknownMode { .. } => (19, "unknown_mode"),
            Error::ZeroSharedSecret => (20, "zero_shared_secret"),
            Error::SentTooMuch => (64, "sent_too_much"),
            Error::NotFinished => (65, "not_finished"),
            Error::InvalidKeyId { .. } => (66, "invalid_key_id"),
            Error::KeyTooShort { .. } => (67, "key_too_short"),
            Error::EmptyKeyring => (68, "empty_keyring"),
            Error::DuplicateKeyId(_) => (69, "duplicate_key_id"),
            Error::SuiteMismatch { .. } => (70, "suite_mismatch"),
            Error::UnsupportedDigest(_) => (71, "unsupported_digest"),
            Error::Md5Disabled => (72, "md5_disabled"),
            Error::ExportTooLong => (73, "export_too_long"),
            Error::ServerNameTooLong { .. } => (74, "server_name_too_long"),
        }
    }
}

/// One error of every variant, in number order (the fields are examples:
/// numbers and codes do not depend on them).
const EVERY: [Error; 31] = [
    Error::BadTag,
    Error::PeerRejected,
    Error::TagLength {
        digest: Digest::Sha256,
        expected: 32,
        got: 3,
    },
    Error::UnknownDigest,
    Error::Md5NotAllowed,
    Error::MessageTooLong { len: 999, max: 256 },
    Error::BadLength(-2),
    Error::MissingChallenge,
    Error::ChallengeTooShort { len: 3 },
    Error::UnexpectedVerdict,
    Error::NotNative,
    Error::VersionMismatch { ours: 1, theirs: 2 },
    Error::SuiteNotAllowed { id: 9 },
    Error::UnexpectedMessage {
        expected: 2,
        got: 7,
    },
    Error::KeyIdLength { len: 0 },
    Error::UnknownKeyId,
    Error::ReflectedNonce,
    Error::ForwardSecrecyRequired,
    Error::UnknownMode { mode: 3 },
    Error::ZeroSharedSecret,
    Error::SentTooMuch,
    Error::NotFinished,
    Error::InvalidKeyId { len: 33 },
    Error::KeyTooShort { len: 3 },
    Error::EmptyKeyring,
    Error::DuplicateKeyId(KeyId::EXAMPLE),
    Error::SuiteMismatch {
        expected: Suite::HmacSha256,
        got: Suite::HmacSha512,
    },
    Error::UnsupportedDigest(Digest::Sha512),
    Error::Md5Disabled,
    Error::ExportTooLong,
    Error::ServerNameTooLong { len: 256 },
];

/// The first number of a caller error.
const FIRST_CALLER_NUMBER: u16 = 64;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadTag => f.write_str(
                "the peer's MAC did not verify: it holds a different key, or the exchange was altered",
            ),
            Error::PeerRejected => f.write_str(
                "the peer rejected our proof (#FAILURE# or a reject verdict): the two sides hold \
                 different keys, or (native) the server does not hold our key id",
            ),
            Error::TagLength { digest, expected, got } => write!(
                f,
                "reply of the wrong length: expected {} of length {expected}, got {got} bytes",
                digest.name()
            ),
            Error::UnknownDigest => f.write_str(
                "unsupported message length, missing {digest} prefix, or unsupported digest",
            ),
            Error::Md5NotAllowed => f.write_str(
                "the peer uses HMAC-MD5, so it looks like Python <= 3.11 (or asked for {md5}); \
                 enable MD5 with multiprocessing::Config::with_md5 (CLI: --allow-md5) if that \
                 peer is expected",
            ),
            Error::MessageTooLong { len, max } => write!(
                f,
                "message length {len} is over the {max}-byte limit; the peer is not speaking this protocol"
            ),
            Error::BadLength(n) => write!(
                f,
                "negative length prefix {n} (only -1 is defined); the peer is not speaking this protocol"
            ),
            Error::MissingChallenge => f.write_str(
                "protocol error: expected a #CHALLENGE# message; is the peer a multiprocessing Listener?",
            ),
            Error::ChallengeTooShort { len } => {
                write!(f, "challenge too short: {len} bytes, at least 20 needed")
            }
            Error::UnexpectedVerdict => f.write_str(
                "protocol error: the verdict is neither accept nor reject \
                 (multiprocessing: #WELCOME# / #FAILURE#; native: 00 / 01)",
            ),
            Error::NotNative => f.write_str(
                "the peer does not speak the hmac-handshake native protocol (no HMHS magic); \
                 check the profile on both sides",
            ),
            Error::VersionMismatch { ours, theirs } => write!(
                f,
                "protocol version mismatch: we speak native v{ours}, the peer speaks v{theirs}"
            ),
            Error::SuiteNotAllowed { id } => write!(
                f,
                "the server chose suite 0x{id:02x}, for which this client holds no key; \
                 give the client a key of that suite or change the server's keys"
            ),
            Error::UnexpectedMessage { expected, got } => write!(
                f,
                "protocol error: expected message type 0x{expected:02x}, got 0x{got:02x}"
            ),
            Error::KeyIdLength { len } => write!(
                f,
                "the peer announced a key id of {len} bytes: key ids are 1 to 32 bytes"
            ),
            Error::UnknownKeyId => f.write_str(
                "the client's key id is not on our keyring (rotated out?); the client was told \
                 only that it was rejected",
            ),
            Error::ReflectedNonce => {
                f.write_str("the peer's nonce equals ours: a reflected message, rejected")
            }
            Error::ForwardSecrecyRequired => f.write_str(
                "one side requires forward secrecy (the X25519 mode) and the other does not use \
                 it; set the same forward-secrecy setting on both sides",
            ),
            Error::UnknownMode { mode } => write!(
                f,
                "the server announced mode 0x{mode:02x}: native v1 knows 00 (off), 01 (X25519 \
                 offered) and 02 (X25519 required)"
            ),
            Error::ZeroSharedSecret => f.write_str(
                "the peer's X25519 share gives an all-zero shared secret (a low-order point): \
                 rejected",
            ),
            Error::SentTooMuch => f.write_str(
                "sent() was told more bytes than the pending output holds; report only bytes written",
            ),
            Error::NotFinished => f.write_str(
                "finish() was called before the handshake was done; wait for Status::Done",
            ),
            Error::InvalidKeyId { len } => {
                write!(f, "key id of {len} bytes: key ids are 1 to 32 bytes")
            }
            Error::KeyTooShort { len } => write!(
                f,
                "pre-shared key of {len} bytes: at least 16 are required, 32 random bytes is the norm"
            ),
            Error::EmptyKeyring => f.write_str("the keyring holds no key"),
            Error::DuplicateKeyId(id) => write!(
                f,
                "key id {id} is on the keyring twice: each key id may name one key"
            ),
            Error::SuiteMismatch { expected, got } => write!(
                f,
                "the keyring mixes suites: its first key is {expected}, another {got}; \
                 a keyring holds the keys of the one suite its server announces"
            ),
            Error::UnsupportedDigest(digest) => write!(
                f,
                "{digest} is not a digest CPython multiprocessing allows \
                 (md5, sha256, sha384, sha3_256, sha3_384)"
            ),
            Error::Md5Disabled => f.write_str(
                "these multiprocessing settings would send an MD5 challenge while MD5 is not \
                 allowed; start from Config::with_md5() or Config::legacy()",
            ),
            Error::ExportTooLong => {
                f.write_str("exporter label over 255 bytes or output over 255 * L bytes")
            }
            Error::ServerNameTooLong { len } => {
                write!(f, "server name of {len} bytes: server names are 0 to 255 bytes")
            }
        }
    }
}

impl core::error::Error for Error {}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::{Error, Origin};

    /// One error of every variant.
    fn all() -> [Error; 31] {
        super::EVERY
    }

    /// Where a variant stands in [`all`]; the match makes a new variant a
    /// compile error here until it is added.
    fn position(e: &Error) -> usize {
        match e {
            Error::BadTag => 0,
            Error::PeerRejected => 1,
            Error::TagLength { .. } => 2,
            Error::UnknownDigest => 3,
            Error::Md5NotAllowed => 4,
            Error::MessageTooLong { .. } => 5,
            Error::BadLength(_) => 6,
            Error::MissingChallenge => 7,
            Error::ChallengeTooShort { .. } => 8,
            Error::UnexpectedVerdict => 9,
            Error::NotNative => 10,
            Error::VersionMismatch { .. } => 11,
            Error::SuiteNotAllowed { .. } => 12,
            Error::UnexpectedMessage { .. } => 13,
            Error::KeyIdLength { .. } => 14,
            Error::UnknownKeyId => 15,
            Error::ReflectedNonce => 16,
            Error::SentTooMuch => 17,
            Error::NotFinished => 18,
            Error::InvalidKeyId { .. } => 19,
            Error::KeyTooShort { .. } => 20,
            Error::EmptyKeyring => 21,
            Error::DuplicateKeyId(_) => 22,
            Error::SuiteMismatch { .. } => 23,
            Error::UnsupportedDigest(_) => 24,
            Error::Md5Disabled => 25,
            Error::ExportTooLong => 26,
            Error::ServerNameTooLong { .. } => 27,
            Error::ForwardSecrecyRequired => 28,
            Error::UnknownMode { .. } => 29,
            Error::ZeroSharedSecret => 30,
        }
    }

    /// The rows of the table in `Error`'s documentation:
    /// `(number, code, origin)`.
    fn documented() -> std::vec::Vec<(u16, std::string::String, Origin)> {
        include_str!("error.rs")
            .lines()
            .filter_map(|line| {
                let row = line.trim().strip_prefix("/// |")?;
                let cells: std::vec::Vec<&str> = row.split('|').map(str::trim).collect();
                let number = cells.first()?.parse().ok()?;
                let code = cells.get(1)?.trim_matches('`').into();
                let origin = match *cells.get(2)? {
                    "peer" => Origin::Peer,
                    "caller" => Origin::Caller,
                    other => panic!("origin {other:?} in the error table"),
                };
                Some((number, code, origin))
            })
            .collect()
    }

    #[test]
    fn every_variant_is_listed_once() {
        let mut seen = [false; 31];
        for e in all() {
            let p = position(&e);
            assert!(!seen[p], "{e:?} twice");
            seen[p] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn the_documented_table_is_the_code() {
        let table = documented();
        let errors = all();
        assert_eq!(table.len(), errors.len(), "one table row per error");
        for (e, (number, code, origin)) in errors.iter().zip(&table) {
            assert_eq!(
                (e.number(), e.code(), e.origin()),
                (*number, code.as_str(), *origin),
                "{e:?}"
            );
        }
    }

    #[test]
    fn code_for_number_reads_the_table() {
        for e in all() {
            assert_eq!(Error::code_for_number(e.number()), Some(e.code()), "{e:?}");
        }
        for n in [0, 21, 63, 75, 127, 128, 191, u16::MAX] {
            assert_eq!(Error::code_for_number(n), None, "{n}");
        }
    }

    #[test]
    fn numbers_and_codes_are_unique_and_tell_the_origin() {
        let errors = all();
        for (i, a) in errors.iter().enumerate() {
            for b in &errors[i + 1..] {
                assert_ne!(a.number(), b.number(), "{a:?} / {b:?}");
                assert_ne!(a.code(), b.code(), "{a:?} / {b:?}");
            }
            let peer = a.number() < 64;
            assert_eq!(a.origin() == Origin::Peer, peer, "{a:?}");
            assert!(!std::format!("{a}").is_empty());
        }
        // Machines fail only with errors from the peer.
        for e in [
            Error::BadTag,
            Error::KeyIdLength { len: 0 },
            Error::UnknownKeyId,
        ] {
            assert_eq!(e.origin(), Origin::Peer);
        }
        for e in [
            Error::InvalidKeyId { len: 0 },
            Error::SentTooMuch,
            Error::NotFinished,
        ] {
            assert_eq!(e.origin(), Origin::Caller);
        }
    }
}
