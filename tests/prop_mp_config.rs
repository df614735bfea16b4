//! Multiprocessing settings: `Config::with_digest` accepts exactly the
//! digests of `multiprocessing::message::ALLOWED_DIGESTS` (CPython's
//! `_ALLOWED_DIGESTS`), MD5 only on settings that allow MD5; it refuses the
//! others with a caller error and leaves the settings as they were. The
//! settings it returns name that digest in every challenge (a 40-byte one)
//! and keep `allow_md5`; a handshake between two sides so configured
//! authenticates with that digest.

mod prop_support;

use hmac_handshake::multiprocessing::{message::ALLOWED_DIGESTS, Config};
use hmac_handshake::{Digest, Error, Key, Origin, Scheme};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// The three starting points: `(name, settings)`.
fn bases() -> [(&'static str, Config); 3] {
    [
        ("new", Config::new()),
        ("with_md5", Config::with_md5()),
        ("legacy", Config::legacy()),
    ]
}

fn base() -> impl Strategy<Value = (&'static str, Config)> {
    prop::sample::select(bases().to_vec())
}

fn digest() -> impl Strategy<Value = Digest> {
    prop::sample::select(Digest::ALL.to_vec())
}

/// What `with_digest(d)` must return on `config`.
fn expected(config: Config, d: Digest) -> Result<(), Error> {
    if !ALLOWED_DIGESTS.contains(&d) {
        Err(Error::UnsupportedDigest(d))
    } else if d == Digest::Md5 && !config.allow_md5() {
        Err(Error::Md5Disabled)
    } else {
        Ok(())
    }
}

/// Both sides with `config` (which names `d`): the challenges carry `{d}`
/// and each side verifies a `d` reply.
fn check_handshake(config: Config, d: Digest, input: &ClassicInput) -> Result<(), TestCaseError> {
    let key = Key::new(&input.key);
    let setup = Classic::Mp {
        server: config,
        client: config,
    };
    let r = honest_classic(setup, &key, input)?;
    let prefix = format!("#CHALLENGE#{{{}}}", d.name());
    for (side, msg) in [("server", 0), ("client", 3)] {
        let challenge = &r.messages[msg].bytes;
        prop_assert_eq!(
            &challenge[4..4 + prefix.len()],
            prefix.as_bytes(),
            "{} challenge",
            side
        );
        prop_assert_eq!(challenge.len(), 4 + prefix.len() + 40, "{} challenge", side);
    }
    let scheme = Scheme::Multiprocessing {
        digest: d,
        legacy: false,
    };
    for (side, end) in [("server", r.server.end), ("client", r.client.end)] {
        let End::Done(o) = end else {
            return Err(TestCaseError::fail(format!("{d}: {side} ended {end:?}")));
        };
        prop_assert_eq!(o.scheme, scheme, "{}", side);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    /// A chain of `with_digest` calls from any starting point.
    #[test]
    fn with_digest_accepts_exactly_allowed_digests(
        (name, start) in base(),
        chain in prop::collection::vec(digest(), 1..6),
        input in classic_input(),
    ) {
        let mut config = start;
        for d in chain {
            let what = format!("{name} {config:?} .with_digest({d})");
            match config.with_digest(d) {
                Ok(next) => {
                    prop_assert_eq!(expected(config, d), Ok(()), "{}: accepted", what);
                    prop_assert_eq!(next.challenge_digest(), Some(d), "{}", what);
                    prop_assert_eq!(next.allow_md5(), config.allow_md5(), "{}", what);
                    prop_assert_eq!(next.challenge_len(), 40, "{}", what);
                    check_handshake(next, d, &input)?;
                    config = next;
                }
                Err(e) => {
                    prop_assert_eq!(Err(e), expected(config, d), "{}: refused", what);
                    prop_assert_eq!(e.origin(), Origin::Caller, "{}", what);
                }
            }
        }
    }
}

/// The whole table: each starting point accepts exactly `ALLOWED_DIGESTS`,
/// less MD5 where MD5 is not allowed.
#[test]
fn with_digest_table() {
    for (name, config) in bases() {
        let accepted: Vec<Digest> = Digest::ALL
            .into_iter()
            .filter(|&d| config.with_digest(d).is_ok())
            .collect();
        let allowed: Vec<Digest> = ALLOWED_DIGESTS
            .into_iter()
            .filter(|&d| d != Digest::Md5 || config.allow_md5())
            .collect();
        assert_eq!(accepted, allowed, "{name}");
        assert_eq!(
            config.with_digest(Digest::Sha512),
            Err(Error::UnsupportedDigest(Digest::Sha512)),
            "{name}"
        );
    }
    assert_eq!(
        Config::new().with_digest(Digest::Md5),
        Err(Error::Md5Disabled)
    );
    assert_eq!(
        Config::with_md5()
            .with_digest(Digest::Md5)
            .map(|c| c.challenge_digest()),
        Ok(Some(Digest::Md5))
    );
}
