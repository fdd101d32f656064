//! The imperative shell of the rollover: load the state under the lock, repair an
//! interrupted step, read the lineage, observe DNS, ask the pure core ([`crate::rollover`])
//! what to do, do it one action at a time (saving the state after each), and report.
//!
//! All I/O goes through the small traits of [`traits`] (plus [`crate::provider::Provider`]
//! and [`crate::dns::Observe`]), bundled in [`Io`]; the commands build the real ones and
//! call one operation: [`Engine::hook`], [`Engine::prepublish`], [`Engine::rollover`],
//! [`Engine::status`] or [`Engine::run`].
//!
//! Crash safety (kill -9 at any point): every change is preceded or followed by a state
//! save, in an order that lets the next run converge:
//! - a new next key: intent saved, file written (atomically), state saved with the key;
//!   a crash in between leaves an intent that the next run resolves from the file
//!   ([`crate::rollover::repair()`]), so a next key whose record may be published is never
//!   lost, and its file is only deleted once it has been planted and promoted;
//! - a publication or removal: provider first, state after; a crash in between is caught
//!   by the next observation (records of our keys are adopted, retired keys' records are
//!   removed again);
//! - a switch: intent saved (with where the key is planted and what restores the lineage),
//!   key planted, link repointed (or key file replaced), the ACME client run, state
//!   promoted; the next run completes the switch if the certificate carries the next key,
//!   and otherwise restores what is ours.
//!
//! Many lineages: `run` and `status` go over every lineage at once ([`batch`]): one
//! observation of every owner and one round of endpoint probes (each lineage planned with
//! its own, so retirements are gated as in a pass), and `run` batches the next keys and
//! provider changes of all lineages with one save per kind of step; switches, reloads and
//! repairs still get a pass of their own.
//!
//! Locking: one lock for the state directory ([`crate::store`]), held for one lineage's
//! pass (or for `run`'s batch). The ACME client runs danerollover's hook *inside* a switch
//! while the rollover holds the lock; the rollover passes `DANEROLLOVER_SWITCHING=NAME`
//! ([`SWITCHING_ENV`]) to the client, and a hook that finds it (and the switch intent in the state) returns at once,
//! leaving promotion, publication and reload to the rollover.
//!
//! Wiring a command (the commands build the real I/O, call one operation, print, exit):
//!
//! ```text
//! let providers: Vec<Box<dyn Provider>> = /* provider::build for each [providers.X] */;
//! let next_keys = real::NextKeyDir::new(Box::new(keys::spki_of_pem));
//! let engine = Engine {
//!     config: &config,
//!     store: Store::new(ctx.state_dir(Some(&config))),
//!     io: Io {
//!         files: &clients,         // LineageFiles: lineage_files::Clients over crate::acme
//!         next_keys: &next_keys,
//!         keygen: &clients,        // KeyGen: keys of the kind each client asks for
//!         providers: providers.iter().map(|p| p.as_ref()).collect(),
//!         observer: &observer,     // Observe, from crate::dns
//!         renewer: &real::CommandRenewer::new(clients.clone()),
//!         reloader: &real::CommandReloader::default(),
//!         clock: &real::SystemClock,
//!         fail: &NoFailures,
//!     },
//!     options: Options::from_env(),
//! };
//! let report = runtime()?.block_on(engine.rollover(&name, wait, max_wait, dry_run))?;
//! print!("{}", if json { serde_json::to_string_pretty(&report)? } else { report.text() });
//! Ok(report.exit_code())
//! ```

mod batch;
mod blocked;
mod emergency;
pub mod lineage_files;
pub mod memory;
mod pass;
pub mod progress;
pub mod real;
mod repair;
pub mod report;
mod switch;
pub mod traits;

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::{Config, LineageConfig};
use crate::dns::{Observe, OwnerObservation, OwnerQuery, absolute};
use crate::endpoint::EndpointProbe;
use crate::error::Error;
use crate::probe::endpoint::{EndpointProber, lineage_endpoints};
use crate::provider::{Change, Provider};
use crate::rollover::observe::find;
use crate::rollover::policy::after;
use crate::rollover::{
    Action, Goal, Intent, KeyInfo, LineageState, LiveChange, Plan, Policy, plan_probed,
    reconcile_live, update_observations,
};
use crate::status::{has_outage, lineage_status};
use crate::store::{Locked, State, Store, StoreError};

