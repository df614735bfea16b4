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
    /// The peer told us it rejected our proof (CPython's `#FAILURE#`): the two
    /// sides hold different keys.
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
    /// The verdict frame is neither `#WELCOME#` nor `#FAILURE#`.
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
                "the peer rejected our proof (#FAILURE#): the two sides hold different keys",
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
            Error::UnexpectedVerdict => {
                f.write_str("protocol error: expected #WELCOME# or #FAILURE#")
            }
            Error::RandomLength { expected, got } => write!(
                f,
                "this profile needs exactly {expected} random bytes, got {got}; use from_rng or random_len()"
            ),
            Error::SentTooMuch => f.write_str(
                "sent() was told more bytes than the pending output holds; report only bytes written",
            ),
        }
    }
}

impl core::error::Error for Error {}
