//! The small traits the engine acts through. The real implementations come from the
//! modules that own the I/O ([`crate::acme::certbot`], [`crate::keys`], [`crate::provider`],
//! [`crate::dns`]); [`super::memory`] has in-memory ones for tests and simulations, and
//! [`super::real`] the ones that need nothing but the standard library and tokio.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::acme::ClientLock;
use crate::error::Error;
pub use crate::rollover::CertbotRun;

/// A private key in PEM. Its Debug output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(pub Vec<u8>);

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyPem(<{} bytes redacted>)", self.0.len())
    }
}

/// A key just generated: the private key and its public half.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The private key (PKCS#8 or the type's usual PEM form).
    pub pem: PrivateKeyPem,
    /// The SubjectPublicKeyInfo, DER: its hash is the key's `3 1 1` record.
    pub spki_der: Vec<u8>,
}

/// Generating next keys.
pub trait KeyGen: Send + Sync {
    /// A new key of the type, size or curve the lineage's client asks for (certbot:
    /// `renewal/LINEAGE.conf`), so that it renews with it. In memory only: the engine writes it.
    fn generate(&self, lineage: &str) -> Result<NewKey, Error>;
}

/// The next keys' private key files, under the state directory.
pub trait NextKeyFiles: Send + Sync {
    /// Write `pem` to `path` (creating its directory, 0700), mode 0600 from the first byte,
    /// refusing to replace an existing file. Atomic: after a crash the file is either
    /// absent or complete (write a temporary file, fsync, link/rename it into place).
    fn write(&self, path: &Path, pem: &PrivateKeyPem) -> Result<(), Error>;
    /// The SPKI (DER) of the private key at `path`; None when there is no file there.
    fn spki(&self, path: &Path) -> Result<Option<Vec<u8>>, Error>;
    /// Remove the copy at `path` of a key that was planted (its key now lives in certbot's
    /// archive). Absent already: fine.
    fn remove(&self, path: &Path) -> Result<(), Error>;
}

/// What the engine needs to know about a lineage on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageFacts {
    /// The SPKI (DER) of the key in `live/NAME/cert.pem`.
    pub live_spki: Vec<u8>,
    /// Whether `renewal/NAME.conf` says `reuse_key = True`.
    pub reuse_key: bool,
    /// The SPKI (DER) of the key in `live/NAME/privkey.pem` (None when it cannot be read):
    /// a server can use the pair only when it is `live_spki`.
    pub key_spki: Option<Vec<u8>>,
    /// The live key's family: what an endpoint probe offers, so that a server with an
    /// ECDSA and an RSA certificate shows this lineage's.
    pub key_family: crate::probe::Algorithms,
    /// Why `fullchain.pem` or `chain.pem` do not go with `cert.pem` (certbot between
    /// relinking one and the next, a hand edit, a file that cannot be read); None when
    /// they do. While set, the certificate's change is not taken in (no promotion) and no
    /// reload runs: a server would load a chain of another certificate.
    pub chain_lag: Option<String>,
}

/// Where a key switch plants the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantPlan {
    /// `archive/NAME/privkey{N+1}.pem`, N the highest version in the archive.
    pub archive_path: PathBuf,
    /// Where `live/NAME/privkey.pem` points before the switch (as the link says it).
    pub previous_target: PathBuf,
}

