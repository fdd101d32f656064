//! The errors of reading and changing ACME clients' files.

use std::path::PathBuf;

use super::certbot::conf::ConfError;

/// Errors of reading and changing an ACME client's files.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// certbot's files.
    #[error(transparent)]
    Certbot(#[from] CertbotError),
    /// A lineage the client does not have.
    #[error("no {client} lineage {name:?}: {detail}")]
    UnknownLineage {
        /// The client's name (`lego`, ...).
        client: &'static str,
        name: String,
        detail: String,
    },
    /// The configuration lacks something the client needs.
    #[error("{0}")]
    Settings(String),
    /// A key type the client's files do not allow to read.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// A file or directory that could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Anything else, described in full.
    #[error("{0}")]
    Failed(String),
}

impl AcmeError {
    /// Whether this is the user's input (an unknown lineage, a setting) rather than an
    /// operational failure.
    pub fn is_bad_input(&self) -> bool {
        match self {
            AcmeError::Certbot(e) => e.is_bad_input(),
            AcmeError::UnknownLineage { .. } | AcmeError::Settings(_) => true,
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AcmeError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Errors of reading and changing certbot's files.
#[derive(Debug, thiserror::Error)]
pub enum CertbotError {
    /// No `renewal/NAME.conf` for this name.
    #[error(
        "no lineage {name:?}: {} does not exist (`danerollover lineages` lists the lineages)",
        conf.display()
    )]
    UnknownLineage {
        /// The name asked for.
        name: String,
        /// The renewal conf that would be its.
        conf: PathBuf,
    },
    /// A name that cannot be a lineage (empty, with a slash, ...).
    #[error("{0:?} is not a lineage name (a certbot certificate name, e.g. mail.example.com)")]
    BadName(String),
    /// A renewal conf that ConfigObj (so certbot) cannot read.
    #[error("{}: not a renewal conf certbot can read: {source}", path.display())]
    Conf {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        #[source]
        source: ConfError,
    },
    /// The letsencrypt directory is missing or is not certbot's.
    #[error("{}: {detail} (give certbot's directory with --letsencrypt-dir or letsencrypt_dir in the configuration)", dir.display())]
    NoLetsencryptDir {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file or directory that could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl CertbotError {
    /// Whether this error is the user's input (an unknown lineage, a conf that does not
    /// parse) rather than an operational failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            CertbotError::UnknownLineage { .. }
                | CertbotError::BadName(_)
                | CertbotError::Conf { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CertbotError::Io {
            path: path.into(),
            source,
        }
    }
}
