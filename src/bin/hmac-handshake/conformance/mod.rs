//! `conformance`: judges a live peer case by case, as h2spec and the
//! Autobahn testsuite do for HTTP/2 and WebSocket. `conformance server
//! ADDR` plays many clients against a server; `conformance client -- CMD`
//! plays an honest or a hostile server to a client it starts once per
//! case. One line per case (`ok`, `FAIL` or `warn`, the id, what was seen),
//! then `N passed, M failed, K warnings`; exit 0 only when nothing failed.

mod client;
mod link;
mod mp_wire;
mod native;
mod report;
mod server;

use std::time::Duration;

use hmac_handshake::native::{NativeKey, Suite, MIN_KEY_LEN};
use hmac_handshake::{Digest, Key};
use zeroize::Zeroizing;

use crate::args::{CommonArgs, ConformanceArgs, ConformanceMode};
use crate::failure::Failure;
use crate::key;
use crate::profile::{self, NativeOptions, ProfileName, Wire};

use self::report::Report;

/// What every case of a run shares: the profile's settings and the key.
pub struct Ctx {
    /// `--profile`.
    pub profile: ProfileName,
    /// The recipe's digest.
    pub recipe_digest: Digest,
    /// Multiprocessing: `--allow-md5` (MD5 replies and answers are taken,
    /// MD5 cases run).
    pub allow_md5: bool,
    /// Multiprocessing: the digests of the honest cases (`--digest`, or
    /// every digest CPython allows, and with `--allow-md5` `{md5}` and a
    /// legacy challenge, `None`).
    pub digests: Vec<Option<Digest>>,
    /// Native: the options (key id, context, server name, suite, forward
    /// secrecy).
    pub native: Option<NativeOptions>,
    /// The key's bytes, wiped on drop; never printed.
    pub secret: Zeroizing<Vec<u8>>,
    /// The key, for HMAC.
    pub key: Key,
    /// Each wait's deadline (`--timeout`).
    pub timeout: Duration,
}

impl Ctx {
    fn new(common: &CommonArgs) -> Result<Ctx, Failure> {
        let wire = profile::wire(common).map_err(Failure::Usage)?;
        let secret = key::load_secret_bytes(common.key_file.as_deref())?;
        let (recipe_digest, allow_md5, native) = match &wire {
            Wire::Recipe(config) => (config.digest, false, None),
            Wire::Multiprocessing(config) => (Digest::Sha256, config.allow_md5(), None),
            Wire::Native(options) => {
                if secret.len() < MIN_KEY_LEN {
                    let source = match &common.key_file {
                        Some(path) => format!("--key-file {}", path.display()),
                        None => key::KEY_ENV.to_string(),
                    };
                    return Err(Failure::Other(key::short_key(&source, secret.len())));
                }
                (Digest::Sha256, false, Some(options.clone()))
            }
        };
        let digests = match common.digest {
            Some(d) => vec![Some(d)],
            None => {
                let mut all: Vec<Option<Digest>> =
                    hmac_handshake::multiprocessing::message::ALLOWED_DIGESTS
                        .into_iter()
                        .filter(|d| *d != Digest::Md5)
                        .map(Some)
                        .collect();
                if allow_md5 {
                    // `{md5}`, and a legacy challenge (20 bytes, no prefix).
                    all.extend([Some(Digest::Md5), None]);
                }
                all
            }
        };
        Ok(Ctx {
            profile: common.profile,
            recipe_digest,
            allow_md5,
            digests,
            native,
            key: Key::new(&secret),
            secret,
            timeout: common.timeout,
        })
    }

    /// The native options (only built for `--profile native`).
    fn native(&self) -> &NativeOptions {
        self.native
            .as_ref()
            .expect("native options exist under --profile native")
    }

    /// The native suites a case may use: `--suite`, or all four.
    fn suites(&self) -> Vec<Suite> {
        self.native()
            .suite
            .map_or(Suite::ALL.to_vec(), |suite| vec![suite])
    }

    /// Our key as a native key of `suite` under `id`.
    fn native_key(&self, id: &[u8], secret: &[u8], suite: Suite) -> NativeKey {
        NativeKey::new(id, secret, suite).expect("key id and key length were checked")
    }
}

/// A multiprocessing challenge's name in case ids: the digest, or
/// `legacy` for a 20-byte challenge without a prefix (HMAC-MD5).
pub fn digest_case(digest: Option<Digest>) -> &'static str {
    digest.map_or("legacy", Digest::name)
}

/// The name of a profile in case ids and the report.
fn profile_name(profile: ProfileName) -> &'static str {
    match profile {
        ProfileName::Recipe => "recipe",
        ProfileName::Multiprocessing => "multiprocessing",
        ProfileName::Native => "native",
    }
}

/// The message echoed in each case: 32 bytes, so that it also fills a
/// recipe server's tag read.
pub const MESSAGE: &[u8; 32] = b"hmac-handshake conformance echo!";

/// Runs `conformance server` or `conformance client`.
///
/// # Errors
/// Options that do not fit together, an address that does not resolve or
/// lacks its port, as [`Failure::Usage`] (exit 2); no key, a `--json` file
/// that cannot be written, a legacy server without `--allow-md5`, as
/// [`Failure::Other`]; [`Failure::Silent`] when a case failed (the report
/// said which). A command that cannot start fails each case.
pub fn run(args: &ConformanceArgs) -> Result<(), Failure> {
    let mut report = Report::default();
    let (mode, common, json, target) = match &args.mode {
        ConformanceMode::Server(a) => (&"server", &a.common, &a.json, a.addr.clone()),
        ConformanceMode::Client(a) => (&"client", &a.common, &a.json, a.command.join(" ")),
    };
    let ctx = Ctx::new(common)?;
    if let Some(path) = json {
        // Refused now rather than after the whole run.
        std::fs::write(path, "")
            .map_err(|e| format!("cannot write --json {}: {e}", path.display()))?;
    }
    let ran = match &args.mode {
        ConformanceMode::Server(a) => server::run(&ctx, &a.addr, &mut report),
        ConformanceMode::Client(a) => client::run(&ctx, &a.command, &mut report),
    };
    if let Err(failure) = ran {
        // No report to write: the file made to check the path goes.
        if let Some(path) = json {
            let _ = std::fs::remove_file(path);
        }
        return Err(failure);
    }
    if report.halted() {
        say!(
            "the first honest handshake failed, so no other case ran: they would judge a peer \
             that does not authenticate at all (check the key, the profile and its options)"
        );
    }
    {
        // A closed stdout (`| head -1`) is no reason to panic, nor to skip
        // the --json report.
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", report.totals());
        let _ = out.flush();
    }
    if let Some(path) = json {
        report.write_json(path, mode, profile_name(ctx.profile), &target)?;
    }
    if report.count(report::Verdict::Fail) > 0 {
        return Err(Failure::Silent);
    }
    Ok(())
}
