//! `probe`: what a server speaks, from the bytes it sends first (every
//! profile's server speaks first), and, with a key, whether it takes it.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use hmac_handshake::adapter::blocking::{client_authenticate_within, AuthError, Timeouts};
use hmac_handshake::native::{self, NativeKey, Suite};
use hmac_handshake::{multiprocessing, recipe, Digest, Error, Key};

use crate::args::ProbeArgs;
use crate::connect::{dial, is_timeout, Dialed};
use crate::failure::Failure;
use crate::key::{self, KEY_ENV};
use crate::profile::{check_key_id, DEFAULT_KEY_ID};

/// `#CHALLENGE#`: the start of a multiprocessing challenge's payload
/// (CPython `connection.py`, `_CHALLENGE`).
const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// The longest multiprocessing challenge frame payload taken as one: the
/// prefix, a `{digest}` tag and 40 random bytes fit well within it.
const MAX_CHALLENGE: usize = 256;
/// How long the probe waits, once bytes came, for more before it judges
/// what it has (a recipe server's 32 bytes are followed by silence).
const QUIET: Duration = Duration::from_millis(300);
/// The recipe's challenge length (32 random bytes, unframed).
const RECIPE_CHALLENGE: usize = 32;
/// What the recipe probe sends once authenticated, to see it echoed.
const RECIPE_PROBE: &[u8] = b"probe";

/// What the first bytes say.
#[derive(Debug, PartialEq, Eq)]
enum Spoken {
    Multiprocessing {
        legacy: bool,
        digest: String,
    },
    Native {
        version: u8,
        suite: u8,
    },
    Recipe,
    None,
    /// The server closed (or reset) the connection without a byte.
    Closed,
    Unknown(String),
}

/// How the first bytes ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// [`classify`] could decide before the bytes stopped.
    Decided,
    /// No more bytes came within the wait.
    Quiet,
    /// The server closed or reset the connection.
    Closed,
}

/// The legacy (Python <= 3.11) challenge: 20 random bytes after
/// `#CHALLENGE#` (`_MD5ONLY_MESSAGE_LENGTH`), whatever they look like.
const LEGACY_CHALLENGE: usize = 20;
/// Longest digest name taken from a `{...}` tag (CPython's are at most 8:
/// `sha3_384`).
const MAX_DIGEST_NAME: usize = 20;

/// Runs the probe.
///
/// # Errors
/// [`Failure::Other`] (exit 1) for a server not identified, a connection
/// that fails, or a key that cannot be loaded.
pub fn run(args: &ProbeArgs) -> Result<(), Failure> {
    let (first, end) = match dial(&args.addr, args.timeout)? {
        Dialed::Tcp(stream) => first_bytes(&stream, args.timeout),
        Dialed::Unix(stream) => first_bytes(&stream, args.timeout),
    }
    .map_err(|e| format!("reading from {}: {e}", args.addr))?;
    let spoken = match (classify(&first, true), end) {
        (Spoken::None, End::Closed) => Spoken::Closed,
        // A recipe server waits for our answer: one that closed after 32
        // bytes is not one.
        (Spoken::Recipe, End::Closed) => unknown(&first),
        (spoken, _) => spoken,
    };
    let mut line = describe(&spoken, args.timeout);
    let identified = matches!(
        spoken,
        Spoken::Multiprocessing { .. } | Spoken::Native { .. } | Spoken::Recipe
    );
    if identified && (args.key_file.is_some() || std::env::var_os(KEY_ENV).is_some()) {
        let verdict = match dial(&args.addr, args.timeout) {
            Ok(Dialed::Tcp(stream)) => try_key(&stream, &spoken, args),
            Ok(Dialed::Unix(stream)) => try_key(&stream, &spoken, args),
            Err(e) => Err(e),
        };
        // The server is identified either way: a key check that could not
        // be made says why on stderr, and the line says so.
        line.push_str(match verdict {
            Ok(true) => " key=accepted",
            Ok(false) => " key=rejected",
            Err(failure) => {
                let why = match failure {
                    Failure::Other(why) | Failure::Auth(why) | Failure::Usage(why) => why,
                    Failure::Hinted(inner, _) => format!("{inner:?}"),
                    Failure::Silent => String::new(),
                };
                say!("probe: the key could not be checked: {why}");
                " key=unknown"
            }
        });
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    if identified {
        Ok(())
    } else {
        Err(Failure::Silent)
    }
}

/// Reads what the server sends first: until [`classify`] can decide, the
/// bytes stop for [`QUIET`], or `timeout` passes.
fn first_bytes<S>(stream: &S, timeout: Duration) -> io::Result<(Vec<u8>, End)>
where
    S: Timeouts,
    for<'a> &'a S: Read,
{
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok((got, End::Quiet));
        }
        let wait = if got.is_empty() {
            left
        } else {
            left.min(QUIET)
        };
        stream.set_read_timeout(Some(wait))?;
        let mut reader = stream;
        match reader.read(&mut buf) {
            Ok(0) => return Ok((got, End::Closed)),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() > 4 * MAX_CHALLENGE || classify(&got, false) != Spoken::None {
                    return Ok((got, End::Decided));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Ok((got, End::Quiet)),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok((got, End::Closed)),
            Err(e) => return Err(e),
        }
    }
}

