//! A person as the provider: `apply` prints exactly the records to add and to remove, in
//! zone-file form, and succeeds; observation of DNS later tells when they are in place.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Change, Provider, ProviderError, ProviderView};

pub const KIND: &str = "manual";

pub struct Manual {
    name: String,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Manual {
    /// Printing to standard output.
    pub fn stdout(name: &str) -> Manual {
        Manual::with_writer(name, Box::new(std::io::stdout()))
    }

    /// Printing to `out` (tests, or a caller that collects the text).
    pub fn with_writer(name: &str, out: Box<dyn Write + Send>) -> Manual {
        Manual {
            name: name.to_string(),
            out: Mutex::new(out),
        }
    }
}

/// The text for a person: comments saying what to do, then the records in zone-file form.
pub fn instructions(provider: &str, change: &Change) -> String {
    let mut text = String::new();
    if change.is_empty() {
        return text;
    }
    text.push_str(&format!(
        "; provider {provider} (manual): change these TLSA records in zone {} by hand\n",
        change.zone
    ));
    if !change.add.is_empty() {
        text.push_str("; add:\n");
        for r in &change.add {
            text.push_str(&format!("{} {} IN TLSA {}\n", change.owner, change.ttl, r));
        }
    }
    if !change.remove.is_empty() {
        text.push_str("; remove:\n");
        for r in &change.remove {
            text.push_str(&format!("{} {} IN TLSA {}\n", change.owner, change.ttl, r));
        }
    }
    text
}

#[async_trait]
impl Provider for Manual {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let text = instructions(&self.name, change);
        if text.is_empty() {
            return Ok(());
        }
        let fail = |e: std::io::Error| ProviderError::Failed {
            provider: self.name.clone(),
            kind: KIND,
            owner: change.owner.clone(),
            cause: format!("cannot print the records: {e}"),
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(text.as_bytes()).map_err(fail)?;
        out.flush().map_err(fail)
    }

    async fn read(&self, _zone: &str, _owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        Ok(None)
    }
}