/// A lineage's files as its ACME client keeps them (certbot: `live/`, `archive/`,
/// `renewal/NAME.conf`; see [`crate::acme`]).
pub trait LineageFiles: Send + Sync {
    /// The live certificate's key and the renewal facts.
    fn facts(&self, lineage: &str) -> Result<LineageFacts, Error>;
    /// Where the next key would be planted, and where the privkey link points now.
    /// Changes nothing.
    fn plant_plan(&self, lineage: &str) -> Result<PlantPlan, Error>;
    /// Copy the private key at `key_path` to `plan.archive_path` (certbot's private key
    /// mode, never replacing a file).
    fn plant(&self, lineage: &str, plan: &PlantPlan, key_path: &Path) -> Result<(), Error>;
    /// Point `live/NAME/privkey.pem` at `plan.archive_path` (atomically: new link, rename).
    fn repoint(&self, lineage: &str, plan: &PlantPlan) -> Result<(), Error>;
    /// Undo [`plant`](Self::plant) and [`repoint`](Self::repoint) of a switch that did not
    /// go through, whichever of them happened. Only what is provably ours is undone: when
    /// the file at `plan.archive_path` does not hold the key whose SPKI is `key_spki` (no
    /// file, or certbot itself wrote that version after a crash), nothing is touched.
    /// Otherwise: when `live/NAME/privkey.pem` points at `plan.archive_path`, point it back
    /// to `plan.previous_target`; then remove `plan.archive_path` unless a live link points
    /// at it. Idempotent. Never touches a link certbot has since moved elsewhere.
    fn restore(&self, lineage: &str, plan: &PlantPlan, key_spki: &[u8]) -> Result<(), Error>;
    /// Files of a switch that went through that are no longer needed (removed with the
    /// planted copies, after the promotion is saved).
    fn leftovers(&self, _lineage: &str, _plan: &PlantPlan) -> Vec<PathBuf> {
        Vec::new()
    }
    /// What to say (and do) when the key file does not hold the certificate's key.
    fn key_mismatch(&self, lineage: &str) -> String;
}

/// Running the lineage's ACME client for the switch.
#[async_trait]
pub trait Renewer: Send + Sync {
    /// Start the client's forced renewal of LINEAGE with the key it has (certbot: `renew
    /// --cert-name LINEAGE --force-renewal --reuse-key`), with `DANEROLLOVER_SWITCHING=LINEAGE`
    /// in its environment (see [`super::SWITCHING_ENV`]), so that the hook it runs
    /// (danerollover hook) knows the switch is in progress and leaves the promotion to the
    /// rollover instead of waiting for the lock. Returns the process, which the engine
    /// records in the switch intent before waiting for it.
    async fn start(&self, lineage: &str) -> Result<CertbotRun, Error>;
    /// Wait for the run [`start`](Self::start) returned: Ok when the client exited 0.
    async fn wait(&self, lineage: &str, run: &CertbotRun) -> Result<(), Error>;
    /// Whether the client may still be at work on the lineage: the process `run` (when
    /// known) is alive, or some instance of the client holds its lock. A danerollover
    /// killed while the client ran asks this before repairing the switch. Err: it cannot be
    /// told (which input, and the fix); the switch is then left alone, as when it runs.
    fn running(&self, lineage: &str, run: Option<&CertbotRun>) -> Result<bool, String>;
    /// The client's name, for messages (`certbot`, `lego`, ...).
    fn client(&self, _lineage: &str) -> String {
        "the ACME client".to_string()
    }
    /// The command the switch runs, for messages.
    fn command(&self, _lineage: &str) -> String {
        String::new()
    }
    /// Renewals the CA refused because of the key, as the client's own records show them
    /// since `mark` (certbot: its log files modified after `mark`, see
    /// [`crate::acme::certbot::refusal`]): how a failure of the client's own timer, which runs no
    /// hook, reaches `run`. Returns them with the new mark. An unreadable record is an
    /// error (reported: a refusal could hide in it).
    fn refusals_since(&self, mark: Option<Timestamp>) -> Result<Refusals, Error> {
        Ok(Refusals {
            refusals: Vec::new(),
            mark,
        })
    }
    /// Start and wait.
    async fn renew(&self, lineage: &str) -> Result<(), Error> {
        let run = self.start(lineage).await?;
        self.wait(lineage, &run).await
    }
}

/// What [`Renewer::refusals_since`] found.
pub use crate::acme::Refusals;

