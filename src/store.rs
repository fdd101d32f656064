//! The state file (versioned, human-readable, written atomically) and the lock that
//! serialises concurrent invocations.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Other(String),
}
