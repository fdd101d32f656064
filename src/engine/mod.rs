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
//! - a switch: intent saved (with the archive path and the previous link target), key
//!   planted, link repointed, certbot run, state promoted; the next run completes the
//!   switch if the certificate carries the next key, and otherwise restores the link.
//!
//! Locking: one lock for the state directory ([`crate::store`]), held for one lineage's
//! pass. certbot runs danerollover's deploy hook *inside* a switch while the rollover holds
//! the lock; the rollover passes `DANEROLLOVER_SWITCHING=NAME` ([`SWITCHING_ENV`]) to
//! certbot, and a hook that finds it (and the switch intent in the state) returns at once,
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
//!         files: &lineage_files,   // LineageFiles, from crate::certbot
//!         next_keys: &next_keys,
//!         keygen: &key_generator,  // KeyGen, from crate::keys
//!         providers: providers.iter().map(|p| p.as_ref()).collect(),
//!         observer: &observer,     // Observe, from crate::dns
//!         certbot: &real::CommandCertbot::new(&config.certbot),
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

pub mod lineage_files;
pub mod memory;
pub mod real;
pub mod report;
pub mod traits;

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::{Config, LineageConfig};
use crate::dns::{Observe, OwnerObservation, OwnerQuery, absolute};
use crate::error::Error;
use crate::provider::{Change, Provider};
use crate::rollover::observe::find;
use crate::rollover::policy::after;
use crate::rollover::repair::{self, Repair, RepairFacts};
use crate::rollover::{
    Action, Goal, Intent, KeyInfo, LineageState, LiveChange, Plan, Policy, plan, reconcile_live,
    update_observations,
};
use crate::status::{has_outage, lineage_status};
use crate::store::{Locked, State, Store, StoreError};

pub use report::{
    HookReport, LineageError, LineageReport, OwnerRecords, PrepublishReport, RolloverOutcome,
    RolloverReport, RunReport, StatusReport,
};
pub use traits::{
    Certbot, Clock, FailPoint, KeyGen, LineageFacts, LineageFiles, NewKey, NextKeyFiles,
    NoFailures, PlantPlan, PrivateKeyPem, Reloader, Step,
};

/// The environment variable a switch passes to certbot (and so to the deploy hook): the
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
    /// certbot's lineage files (live certificate, planting, links).
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
    pub certbot: &'a dyn Certbot,
    /// Runs the reload commands after a switch.
    pub reloader: &'a dyn Reloader,
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
    /// How often `rollover --wait` looks again.
    pub poll: Duration,
    /// The value of [`SWITCHING_ENV`] in this process's environment.
    pub switching: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lock_wait: Duration::from_secs(600),
            poll: Duration::from_secs(60),
            switching: None,
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

