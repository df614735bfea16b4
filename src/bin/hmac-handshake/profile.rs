//! The profile choice, and what it builds: the settings of the recipe,
//! multiprocessing or native wire format.

use clap::ValueEnum;
use hmac_handshake::multiprocessing::{self, message::ALLOWED_DIGESTS};
use hmac_handshake::native::{self, ForwardSecrecy, Suite, MAX_SERVER_NAME_LEN};
use hmac_handshake::{recipe, Digest, Error};

use crate::args::CommonArgs;

/// The `--profile` values. A new wire format is a new variant here, one in
/// [`Wire`] and an arm in [`wire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// The "authenticating clients simply" recipe: raw 32-byte challenge,
    /// raw HMAC reply, no verdict; then raw bytes.
    Recipe,
    /// CPython `multiprocessing.connection` authkey authentication; then
    /// `send_bytes` / `recv_bytes` framing.
    Multiprocessing,
    /// The crate's own protocol (PROTOCOL.md): mutual, with key ids, a
    /// context and a suite; then `send_bytes` / `recv_bytes` framing.
    Native,
}

/// The native protocol's settings from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeOptions {
    /// `--suite`: the server's suite, or the client's only allowed one.
    pub suite: Option<Suite>,
    /// `--context`, as bytes (empty by default).
    pub context: Vec<u8>,
    /// `--server-name`, as bytes, 0 to 255 (empty by default).
    pub server_name: Vec<u8>,
    /// `--key-id`, checked (default `default`); unused by a keyring server.
    pub key_id: String,
    /// `--forward-secrecy`: this side requires the mode.
    pub forward_secrecy: bool,
}

impl NativeOptions {
    /// `serve`'s forward-secrecy setting: `Required` with
    /// `--forward-secrecy` (only clients that use it get in), else `Off`
    /// (the PSK-only handshake, as before the mode existed).
    pub fn server_forward_secrecy(&self) -> ForwardSecrecy {
        if self.forward_secrecy {
            ForwardSecrecy::Required
        } else {
            ForwardSecrecy::Off
        }
    }

    /// `connect`'s forward-secrecy setting: `Required` with
    /// `--forward-secrecy` (a server without it is refused), else
    /// `Offered`: the client follows the server, using the mode with a
    /// server that offers or requires it and not with one that does not
    /// (against such a server the bytes are those of `Off`), so a client
    /// without the flag reaches servers with and without it.
    pub fn client_forward_secrecy(&self) -> ForwardSecrecy {
        if self.forward_secrecy {
            ForwardSecrecy::Required
        } else {
            ForwardSecrecy::Offered
        }
    }

    /// `serve`'s native settings: `--context`, `--server-name` and
    /// [`NativeOptions::server_forward_secrecy`].
    ///
    /// # Errors
    /// A message for a server name over 255 bytes (already refused when
    /// the options were read).
    pub fn server_config(&self) -> Result<native::Config, String> {
        Ok(self
            .config()?
            .with_forward_secrecy(self.server_forward_secrecy()))
    }

    /// `connect`'s native settings: `--context`, `--server-name` and
    /// [`NativeOptions::client_forward_secrecy`].
    ///
    /// # Errors
    /// As [`NativeOptions::server_config`].
    pub fn client_config(&self) -> Result<native::Config, String> {
        Ok(self
            .config()?
            .with_forward_secrecy(self.client_forward_secrecy()))
    }

    /// The settings both roles share: `--context` and `--server-name`.
    fn config(&self) -> Result<native::Config, String> {
        native::Config::new(&self.context)
            .with_server_name(&self.server_name)
            .map_err(|e| format!("--server-name: {e}"))
    }
}

/// The key id used when `--key-id` is not given.
pub const DEFAULT_KEY_ID: &str = "default";

/// What the profile options chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// The recipe, with its digest.
    Recipe(recipe::Config),
    /// CPython multiprocessing, with the challenge digest and MD5 choice.
    Multiprocessing(multiprocessing::Config),
    /// The native protocol.
    Native(NativeOptions),
}

