//! certbot's files: lineages (`live/`, `archive/`, `renewal/NAME.conf`), the ConfigObj
//! format of renewal confs, and the one edit danerollover makes to them (`reuse_key = True`).
//!
//! - [`conf`]: [`RenewalConf`], parsing (pure) and byte-exact edits of a renewal conf.
//! - [`lineage`]: [`Lineage`], one lineage as it is on disk ([`load`], [`list`]), with its
//!   live certificate, key, archive versions and the problems danerollover cares about.
//! - [`refusal`]: certbot's evidence (its log, a switch's output) of the CA refusing a key.
//! - [`version`]: certbot's version and what it lacks for a lineage's settings.

use std::path::PathBuf;

pub mod conf;
pub mod lineage;
pub mod refusal;
pub mod version;

pub use conf::{ConfError, Edit, RenewalConf, ReuseKey, Value};
pub use lineage::{
    Kind, Lineage, Listed, LiveCert, LiveLink, Problem, ProblemKind, check_name, list, load,
    locate_live_dir, problems_of, renewal_conf_path,
};

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
