//! The command line: `serve` and `connect`, with the options they share,
//! and `keygen`.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use hmac_handshake::native::Suite;
use hmac_handshake::Digest;

use crate::profile::ProfileName;

/// Default handshake deadline, in seconds.
pub const DEFAULT_TIMEOUT: &str = "10";

/// Shortest `--timeout`, in seconds (one millisecond).
pub const MIN_TIMEOUT_SECS: f64 = 0.001;

/// Longest `--timeout`, in seconds (one day).
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Default cap on authenticated connections the server holds at once.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;

/// Default cap on handshakes in progress (accepted, not yet authenticated):
/// room for a flood of thousands of idle sockets from many addresses beside
/// the good clients (about 9 KiB each, 72 MiB when all are taken), and with
/// [`DEFAULT_MAX_CONNECTIONS`] under an open-file limit of 20,000.
pub const DEFAULT_MAX_PENDING: u32 = 8192;

/// Default cap on handshakes in progress from one TCP peer (an IPv4
/// address, an IPv6 /64): one address can take 256 of the 8192
/// [`DEFAULT_MAX_PENDING`] places, so it takes 32 to fill them.
pub const DEFAULT_MAX_PENDING_PER_PEER: u32 = 256;

/// Default `--max-message`: the largest multiprocessing or native message
/// echoed, in bytes (16 MiB).
pub const DEFAULT_MAX_MESSAGE: u32 = 16 * 1024 * 1024;

/// Default `--max-buffered`: the bytes of messages over 16 KiB that all
/// connections together may hold while they are received and echoed
/// (256 MiB: 16 messages of the largest size).
pub const DEFAULT_MAX_BUFFERED: u64 = 256 * 1024 * 1024;

/// Largest `--max-buffered`, in bytes (1 TiB).
pub const MAX_BUFFERED: u64 = 1 << 40;

/// Default idle timeout of an authenticated connection, in seconds.
pub const DEFAULT_IDLE_TIMEOUT: &str = "300";

/// Largest value of the connection caps: far above what one process holds,
/// and small enough to count in a semaphore.
pub const MAX_CAP: u32 = 1_000_000;

