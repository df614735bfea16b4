//! Setups: every profile, digest and suite, the random material of an
//! exchange, and the machines built from them.

use hmac_handshake::multiprocessing::{self as mp, message::ALLOWED_DIGESTS};
use hmac_handshake::native::{self, ForwardSecrecy, KeyId, Keyring, NativeKey, Suite};
use hmac_handshake::{recipe, ClientHandshake, Confirmation, Digest, Key, Scheme, ServerHandshake};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::driver::{drive, Boxed, Chunking, Exchange, OutcomeView, Plan};
use super::{bytes, Bytes};

/// The first `N` bytes of `b` as an array (the pinned random bytes).
fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    b[..N].try_into().expect("enough random bytes")
}

/// A recipe or multiprocessing setup: one profile per side.
#[derive(Clone, Copy, Debug)]
pub enum Classic {
    Recipe(Digest),
    Mp {
        server: mp::Config,
        client: mp::Config,
    },
}

/// Multiprocessing settings: `{digest}` challenges, or a legacy challenge
/// (which needs MD5 allowed; `digest` is then unused).
pub fn mp_config(digest: Digest, legacy_challenge: bool, allow_md5: bool) -> mp::Config {
    if legacy_challenge {
        assert!(allow_md5, "a legacy challenge is MD5");
        return mp::Config::legacy();
    }
    let base = if allow_md5 {
        mp::Config::with_md5()
    } else {
        mp::Config::new()
    };
    base.with_digest(digest).expect("an allowed digest")
}

pub fn recipe_setups() -> Vec<Classic> {
    Digest::ALL.into_iter().map(Classic::Recipe).collect()
}

pub fn mp_setups() -> Vec<Classic> {
    let mut v = Vec::new();
    for (i, &d) in ALLOWED_DIGESTS.iter().enumerate() {
        // Both sides name `d`; MD5 only where needed.
        let c = mp_config(d, false, d == Digest::Md5);
        v.push(Classic::Mp {
            server: c,
            client: c,
        });
        // The two sides name different digests; MD5 allowed on both.
        let next = ALLOWED_DIGESTS[(i + 1) % ALLOWED_DIGESTS.len()];
        v.push(Classic::Mp {
            server: mp_config(d, false, true),
            client: mp_config(next, false, true),
        });
    }
    // Python <= 3.11 on both sides, and each side legacy against a 3.12+ peer.
    let legacy = mp_config(Digest::Sha256, true, true);
    let modern = mp::Config::with_md5();
    for (server, client) in [(legacy, legacy), (legacy, modern), (modern, legacy)] {
        v.push(Classic::Mp { server, client });
    }
    v
}

impl Classic {
    pub fn is_recipe(self) -> bool {
        matches!(self, Classic::Recipe(_))
    }

    /// Both sides' outcomes of an honest exchange, `consumed` left at 0.
    pub fn expected(self) -> (OutcomeView, OutcomeView) {
        match self {
            Classic::Recipe(digest) => (
                OutcomeView {
                    peer_authenticated: true,
                    confirmation: Confirmation::NotApplicable,
                    scheme: Scheme::Recipe { digest },
                    consumed: 0,
                },
                OutcomeView {
                    peer_authenticated: false,
                    confirmation: Confirmation::Unknown,
                    scheme: Scheme::Recipe { digest },
                    consumed: 0,
                },
            ),
            Classic::Mp { server, client } => {
                // Each side verifies the reply to its own challenge.
                let own = |c: mp::Config| c.challenge_digest().unwrap_or(Digest::Md5);
                let legacy =
                    server.challenge_digest().is_none() || client.challenge_digest().is_none();
                let outcome = |digest| OutcomeView {
                    peer_authenticated: true,
                    confirmation: Confirmation::Confirmed,
                    scheme: Scheme::Multiprocessing { digest, legacy },
                    consumed: 0,
                };
                (outcome(own(server)), outcome(own(client)))
            }
        }
    }

    /// The server of this setup, with `input`'s pinned challenge.
    pub fn server<'k>(self, key: &'k Key, input: &ClassicInput) -> Boxed<'k> {
        let random = &input.server_random;
        match self {
            Classic::Recipe(digest) => Box::new(ServerHandshake::with_pinned_random(
                key,
                recipe::Config { digest },
                &array(random),
            )),
            Classic::Mp { server, .. } => Box::new(ServerHandshake::with_pinned_random(
                key,
                server,
                &array(random),
            )),
        }
    }

    /// The client of this setup, with `input`'s pinned challenge (none for
    /// the recipe).
    pub fn client<'k>(self, key: &'k Key, input: &ClassicInput) -> Boxed<'k> {
        match self {
            Classic::Recipe(digest) => Box::new(ClientHandshake::with_pinned_random(
                key,
                recipe::Config { digest },
                &[],
            )),
            Classic::Mp { client, .. } => Box::new(ClientHandshake::with_pinned_random(
                key,
                client,
                &array(&input.client_random),
            )),
        }
    }
}

