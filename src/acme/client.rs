//! The interface every ACME client implements ([`AcmeClient`]) and the types it speaks in.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cert::live_cert_of;
use super::error::AcmeError;
pub use crate::config::{ClientKind, ClientSettings};
use crate::keys::KeySpec;
use crate::material::{self, Material};

/// Whether the client keeps the key at renewal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reuse", rename_all = "snake_case")]
pub enum ReuseSetting {
    /// It does; `by` says what says so.
    On { by: String },
    /// It does not: the next renewal makes a new key; `fix` says how to change that
    /// (`danerollover init` does it where it can).
    Off { by: String, fix: String },
    /// It is not in a file danerollover can read: a flag of the operator's renewal job.
    /// Counted as on (a renewal with a key of its own is caught by the hook and published
    /// at once); `note` says what the job must pass.
    Flag { note: String },
    /// The setting could not be read (a shell expression, an unreadable file).
    Unknown { why: String },
}

impl ReuseSetting {
    /// Whether the core may count on the key being kept.
    pub fn is_on(&self) -> bool {
        matches!(self, ReuseSetting::On { .. } | ReuseSetting::Flag { .. })
    }
}

impl std::fmt::Display for ReuseSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReuseSetting::On { by } => write!(f, "keeps the key ({by})"),
            ReuseSetting::Off { by, fix } => write!(f, "makes a new key at renewal ({by}): {fix}"),
            ReuseSetting::Flag { note } => write!(f, "keeps the key when asked: {note}"),
            ReuseSetting::Unknown { why } => write!(f, "unknown whether it keeps the key: {why}"),
        }
    }
}

/// One lineage as its client keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientLineage {
    /// The lineage name (certbot's certificate name, lego's file stem, ...).
    pub name: String,
    /// Its client.
    pub client: ClientKind,
    /// The certificate file the server loads (a link or a file).
    pub cert: PathBuf,
    /// The private key file the server loads.
    pub key: PathBuf,
    /// The full chain, when the client writes one apart.
    pub fullchain: Option<PathBuf>,
    /// The SPKI (DER) of the certificate's key (None: unreadable).
    #[serde(skip)]
    pub cert_spki: Option<Vec<u8>>,
    /// The SPKI (DER) of the key file's key (None: unreadable).
    #[serde(skip)]
    pub key_spki: Option<Vec<u8>>,
    /// The DNS names of the certificate (empty: unreadable).
    pub domains: Vec<String>,
    /// Whether the client keeps the key.
    pub reuse: ReuseSetting,
}

/// Where a switch plants the next key (recorded in the switch intent before anything is
/// written, so that a crash can be undone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plant {
    /// Where the next key is written: a new file the link will point at (linked clients),
    /// or the staged copy renamed over the key file (key-file clients).
    pub planted: PathBuf,
    /// What puts the lineage back: the link's target before the switch (linked), or the
    /// copy of the key file before the switch (key-file).
    pub previous: PathBuf,
}

/// A lock a running client holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientLock {
    /// A POSIX lock on this file (certbot's `.certbot.lock`).
    Posix(PathBuf),
    /// This file exists while the client runs (dehydrated's `BASEDIR/lock`); one killed
    /// leaves it: then it must be removed by hand.
    Exists(PathBuf),
}

/// Renewals the CA refused because of the key, as a client's own records show them since a
/// mark (certbot: its log files, [`crate::acme::certbot::refusal`]).
#[derive(Debug, Clone, Default)]
pub struct Refusals {
    /// The refusals, oldest first.
    pub refusals: Vec<crate::rollover::RenewalRefusal>,
    /// The mark to give next time.
    pub mark: Option<jiff::Timestamp>,
}

/// One ACME client's view of its lineages: the interface every client implements.
pub trait AcmeClient: Send + Sync {
    /// Which client this is.
    fn kind(&self) -> ClientKind;

    /// The lineage `name` as it is on disk now.
    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError>;

    /// The lineages this client has (names), for `lineages` and `init`.
    fn list(&self) -> Result<Vec<String>, AcmeError>;

    /// Turn on keeping the key at renewal, changing nothing else; returns a description of
    /// the change (None: it was on already). With `dry_run`, only says what would change.
    fn enable_reuse_key(&self, name: &str, dry_run: bool) -> Result<Option<String>, AcmeError>;

    /// The kind of key the lineage's next key must be: the certificate's own by default.
    fn key_spec(&self, name: &str) -> Result<KeySpec, AcmeError> {
        let l = self.lineage(name)?;
        let spki = l.cert_spki.ok_or_else(|| {
            AcmeError::Failed(format!(
                "{}: cannot read the certificate of lineage {name:?}",
                l.cert.display()
            ))
        })?;
        Ok(crate::keys::spec_of_spki(&spki)?)
    }