const AFTER_HELP: &str = "\
KEY:
  The shared key comes from --key-file PATH (the file's raw bytes, a trailing
  newline included) or else from the environment variable HMAC_HANDSHAKE_KEY:
  its UTF-8 bytes (CPython's authkey=b\"...\"), or, when it starts with hex: (or HEX:),
  the bytes its hex spells (HMAC_HANDSHAKE_KEY=\"hex:$(hmac-handshake keygen)\"
  is the key a keyring line `KEY_ID <the same hex>` holds). --key-file wins
  when both are set. It is never taken from the command line
  (--key is refused), and never printed. An empty key is refused.

DIGESTS:
  recipe:          md5, sha256, sha384, sha512, sha3_256, sha3_384 (default
                   sha256). Both sides must use the same one. md5 needs no
                   --allow-md5 here: the recipe is HMAC-MD5 by origin, and
                   naming it with --digest md5 is the explicit choice.
  multiprocessing: the digest named in the challenge we deliver, with
                   CPython's names: md5, sha256, sha384, sha3_256, sha3_384
                   (default sha256). The peer picks its own. MD5 (Python 2.7
                   to 3.11 peers, or --digest md5) needs --allow-md5.
  native:          no --digest; see --suite under NATIVE.

NATIVE (--profile native, the crate's own protocol, PROTOCOL.md):
  hmac-handshake serve --profile native --listen ADDR --keyring FILE
      [--suite SUITE] [--context TEXT] [--server-name NAME] [--forward-secrecy]
  hmac-handshake serve --profile native --listen ADDR [--key-id ID]
      [--key-file PATH] [--suite SUITE] [--context TEXT] [--server-name NAME]
      [--forward-secrecy]
  hmac-handshake connect --profile native ADDR --message TEXT [--key-id ID]
      [--key-file PATH] [--suite SUITE] [--context TEXT] [--server-name NAME]
      [--forward-secrecy]
  hmac-handshake keygen [--raw] [--out FILE]

  Mutual: the client proves the key, then the server does. Each key has a
  public key id (1 to 32 printable ASCII characters, no spaces), so a server
  can hold several keys at once (rotation). Keys are at least 16 bytes; 32
  random bytes is the norm (`hmac-handshake keygen`).
  serve:   --keyring FILE: one `KEY_ID HEXKEY` per line; blank lines,
           lines starting with # and a UTF-8 byte order mark at the start
           of the file are ignored; HEXKEY is the key in hex (at least 32
           hex digits). Reloaded on SIGHUP and when the file is replaced
           or changed (`reloaded keyring FILE: N keys`; a broken file, one
           that is not a regular file, one over 64 KiB or one that group
           or others can write or others can read is refused on stderr
           and the old keys stay). Without --keyring:
           one key from --key-file / HMAC_HANDSHAKE_KEY under --key-id
           (default `default`). --suite: the one suite used (default
           hmac-sha256). Lines name the suite and the key id: `accepted
           PEER suite=hmac-sha256 key_id=ID`.
  connect: the key from --key-file / HMAC_HANDSHAKE_KEY under --key-id
           (default `default`). --suite: accept only that suite (default:
           all four). On success, stderr gets one line before the echo:
             authenticated key_id=ID suite=SUITE handshake_hash=HEX
               forward_secrecy=yes|no
           (all on one line), and stdout gets only the echoed reply.
  both:    --context TEXT (default empty) must be the same on both sides;
           a mismatch fails like a wrong key.
           --server-name NAME (0 to 255 bytes, default empty): serve: this
           server's own name; connect: the name of the server we mean to
           reach. Never sent; a mismatch (or a name on one side only) fails
           like a wrong key (exit 3). Set it whenever one key is shared by
           more than two nodes, or a node both serves and connects with the
           same key: otherwise a connection can be redirected to another
           holder of the key, or back to the node's own server, and succeed.
           --forward-secrecy: forward secrecy, an ephemeral X25519
           exchange mixed into the session keys (PROTOCOL.md \"Forward
           secrecy\"): a key or keyring leaked later does not reveal the
           keys of recorded sessions (a leaked key still lets its holder
           impersonate either side). serve: accept only clients that use
           it; without the flag, no forward secrecy (the PSK-only
           handshake). connect: refuse a server without it (exit 1);
           without the flag, use it whenever the server does, so connect
           reaches servers with and without --forward-secrecy
           (forward_secrecy=yes|no on the success line says which).
  Suites: hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha3_256. Messages
  after the handshake use multiprocessing's send_bytes/recv_bytes framing.
  The client's key bytes and the keyring's HEXKEY must be the same bytes:
  `hmac-handshake keygen` prints a hex key for a keyring line, and
  `echo HEX | xxd -r -p > FILE; chmod 600 FILE` turns it into a --key-file
  (`xxd -p -c 256 FILE` goes back; `keygen --raw --out FILE` writes one);
  HMAC_HANDSHAKE_KEY=hex:HEX is that key too; for a text HMAC_HANDSHAKE_KEY,
  HEXKEY is the hex of its UTF-8 text.

EXIT STATUS (connect):
  0  authenticated, and the server echoed the message
  1  any other error: no key, a native key under 16 bytes, connection
     refused, timeout, protocol error, a reply that is not our message (a
     multiprocessing manager's, say; replies are read up to 16 MiB), a
     server of another protocol (named: HTTP, TLS, native), and
     configuration mismatches such as a native server whose suite is not
     the one --suite allows, a native server without forward secrecy under
     connect --forward-secrecy, or an HMAC-MD5 server without --allow-md5
  2  command-line parse error
  3  authentication failed (stderr says which side rejected and why; in the
     native profile the server does not say whether the key, the key id or
     the --context differed)";

/// `serve -h` and `connect -h`: the options only, and where the rest is
/// (`--help` adds the KEY, DIGESTS, NATIVE and EXIT STATUS sections).
const SHORT_HELP: &str = "\
KEY, DIGESTS, NATIVE (the native profile's options) and EXIT STATUS: see --help.";

const KEYGEN_HELP: &str = "\
The key comes from the operating system's random generator. For a native
keyring, add a line `KEY_ID HEX`; for the client's --key-file, write the same
key as raw bytes (`echo HEX | xxd -r -p > FILE`), or generate with --raw.
HMAC_HANDSHAKE_KEY=\"hex:HEX\" (hex: in either case) is the same key as a variable.
Example:
  key=$(hmac-handshake keygen)
  echo \"k1 $key\" >> keyring
  echo \"$key\" | xxd -r -p > k1.key
  hmac-handshake connect --profile native --key-id k1 --key-file k1.key ...
  HMAC_HANDSHAKE_KEY=\"hex:$key\" hmac-handshake connect --profile native --key-id k1 ...";

/// Authenticate TCP or Unix socket connections with a shared-key HMAC challenge/response,
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
    /// (`accepted PEER digest=NAME`, in the native profile `accepted PEER
    /// suite=NAME key_id=ID`, or `rejected PEER: REASON`).
    ///
    /// The first stdout line is `listening on ADDR` (the real port when
    /// --listen has port 0); a keyring reload prints `reloaded keyring
    /// FILE: N keys`, SIGINT or SIGTERM `shutting down: ...` then
    /// `stopped` (or how many were cut at the grace deadline), and exit
    /// status 0. Lines go through a queue of 4096 to a writer thread of
    /// their own, so a stdout nobody reads holds up no client: lines that
    /// find the queue full are dropped and counted, and the next line is
    /// preceded by `dropped N log lines (stdout was not keeping up)`.
    ///
    /// What it withstands, with the defaults: 10,000 authenticated
    /// connections at once (--max-connections), apart from up to 8192
    /// handshakes in progress (--max-pending), at most 256 of them from
    /// one TCP address (--max-pending-per-peer; Unix socket clients are
    /// bounded only overall). Idle or slow unauthenticated
    /// sockets therefore never take the places of authenticated clients: a
    /// peer over its own bound is refused with a `rejected` line, and when
    /// all --max-pending places are taken new connections wait in the
    /// listen backlog (4096) until one frees. Each handshake must finish
    /// within --timeout (10 s) however its bytes are paced; an
    /// authenticated connection that completes no message for
    /// --idle-timeout (300 s) is closed. Multiprocessing and native
    /// messages are at most --max-message (16 MiB), and the payloads over
    /// 16 KiB that all connections hold at once at most --max-buffered
    /// (256 MiB). At start the open-file limit is
    /// raised to its hard limit (stderr says so when that is below what the
    /// caps need). TCP_NODELAY and TCP_QUICKACK are set, so CPython's
    /// two-write Client does not wait for a delayed ACK.
    ///
    /// --keyring FILE is reloaded on SIGHUP and when the file changes
    /// (checked every 250 ms: device, inode, modification time and size,
    /// through symlinks, so an atomic rename or a Kubernetes secret update
    /// is seen): handshakes in progress finish with the keys they started
    /// with, a broken file is refused (an error on stderr) and the previous
    /// keys stay. SIGINT or SIGTERM stops accepting, lets handshakes and
    /// messages in progress finish (up to --timeout) and exits 0; a second
    /// SIGINT or SIGTERM meanwhile stops at once, `stopped: second signal,
    /// N connections cut` (N: handshakes and connections in progress), also
    /// with exit status 0.
    #[command(after_help = SHORT_HELP, after_long_help = AFTER_HELP)]
    Serve(ServeArgs),
    /// Authenticate to a server, send --message, print the echoed reply.
    ///
    /// --profile native: on success one line on stderr,
    /// `authenticated key_id=ID suite=SUITE handshake_hash=HEX
    /// forward_secrecy=yes|no`, before the echoed reply on stdout.
    #[command(after_help = SHORT_HELP, after_long_help = AFTER_HELP)]
    Connect(ConnectArgs),
    /// Print a fresh random 32-byte key in lowercase hex (64 digits and a
    /// newline), for a native keyring line or, decoded, a key file.
    #[command(after_help = KEYGEN_HELP)]
    Keygen(KeygenArgs),
    /// Tell what a server speaks, from what it sends first, on one line:
    /// `profile=multiprocessing format=legacy digest=md5` (Python <= 3.11)
    /// or `format=modern digest=NAME` (3.12+), `profile=native version=V
    /// suite=NAME`, `profile=recipe` (32 unframed bytes), `profile=none
    /// (...)` when nothing arrives within --timeout or the server closes
    /// first, or `profile=unknown (first bytes ...)`, naming HTTP, TLS or
    /// SSH when it sees them.
    ///
    /// With a key (--key-file, or HMAC_HANDSHAKE_KEY, as for connect), a
    /// second connection runs the handshake the server speaks and the line
    /// ends in ` key=accepted` or ` key=rejected` (native: under --key-id,
    /// --context and --server-name; recipe: judged by an echo of `probe`,
    /// under --digest, sha256 by default, since the recipe's digest is not
    /// on the wire). A keyed handshake that fails otherwise ends the line
    /// in ` key=unknown` and says why on stderr.
    ///
    /// The first connection hangs up mid-handshake, as a client that gave
    /// up would. Exit status: 0 when the server was identified, 1
    /// otherwise, 2 for a command-line error.
    Probe(ProbeArgs),
    /// Judge a live peer case by case, as h2spec does for HTTP/2: `server
    /// ADDR` plays many clients against a server, `client -- CMD` plays an
    /// honest or a hostile server to a client it starts once per case.
    ///
    /// One line per case on stdout: `ok`, `FAIL` or `warn`, the case id
    /// (`PROFILE.server.NAME` or `PROFILE.client.NAME`) and what was seen;
    /// the last line is `N passed, M failed, K warnings`. Exit status 0
    /// when no case failed, 1 otherwise, 2 for a command-line error.
    /// `--json FILE` writes the same report.
    #[command(after_help = CONFORMANCE_HELP)]
    Conformance(ConformanceArgs),
}

const CONFORMANCE_HELP: &str = "\
CASES (server):
  every profile: honest, one_byte (each of our bytes in its own write),
  pipelined (our message right behind our last handshake message),
  wrong_key, replay (a reply of an earlier connection), fresh (8
  connections, no challenge or nonce repeats), bitflip ...
  multiprocessing: honest.DIGEST for every digest CPython allows (md5 and
  legacy with --allow-md5), wrong_key and bitflip.reply also as raw MD5
  replies, truncated, oversized, negative and long_form length
  prefixes (refused at once, without waiting for the bytes they announce),
  md5_reply (a raw HMAC-MD5 reply to a modern challenge: warn when taken,
  as CPython 3.12+ does).
  native: the vectors' invalid classes a live client can send:
  unknown_key_id, key_id_length, unexpected_message, truncated, bitflip,
  role_reflection, forward_secrecy_required (mode 02).

CASES (client): CMD runs once per case (twice for a replay, 8 times for
  fresh) with HMAC_HANDSHAKE_ADDR=127.0.0.1:PORT, HMAC_HANDSHAKE_KEY=hex:HEX
  (the tester's key) and HMAC_HANDSHAKE_MESSAGE in its environment (native
  also HMAC_HANDSHAKE_KEY_ID, HMAC_HANDSHAKE_CONTEXT and
  HMAC_HANDSHAKE_SERVER_NAME: --key-id, default `default`, --context and
  --server-name); `{addr}` and `{message}` in ARGS are replaced by them.
  It must connect, send the message once authenticated, read one reply,
  and exit 0 only when the reply is the message (echo_check: another
  reply). The tester judges what it sends and its exit status: it must
  refuse a wrong, missing, oversized or replayed answer from the server,
  send nothing before the server proved itself (multiprocessing), keep
  bytes that arrive with the last handshake message, and draw a fresh
  challenge or nonce each run (fresh). CMD runs in a process group of its
  own, killed at the end of each run.
  When the first (honest) case fails, no other case runs.
  hmac-handshake conformance client --profile multiprocessing -- \\
      sh -c 'hmac-handshake connect --profile multiprocessing \\
             \"$HMAC_HANDSHAKE_ADDR\" --message \"$HMAC_HANDSHAKE_MESSAGE\"'

DIGESTS (multiprocessing): the honest cases challenge in every digest
  CPython allows but MD5 (sha256, sha384, sha3_256, sha3_384); with
  --allow-md5 also {md5} and a legacy challenge (20 bytes, no prefix),
  and MD5 replies and answers are taken (Python 2.7 to 3.11 need it).
  --digest NAME: that digest only.
NATIVE: --suite SUITE: client mode, the only suite the client allows (the
  honest cases then run that suite alone, and the suite case also names
  another). --forward-secrecy: client mode, the client requires forward
  secrecy: every case but forward_secrecy_offered (mode 01) runs mode 02,
  and forward_secrecy_downgrade (mode 00) must be refused.
  A server's mode is read from its hello.

KEY: --key-file PATH or HMAC_HANDSHAKE_KEY, as for connect. TCP only.
--timeout bounds each wait of a case (default 10 s; 2 is plenty on
loopback): a message read piece by piece gets one deadline for all of it.

EXIT STATUS: 0 when no case failed (warnings included), 1 when one did or
the run could not start (no key, a legacy server without --allow-md5), 2
for a command-line error.";

/// `conformance`'s arguments.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Which side to judge.
    #[command(subcommand)]
    pub mode: ConformanceMode,
}

/// `conformance server` or `conformance client`.
#[derive(Debug, Subcommand)]
pub enum ConformanceMode {
    /// Judge the server at ADDR (TCP): the tester connects as many
    /// clients, honest and hostile.
    #[command(after_help = CONFORMANCE_HELP)]
    Server(ConformanceServerArgs),
    /// Judge the client that CMD runs: the tester listens on a fresh
    /// 127.0.0.1 port per case and plays the server.
    #[command(after_help = CONFORMANCE_HELP)]
    Client(ConformanceClientArgs),
}

/// `conformance server`'s options.
#[derive(Debug, Args)]
pub struct ConformanceServerArgs {
    /// The server's address, e.g. 127.0.0.1:7000.
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// Also write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The profile and key options, as for connect.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `conformance client`'s options.
#[derive(Debug, Args)]
pub struct ConformanceClientArgs {
    /// Also write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The profile and key options, as for connect.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The client to judge, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:7000 (port 0: any free port),
    /// or unix:PATH for a Unix socket (a stale socket file there is
    /// replaced; the file is removed on a clean exit).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Most authenticated connections held at once (1 to 1000000). A
    /// connection that arrives, or authenticates, when all are taken is
    /// closed with a `rejected` line.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CAP)))]
    pub max_connections: u32,
    /// Most handshakes in progress at once (1 to 1000000), apart from the
    /// authenticated connections. When all are taken, the server stops
    /// accepting until one frees: new connections wait in the listen
    /// backlog.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PENDING,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CAP)))]
    pub max_pending: u32,
    /// TCP: most handshakes in progress from one peer (an IPv4 address, an
    /// IPv6 /64 network; 1 to 1000000). A connection beyond is refused at
    /// once (closed with a `rejected` line), not queued: one address cannot
    /// take all of --max-pending, but 8192 / 256 = 32 addresses together
    /// can. Unix socket connections are not bounded per peer (every local
    /// client of a user is one uid, a multiprocessing pool included): only
    /// by --max-pending.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PENDING_PER_PEER,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CAP)))]
    pub max_pending_per_peer: u32,
    /// Multiprocessing and native: the largest message echoed, in bytes
    /// (0 to 4294967295). A longer one announced closes the connection
    /// (a line on stderr) before any of its payload is read.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE)]
    pub max_message: u32,
    /// Multiprocessing and native: the bytes of messages over 16 KiB that
    /// all connections together may hold at once (1 to 2^40). Each such
    /// message takes its announced length before its payload is read, and
    /// waits while there is not room enough (the wait counts against
    /// --idle-timeout); a length over it closes the connection. A message
    /// of up to 16 KiB is held outside it, by its connection.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFERED,
          value_parser = clap::value_parser!(u64).range(1..=MAX_BUFFERED))]
    pub max_buffered: u64,
    /// Seconds an authenticated connection may go without completing a
    /// message (recipe: without sending a byte) before it is closed,
    /// 0.001 to 86400.
    #[arg(long, value_name = "SECONDS", default_value = DEFAULT_IDLE_TIMEOUT,
          value_parser = parse_timeout)]
    pub idle_timeout: Duration,
    /// Native profile: the keys accepted, one `KEY_ID HEXKEY` per line (see
    /// NATIVE below). Replaces --key-file, HMAC_HANDSHAKE_KEY and --key-id.
    /// Reloaded on SIGHUP and when the file changes.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key_file", "key_id"])]
    pub keyring: Option<PathBuf>,
    /// Options shared with `connect`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server's address, e.g. 127.0.0.1:7000, or unix:PATH.
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

