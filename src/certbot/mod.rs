//! certbot's files: lineages (`live/`, `archive/`, `renewal/NAME.conf`), the ConfigObj
//! format of renewal confs, and the one edit danerollover makes to them (`reuse_key = True`).

#[derive(Debug, thiserror::Error)]
pub enum CertbotError {
    #[error("{0}")]
    Other(String),
}

impl CertbotError {
    /// Whether this error is the user's input (an unknown lineage, a conf that does not
    /// parse) rather than an operational failure.
    pub fn is_bad_input(&self) -> bool {
        false
    }
}