/// What the switch runs for a lineage, and the locks its client holds while running.
pub trait RenewSpecs: Send + Sync {
    /// The argv that renews `lineage` with the key its client has, forced.
    fn argv(&self, lineage: &str) -> Result<Vec<String>, Error>;
    /// The client's name, for messages and the log file's name.
    fn client(&self, lineage: &str) -> String;
    /// The locks a running instance of the client holds.
    fn locks(&self, lineage: &str) -> Vec<ClientLock>;
    /// Renewals the CA refused because of the key, as the clients' own records show them
    /// since `mark` (see [`crate::acme::AcmeClient::refusals_since`]): none by default.
    fn refusals_since(&self, mark: Option<Timestamp>) -> Result<Refusals, Error> {
        Ok(Refusals {
            refusals: Vec::new(),
            mark,
        })
    }
}

/// Running a lineage's reload commands after a switch.
#[async_trait]
pub trait Reloader: Send + Sync {
    /// Run each argv in turn; the first failure stops and is returned.
    async fn reload(&self, lineage: &str, commands: &[Vec<String>]) -> Result<(), Error>;
}

/// The clock, so tests decide what time it is.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// The boot clock (time since boot counting suspend, and the boot id where it can be
    /// read): it bounds how far a stepped wall clock may move a wait. Err: it cannot be
    /// read (why, and the fix); the time is then unknown and the switch holds.
    fn monotonic(&self) -> Result<crate::rollover::clock::Monotonic, String>;
    /// Let `d` pass (the `--wait` poll); may return early when a stop was requested.
    async fn sleep(&self, d: Duration);
    /// A request to stop waiting (the name of the signal that asked), if any: `--wait`
    /// ends at the next point where nothing is in progress.
    fn stop_requested(&self) -> Option<&'static str> {
        None
    }
    /// What `rollover --wait` is about to sleep for (called before each sleep): a clock
    /// that shows it to people overrides this; the default says nothing.
    fn waiting(&self, _notice: &super::progress::WaitNotice) {}
}

/// The steps after which the engine calls its [`FailPoint`]: each one leaves something
/// changed on disk, in DNS or in the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// An interrupted step's repair was carried out on disk (before the state says so).
    Repaired,
    /// The state was saved after a repair.
    RepairSaved,
    /// Planted copies were removed.
    CleanedUp,
    /// The state was saved with the latest observations.
    Observed,
    /// The intent to write a new next key was saved.
    NextKeyIntent,
    /// The next key's file was written (before the state knows it).
    NextKeyWritten,
    /// The state was saved with the new next key.
    NextKeySaved,
    /// A provider applied an addition (before the state knows it).
    Published,
    /// The state was saved after a publication.
    PublishSaved,
    /// A provider applied a removal.
    Retired,
    /// The state was saved after a removal.
    RetireSaved,
    /// The switch intent was saved.
    SwitchIntent,
    /// The next key was copied into the archive.
    Planted,
    /// The privkey link was repointed.
    Repointed,
    /// The ACME client was started and its pid saved in the intent (a crash here is
    /// danerollover killed while the client runs on).
    CertbotStarted,
    /// The ACME client ran (successfully or not).
    Renewed,
    /// A failed switch was undone on disk.
    Restored,
    /// The state was saved after the switch (promoted, or intent cleared).
    SwitchSaved,
    /// The reload commands ran.
    Reloaded,
    /// The state was saved after the reload.
    ReloadSaved,
}

/// Called after each [`Step`]; an error aborts the operation on the spot, with no cleanup,
/// exactly as kill -9 would. Tests use it to stop after step k and then run again.
pub trait FailPoint: Send + Sync {
    /// Called right after `step`; an error stops the operation on the spot.
    fn after(&self, step: Step) -> Result<(), Error>;
}

/// The failure point of real runs: never fails.
pub struct NoFailures;

impl FailPoint for NoFailures {
    fn after(&self, _step: Step) -> Result<(), Error> {
        Ok(())
    }
}