/// `probe`'s options.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The server's address, e.g. 127.0.0.1:7000, or unix:PATH.
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// How long to wait for the server's first bytes, and for the keyed
    /// handshake, in seconds (0.001 to 86400).
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// The key to try, as for connect (else env HMAC_HANDSHAKE_KEY; with
    /// neither, no handshake is tried).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Native: the key id to try (default `default`).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Native: the application context (default empty).
    #[arg(long, value_name = "TEXT")]
    pub context: Option<String>,
    /// Native: the server name (default empty).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Recipe: the digest the key check assumes (default sha256).
    #[arg(long, value_name = "NAME", value_parser = parse_digest)]
    pub digest: Option<Digest>,
    /// Refused (hidden), as for connect: `--key SECRET` gets a pointer to
    /// `--key-file`, without echoing the value.
    #[arg(long, hide = true, value_name = "SECRET", num_args = 0..=1,
          default_missing_value = "", allow_hyphen_values = true,
          value_parser = RefuseKey)]
    #[allow(dead_code)] // never set: parsing it fails
    pub key: Option<Refused>,
}

/// Options both subcommands take.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Wire format.
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub profile: ProfileName,
    /// HMAC digest (recipe) or digest offered in our challenge
    /// (multiprocessing), default sha256; see DIGESTS below.
    #[arg(long, value_name = "NAME", value_parser = parse_digest)]
    pub digest: Option<Digest>,
    /// Accept and produce HMAC-MD5 in the multiprocessing profile (needed
    /// for Python 2.7 to 3.11 peers).
    #[arg(long)]
    pub allow_md5: bool,
    /// Handshake deadline in seconds, 0.001 to 86400 (serve: also each
    /// write of an echo, and the grace for work in progress at SIGTERM;
    /// connect: also each read or write of the echo).
    #[arg(long, value_name = "SECONDS", default_value = DEFAULT_TIMEOUT,
          value_parser = parse_timeout)]
    pub timeout: Duration,
    /// File holding the shared key (raw bytes, a trailing newline
    /// included; a regular file of at most 64 KiB that others cannot read
    /// and group and others cannot write, e.g. mode 0600: a FIFO, a
    /// device, a bigger or a more open file is refused). Else: env
    /// HMAC_HANDSHAKE_KEY.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Refused (hidden): there so that `--key SECRET` gets a pointer to
    /// `--key-file` instead of clap's suggestion `--key-id`. Parsing it
    /// always fails, without echoing the value.
    #[arg(long, hide = true, value_name = "SECRET", num_args = 0..=1,
          default_missing_value = "", allow_hyphen_values = true,
          value_parser = RefuseKey)]
    #[allow(dead_code)] // never set: parsing it fails
    pub key: Option<Refused>,
    /// Native profile: the id of our key (default `default`). connect: the
    /// id we prove; serve without --keyring: the id of the one key.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Native profile: the application context, the same text on both
    /// sides (default empty). Never sent.
    #[arg(long, value_name = "TEXT")]
    pub context: Option<String>,
    /// Native profile, 0 to 255 bytes (default empty), never sent. serve:
    /// this server's own name; connect: the name of the server we mean to
    /// reach. A mismatch fails like a wrong key.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Native profile. serve: the suite used (default hmac-sha256).
    /// connect: the only suite accepted (default: any of the four).
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    pub suite: Option<Suite>,
    /// Native profile: require forward secrecy (ephemeral X25519 in the
    /// session keys). serve: accept only clients that use it (without the
    /// flag: no forward secrecy). connect: refuse a server without it
    /// (without the flag: use it whenever the server does).
    #[arg(long)]
    pub forward_secrecy: bool,
}

