//! The profile choice, and the library [`Profile`] it builds.

use clap::ValueEnum;
use hmac_handshake::multiprocessing::{self, message::ALLOWED_DIGESTS};
use hmac_handshake::{recipe, Digest, Profile};

/// The `--profile` values. A new wire format is a new variant here and an
/// arm in [`ProfileName::build`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// The "authenticating clients simply" recipe: raw 32-byte challenge,
    /// raw HMAC reply, no verdict; then raw bytes.
    Recipe,
    /// CPython `multiprocessing.connection` authkey authentication; then
    /// `send_bytes` / `recv_bytes` framing.
    Multiprocessing,
}

impl ProfileName {
    /// The library profile for these options.
    ///
    /// # Errors
    /// A message for a digest this profile does not take, or MD5 without
    /// `--allow-md5` in the multiprocessing profile.
    pub fn build(self, digest: Digest, allow_md5: bool) -> Result<Profile, String> {
        match self {
            ProfileName::Recipe => Ok(Profile::Recipe(recipe::Config { digest })),
            ProfileName::Multiprocessing => {
                if !ALLOWED_DIGESTS.contains(&digest) {
                    let names: Vec<&str> = ALLOWED_DIGESTS.iter().map(|d| d.name()).collect();
                    return Err(format!(
                        "--digest {digest} is not one CPython multiprocessing accepts; \
                         use one of: {}",
                        names.join(", ")
                    ));
                }
                if digest == Digest::Md5 && !allow_md5 {
                    return Err(
                        "--digest md5 with --profile multiprocessing needs --allow-md5".to_string(),
                    );
                }
                let config = multiprocessing::Config {
                    digest,
                    allow_md5,
                    ..multiprocessing::Config::default()
                };
                config.check().map_err(|e| e.to_string())?;
                Ok(Profile::Multiprocessing(config))
            }
        }
    }
}
