//! DNS providers behind one small trait: change the records danerollover owns at an owner
//! name, and read what the provider's API says is there where it can.
//!
//! Back ends: see the submodules. Which one a `[providers.NAME]` section builds is decided
//! by [`build`].

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;

use crate::tlsa::TlsaRecord;

/// One change at one owner: records to add and records to remove, applied as one unit
/// where the API allows it, and otherwise additions first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The zone holding the owner, absolute with a trailing dot (`example.com.`).
    pub zone: String,
    /// The owner name, absolute with a trailing dot (`_25._tcp.mail.example.com.`).
    pub owner: String,
    /// TTL for added records (and for the RRset, where the API sets one TTL per RRset).
    pub ttl: u32,
    pub add: Vec<TlsaRecord>,
    pub remove: Vec<TlsaRecord>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

impl fmt::Display for Change {
    /// Zone-file style lines, `+` for additions and `-` for removals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.add {
            writeln!(f, "+ {} {} IN TLSA {}", self.owner, self.ttl, r)?;
        }
        for r in &self.remove {
            writeln!(f, "- {} IN TLSA {}", self.owner, r)?;
        }
        Ok(())
    }
}

/// What a provider's API says an owner carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderView {
    pub records: Vec<TlsaRecord>,
    pub ttl: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused or failed; `cause` never contains a secret.
    #[error("provider {provider} ({kind}): {owner}: {cause}")]
    Failed {
        provider: String,
        kind: &'static str,
        owner: String,
        cause: String,
    },
    #[error("provider {provider}: {message}")]
    Config { provider: String, message: String },
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name in the configuration.
    fn name(&self) -> &str;
    /// The back end's type name (`powerdns`, `rfc2136`, ...).
    fn kind(&self) -> &'static str;
    /// Apply one change. Records not named in the change are left alone.
    async fn apply(&self, change: &Change) -> Result<(), ProviderError>;
    /// The TLSA records the provider's API holds at `owner`, where the API can tell
    /// (`Ok(None)` where it cannot: RFC 2136, exec, manual).
    async fn read(&self, zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError>;
}

/// Build the back end a `[providers.NAME]` section describes. Secrets are read here (from
/// their files or environment variables), so a bad secret file fails before any change.
pub fn build(
    name: &str,
    config: &crate::config::ProviderConfig,
    timeout: std::time::Duration,
) -> Result<Box<dyn Provider>, ProviderError> {
    let _ = timeout;
    Err(ProviderError::Config {
        provider: name.to_string(),
        message: format!("provider type {} is not built yet", config.type_name()),
    })
}