/// What `got` says. While more may come (`done` false), an undecided
/// start gives [`Spoken::None`] ("read on"); once the bytes stopped it
/// gives the final word.
fn classify(got: &[u8], done: bool) -> Spoken {
    let undecided = if done { unknown(got) } else { Spoken::None };
    if got.is_empty() {
        return Spoken::None;
    }
    // Native: `ServerHello` = "HMHS" || version || suite || mode || nonce.
    let magic = got.len().min(native::MAGIC.len());
    if got[..magic] == native::MAGIC[..magic] {
        return match got {
            [_, _, _, _, version, suite, ..] => Spoken::Native {
                version: *version,
                suite: *suite,
            },
            _ => undecided,
        };
    }
    // Multiprocessing: a 4-byte big-endian length, then `#CHALLENGE#`.
    if let Some(mp) = multiprocessing_challenge(got) {
        return match mp {
            Some(spoken) => spoken,
            None => undecided,
        };
    }
    if got.len() == RECIPE_CHALLENGE && done {
        return Spoken::Recipe;
    }
    if got.len() < RECIPE_CHALLENGE {
        return undecided;
    }
    if done {
        unknown(got)
    } else {
        Spoken::None
    }
}

/// `Some(Some(..))` for a whole multiprocessing challenge, `Some(None)` for
/// the start of one, `None` when `got` is not one.
fn multiprocessing_challenge(got: &[u8]) -> Option<Option<Spoken>> {
    let head: [u8; 4] = got.get(..4)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(head)).ok()?;
    if !(CHALLENGE.len()..=MAX_CHALLENGE).contains(&len) {
        return None;
    }
    let body = &got[4..];
    let seen = body.len().min(CHALLENGE.len());
    if body[..seen] != CHALLENGE[..seen] {
        return None;
    }
    if body.len() < len {
        return Some(None);
    }
    let message = &body[CHALLENGE.len()..len];
    // CPython 3.12+: `{digest}` then the random bytes; before: 20 random
    // bytes, HMAC-MD5 (`_deliver_challenge`, `_create_response`). A
    // 20-byte message is legacy whatever its bytes (as CPython 3.12+
    // reads it); a digest name is a short run of `[a-z0-9_]`.
    let digest = if message.len() == LEGACY_CHALLENGE {
        None
    } else {
        message
            .strip_prefix(b"{")
            .and_then(|rest| rest.iter().position(|&b| b == b'}').map(|end| &rest[..end]))
            .filter(|name| {
                (1..=MAX_DIGEST_NAME).contains(&name.len())
                    && name
                        .iter()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            })
    };
    Some(Some(match digest {
        Some(name) => Spoken::Multiprocessing {
            legacy: false,
            digest: String::from_utf8_lossy(name).into_owned(),
        },
        None => Spoken::Multiprocessing {
            legacy: true,
            digest: "md5".into(),
        },
    }))
}

