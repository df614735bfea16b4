//! The message rules of CPython 3.12+ `multiprocessing/connection.py`:
//! `_get_digest_name_and_payload`, `_create_response`, `_verify_challenge`.

use crate::{Digest, Error, Key, Tag};

/// First bytes of the server's challenge frame.
pub const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// Verdict frame: the reply verified.
pub const WELCOME: &[u8] = b"#WELCOME#";
/// Verdict frame: the reply did not verify.
pub const FAILURE: &[u8] = b"#FAILURE#";

/// Random bytes in a modern challenge (CPython 3.12+ `MESSAGE_LENGTH`).
pub const MESSAGE_LENGTH: usize = 40;
/// Random bytes in a legacy challenge (Python <= 3.11), and the shortest
/// challenge `answer_challenge` accepts (`_MD5ONLY_MESSAGE_LENGTH`).
pub const MD5ONLY_MESSAGE_LENGTH: usize = 20;
/// Length of a raw HMAC-MD5 reply (`_MD5_DIGEST_LEN`).
pub const MD5_DIGEST_LEN: usize = 16;

/// The digests CPython accepts in a `{digest}` prefix (`_ALLOWED_DIGESTS`).
pub const ALLOWED_DIGESTS: [Digest; 5] = [
    Digest::Md5,
    Digest::Sha256,
    Digest::Sha384,
    Digest::Sha3_256,
    Digest::Sha3_384,
];

/// Longest allowed digest name (`_MAX_DIGEST_LEN`, `sha3_256`).
const MAX_DIGEST_LEN: usize = 8;

/// Longest challenge we send after `#CHALLENGE#`: `{sha3_384}` + 40 bytes.
pub(crate) const MAX_OWN_CHALLENGE: usize = 2 + MAX_DIGEST_LEN + MESSAGE_LENGTH;

/// The digest a message names, and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parsed<'m> {
    /// `None` for the legacy format: a 16- or 20-byte unprefixed message.
    pub digest: Option<Digest>,
    pub payload: &'m [u8],
}

/// `_get_digest_name_and_payload`: 16 and 20 bytes mean legacy; otherwise
/// `{name}` with `}` among bytes 1..10 and a name in [`ALLOWED_DIGESTS`].
pub(crate) fn digest_and_payload(message: &[u8]) -> Result<Parsed<'_>, Error> {
    if message.len() == MD5ONLY_MESSAGE_LENGTH || message.len() == MD5_DIGEST_LEN {
        return Ok(Parsed {
            digest: None,
            payload: message,
        });
    }
    if message.first() == Some(&b'{') {
        let window = &message[..message.len().min(MAX_DIGEST_LEN + 2)];
        if let Some(curly) = window.iter().skip(1).position(|&b| b == b'}') {
            let curly = curly + 1;
            let name = &message[1..curly];
            if let Some(d) = ALLOWED_DIGESTS
                .into_iter()
                .find(|d| d.name().as_bytes() == name)
            {
                return Ok(Parsed {
                    digest: Some(d),
                    payload: &message[curly + 1..],
                });
            }
        }
    }
    Err(Error::UnknownDigest)
}

/// The reply to a challenge, `_create_response`: raw HMAC-MD5 for a legacy
/// challenge, else `{name}` + HMAC-name over the whole challenge (prefix
/// included). Returns the digest used, whether it was legacy, and the tag.
pub(crate) fn create_response(
    key: &Key,
    message: &[u8],
    allow_md5: bool,
) -> Result<(Digest, bool, Tag), Error> {
    let parsed = digest_and_payload(message)?;
    let digest = parsed.digest.unwrap_or(Digest::Md5);
    if digest == Digest::Md5 && !allow_md5 {
        return Err(Error::Md5NotAllowed);
    }
    Ok((digest, parsed.digest.is_none(), key.tag(digest, message)))
}

/// `_verify_challenge`: the reply may name any allowed digest (the MAC
/// covers our prefix, so it cannot downgrade what we asked for without the
/// key); an unprefixed 16-byte reply is legacy HMAC-MD5. Returns the digest
/// and whether the reply was legacy.
pub(crate) fn verify_response(
    key: &Key,
    message: &[u8],
    response: &[u8],
    allow_md5: bool,
) -> Result<(Digest, bool), Error> {
    let parsed = digest_and_payload(response)?;
    let digest = parsed.digest.unwrap_or(Digest::Md5);
    if digest == Digest::Md5 && !allow_md5 {
        return Err(Error::Md5NotAllowed);
    }
    key.verify(digest, message, parsed.payload)?;
    Ok((digest, parsed.digest.is_none()))
}