pub use report::{
    EmergencyOutcome, EmergencyReport, HookReport, LineageError, LineageReport, OwnerRecords,
    PrepublishReport, RolloverOutcome, RolloverReport, RunReport, StatusReport,
};
pub use traits::{
    CertbotRun, Clock, FailPoint, KeyGen, LineageFacts, LineageFiles, NewKey, NextKeyFiles,
    NoFailures, PlantPlan, PrivateKeyPem, Refusals, Reloader, RenewSpecs, Renewer, Step,
};

/// The environment variable a switch passes to the ACME client (and so to its hook): the
/// name of the lineage being switched.
pub const SWITCHING_ENV: &str = "DANEROLLOVER_SWITCHING";

/// The lineage name certbot means by `RENEWED_LINEAGE` (its `live/NAME` directory):
/// the last component, e.g. `mail.example.test` for `/etc/letsencrypt/live/mail.example.test/`.
pub fn lineage_of_renewed(dir: &std::path::Path) -> Option<String> {
    dir.components()
        .next_back()
        .and_then(|c| match c {
            std::path::Component::Normal(n) => n.to_str(),
            _ => None,
        })
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .map(str::to_string)
}

/// Everything the engine acts through.
pub struct Io<'a> {
    /// The lineages' files as their ACME clients keep them (live certificate, planting).
    pub files: &'a dyn LineageFiles,
    /// The next keys' private key files under the state directory.
    pub next_keys: &'a dyn NextKeyFiles,
    /// Generates next keys matching renewal.conf.
    pub keygen: &'a dyn KeyGen,
    /// The configured providers; a lineage uses the one whose [`Provider::name`] its
    /// `provider` key names.
    pub providers: Vec<&'a dyn Provider>,
    /// Observes every authoritative server and validates.
    pub observer: &'a dyn Observe,
    /// Runs the renewal of a switch.
    pub renewer: &'a dyn Renewer,
    /// Runs the reload commands after a switch.
    pub reloader: &'a dyn Reloader,
    /// Probes the endpoints: what key each one serves.
    pub prober: &'a dyn EndpointProber,
    /// What time it is (and the `--wait` sleep).
    pub clock: &'a dyn Clock,
    /// Called after every step ([`NoFailures`] in real runs).
    pub fail: &'a dyn FailPoint,
}

/// Tunables of the shell.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for the lock before failing (naming its holder).
    pub lock_wait: Duration,
    /// The smallest record TTL of the lineages (at most 60 s): a quarter of it caps how
    /// long `rollover --wait` waits between looks while the switch time is unknown
    /// ([`progress::backoff_cap`]).
    pub poll: Duration,
    /// The value of [`SWITCHING_ENV`] in this process's environment.
    pub switching: Option<String>,
    /// Ask every server even where an earlier observation could be reused (`--fresh`).
    pub fresh: bool,
    /// Reports after a change also show the status as observed before it (`--verbose`).
    pub verbose: bool,
    /// Test-only: guards of the DNS seams turned off (never set by the command line or the
    /// configuration).
    #[doc(hidden)]
    pub permissive: Permissive,
}

/// Test-only switches, each turning off one guard of reusing observations, so that a test
/// can show the simulation finds the hole the guard closes. Nothing outside tests sets them.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissive {
    /// Reuse a kept observation without checking it against a validated read made now.
    pub no_revalidation: bool,
    /// Reuse within one wait plus one pass of a switch falling due.
    pub reuse_near_switch: bool,
    /// Reuse observations of zones seen changing without a new serial.
    pub reuse_silent_zones: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lock_wait: Duration::from_secs(600),
            poll: Duration::from_secs(60),
            switching: None,
            fresh: false,
            verbose: false,
            permissive: Permissive::default(),
        }
    }
}

