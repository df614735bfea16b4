//! The keys and settings `serve` authenticates with, per profile, and the
//! one call that runs a handshake with them.

use std::sync::Arc;
use std::time::Duration;

use hmac_handshake::adapter::tokio::{server_authenticate, AuthError, AuthStream};
use hmac_handshake::native::{self, ForwardSecrecy, Keyring, SharedKeyring, Suite};
use hmac_handshake::{multiprocessing, recipe, Key};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::args::ServeArgs;
use crate::failure::Failure;
use crate::profile::{self, ProfileName, Wire};
use crate::{key, keyring};

/// The keys and settings the handshakes use; shared by every connection.
pub enum Keys {
    /// The recipe: one shared key.
    Recipe {
        /// The key.
        key: Arc<Key>,
        /// The digest.
        config: recipe::Config,
    },
    /// Multiprocessing: one shared key.
    Multiprocessing {
        /// The key.
        key: Arc<Key>,
        /// The challenge digest and the MD5 choice.
        config: multiprocessing::Config,
    },
    /// Native: the keyring (one key or more, all of `suite`), replaced
    /// whole on a reload, and the context.
    Native {
        /// The current ring; each handshake takes a snapshot.
        ring: Arc<SharedKeyring>,
        /// The context, server name and forward-secrecy setting (353
        /// bytes, boxed: the other variants are a pointer and a few bytes).
        config: Box<native::Config>,
        /// The suite of every key.
        suite: Suite,
    },
}

impl Keys {
    /// The keys `args` name, loaded and checked.
    ///
    /// # Errors
    /// Bad options, no key, a keyring that cannot be read or parsed.
    pub fn load(args: &ServeArgs) -> Result<Keys, Failure> {
        let common = &args.common;
        let wire = profile::wire(common)?;
        if args.keyring.is_some() && common.profile != ProfileName::Native {
            return Err(Failure::Other("--keyring needs --profile native".into()));
        }
        Ok(match wire {
            Wire::Recipe(config) => Keys::Recipe {
                key: Arc::new(key::load(common.key_file.as_deref())?),
                config,
            },
            Wire::Multiprocessing(config) => Keys::Multiprocessing {
                key: Arc::new(key::load(common.key_file.as_deref())?),
                config,
            },
            Wire::Native(options) => {
                let suite = options.suite.unwrap_or(Suite::HmacSha256);
                let ring = match &args.keyring {
                    Some(path) => keyring::load(path, suite)?,
                    None => {
                        let key = key::load_native(
                            common.key_file.as_deref(),
                            &options.key_id,
                            &[suite],
                        )?;
                        Keyring::new(key).map_err(|e| format!("cannot hold the key: {e}"))?
                    }
                };
                Keys::Native {
                    ring: Arc::new(SharedKeyring::new(ring)),
                    config: Box::new(options.server_config()?),
                    suite,
                }
            }
        })
    }

    /// `true` for a native server with `--forward-secrecy`: it takes only
    /// clients that use the mode.
    pub fn requires_forward_secrecy(&self) -> bool {
        matches!(self, Keys::Native { config, .. }
            if config.forward_secrecy() == ForwardSecrecy::Required)
    }

    /// `true` for the recipe, whose messages are raw bytes rather than
    /// `send_bytes` frames.
    pub fn is_raw(&self) -> bool {
        matches!(self, Keys::Recipe { .. })
    }

    /// Runs the server handshake over `stream`, all of it within `within`;
    /// a native handshake keeps the ring current when it starts.
    ///
    /// # Errors
    /// See [`AuthError`].
    pub async fn authenticate<S>(
        &self,
        stream: S,
        within: Duration,
    ) -> Result<AuthStream<S>, AuthError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match self {
            Keys::Recipe { key, config } => {
                server_authenticate(stream, Arc::clone(key), *config, within).await
            }
            Keys::Multiprocessing { key, config } => {
                server_authenticate(stream, Arc::clone(key), *config, within).await
            }
            Keys::Native { ring, config, .. } => {
                server_authenticate(stream, ring.snapshot(), **config, within).await
            }
        }
    }
}