/// Bytes that are none of the profiles, HTTP and TLS named.
fn unknown(got: &[u8]) -> Spoken {
    if got.is_empty() {
        return Spoken::None;
    }
    let named = if got.starts_with(b"HTTP/") {
        "HTTP, "
    } else if matches!(got, [0x15 | 0x16, 0x03, ..]) {
        "TLS, "
    } else if got.starts_with(b"SSH-") {
        "SSH, "
    } else {
        ""
    };
    let shown = hex::encode(&got[..got.len().min(16)]);
    Spoken::Unknown(format!(
        "{named}first bytes {shown}{}",
        if got.len() > 16 { "..." } else { "" }
    ))
}

/// The first line for `spoken`.
fn describe(spoken: &Spoken, timeout: Duration) -> String {
    match spoken {
        Spoken::Multiprocessing { legacy: true, .. } => {
            "profile=multiprocessing format=legacy digest=md5".into()
        }
        Spoken::Multiprocessing { digest, .. } => {
            format!("profile=multiprocessing format=modern digest={digest}")
        }
        Spoken::Native { version, suite } => format!(
            "profile=native version={version} suite={}",
            Suite::from_id(*suite).map_or_else(|| format!("0x{suite:02x}"), |s| s.to_string())
        ),
        Spoken::Recipe => "profile=recipe".into(),
        Spoken::None => format!(
            "profile=none (no byte within {}s: the server may not require authentication, \
             expects the client to speak first, or is too busy to accept)",
            timeout.as_secs_f64()
        ),
        Spoken::Closed => "profile=none (the server closed the connection without a byte: it \
                           may be at its connection limit, or refuse this address)"
            .into(),
        Spoken::Unknown(what) => format!("profile=unknown ({what})"),
    }
}

/// Runs the handshake `spoken` names with our key over `stream`: `true`
/// when the server took it.
fn try_key<S>(stream: &S, spoken: &Spoken, args: &ProbeArgs) -> Result<bool, Failure>
where
    S: Timeouts,
    for<'a> &'a S: Read + Write,
{
    let key_file = args.key_file.as_deref();
    let verdict = match spoken {
        Spoken::Multiprocessing { legacy, digest } => {
            let key = key::load(key_file)?;
            // As `connect --allow-md5` for a legacy server; for a modern
            // one, our challenge in the server's own digest.
            // MD5 is allowed: the probe reports what the server speaks.
            let base = multiprocessing::Config::with_md5();
            let config = if *legacy {
                base
            } else {
                Digest::from_name(digest.as_bytes())
                    .and_then(|d| base.with_digest(d).ok())
                    .unwrap_or(base)
            };
            client_authenticate_within(stream, key, config, args.timeout).map(|_| ())
        }
        Spoken::Native { suite, .. } => {
            let Some(suite) = Suite::from_id(*suite) else {
                return Err(Failure::Other(format!(
                    "the server's suite 0x{suite:02x} is not one this client knows"
                )));
            };
            let key_id = args.key_id.as_deref().unwrap_or(DEFAULT_KEY_ID);
            check_key_id(key_id).map_err(|why| format!("--key-id {key_id:?}: {why}"))?;
            let keys: Vec<NativeKey> = key::load_native(key_file, key_id, &[suite])?;
            let config = native::Config::new(args.context.as_deref().unwrap_or("").as_bytes())
                .with_server_name(args.server_name.as_deref().unwrap_or("").as_bytes())
                .map_err(|e| format!("--server-name: {e}"))?
                .with_forward_secrecy(native::ForwardSecrecy::Offered);
            client_authenticate_within(stream, keys, config, args.timeout).map(|_| ())
        }
        Spoken::Recipe => {
            let digest = args.digest.unwrap_or(Digest::Sha256);
            return recipe_verdict(stream, key::load(key_file)?, digest, args.timeout);
        }
        Spoken::None | Spoken::Closed | Spoken::Unknown(_) => return Ok(false),
    };
    match verdict {
        Ok(()) => Ok(true),
        Err(AuthError::Handshake(Error::PeerRejected)) => Ok(false),
        Err(e) => Err(Failure::Other(format!("the keyed handshake failed: {e}"))),
    }
}