impl Options {
    /// Defaults, with [`Options::switching`] read from the environment.
    pub fn from_env() -> Options {
        Options {
            switching: std::env::var(SWITCHING_ENV).ok().filter(|v| !v.is_empty()),
            ..Options::default()
        }
    }
}

/// The engine: configuration, state directory, I/O and options.
pub struct Engine<'a> {
    /// The configuration (lineages, `[dns]` wait settings, providers' names).
    pub config: &'a Config,
    /// The state directory (state file, lock, next keys under `keys/`).
    pub store: Store,
    /// Everything the engine acts through.
    pub io: Io<'a>,
    /// Lock wait, poll interval, switching marker.
    pub options: Options,
}

/// Why a pass stopped: an injected crash (which must stop everything at once, as kill -9
/// would) or an error.
enum Stop {
    Crash(Step),
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Failed(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Failed(Error::Store(e))
    }
}

impl From<Stop> for Error {
    fn from(s: Stop) -> Error {
        match s {
            Stop::Crash(step) => Error::Failed(format!("stopped after step {step:?} (injected)")),
            Stop::Failed(e) => e,
        }
    }
}

type R<T> = Result<T, Stop>;
fn lineage<'s>(state: &'s mut State, name: &str) -> &'s mut LineageState {
    state.lineages.entry(name.to_string()).or_default()
}

/// The owners of a lineage, absolute.
fn owner_names(lc: &LineageConfig) -> Vec<String> {
    let mut owners: Vec<String> = lc.tlsa.iter().map(|o| absolute(o)).collect();
    owners.dedup();
    owners
}
impl<'a> Engine<'a> {
    // ----------------------------------------------------------------------------------
    // Operations.

    /// The certbot deploy hook for `lineage` (the last component of `RENEWED_LINEAGE`).
    /// Unmanaged lineages are left alone. Inside a switch (see [`SWITCHING_ENV`]) it does
    /// nothing. Otherwise one pass that keeps records right: a renewed key that is the next
    /// key is promoted (and the reload commands run); a key never published is published
    /// at once and reported as an outage (exit 1).
    pub async fn hook(&self, lineage_name: &str, dry_run: bool) -> Result<HookReport, Error> {
        if !self.config.lineages.contains_key(lineage_name) {
            return Ok(HookReport::Unmanaged {
                lineage: lineage_name.to_string(),
            });
        }
        if self.options.switching.as_deref() == Some(lineage_name) {
            let state = self.store.read()?;
            let switching = state
                .lineages
                .get(lineage_name)
                .is_some_and(|l| matches!(l.intent, Some(Intent::Switch { .. })));
            if switching {
                return Ok(HookReport::LeftToRollover {
                    lineage: lineage_name.to_string(),
                });
            }
        }
        let report = self
            .locked_pass(lineage_name, Goal::Maintain, dry_run)
            .await?;
        Ok(HookReport::Managed(Box::new(report)))
    }

    /// Make sure `lineage` has a next key and that current + next records are published.
    pub async fn prepublish(
        &self,
        lineage_name: &str,
        dry_run: bool,
    ) -> Result<PrepublishReport, Error> {
        self.lineage_config(lineage_name)?;
        let lineage = self
            .locked_pass(lineage_name, Goal::Maintain, dry_run)
            .await?;
        Ok(PrepublishReport { lineage })
    }

