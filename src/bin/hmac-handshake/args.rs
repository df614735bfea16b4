//! The command line: `serve` and `connect`, with the options they share.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use hmac_handshake::Digest;

use crate::profile::ProfileName;

/// Default handshake deadline, in seconds.
pub const DEFAULT_TIMEOUT: &str = "10";

/// Default cap on connections the server handles at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

const AFTER_HELP: &str = "\
KEY:
  The shared key comes from --key-file PATH (the file's raw bytes, a trailing
  newline included) or else from the environment variable HMAC_HANDSHAKE_KEY
  (its UTF-8 bytes). --key-file wins when both are set. It is never taken from
  the command line, and never printed. An empty key is refused.

DIGESTS:
  recipe:          md5, sha256, sha384, sha512, sha3_256, sha3_384 (default
                   sha256). Both sides must use the same one. md5 needs no
                   --allow-md5 here: the recipe is HMAC-MD5 by origin, and
                   naming it with --digest md5 is the explicit choice.
  multiprocessing: the digest named in the challenge we deliver, with
                   CPython's names: md5, sha256, sha384, sha3_256, sha3_384
                   (default sha256). The peer picks its own. MD5 (Python 2.7
                   to 3.11 peers, or --digest md5) needs --allow-md5.

EXIT STATUS (connect):
  0  authenticated, and the server echoed the message
  1  any other error: no key, connection refused, timeout, protocol error
  2  command-line parse error
  3  authentication failed (stderr says which side rejected and why)";

/// Authenticate TCP connections with a shared-key HMAC challenge/response,
/// then echo.
///
/// Authentication is not encryption: after the handshake, bytes travel in clear.
#[derive(Debug, Parser)]
#[command(name = "hmac-handshake", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the authenticated echo server: one line per connection on stdout
    /// (`accepted PEER digest=NAME` or `rejected PEER: REASON`).
    ///
    /// The first stdout line is `listening on ADDR` (the real port when
    /// --listen has port 0). Each connection runs on its own thread with a
    /// handshake deadline of --timeout seconds, so a silent or slow client
    /// never blocks the others.
    #[command(after_help = AFTER_HELP)]
    Serve(ServeArgs),
    /// Authenticate to a server, send --message, print the echoed reply.
    #[command(after_help = AFTER_HELP)]
    Connect(ConnectArgs),
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:7000 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Most connections handled at once; connections beyond are closed
    /// at once, with a `rejected` line.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(usize))]
    pub max_connections: usize,
    /// Options shared with `connect`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server's address, e.g. 127.0.0.1:7000.
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// Text to send once authenticated. The recipe profile needs at least
    /// one byte: the echo is its only sign that the server took our key.
    #[arg(long, value_name = "TEXT")]
    pub message: String,
    /// Options shared with `serve`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options both subcommands take.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Wire format.
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub profile: ProfileName,
    /// HMAC digest (recipe) or digest offered in our challenge
    /// (multiprocessing); see DIGESTS below.
    #[arg(long, value_name = "NAME", default_value = "sha256", value_parser = parse_digest)]
    pub digest: Digest,
    /// Accept and produce HMAC-MD5 in the multiprocessing profile (needed
    /// for Python 2.7 to 3.11 peers).
    #[arg(long)]
    pub allow_md5: bool,
    /// Handshake deadline in seconds (connect: also each read or write of
    /// the echo).
    #[arg(long, value_name = "SECONDS", default_value = DEFAULT_TIMEOUT,
          value_parser = parse_timeout)]
    pub timeout: Duration,
    /// File holding the shared key (raw bytes). Else: env HMAC_HANDSHAKE_KEY.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

fn parse_digest(name: &str) -> Result<Digest, String> {
    Digest::from_name(name.as_bytes()).ok_or_else(|| {
        let names: Vec<&str> = Digest::ALL.iter().map(|d| d.name()).collect();
        format!("unknown digest; expected one of: {}", names.join(", "))
    })
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| "expected a number of seconds, e.g. 10 or 0.5".to_string())?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("the timeout must be more than 0 seconds".to_string());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| "timeout too large".to_string())
}