/// Options of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Write the 32 raw bytes instead of hex (for a --key-file; refused
    /// when stdout is a terminal).
    #[arg(long)]
    pub raw: bool,
    /// Write the key to a new file FILE, mode 0600, instead of stdout
    /// (an existing FILE is never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Why `--key` is refused.
pub const KEY_REFUSED: &str =
    "keys are never taken from the command line: use --key-file PATH or HMAC_HANDSHAKE_KEY";

/// The value `--key` never yields.
#[derive(Clone, Debug)]
pub enum Refused {}

/// The `--key` parser: refuses every value (a key on the command line
/// shows in `ps` and shell history), and does not repeat it.
#[derive(Clone, Copy, Debug)]
struct RefuseKey;

impl TypedValueParser for RefuseKey {
    type Value = Refused;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        _value: &OsStr,
    ) -> Result<Refused, clap::Error> {
        Err(clap::Error::raw(ErrorKind::ArgumentConflict, format!("{KEY_REFUSED}\n")).with_cmd(cmd))
    }
}

fn parse_digest(name: &str) -> Result<Digest, String> {
    Digest::from_name(name.as_bytes()).ok_or_else(|| {
        let names: Vec<&str> = Digest::ALL.iter().map(|d| d.name()).collect();
        format!("unknown digest; expected one of: {}", names.join(", "))
    })
}