    /// Where the next key would be planted, and what would put things back. Changes nothing.
    fn plant_plan(&self, name: &str) -> Result<Plant, AcmeError>;

    /// Write the next key (PEM) where `plan` says, never replacing a file.
    fn plant(&self, name: &str, plan: &Plant, key_pem: &[u8]) -> Result<(), AcmeError>;

    /// Make the client's key the planted one (atomically).
    fn repoint(&self, name: &str, plan: &Plant) -> Result<(), AcmeError>;

    /// Undo [`plant`](Self::plant) and [`repoint`](Self::repoint) of a switch that did not go
    /// through, whichever of them happened; only what is provably ours (holding the key whose
    /// SPKI is `key_spki`, at the paths of `plan`) is undone. Idempotent.
    fn restore(&self, name: &str, plan: &Plant, key_spki: &[u8]) -> Result<(), AcmeError>;

    /// Files of a switch that went through that are no longer needed (a key-file client's
    /// copy of the key before the switch); removed by the engine after the promotion.
    fn leftovers(&self, _name: &str, _plan: &Plant) -> Vec<PathBuf> {
        Vec::new()
    }

    /// The argv that renews `name` with the key the client has now, forced.
    fn renew_argv(&self, name: &str) -> Result<Vec<String>, AcmeError>;

    /// The locks a running instance of the client holds.
    fn locks(&self) -> Vec<ClientLock> {
        Vec::new()
    }

    /// Renewals the CA refused because of the key, as the client's own records show them
    /// since `mark`, with the new mark: how a failure of the client's own timer, which runs
    /// no hook, reaches `run`. A client that keeps no such record finds none (the mark
    /// stays). An unreadable record is an error (a refusal could hide in it).
    fn refusals_since(&self, mark: Option<jiff::Timestamp>) -> Result<Refusals, AcmeError> {
        Ok(Refusals {
            refusals: Vec::new(),
            mark,
        })
    }

    /// What to say when the key file does not hold the certificate's key (a server that
    /// reloads now cannot use the pair), with the fix.
    fn key_mismatch(&self, name: &str) -> String {
        match self.lineage(name) {
            Ok(l) => format!(
                "{} does not hold the key of {} (a server that reloads now cannot use the pair): put the certificate's key back in the key file, or renew with {}, then run `danerollover run`",
                l.key.display(),
                l.cert.display(),
                self.kind()
            ),
            Err(e) => format!("the key and certificate of lineage {name} cannot be compared: {e}"),
        }
    }
}

/// The SPKI (DER) of a private key in PEM; None when the bytes are not one.
pub fn spki_of_key_pem(pem: &[u8]) -> Option<Vec<u8>> {
    match material::parse(pem).ok()? {
        Material::PrivateKey { spki, .. } => Some(spki),
        _ => None,
    }
}

/// The SPKI (DER) and DNS names of the first certificate in a PEM file.
pub fn cert_facts(pem: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    let cert = live_cert_of(pem).ok()?;
    Some((cert.spki_der, cert.domains))
}

/// Read a file, None when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, AcmeError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AcmeError::io(path, e)),
    }
}

/// A lineage name usable as one path component.
pub fn check_component(client: ClientKind, name: &str) -> Result<(), AcmeError> {
    if name.is_empty() || name.contains(['/', '\0']) || name.starts_with('.') {
        return Err(AcmeError::Settings(format!(
            "{name:?} is not a {client} lineage name (one path component, e.g. mail.example.com)"
        )));
    }
    Ok(())
}

/// The lineage of `name` read from a certificate file and a key file.
pub(crate) fn lineage_from_files(
    client: ClientKind,
    name: &str,
    cert: PathBuf,
    key: PathBuf,
    fullchain: Option<PathBuf>,
    reuse: ReuseSetting,
) -> Result<ClientLineage, AcmeError> {
    let Some(cert_pem) = read_optional(&cert)? else {
        return Err(AcmeError::UnknownLineage {
            client: client.name(),
            name: name.to_string(),
            detail: format!("{} does not exist", cert.display()),
        });
    };
    let (cert_spki, domains) = match cert_facts(&cert_pem) {
        Some((s, d)) => (Some(s), d),
        None => (None, Vec::new()),
    };
    let key_spki = read_optional(&key)?.and_then(|p| spki_of_key_pem(&p));
    Ok(ClientLineage {
        name: name.to_string(),
        client,
        cert,
        key,
        fullchain,
        cert_spki,
        key_spki,
        domains,
        reuse,
    })
}
