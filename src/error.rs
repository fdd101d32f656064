//! The error every command returns. Each leaf module has its own typed error; this type wraps
//! them, knows the exit code, and is rendered once by `main` with its chain of causes.

use std::path::PathBuf;

/// Exit codes shared by every command.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An operational failure (a server, a provider, a file that could not be written).
    pub const FAILURE: u8 = 1;
    /// Bad usage or bad input (a file that does not parse, an unknown lineage).
    pub const BAD_INPUT: u8 = 2;
    /// Not yet safe, try again later (sysexits' EX_TEMPFAIL), as `rollover` uses it.
    pub const TEMPFAIL: u8 = 75;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user asked for something that cannot work as asked; the message says how to fix it.
    #[error("{0}")]
    Usage(String),
    /// Input that does not parse or does not fit; the message names the file or value.
    #[error("{0}")]
    BadInput(String),
    /// An operational failure described in full by its message.
    #[error("{0}")]
    Failed(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Certbot(#[from] crate::acme::CertbotError),
    #[error(transparent)]
    Acme(#[from] crate::acme::AcmeError),
    #[error(transparent)]
    Material(#[from] crate::material::MaterialError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    #[error(transparent)]
    Dns(#[from] crate::dns::DnsError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Probe(#[from] crate::probe::ProbeError),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The process exit code for this error: 2 for bad usage or input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::BadInput(_) => exit::BAD_INPUT,
            Error::Config(_) => exit::BAD_INPUT,
            Error::Material(_) => exit::BAD_INPUT,
            Error::Certbot(e) if e.is_bad_input() => exit::BAD_INPUT,
            Error::Acme(e) if e.is_bad_input() => exit::BAD_INPUT,
            // A state file that does not parse (corrupt, truncated) or comes from a newer
            // danerollover: a file to fix, not a server to wait for.
            Error::Store(
                crate::store::StoreError::Parse { .. }
                | crate::store::StoreError::FutureVersion { .. },
            ) => exit::BAD_INPUT,
            _ => exit::FAILURE,
        }
    }
}

/// The error with its causes, as one line for the user.
pub fn render(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