fn parse_suite(name: &str) -> Result<Suite, String> {
    Suite::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Suite::ALL.iter().map(|s| s.name()).collect();
            format!("unknown suite; expected one of: {}", names.join(", "))
        })
}

/// Parses `--timeout`: [`MIN_TIMEOUT_SECS`] to [`MAX_TIMEOUT_SECS`] seconds,
/// so the deadline is never a zero duration (which a socket refuses) nor
/// past what an `Instant` holds.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| "expected a number of seconds, e.g. 10 or 0.5".to_string())?;
    // NaN fails both comparisons, so it is refused too.
    if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(format!(
            "the timeout must be {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS} seconds"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("bad timeout: {e}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_timeout;

    #[test]
    fn timeouts_from_a_millisecond_to_a_day() {
        for (text, want) in [
            ("0.001", Duration::from_millis(1)),
            ("1e-3", Duration::from_millis(1)),
            ("0.5", Duration::from_millis(500)),
            ("10", Duration::from_secs(10)),
            ("86400", Duration::from_secs(86_400)),
        ] {
            assert_eq!(parse_timeout(text), Ok(want), "{text}");
        }
        for text in [
            "0",
            "-1",
            "0.0009",
            "1e-10",
            "86400.001",
            "1e19",
            "1e300",
            "inf",
            "-inf",
            "NaN",
        ] {
            assert_eq!(
                parse_timeout(text),
                Err("the timeout must be 0.001 to 86400 seconds".to_string()),
                "{text}"
            );
        }
        assert!(parse_timeout("ten").is_err());
    }
}