/// Random material for a recipe or multiprocessing exchange.
#[derive(Clone, Debug)]
pub struct ClassicInput {
    pub key: Bytes,
    /// 40 bytes: the recipe's challenge is the first 32, a legacy
    /// multiprocessing challenge the first 20.
    pub server_random: Bytes,
    pub client_random: Bytes,
}

pub fn classic_input() -> impl Strategy<Value = ClassicInput> {
    (bytes(0..=300), bytes(40), bytes(40)).prop_map(|(key, server_random, client_random)| {
        ClassicInput {
            key,
            server_random,
            client_random,
        }
    })
}

/// The honest exchange of `setup` with `key` on both sides: whole
/// messages, no perturbation (the baseline other runs are compared with).
pub fn honest_classic(
    setup: Classic,
    key: &Key,
    input: &ClassicInput,
) -> Result<Exchange, TestCaseError> {
    run_classic(setup, key, key, input, &Chunking::whole(), &Plan::default())
}

pub fn run_classic(
    setup: Classic,
    server_key: &Key,
    client_key: &Key,
    input: &ClassicInput,
    chunking: &Chunking,
    plan: &Plan,
) -> Result<Exchange, TestCaseError> {
    drive(
        setup.server(server_key, input),
        setup.client(client_key, input),
        chunking,
        plan,
    )
}

/// The three forward-secrecy settings.
pub const FS_SETTINGS: [ForwardSecrecy; 3] = [
    ForwardSecrecy::Off,
    ForwardSecrecy::Offered,
    ForwardSecrecy::Required,
];

/// PROTOCOL.md "Forward secrecy": whether a server with `server` and a
/// client with `client` complete (one side requiring the mode and the
/// other having it off do not), and if so whether they use the mode.
pub fn fs_outcome(server: ForwardSecrecy, client: ForwardSecrecy) -> Option<bool> {
    use ForwardSecrecy::{Off, Required};
    match (server, client) {
        (Off, Required) | (Required, Off) => None,
        (Off, _) | (_, Off) => Some(false),
        _ => Some(true),
    }
}

/// Every (server, client) pair of settings, the seven that complete and
/// the two that do not.
pub fn fs_pairs() -> Vec<(ForwardSecrecy, ForwardSecrecy)> {
    FS_SETTINGS
        .into_iter()
        .flat_map(|s| FS_SETTINGS.into_iter().map(move |c| (s, c)))
        .collect()
}

/// A (server, client) pair of settings that completes, any of the seven.
pub fn compatible_fs() -> impl Strategy<Value = (ForwardSecrecy, ForwardSecrecy)> {
    let pairs: Vec<_> = fs_pairs()
        .into_iter()
        .filter(|&(s, c)| fs_outcome(s, c).is_some())
        .collect();
    prop::sample::select(pairs)
}

/// Random material for a native exchange.
#[derive(Clone, Debug)]
pub struct NativeInput {
    /// The server's keyring: (key id, secret), distinct ids.
    pub ring: Vec<(Bytes, Bytes)>,
    /// Which keyring entry the client holds (modulo the ring's length).
    pub client: usize,
    /// Each side's 64 random bytes: its nonce (distinct from the other's),
    /// then its ephemeral X25519 secret.
    pub server_random: Bytes,
    pub client_random: Bytes,
    pub context: Bytes,
    /// Extra suites the client holds keys for besides the server's.
    pub allowed_mask: u8,
    /// The server's and the client's forward-secrecy settings: a pair that
    /// completes ([`compatible_fs`]), so every native property runs with
    /// the mode off, offered and required on either side
    /// (tests/prop_forward_secrecy.rs has all nine pairs).
    pub server_fs: ForwardSecrecy,
    pub client_fs: ForwardSecrecy,
}

pub fn native_input() -> impl Strategy<Value = NativeInput> {
    let entry = (bytes(1..=32), bytes(16..=300));
    (
        prop::collection::vec(entry, 1..=3),
        any::<usize>(),
        bytes(64),
        bytes(64),
        bytes(0..64),
        any::<u8>(),
        compatible_fs(),
    )
        .prop_filter(
            "distinct key ids and nonces",
            |(ring, _, sr, cr, _, _, _)| {
                sr[..32] != cr[..32]
                    && (1..ring.len()).all(|i| ring[..i].iter().all(|e| e.0 != ring[i].0))
            },
        )
        .prop_map(
            |(ring, client, server_random, client_random, context, allowed_mask, fs)| NativeInput {
                ring,
                client,
                server_random,
                client_random,
                context,
                allowed_mask,
                server_fs: fs.0,
                client_fs: fs.1,
            },
        )
}