/// How a switch attempt ended.
enum SwitchOutcome {
    Switched,
    Failed(String),
}

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

    /// Switch `lineage` to its next key if that is safe; with `wait`, look again every
    /// [`Options::poll`] (releasing the lock in between) until it is, or until `max_wait`.
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
        loop {
            let pass_start = self.io.clock.now();
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
            let not_yet = || RolloverOutcome::NotYet {
                reasons: report.status.not_yet.clone(),
                earliest: report.status.switch_allowed_at,
            };
            let outcome = match outcome {
                Some(o) => o,
                None if !wait || dry_run => not_yet(),
                None if deadline.is_some_and(|d| now >= d) => not_yet(),
                None => {
                    let mut pause = self.options.poll;
                    if let Some(until) = report.status.switch_allowed_at.filter(|u| *u > now) {
                        pause = pause.min(until.duration_since(now).unsigned_abs());
                    }
                    if let Some(d) = deadline {
                        pause = pause.min(d.duration_since(now).unsigned_abs());
                    }
                    self.io.clock.sleep(pause.max(Duration::from_secs(1))).await;
                    continue;
                }
            };
            return Ok(RolloverReport {
                outcome,
                switch_safe_at: allowed_at,
                switch_started_at: report.switched.then_some(pass_start),
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
        let state = self.store.read()?;
        let mut report = StatusReport {
            lineages: Vec::new(),
            errors: Vec::new(),
        };
        for name in names {
            let lc = self.lineage_config(&name)?;
            let policy = Policy::of(self.config, lc);
            let mut ls = state.lineages.get(&name).cloned().unwrap_or_default();
            let facts = match self.io.files.facts(&name) {
                Ok(f) => f,
                Err(e) => {
                    report.errors.push(LineageError {
                        name,
                        error: crate::error::render(&e),
                    });
                    continue;
                }
            };
            let now = self.io.clock.now();
            let observations = self.io.observer.observe(&self.queries(lc)?).await;
            reconcile_live(&mut ls, &KeyInfo::from_spki(&facts.live_spki), now);
            update_observations(&mut ls, &owner_names(lc), &observations, now, &policy);
            let p = plan(
                &ls,
                &observations,
                facts.reuse_key,
                now,
                &policy,
                Goal::Scheduled,
            );
            report
                .lineages
                .push(lineage_status(&name, &ls, &observations, &p, now, &policy));
        }
        Ok(report)
    }

    /// The periodic job: one pass over every configured lineage (observe, record
    /// first-seen times, republish drift, retire what is due, scheduled rollovers that are
    /// due and safe). A lineage that fails does not stop the others.
    pub async fn run(&self, dry_run: bool) -> Result<RunReport, Error> {
        let mut report = RunReport {
            lineages: Vec::new(),
            errors: Vec::new(),
        };
        for name in self.config.lineages.keys() {
            match self.try_locked_pass(name, Goal::Scheduled, dry_run).await {
                Ok(r) => report.lineages.push(r),
                Err(Stop::Crash(step)) => return Err(Stop::Crash(step).into()),
                Err(Stop::Failed(e)) => report.errors.push(LineageError {
                    name: name.clone(),
                    error: crate::error::render(&e),
                }),
            }
        }
        Ok(report)
    }

    // ----------------------------------------------------------------------------------
    // One pass over one lineage.

    async fn locked_pass(
        &self,
        name: &str,
        goal: Goal,
        dry_run: bool,
    ) -> Result<LineageReport, Error> {
        Ok(self.try_locked_pass(name, goal, dry_run).await?)
    }

    async fn try_locked_pass(&self, name: &str, goal: Goal, dry_run: bool) -> R<LineageReport> {
        let lock = self.store.lock(self.options.lock_wait)?;
        let mut state = lock.load()?;
        self.pass(&lock, &mut state, name, goal, dry_run).await
    }

    async fn pass(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        mut goal: Goal,
        dry_run: bool,
    ) -> R<LineageReport> {
        let lc = self.lineage_config(name)?;
        let policy = Policy::of(self.config, lc);
        let owners = owner_names(lc);
        let now = self.io.clock.now();
        let mut facts = self.io.files.facts(name)?;
        let mut planned = Vec::new();
        let mut done = Vec::new();
        let mut failures = Vec::new();
        let mut switched = false;
        let mut switch_failure = None;

        // 1. Repair an interrupted step before anything else.
        let mut repaired = None;
        if let Some(intent) = lineage(state, name).intent.clone() {
            if dry_run {
                planned.push("repair an interrupted step".to_string());
            } else {
                let live = KeyInfo::from_spki(&facts.live_spki);
                let r = self.repair(lock, state, name, &intent, &live, now)?;
                done.push(format!("repaired an interrupted step: {r:?}"));
                repaired = Some(r);
            }
        }
        if !dry_run {
            self.cleanup(lock, state, name)?;
        }

        // 2. Observe and fold in.
        let observations = self.io.observer.observe(&self.queries(lc)?).await;
        let live_change = {
            let ls = lineage(state, name);
            let change = reconcile_live(ls, &KeyInfo::from_spki(&facts.live_spki), now);
            update_observations(ls, &owners, &observations, now, &policy);
            change
        };
        match live_change {
            LiveChange::Promoted => done.push("the certificate carries the next key: promoted it".into()),
            LiveChange::Unknown => done.push(
                "the certificate was renewed with a key that was never published (reuse_key off or --new-key)".into(),
            ),
            LiveChange::Restored => done.push("the certificate carries a retired key again: it is current".into()),
            LiveChange::Adopted | LiveChange::Unchanged => {}
        }
        if !dry_run {
            self.save(lock, state, Step::Observed)?;
        }

        // 3. Plan and act, one action at a time; plan again after a new key or a switch.
        for _round in 0..6 {
            let p = plan(
                lineage(state, name),
                &observations,
                facts.reuse_key,
                now,
                &policy,
                goal,
            );
            if dry_run {
                planned.extend(p.actions.iter().map(ToString::to_string));
                break;
            }
            let mut again = false;
            for action in &p.actions {
                match action {
                    Action::Alert(_) | Action::Wait { .. } => {}
                    Action::GenerateNextKey => {
                        let key = self.generate_next(lock, state, name, now)?;
                        done.push(format!("generated the next key 3 1 1 {}", key.id));
                        again = true;
                        break;
                    }
                    Action::Publish { owner, records } => {
                        match self.change(lc, owner, records, true, &observations).await {
                            Ok(()) => {
                                self.step(Step::Published)?;
                                lineage(state, name).record_published(owner, records, now);
                                self.save(lock, state, Step::PublishSaved)?;
                                done.push(action.to_string());
                            }
                            Err(e) => failures.push(format!("{action}: {e}")),
                        }
                    }
                    Action::Retire { owner, records } => {
                        match self.change(lc, owner, records, false, &observations).await {
                            Ok(()) => {
                                self.step(Step::Retired)?;
                                lineage(state, name).record_retired(owner, records, now);
                                self.save(lock, state, Step::RetireSaved)?;
                                done.push(action.to_string());
                            }
                            Err(e) => failures.push(format!("{action}: {e}")),
                        }
                    }
                    Action::Switch { .. } => {
                        goal = Goal::Maintain;
                        match self.switch(lock, state, name).await? {
                            SwitchOutcome::Switched => {
                                switched = true;
                                done.push(action.to_string());
                            }
                            SwitchOutcome::Failed(e) => switch_failure = Some(e),
                        }
                        // The certificate may have changed: read it again.
                        facts = self.io.files.facts(name)?;
                        let t = self.io.clock.now();
                        let ls = lineage(state, name);
                        reconcile_live(ls, &KeyInfo::from_spki(&facts.live_spki), t);
                        self.save(lock, state, Step::SwitchSaved)?;
                        again = true;
                        break;
                    }
                    Action::Reload => match self.io.reloader.reload(name, &lc.reload).await {
                        Ok(()) => {
                            self.step(Step::Reloaded)?;
                            lineage(state, name).reload_pending = false;
                            self.save(lock, state, Step::ReloadSaved)?;
                            done.push(action.to_string());
                        }
                        Err(e) => failures.push(format!("{action}: {}", crate::error::render(&e))),
                    },
                }
            }
            if !again || !failures.is_empty() {
                if !again {
                    planned.extend(p.actions.iter().filter_map(|a| match a {
                        Action::Wait { .. } => Some(a.to_string()),
                        _ => None,
                    }));
                }
                break;
            }
        }

        // 4. Report.
        let ls = lineage(state, name);
        let final_plan: Plan = plan(ls, &observations, facts.reuse_key, now, &policy, goal);
        let status = lineage_status(name, ls, &observations, &final_plan, now, &policy);
        let records = owners
            .iter()
            .map(|o| OwnerRecords {
                owner: o.clone(),
                ttl: lc.ttl,
                records: [
                    ls.current.as_ref().map(|c| &c.key),
                    ls.next.as_ref().map(|n| &n.key),
                ]
                .into_iter()
                .flatten()
                .flat_map(|k| k.records(&policy.matching))
                .collect(),
            })
            .collect();
        Ok(LineageReport {
            outage: has_outage(&final_plan.dangers),
            status,
            live_change,
            repaired,
            done,
            planned,
            failures,
            records,
            switched,
            switch_failure,
        })
    }

    // ----------------------------------------------------------------------------------
    // Steps.

    fn step(&self, step: Step) -> R<()> {
        self.io.fail.after(step).map_err(|_| Stop::Crash(step))
    }

    fn save(&self, lock: &Locked, state: &State, step: Step) -> R<()> {
        lock.save(state)?;
        self.step(step)
    }

    fn repair(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        intent: &Intent,
        live: &KeyInfo,
        now: Timestamp,
    ) -> R<Repair> {
        let key_file_spki = match intent {
            Intent::NewNextKey { path, .. } => self.io.next_keys.spki(path)?,
            Intent::Switch { .. } => None,
        };
        let decision = repair::repair(
            intent,
            &RepairFacts {
                live: live.clone(),
                key_file_spki,
            },
        );
        if let (
            Repair::UndoSwitch,
            Intent::Switch {
                key,
                archive_path,
                previous_target,
                ..
            },
        ) = (&decision, intent)
        {
            self.io.files.restore(
                name,
                &PlantPlan {
                    archive_path: archive_path.clone(),
                    previous_target: previous_target.clone(),
                },
                &key.spki,
            )?;
            self.step(Step::Repaired)?;
        }
        repair::apply(lineage(state, name), &decision, now);
        self.save(lock, state, Step::RepairSaved)?;
        Ok(decision)
    }

    /// Remove the state directory's copies of keys that were planted and promoted.
    fn cleanup(&self, lock: &Locked, state: &mut State, name: &str) -> R<()> {
        let paths = lineage(state, name).cleanup.clone();
        if paths.is_empty() {
            return Ok(());
        }
        for p in &paths {
            self.io.next_keys.remove(p)?;
        }
        self.step(Step::CleanedUp)?;
        let ls = lineage(state, name);
        ls.cleanup.retain(|p| !paths.contains(p));
        self.save(lock, state, Step::RepairSaved)
    }

    fn generate_next(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        now: Timestamp,
    ) -> R<KeyInfo> {
        let new = self.io.keygen.generate(name)?;
        let key = KeyInfo::from_spki(&new.spki_der);
        let path = self.next_key_path(name, &key)?;
        lineage(state, name).intent = Some(Intent::NewNextKey {
            key: key.clone(),
            path: path.clone(),
            at: now,
        });
        self.save(lock, state, Step::NextKeyIntent)?;
        self.io.next_keys.write(&path, &new.pem)?;
        self.step(Step::NextKeyWritten)?;
        lineage(state, name).set_next(key.clone(), path, now);
        self.save(lock, state, Step::NextKeySaved)?;
        Ok(key)
    }

    /// Plant the next key, renew with it, check the new certificate carries it. Anything
    /// failing before certbot succeeded is undone (the lineage is left as it was).
    async fn switch(&self, lock: &Locked, state: &mut State, name: &str) -> R<SwitchOutcome> {
        let Some(next) = lineage(state, name).next.clone() else {
            return Ok(SwitchOutcome::Failed("there is no next key".into()));
        };
        let pp = self.io.files.plant_plan(name)?;
        lineage(state, name).intent = Some(Intent::Switch {
            key: next.key.clone(),
            key_path: next.path.clone(),
            archive_path: pp.archive_path.clone(),
            previous_target: pp.previous_target.clone(),
            at: self.io.clock.now(),
        });
        self.save(lock, state, Step::SwitchIntent)?;
        if let Err(e) = self.io.files.plant(name, &pp, &next.path) {
            let why = format!("planting the next key failed: {}", crate::error::render(&e));
            return self.undo_switch(lock, state, name, &pp, &next.key, why);
        }
        self.step(Step::Planted)?;
        if let Err(e) = self.io.files.repoint(name, &pp) {
            let why = format!(
                "repointing privkey.pem failed: {}",
                crate::error::render(&e)
            );
            return self.undo_switch(lock, state, name, &pp, &next.key, why);
        }
        self.step(Step::Repointed)?;
        let renewed = self.io.certbot.renew(name).await;
        self.step(Step::Renewed)?;
        if let Err(e) = renewed {
            let why = format!("certbot renew failed: {}", crate::error::render(&e));
            return self.undo_switch(lock, state, name, &pp, &next.key, why);
        }
        let facts = self.io.files.facts(name)?;
        let ls = lineage(state, name);
        if facts.live_spki == next.key.spki {
            ls.promote(self.io.clock.now());
            self.save(lock, state, Step::SwitchSaved)?;
            Ok(SwitchOutcome::Switched)
        } else {
            ls.intent = None;
            self.save(lock, state, Step::SwitchSaved)?;
            let got = KeyInfo::from_spki(&facts.live_spki);
            Ok(SwitchOutcome::Failed(format!(
                "certbot renewed, but the new certificate carries the key 3 1 1 {} instead of the next key 3 1 1 {}; its record is being published now",
                got.id, next.key.id
            )))
        }
    }

    fn undo_switch(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        pp: &PlantPlan,
        key: &KeyInfo,
        why: String,
    ) -> R<SwitchOutcome> {
        self.io.files.restore(name, pp, &key.spki)?;
        self.step(Step::Restored)?;
        lineage(state, name).intent = None;
        self.save(lock, state, Step::SwitchSaved)?;
        Ok(SwitchOutcome::Failed(format!(
            "{why}; the lineage was left as it was"
        )))
    }

    /// Apply one change at one owner through the lineage's provider.
    async fn change(
        &self,
        lc: &LineageConfig,
        owner: &str,
        records: &[crate::tlsa::TlsaRecord],
        add: bool,
        observations: &[OwnerObservation],
    ) -> Result<(), String> {
        let provider = self
            .io
            .providers
            .iter()
            .find(|p| p.name() == lc.provider)
            .ok_or_else(|| format!("provider {} is not available", lc.provider))?;
        let zone = match (
            &lc.zone,
            find(observations, owner).and_then(|o| o.zone.clone()),
        ) {
            (Some(z), _) => absolute(z),
            (None, Some(z)) => absolute(&z),
            (None, None) => self
                .io
                .observer
                .find_zone(owner)
                .await
                .map_err(|e| format!("cannot find the zone of {owner}: {e}"))?,
        };
        let change = Change {
            zone,
            owner: owner.to_string(),
            ttl: lc.ttl,
            add: if add { records.to_vec() } else { Vec::new() },
            remove: if add { Vec::new() } else { records.to_vec() },
        };
        provider.apply(&change).await.map_err(|e| e.to_string())
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
