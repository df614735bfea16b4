//! CPython multiprocessing's handshake messages as the tester makes and
//! checks them (`multiprocessing/connection.py`: `deliver_challenge`,
//! `answer_challenge`, `_create_response`, `_verify_challenge`), with the
//! crate's HMAC ([`Key::tag`], [`Key::verify`]).

use hmac_handshake::multiprocessing::message::{
    ALLOWED_DIGESTS, CHALLENGE, MD5ONLY_MESSAGE_LENGTH, MD5_DIGEST_LEN, MESSAGE_LENGTH,
};
use hmac_handshake::{Digest, Key};

/// A challenge as read from the wire, after `#CHALLENGE#`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The bytes the MAC covers: `{digest}` and the random bytes, or the 20
    /// random bytes of a legacy challenge.
    pub message: Vec<u8>,
    /// The digest named, or `None` for a legacy (HMAC-MD5) challenge.
    pub digest: Option<Digest>,
}

impl Challenge {
    /// A fresh challenge in `digest` (`None`: legacy, 20 random bytes).
    pub fn fresh(digest: Option<Digest>) -> Challenge {
        let mut random = [0u8; MESSAGE_LENGTH];
        getrandom::fill(&mut random).expect("the OS random generator failed");
        let message = match digest {
            None => random[..MD5ONLY_MESSAGE_LENGTH].to_vec(),
            Some(d) => [format!("{{{}}}", d.name()).as_bytes(), &random[..]].concat(),
        };
        Challenge { message, digest }
    }

    /// The frame payload: `#CHALLENGE#` then the message.
    pub fn payload(&self) -> Vec<u8> {
        [CHALLENGE, &self.message[..]].concat()
    }

    /// `{sha256}` or `legacy`, for what was seen.
    pub fn kind(&self) -> String {
        match self.digest {
            Some(d) => format!("{{{}}}", d.name()),
            None => "legacy (HMAC-MD5)".into(),
        }
    }

    /// Reads a challenge payload as `answer_challenge` does.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn parse(payload: &[u8]) -> Result<Challenge, String> {
        let Some(message) = payload.strip_prefix(CHALLENGE) else {
            return Err(format!(
                "its challenge does not start with #CHALLENGE#: {}",
                super::link::show(payload)
            ));
        };
        if message.len() == MD5ONLY_MESSAGE_LENGTH {
            return Ok(Challenge {
                message: message.to_vec(),
                digest: None,
            });
        }
        let digest = named_digest(message).ok_or_else(|| {
            format!(
                "its challenge is neither legacy (20 bytes) nor {{digest}}-prefixed with a \
                 digest CPython allows: {}",
                super::link::show(message)
            )
        })?;
        if message.len() < MD5ONLY_MESSAGE_LENGTH {
            return Err(format!(
                "its challenge is {} bytes, under CPython's 20",
                message.len()
            ));
        }
        Ok(Challenge {
            message: message.to_vec(),
            digest: Some(digest.0),
        })
    }
}

/// The digest a `{name}` prefix names, if CPython allows it, and the
/// length of the prefix.
fn named_digest(bytes: &[u8]) -> Option<(Digest, usize)> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let close = bytes.iter().take(20).position(|&b| b == b'}')?;
    let name = &bytes[1..close];
    ALLOWED_DIGESTS
        .into_iter()
        .find(|d| d.name().as_bytes() == name)
        .map(|d| (d, close + 1))
}

/// The reply to `challenge` under `key`, as `_create_response` makes it:
/// `{digest}` and the HMAC of the whole message, or a raw HMAC-MD5 to a
/// legacy challenge.
///
/// # Errors
/// MD5 needed and `allow_md5` false.
pub fn reply(key: &Key, challenge: &Challenge, allow_md5: bool) -> Result<Vec<u8>, String> {
    match challenge.digest {
        None if !allow_md5 => Err(
            "its challenge is legacy (HMAC-MD5, Python 2.7 to 3.11): rerun with --allow-md5".into(),
        ),
        None => Ok(key.tag(Digest::Md5, &challenge.message).as_bytes().to_vec()),
        Some(Digest::Md5) if !allow_md5 => {
            Err("its challenge names {md5}: rerun with --allow-md5".into())
        }
        Some(d) => Ok([
            format!("{{{}}}", d.name()).as_bytes(),
            key.tag(d, &challenge.message).as_bytes(),
        ]
        .concat()),
    }
}

/// A raw HMAC-MD5 of the whole message: a legacy peer's reply.
pub fn md5_reply(key: &Key, challenge: &Challenge) -> Vec<u8> {
    key.tag(Digest::Md5, &challenge.message).as_bytes().to_vec()
}

/// Checks the peer's answer to our `challenge`: in the digest the
/// challenge names, or a raw HMAC-MD5 (what a legacy peer sends to any
/// challenge) when `allow_md5`. Returns how it answered.
///
/// # Errors
/// What is wrong with the answer.
pub fn check_answer(
    key: &Key,
    challenge: &Challenge,
    answer: &[u8],
    allow_md5: bool,
) -> Result<String, String> {
    if answer.len() == MD5_DIGEST_LEN {
        if !allow_md5 {
            return Err(
                "it answered our challenge with a raw HMAC-MD5 (a legacy peer, Python 2.7 to \
                 3.11): rerun with --allow-md5"
                    .into(),
            );
        }
        return key
            .verify(Digest::Md5, &challenge.message, answer)
            .map(|()| "answered with a raw HMAC-MD5 (legacy)".to_string())
            .map_err(|_| "its raw HMAC-MD5 answer to our challenge does not verify".into());
    }
    let Some((digest, prefix)) = named_digest(answer) else {
        return Err(format!(
            "its answer is neither a 16-byte HMAC-MD5 nor {{digest}}-prefixed: {}",
            super::link::show(answer)
        ));
    };
    if Some(digest) != challenge.digest {
        return Err(format!(
            "it answered our {} challenge with {{{}}} (CPython's _create_response uses the \
             challenge's digest)",
            challenge.kind(),
            digest.name()
        ));
    }
    key.verify(digest, &challenge.message, &answer[prefix..])
        .map(|()| format!("answered {{{}}}", digest.name()))
        .map_err(|_| {
            format!(
                "its {{{}}} answer to our challenge does not verify",
                digest.name()
            )
        })
}

/// [`check_answer`], and on a failure our `#FAILURE#` verdict sent first,
/// as CPython's `deliver_challenge` sends it, so the peer reports a
/// rejection rather than a closed connection.
///
/// # Errors
/// As [`check_answer`].
pub fn judge_answer(
    link: &mut super::link::Link,
    key: &Key,
    challenge: &Challenge,
    answer: &[u8],
    allow_md5: bool,
) -> Result<String, String> {
    check_answer(key, challenge, answer, allow_md5).inspect_err(|_| {
        let _ = link.send(&super::link::frame(
            hmac_handshake::multiprocessing::message::FAILURE,
        ));
    })
}