/// The recipe sends no verdict: authenticate, send [`RECIPE_PROBE`], and
/// see it echoed (accepted) or the connection closed (rejected). The
/// recipe's digest is not on the wire: `digest` (`--digest`, SHA-256 by
/// default) is tried.
fn recipe_verdict<S>(
    stream: &S,
    key: Key,
    digest: Digest,
    timeout: Duration,
) -> Result<bool, Failure>
where
    S: Timeouts,
    for<'a> &'a S: Read + Write,
{
    let config = recipe::Config { digest };
    client_authenticate_within(stream, key, config, timeout)
        .map_err(|e| format!("the keyed handshake failed: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| format!("cannot set a timeout: {e}"))?;
    let mut writer = stream;
    if writer.write_all(RECIPE_PROBE).is_err() {
        return Ok(false);
    }
    let mut echo = [0u8; RECIPE_PROBE.len()];
    let mut reader = stream;
    Ok(match reader.read_exact(&mut echo) {
        Ok(()) => echo == RECIPE_PROBE,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => false,
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => false,
        Err(e) if is_timeout(&e) => {
            return Err(Failure::Other(
                "no echo within --timeout (a recipe server of another --digest may still be \
                 reading our tag)"
                    .into(),
            ))
        }
        Err(e) => return Err(Failure::Other(format!("waiting for the echo: {e}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::{classify, Spoken};

    #[test]
    fn first_bytes_say_the_profile() {
        let modern = b"\x00\x00\x00\x3b#CHALLENGE#{sha256}0123456789012345678901234567890123456789";
        assert_eq!(
            classify(modern, true),
            Spoken::Multiprocessing {
                legacy: false,
                digest: "sha256".into()
            }
        );
        let legacy = b"\x00\x00\x00\x1f#CHALLENGE#01234567890123456789";
        assert_eq!(
            classify(legacy, true),
            Spoken::Multiprocessing {
                legacy: true,
                digest: "md5".into()
            }
        );
        // A partial challenge is read on, then judged unknown if it stops.
        assert_eq!(classify(&modern[..20], false), Spoken::None);
        assert!(matches!(classify(&modern[..20], true), Spoken::Unknown(_)));
        assert_eq!(
            classify(b"HMHS\x01\x01\x00rest", true),
            Spoken::Native {
                version: 1,
                suite: 1
            }
        );
        // A 20-byte challenge is legacy whatever it looks like; a digest
        // name is short [a-z0-9_].
        let braces = b"\x00\x00\x00\x1f#CHALLENGE#{abc}ZZZZZZZZZZZZZZZ";
        assert!(matches!(
            classify(braces, true),
            Spoken::Multiprocessing { legacy: true, .. }
        ));
        let escape =
            b"\x00\x00\x00\x3a#CHALLENGE#{\x1b]0;x}0123456789012345678901234567890123456789";
        assert!(matches!(
            classify(escape, true),
            Spoken::Multiprocessing { legacy: true, .. }
        ));
        assert_eq!(classify(&[7u8; 32], true), Spoken::Recipe);
        assert_eq!(classify(&[7u8; 32], false), Spoken::None);
        assert_eq!(classify(b"", true), Spoken::None);
        assert_eq!(
            classify(b"HTTP/1.1 400 Bad Request\r\n\r\n", true),
            Spoken::Unknown("HTTP, first bytes 485454502f312e312034303020426164...".into())
        );
        assert!(
            matches!(classify(b"\x16\x03\x03\x00\x2a", true), Spoken::Unknown(s) if s.starts_with("TLS"))
        );
    }
}
