//! Generating next keys that match a lineage's renewal.conf (key type, size, curve).

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Other(String),
}