    /// Switch `lineage` to its next key if that is safe; with `wait`, look again
    /// (releasing the lock in between) until it is, or until `max_wait`: every few seconds
    /// with backoff while the switch time is unknown, at the exact safe moment once it is
    /// known ([`progress`]).
    pub async fn rollover(
        &self,
        lineage_name: &str,
        wait: bool,
        max_wait: Option<Duration>,
        dry_run: bool,
    ) -> Result<RolloverReport, Error> {
        self.lineage_config(lineage_name)?;
        let start = self.io.clock.now();
        let deadline = max_wait.map(|m| after(start, m));
        let mut allowed_at = None;
        let cap = progress::backoff_cap(self.options.poll);
        let mut pause = progress::FIRST_LOOK;
        let mut waited_for: Option<Vec<String>> = None;
        loop {
            let pass_wall = self.io.clock.now();
            let report = self
                .locked_pass(lineage_name, Goal::Switch, dry_run)
                .await?;
            if !report.switched {
                allowed_at = report.status.switch_allowed_at;
            }
            let outcome = if report.switched {
                Some(RolloverOutcome::Switched)
            } else if let Some(error) = &report.switch_failure {
                Some(RolloverOutcome::Failed {
                    error: error.clone(),
                })
            } else if dry_run && report.status.not_yet.is_empty() {
                Some(RolloverOutcome::WouldSwitch)
            } else {
                None
            };
            let now = self.io.clock.now();
            // The time on the core's clock (the wall clock bounded by the monotonic clock,
            // which may lag the wall clock): what the pass decided on, plus what passed
            // since. Safe moments are on that clock.
            let core_now = after(
                report.decided_at,
                now.duration_since(pass_wall).unsigned_abs(),
            );
            let not_yet = || RolloverOutcome::NotYet {
                reasons: report.status.not_yet.clone(),
                earliest: report.status.switch_allowed_at,
            };
            let outcome = match outcome {
                Some(o) => o,
                None if !wait || dry_run => not_yet(),
                None if deadline.is_some_and(|d| now >= d) => not_yet(),
                None => {
                    // Unknown switch time: look again soon, backing off while nothing
                    // changes. Known: sleep to that exact moment.
                    let reasons = report.status.not_yet.clone();
                    let kinds: Vec<String> = reasons.iter().map(|r| reason_kind(r)).collect();
                    if waited_for.as_ref() != Some(&kinds) {
                        pause = progress::FIRST_LOOK;
                    }
                    let until = report.status.switch_allowed_at;
                    let (mut sleep, backoff) = match until {
                        Some(u) if u > core_now => {
                            (u.duration_since(core_now).unsigned_abs(), false)
                        }
                        // Due, yet not safe on the last look (that look came a moment
                        // early): look again in a moment, then backing off.
                        Some(_) if pause == progress::FIRST_LOOK => {
                            (Duration::from_millis(250), true)
                        }
                        _ => (pause, true),
                    };
                    if backoff {
                        pause = progress::next_pause(pause, cap);
                    }
                    waited_for = Some(kinds);
                    if let Some(d) = deadline {
                        sleep = sleep.min(d.duration_since(now).unsigned_abs());
                    }
                    let sleep = sleep.max(Duration::from_millis(100));
                    if self.io.clock.stop_requested().is_none() {
                        let notice = progress::WaitNotice {
                            lineage: lineage_name.to_string(),
                            until,
                            next_look: after(now, sleep),
                            reasons,
                        };
                        progress::announced_sleep(self.io.clock, &notice, sleep).await;
                    }
                    match self.io.clock.stop_requested() {
                        None => continue,
                        Some(signal) => RolloverOutcome::Stopped {
                            signal: signal.to_string(),
                            reasons: report.status.not_yet.clone(),
                        },
                    }
                }
            };
            return Ok(RolloverReport {
                outcome,
                switch_safe_at: allowed_at,
                switch_started_at: report.switched.then_some(report.decided_at),
                lineage: report,
            });
        }
    }

    /// Every lineage's status (or one's). Read-only: no lock, nothing saved; observations
    /// are folded into a copy of the state only.
    pub async fn status(&self, only: Option<&str>) -> Result<StatusReport, Error> {
        let names: Vec<String> = match only {
            Some(n) => {
                self.lineage_config(n)?;
                vec![n.to_string()]
            }
            None => self.config.lineages.keys().cloned().collect(),
        };
        self.status_all(&names).await
    }