/// A native server's keyring and a client's keys, for one suite.
pub struct NativeSetup {
    pub suite: Suite,
    pub ring: Keyring,
    pub client: Vec<NativeKey>,
}

impl NativeInput {
    /// The server's keyring, keyed for `suite`.
    pub fn keyring(&self, suite: Suite) -> Keyring {
        Keyring::new(
            self.ring
                .iter()
                .map(|(id, secret)| NativeKey::new(id, secret, suite).expect("valid native key")),
        )
        .expect("a valid keyring")
    }

    pub fn client_index(&self) -> usize {
        self.client % self.ring.len()
    }

    /// The key id and secret of the ring entry the client holds.
    pub fn client_entry(&self) -> (&[u8], &[u8]) {
        let (id, secret) = &self.ring[self.client_index()];
        (id, secret)
    }

    /// The suites the client accepts when the server's is `suite`: that one
    /// and those of `allowed_mask`, in wire-id order.
    pub fn allowed(&self, suite: Suite) -> Vec<Suite> {
        Suite::ALL
            .into_iter()
            .enumerate()
            .filter(|&(i, s)| s == suite || self.allowed_mask & (1 << i) != 0)
            .map(|(_, s)| s)
            .collect()
    }

    /// A client holding `id` and `secret` in every suite it accepts.
    pub fn client_keys(&self, suite: Suite, id: &[u8], secret: &[u8]) -> Vec<NativeKey> {
        self.allowed(suite)
            .into_iter()
            .map(|s| NativeKey::new(id, secret, s).expect("valid native key"))
            .collect()
    }

    /// The server's keyring for `suite` and a client holding its entry.
    pub fn setup(&self, suite: Suite) -> NativeSetup {
        let (id, secret) = self.client_entry();
        NativeSetup {
            suite,
            ring: self.keyring(suite),
            client: self.client_keys(suite, id, secret),
        }
    }

    /// The settings both sides share: the context.
    pub fn config(&self) -> native::Config {
        native::Config::new(&self.context)
    }

    pub fn server_config(&self) -> native::Config {
        self.config().with_forward_secrecy(self.server_fs)
    }

    pub fn client_config(&self) -> native::Config {
        self.config().with_forward_secrecy(self.client_fs)
    }

    /// This input with other forward-secrecy settings.
    pub fn with_fs(&self, server: ForwardSecrecy, client: ForwardSecrecy) -> NativeInput {
        NativeInput {
            server_fs: server,
            client_fs: client,
            ..self.clone()
        }
    }

    /// Whether an honest exchange uses the mode (`None`: it fails).
    pub fn fs(&self) -> Option<bool> {
        fs_outcome(self.server_fs, self.client_fs)
    }

    /// Both sides' outcomes of an honest exchange, `consumed` left at 0.
    pub fn expected(&self, suite: Suite) -> (OutcomeView, OutcomeView) {
        let key_id = KeyId::new(self.client_entry().0).expect("a valid key id");
        let scheme = Scheme::Native { suite, key_id };
        (
            OutcomeView {
                peer_authenticated: true,
                confirmation: Confirmation::Unknown,
                scheme,
                consumed: 0,
            },
            OutcomeView {
                peer_authenticated: true,
                confirmation: Confirmation::Confirmed,
                scheme,
                consumed: 0,
            },
        )
    }
}

pub fn native_server<'k>(ring: &'k Keyring, input: &NativeInput) -> Boxed<'k> {
    Box::new(ServerHandshake::with_pinned_random(
        ring,
        input.server_config(),
        &array(&input.server_random),
    ))
}

pub fn native_client<'k>(keys: &'k [NativeKey], input: &NativeInput) -> Boxed<'k> {
    Box::new(ClientHandshake::with_pinned_random(
        keys,
        input.client_config(),
        &array(&input.client_random),
    ))
}

/// The honest native exchange: whole messages, no perturbation.
pub fn honest_native(
    ring: &Keyring,
    client_keys: &[NativeKey],
    input: &NativeInput,
) -> Result<Exchange, TestCaseError> {
    run_native(
        ring,
        client_keys,
        input,
        &Chunking::whole(),
        &Plan::default(),
    )
}

pub fn run_native(
    ring: &Keyring,
    client_keys: &[NativeKey],
    input: &NativeInput,
    chunking: &Chunking,
    plan: &Plan,
) -> Result<Exchange, TestCaseError> {
    drive(
        native_server(ring, input),
        native_client(client_keys, input),
        chunking,
        plan,
    )
}
