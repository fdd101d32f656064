//! Any other ACME client (getssl, mailcow's, a home-made one) as an [`AcmeClient`]: a key
//! file, a certificate file, and a command that renews with the key in the key file. The
//! key is planted in the key file itself ([`super::keyfile`]); the command must produce a
//! certificate for the key it finds there (when it does not, the switch is undone). Keeping
//! the key at the operator's own renewals is the command's contract ([`ReuseSetting::Flag`]).

use std::path::PathBuf;

use super::client::{
    AcmeClient, ClientKind, ClientLineage, ClientSettings, ReuseSetting, lineage_from_files,
};
use super::error::AcmeError;
use super::keyfile;

/// A client known by its files and its renew command.
#[derive(Debug, Clone)]
pub struct Command {
    key: PathBuf,
    cert: PathBuf,
    command: Vec<String>,
}

impl Command {
    /// From `key_file`, `cert_file` and `command` (all three required).
    pub fn new(settings: &ClientSettings) -> Result<Command, AcmeError> {
        let (key, cert, command) =
            crate::config::client::command_settings(settings).map_err(AcmeError::Settings)?;
        Ok(Command { key, cert, command })
    }

    /// The key file (the same for any lineage name).
    fn key_file(&self, _name: &str) -> Result<PathBuf, AcmeError> {
        Ok(self.key.clone())
    }
}

impl AcmeClient for Command {
    fn kind(&self) -> ClientKind {
        ClientKind::Command
    }

    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError> {
        lineage_from_files(
            ClientKind::Command,
            name,
            self.cert.clone(),
            self.key.clone(),
            None,
            ReuseSetting::Flag {
                note: format!(
                    "the client must renew with the key in {} (its own renewals too)",
                    self.key.display()
                ),
            },
        )
    }

    fn list(&self) -> Result<Vec<String>, AcmeError> {
        Ok(Vec::new())
    }

    fn enable_reuse_key(&self, _name: &str, _dry_run: bool) -> Result<Option<String>, AcmeError> {
        Ok(None)
    }

    keyfile::switch_steps!(key_file);

    fn renew_argv(&self, _name: &str) -> Result<Vec<String>, AcmeError> {
        Ok(self.command.clone())
    }
}