    /// The periodic job: one pass over every configured lineage (observe, record
    /// first-seen times, republish drift, retire what is due, scheduled rollovers that are
    /// due and safe). A lineage that fails does not stop the others.
    pub async fn run(&self, dry_run: bool) -> Result<RunReport, Error> {
        Ok(self.run_all(dry_run).await?)
    }

    // ----------------------------------------------------------------------------------
    // Configuration lookups.

    fn lineage_config(&self, name: &str) -> Result<&'a LineageConfig, Error> {
        self.config.lineages.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.config.lineages.keys().map(String::as_str).collect();
            Error::Usage(format!(
                "lineage {name:?} is not in the configuration (configured: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
    }

    /// What the lineage's endpoints serve, probed offering its key `family` (from the
    /// lineage facts the pass already read); None when its `probe` is false.
    async fn probe_endpoints(
        &self,
        name: &str,
        lc: &LineageConfig,
        family: crate::probe::Algorithms,
    ) -> Option<Vec<EndpointProbe>> {
        if !lc.probe {
            return None;
        }
        let endpoints = with_family(lineage_endpoints(name, lc), family);
        Some(self.io.prober.probe(&endpoints).await)
    }

    /// What to observe for a lineage: its owners, zone and name servers (the lineage's
    /// own, else its zone's from `[zones]`).
    fn queries(&self, lc: &LineageConfig) -> Result<Vec<OwnerQuery>, Error> {
        let zone = lc.zone.as_deref().map(absolute);
        let configured = if lc.nameservers.is_empty() {
            zone.as_ref()
                .and_then(|z| {
                    self.config
                        .zones
                        .iter()
                        .find(|(k, _)| absolute(k) == *z)
                        .map(|(_, zc)| zc.nameservers.clone())
                })
                .unwrap_or_default()
        } else {
            lc.nameservers.clone()
        };
        let nameservers = configured
            .iter()
            .map(|s| {
                s.parse().map_err(|_| {
                    Error::BadInput(format!(
                        "name server {s:?} is not \"address:port\" (e.g. \"192.0.2.1:53\")"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(owner_names(lc)
            .into_iter()
            .map(|owner| OwnerQuery {
                owner,
                zone: zone.clone(),
                nameservers: nameservers.clone(),
            })
            .collect())
    }

    /// `STATE_DIR/keys/NAME/next-<first 16 hex of the 3 1 1 data>.pem`.
    fn next_key_path(&self, name: &str, key: &KeyInfo) -> Result<PathBuf, Error> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(Error::BadInput(format!(
                "{name:?} cannot be a certbot lineage name"
            )));
        }
        Ok(self
            .store
            .dir()
            .join("keys")
            .join(name)
            .join(format!("next-{}.pem", key.id.short())))
    }
}
/// What a reason is about, without its times: the wait starts afresh at the first pause
/// when that changes (a server caught up, a new reason appeared).
fn reason_kind(reason: &str) -> String {
    reason.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// The endpoints, probed offering the lineage's key family.
fn with_family(
    mut endpoints: Vec<crate::endpoint::Endpoint>,
    family: crate::probe::Algorithms,
) -> Vec<crate::endpoint::Endpoint> {
    for e in &mut endpoints {
        e.algorithms = family;
    }
    endpoints
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lineage_names_from_renewed_lineage() {
        let of = |p: &str| lineage_of_renewed(Path::new(p));
        assert_eq!(
            of("/etc/letsencrypt/live/mail.example.test"),
            Some("mail.example.test".into())
        );
        assert_eq!(
            of("/etc/letsencrypt/live/mail.example.test/"),
            Some("mail.example.test".into())
        );
        assert_eq!(of("mail"), Some("mail".into()));
        assert_eq!(of("/"), None);
        assert_eq!(of(""), None);
        assert_eq!(of("/etc/letsencrypt/live/.."), None);
    }
}
