//! The crate's one error type.

use core::fmt;

use crate::Digest;

/// Why a handshake failed.
///
/// Every variant is `Copy` and allocation-free, so a state machine can keep it
/// (errors are sticky: once a machine reports [`Status::Failed`](crate::Status::Failed)
/// it keeps reporting the same error). [`Error::code`] gives a stable short name,
/// the one used in the conformance vectors under `vectors/handshake/`.
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
    /// unprefixed format) or asked for `{md5}`. Enable it with `allow_md5`
    /// on the multiprocessing configuration if that peer is expected.
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
    /// The caller's randomness has the wrong length for this profile: pass
    /// exactly `random_len()` bytes, or use `from_rng`.
    RandomLength {
        /// Bytes this profile and role need.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// `sent` was told more bytes were sent than the machine handed out.
    SentTooMuch,
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
    /// Native: the server chose a suite outside the client's allowed set
    /// (or one this crate does not know). Allow it on the client, or change
    /// the server's suite.
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
    /// Native: a key id is outside 1..=32 bytes.
    KeyIdLength {
        /// Its length in bytes.
        len: usize,
    },
    /// Native: the client named a key id that is not on the server's keyring
    /// (it may have been rotated out). The client sees the same verdict as
    /// for a wrong key.
    UnknownKeyId,
    /// Native: the peer's nonce equals ours (a reflected message).
    ReflectedNonce,
    /// Native: a pre-shared key shorter than 16 bytes; use 32 random bytes.
    KeyTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// Native: the server was given an empty keyring.
    EmptyKeyring,
    /// Native: an exporter label over 255 bytes or output over 255 * L bytes.
    ExportTooLong,
}

impl Error {
    /// A stable short name for the error, as used in the vectors'
    /// `serverResult` / `clientResult` fields (e.g. `"bad_tag"`).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Error::BadTag => "bad_tag",
            Error::PeerRejected => "peer_rejected",
            Error::TagLength { .. } => "tag_length",
            Error::UnknownDigest => "unknown_digest",
            Error::Md5NotAllowed => "md5_not_allowed",
            Error::MessageTooLong { .. } => "message_too_long",
            Error::BadLength(_) => "bad_length",
            Error::MissingChallenge => "missing_challenge",
            Error::ChallengeTooShort { .. } => "challenge_too_short",
            Error::UnexpectedVerdict => "unexpected_verdict",
            Error::RandomLength { .. } => "random_length",
            Error::SentTooMuch => "sent_too_much",
            Error::NotNative => "not_native",
            Error::VersionMismatch { .. } => "version_mismatch",
            Error::SuiteNotAllowed { .. } => "suite_not_allowed",
            Error::UnexpectedMessage { .. } => "unexpected_message",
            Error::KeyIdLength { .. } => "key_id_length",
            Error::UnknownKeyId => "unknown_key_id",
            Error::ReflectedNonce => "reflected_nonce",
            Error::KeyTooShort { .. } => "key_too_short",
            Error::EmptyKeyring => "empty_keyring",
            Error::ExportTooLong => "export_too_long",
        }
    }
}

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
                 enable MD5 with allow_md5 (CLI: --allow-md5) if that peer is expected",
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
            Error::RandomLength { expected, got } => write!(
                f,
                "this profile needs exactly {expected} random bytes, got {got}; use from_rng or random_len()"
            ),
            Error::SentTooMuch => f.write_str(
                "sent() was told more bytes than the pending output holds; report only bytes written",
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
                "the server chose suite 0x{id:02x}, which this client does not allow; \
                 allow it here or configure the server's suite"
            ),
            Error::UnexpectedMessage { expected, got } => write!(
                f,
                "protocol error: expected message type 0x{expected:02x}, got 0x{got:02x}"
            ),
            Error::KeyIdLength { len } => {
                write!(f, "key id of {len} bytes: key ids are 1 to 32 bytes")
            }
            Error::UnknownKeyId => f.write_str(
                "the client's key id is not on our keyring (rotated out?); the client was told \
                 only that it was rejected",
            ),
            Error::ReflectedNonce => {
                f.write_str("the peer's nonce equals ours: a reflected message, rejected")
            }
            Error::KeyTooShort { len } => write!(
                f,
                "pre-shared key of {len} bytes: at least 16 are required, 32 random bytes is the norm"
            ),
            Error::EmptyKeyring => f.write_str("the server's keyring holds no key"),
            Error::ExportTooLong => f.write_str(
                "exporter label over 255 bytes or output over 255 * L bytes",
            ),
        }
    }
}

impl core::error::Error for Error {}
