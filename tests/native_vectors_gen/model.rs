//! The case model: who sends, what the relay delivers, what a live run
//! records, and the cases built from it.

use hmac_handshake::native::{ForwardSecrecy, Suite};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Server,
    Client,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// The server of a case: its keys are `keyring`, all of `suite`;
/// `server_name` is its own name (empty: unset).
#[derive(Clone)]
pub struct ServerSpec {
    pub suite: Suite,
    pub context: Vec<u8>,
    pub server_name: Vec<u8>,
    pub keyring: Vec<(Vec<u8>, Vec<u8>)>,
    pub random: [u8; 32],
    /// The forward-secrecy setting (PROTOCOL.md, "Forward secrecy").
    pub forward_secrecy: ForwardSecrecy,
    /// The ephemeral X25519 secret (the last 32 of the 64 random bytes);
    /// all zeros, and not in the vector, when the setting is off.
    pub ephemeral: [u8; 32],
}

/// The client of a case: it holds one key per `allowed` suite, all with
/// `key_id` and `key`; `server_name` is the name of the server it expects
/// (empty: unset).
#[derive(Clone)]
pub struct ClientSpec {
    pub key_id: Vec<u8>,
    pub key: Vec<u8>,
    pub allowed: Vec<Suite>,
    pub context: Vec<u8>,
    pub server_name: Vec<u8>,
    pub random: [u8; 32],
    /// The forward-secrecy setting (PROTOCOL.md, "Forward secrecy").
    pub forward_secrecy: ForwardSecrecy,
    /// The ephemeral X25519 secret (the last 32 of the 64 random bytes);
    /// all zeros, and not in the vector, when the setting is off.
    pub ephemeral: [u8; 32],
}

/// What the relay delivers for one message: the (possibly changed) message
/// and application bytes right behind it.
pub struct Transit {
    pub data: Vec<u8>,
    pub trailing: Vec<u8>,
}

pub type Tamper = Box<dyn Fn(usize, &[u8]) -> Transit>;

pub struct Msg {
    pub from: Role,
    pub sent: Vec<u8>,
    pub delivered: Vec<u8>,
    pub trailing: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionValues {
    pub key_id: Vec<u8>,
    pub suite: Suite,
    /// `Session::forward_secrecy()`: the keys mix in an X25519 secret.
    pub forward_secrecy: bool,
    pub handshake_hash: Vec<u8>,
    pub c2s: Vec<u8>,
    pub s2c: Vec<u8>,
    pub exports: Vec<Vec<u8>>,
}

pub struct Run {
    pub messages: Vec<Msg>,
    pub server: String,
    pub client: String,
    pub server_session: Option<SessionValues>,
    pub client_session: Option<SessionValues>,
}

/// An exporter request: label, context, output length.
pub type Export = (Vec<u8>, Vec<u8>, usize);

pub struct Case {
    pub comment: String,
    pub flags: Vec<&'static str>,
    pub server: ServerSpec,
    pub client: ClientSpec,
    pub tamper: Tamper,
    /// Roles to check (one test per role when the views differ).
    pub views: Vec<Role>,
    /// How the two machines must end in the live run: (server, client).
    pub expect: (&'static str, &'static str),
    pub exports: Vec<Export>,
}

pub fn valid(comment: &str, flags: &[&'static str], s: ServerSpec, c: ClientSpec) -> Case {
    Case {
        comment: comment.into(),
        flags: flags.to_vec(),
        server: s,
        client: c,
        tamper: crate::tamper::pass(),
        views: vec![Role::Server, Role::Client],
        expect: ("ok", "ok"),
        exports: crate::fixtures::default_exports(),
    }
}

pub fn invalid(
    comment: &str,
    flags: &[&'static str],
    (s, c): (ServerSpec, ClientSpec),
    tamper: Tamper,
    views: &[Role],
    expect: (&'static str, &'static str),
) -> Case {
    Case {
        comment: comment.into(),
        flags: flags.to_vec(),
        server: s,
        client: c,
        tamper,
        views: views.to_vec(),
        expect,
        exports: Vec::new(),
    }
}