/// Checks the profile options together and builds what they choose.
///
/// # Errors
/// A message for an option the profile does not take (e.g. `--suite` with
/// `--profile recipe`, `--digest` with `--profile native`), a digest the
/// profile does not take, MD5 without `--allow-md5` in the multiprocessing
/// profile, or a malformed key id.
pub fn wire(common: &CommonArgs) -> Result<Wire, String> {
    if common.profile == ProfileName::Native {
        return native_options(common).map(Wire::Native);
    }
    let native_only = [
        ("--key-id", common.key_id.is_some()),
        ("--context", common.context.is_some()),
        ("--server-name", common.server_name.is_some()),
        ("--suite", common.suite.is_some()),
        ("--forward-secrecy", common.forward_secrecy),
    ];
    if let Some((option, _)) = native_only.iter().find(|(_, given)| *given) {
        return Err(format!("{option} needs --profile native"));
    }
    let digest = common.digest.unwrap_or(Digest::Sha256);
    if common.profile == ProfileName::Recipe {
        // The recipe takes any digest (`--digest md5` included): MD5 needs
        // no opt-in there, so the flag would do nothing. Refused like the
        // other options of another profile.
        if common.allow_md5 {
            return Err(
                "--allow-md5 needs --profile multiprocessing (the recipe takes --digest md5 as \
                 it is)"
                    .into(),
            );
        }
        return Ok(Wire::Recipe(recipe::Config { digest }));
    }
    let base = if common.allow_md5 {
        multiprocessing::Config::with_md5()
    } else {
        multiprocessing::Config::new()
    };
    let config = base.with_digest(digest).map_err(|e| match e {
        Error::UnsupportedDigest(digest) => {
            let names: Vec<&str> = ALLOWED_DIGESTS.iter().map(|d| d.name()).collect();
            format!(
                "--digest {digest} is not one CPython multiprocessing accepts; \
                 use one of: {}",
                names.join(", ")
            )
        }
        Error::Md5Disabled => {
            "--digest md5 with --profile multiprocessing needs --allow-md5".to_string()
        }
        other => format!("--digest {digest}: {other}"),
    })?;
    Ok(Wire::Multiprocessing(config))
}

fn native_options(common: &CommonArgs) -> Result<NativeOptions, String> {
    if common.digest.is_some() || common.allow_md5 {
        return Err(
            "--digest and --allow-md5 do not apply to --profile native; use --suite".into(),
        );
    }
    let key_id = common.key_id.as_deref().unwrap_or(DEFAULT_KEY_ID);
    check_key_id(key_id).map_err(|why| format!("--key-id {key_id:?}: {why}"))?;
    let server_name = common.server_name.clone().unwrap_or_default().into_bytes();
    if server_name.len() > MAX_SERVER_NAME_LEN {
        return Err(format!(
            "--server-name is {} bytes: a server name is at most {MAX_SERVER_NAME_LEN}",
            server_name.len()
        ));
    }
    Ok(NativeOptions {
        suite: common.suite,
        context: common.context.clone().unwrap_or_default().into_bytes(),
        server_name,
        key_id: key_id.to_string(),
        forward_secrecy: common.forward_secrecy,
    })
}

/// Checks a key id: 1 to 32 printable ASCII characters other than space
/// (0x21 to 0x7E), so it fits a keyring line and a `key_id=ID` field, and
/// no invisible character (a byte order mark, a zero-width space, a bidi
/// control) can make two ids that look the same differ.
///
/// # Errors
/// Why `id` is not a usable key id.
pub fn check_key_id(id: &str) -> Result<(), String> {
    if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "a key id is printable ASCII without spaces (0x21 to 0x7E), and this one holds \
             U+{:04X}",
            u32::from(c)
        ));
    }
    if id.is_empty() || id.len() > hmac_handshake::native::MAX_KEY_ID_LEN {
        return Err(format!(
            "a key id is 1 to {} characters, this one is {}",
            hmac_handshake::native::MAX_KEY_ID_LEN,
            id.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hmac_handshake::native::ForwardSecrecy;

    use super::{check_key_id, NativeOptions};

    /// `--forward-secrecy` makes either side require the mode; without it
    /// `serve` is off and `connect` follows the server (offered).
    #[test]
    fn forward_secrecy_settings_per_role() {
        let options = |forward_secrecy| NativeOptions {
            suite: None,
            context: b"ctx".to_vec(),
            server_name: Vec::new(),
            key_id: "k1".into(),
            forward_secrecy,
        };
        for (flag, server, client) in [
            (false, ForwardSecrecy::Off, ForwardSecrecy::Offered),
            (true, ForwardSecrecy::Required, ForwardSecrecy::Required),
        ] {
            let o = options(flag);
            assert_eq!(o.server_forward_secrecy(), server);
            assert_eq!(o.client_forward_secrecy(), client);
            assert_eq!(o.server_config().unwrap().forward_secrecy(), server);
            assert_eq!(o.client_config().unwrap().forward_secrecy(), client);
        }
    }

    #[test]
    fn key_ids_are_printable_ascii_without_spaces() {
        for good in ["k", "default", "svc-1/v2", "!~", &"x".repeat(32)] {
            assert_eq!(check_key_id(good), Ok(()), "{good:?}");
        }
        let bad = [
            ("", "a key id is 1 to 32 characters, this one is 0"),
            (
                &"x".repeat(33),
                "a key id is 1 to 32 characters, this one is 33",
            ),
            ("a b", "holds U+0020"),
            ("a\tb", "holds U+0009"),
            ("\u{feff}k2", "holds U+FEFF"),
            ("k\u{200b}2", "holds U+200B"),
            ("k\u{202e}2", "holds U+202E"),
            ("k\u{7f}", "holds U+007F"),
            ("caf\u{e9}", "holds U+00E9"),
        ];
        for (id, needle) in bad {
            let why = check_key_id(id).expect_err(id);
            assert!(why.contains(needle), "{id:?}: {why}");
        }
    }
}
