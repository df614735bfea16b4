//! How a command fails: the message on stderr and the exit status.

use std::process::ExitCode;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Authentication failed (exit 3); the text says which side rejected.
    Auth(String),
    /// Anything else (exit 1).
    Other(String),
    /// A command-line error found after parsing (exit 2, as clap's own):
    /// options that do not fit together, an address without a port.
    Usage(String),
    /// A failure and a line of advice on it, printed after it as `hint:
    /// ...`; the exit status is the failure's.
    Hinted(Box<Failure>, String),
    /// Exit 1 with nothing more to say (the output already said it:
    /// `probe`'s `profile=none` or `profile=unknown` line).
    Silent,
}

impl Failure {
    /// Prints the message on stderr and returns the exit status.
    pub fn report(&self) -> ExitCode {
        match self {
            Failure::Auth(why) => {
                say!("authentication failed: {why}");
                ExitCode::from(3)
            }
            Failure::Other(why) => {
                say!("error: {why}");
                ExitCode::from(1)
            }
            Failure::Usage(why) => {
                say!("error: {why}");
                ExitCode::from(2)
            }
            Failure::Silent => ExitCode::from(1),
            Failure::Hinted(failure, hint) => {
                let code = failure.report();
                say!("hint: {hint}");
                code
            }
        }
    }
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure::Other(why)
    }
}
