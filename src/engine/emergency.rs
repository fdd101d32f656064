//! `rollover --emergency`: the key-compromise switch. The next key goes live as soon as
//! every authoritative server serves its records and they validate Secure (the wait is
//! not required: a resolver's cached copy without the new record is the accepted cost),
//! the reload commands run, the compromised key's records are withdrawn at once, and a
//! fresh next key is generated and published. Refused, changing nothing, otherwise.

use super::pass::REPROBE_DELAY;
use super::switch::SwitchOutcome;
use super::*;
use crate::rollover::emergency_verdict;

impl Engine<'_> {
    /// Withdraw every record of the compromised key `old` at the lineage's owners (what
    /// the state owns and what the servers serve), at once: what was withdrawn, and what
    /// failed.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn withdraw(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        lc: &LineageConfig,
        old: &KeyInfo,
        observations: &[OwnerObservation],
        t: Timestamp,
    ) -> R<(Vec<String>, Vec<String>)> {
        let (mut withdrawn, mut failures) = (Vec::new(), Vec::new());
        for owner in owner_names(lc) {
            let ls = lineage(state, name);
            let mut records: Vec<crate::tlsa::TlsaRecord> = ls
                .owners
                .get(&owner)
                .map(|o| {
                    o.records
                        .iter()
                        .filter(|x| x.key == old.id)
                        .map(|x| x.record.clone())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(o) = find(observations, &owner) {
                for r in crate::rollover::observe::served_records(o) {
                    if old.matches(&r) && !records.contains(&r) {
                        records.push(r);
                    }
                }
            }
            if records.is_empty() {
                continue;
            }
            match self.change(lc, &owner, &records, false, observations).await {
                Ok(target) => {
                    self.step(Step::Retired)?;
                    lineage(state, name).record_retired(&owner, &records, t);
                    self.save(lock, state, Step::RetireSaved)?;
                    let at = target.map(|t| format!(" (at {t})")).unwrap_or_default();
                    withdrawn.extend(records.iter().map(|r| format!("{owner}{at} {r}")));
                }
                Err(e) => failures.push(format!(
                    "withdraw the compromised key's records at {owner}: {e}"
                )),
            }
        }
        Ok((withdrawn, failures))
    }

    /// Finish an emergency rollover a killed or stopped run left (see
    /// [`crate::rollover::state::EmergencyPending`]): once its switch went through and the
    /// reload ran, the compromised key's records are withdrawn at once; one whose switch
    /// never went through switches now under the emergency's rule (no wait), while the
    /// keys are still the ones it decided on; otherwise it is over (said, for the operator
    /// to run it again). Returns what was done and what failed.
    pub(super) async fn finish_emergency(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        lc: &LineageConfig,
        observations: &[OwnerObservation],
        now: Timestamp,
    ) -> R<(Vec<String>, Vec<String>)> {
        let ls = lineage(state, name);
        let Some(e) = ls.emergency.clone() else {
            return Ok((Vec::new(), Vec::new()));
        };
        if ls.intent.is_some() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut done = Vec::new();
        if ls.current.as_ref().map(|c| &c.key.id) != Some(&e.to) {
            let resumable = ls.current.as_ref().map(|c| &c.key.id) == Some(&e.compromised.id)
                && ls.next.as_ref().map(|n| &n.key.id) == Some(&e.to);
            if !resumable {
                // The keys moved on (a renewal, another switch): nothing of it is left to do.
                ls.emergency = None;
                self.save(lock, state, Step::RepairSaved)?;
                return Ok((
                    Vec::new(),
                    vec![format!(
                        "the emergency rollover decided at {} was interrupted before its switch went through, and the keys have changed since: nothing was switched; run `danerollover rollover --emergency {name}` again if the live key is compromised",
                        e.at
                    )],
                ));
            }
            match self.resume_emergency(lock, state, name, lc, observations, now).await? {
                Ok(()) => done.push(format!(
                    "finished the interrupted emergency (decided at {}): switched to the next key {} at once",
                    e.at, e.to
                )),
                Err(why) => return Ok((Vec::new(), vec![why])),
            }
        }
        if lineage(state, name).reload_pending {
            // The servers must present the new key first; the next pass withdraws.
            return Ok((Vec::new(), Vec::new()));
        }
        let (withdrawn, failures) = self
            .withdraw(lock, state, name, lc, &e.compromised, observations, now)
            .await?;
        if failures.is_empty() {
            lineage(state, name).emergency = None;
            self.save(lock, state, Step::RetireSaved)?;
        }
        done.extend(
            withdrawn
                .iter()
                .map(|w| format!("finished the interrupted emergency: withdrew {w}")),
        );
        Ok((done, failures))
    }

    /// The switch of an emergency that was recorded (write-ahead) but killed or stopped
    /// before its switch went through, under the emergency's own rule (every server serves
    /// the next key's records, signed; no wait). Ok once switched and reloaded; Err(why)
    /// when it cannot switch now (it stays pending and the next pass tries again) or the
    /// switch or reload failed.
    async fn resume_emergency(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        lc: &LineageConfig,
        observations: &[OwnerObservation],
        now: Timestamp,
    ) -> R<Result<(), String>> {
        let policy = self.policy_of(state, lc);
        let decided = lineage(state, name).emergency.as_ref().map(|e| e.at);
        let until = match emergency_verdict(lineage(state, name), observations, now, &policy) {
            Ok(until) => until,
            Err(reasons) => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                return Ok(Err(format!(
                    "the emergency rollover decided at {} was interrupted before its switch, and cannot switch yet: {}; the next pass tries again",
                    decided.map(|t| t.to_string()).unwrap_or_default(),
                    reasons.join("; ")
                )));
            }
        };
        if let SwitchOutcome::Failed(error) = self.switch(lock, state, name).await? {
            lineage(state, name).emergency = None;
            self.save(lock, state, Step::SwitchSaved)?;
            return Ok(Err(format!(
                "finish the interrupted emergency rollover: {error}"
            )));
        }
        match self.after_switch(lock, state, name, lc, until).await?.1 {
            Some(failure) => Ok(Err(format!(
                "finish the interrupted emergency rollover: {failure}"
            ))),
            None => Ok(Ok(())),
        }
    }

    /// After an emergency's switch went through: record the live key and how long
    /// resolvers may hold older RRsets (`until`), then reload, so that the servers present
    /// the new key before its predecessor loses its record. The time then, and the reload's
    /// failure if it failed.
    async fn after_switch(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        lc: &LineageConfig,
        until: Timestamp,
    ) -> R<(Timestamp, Option<String>)> {
        let facts = self.io.files.facts(name)?;
        let t = self.steady_now(state);
        let ls = lineage(state, name);
        reconcile_live(ls, &KeyInfo::from_spki(&facts.live_spki), t);
        ls.emergency_until = Some(ls.emergency_until.map_or(until, |u| u.max(until)));
        self.save(lock, state, Step::SwitchSaved)?;
        let mut failure = None;
        match self.io.reloader.reload(name, &lc.reload).await {
            Ok(()) => {
                self.step(Step::Reloaded)?;
                lineage(state, name).reload_pending = false;
                self.save(lock, state, Step::ReloadSaved)?;
            }
            Err(e) => {
                failure = Some(format!(
                    "run the reload commands: {}",
                    crate::error::render(&e)
                ))
            }
        }
        if lc.probe && lc.reload.is_empty() {
            // Nothing reloads: give servers that watch their files a moment.
            self.io.clock.sleep(REPROBE_DELAY).await;
        }
        Ok((t, failure))
    }

    /// Switch `lineage_name` to its next key at once (key compromise); see the module
    /// documentation.
    pub async fn emergency(
        &self,
        lineage_name: &str,
        dry_run: bool,
    ) -> Result<EmergencyReport, Error> {
        let lc = self.lineage_config(lineage_name)?;
        let lock = self.store.lock(self.options.lock_wait)?;
        let mut state = lock.load()?;
        Ok(self
            .emergency_locked(&lock, &mut state, lineage_name, lc, dry_run)
            .await?)
    }

    pub(super) async fn emergency_locked(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        lc: &LineageConfig,
        dry_run: bool,
    ) -> R<EmergencyReport> {
        let facts = self.io.files.facts(name)?;
        // Bounded like a pass's time (an emergency skips the waits, but what it records
        // is counted by later passes).
        let now = self.steady_now(state);
        let policy = self.policy_of(state, lc);
        let observations = self.io.observer.observe(&self.queries(lc)?).await;
        // Decide on a copy: a refusal changes nothing, not even the saved observations.
        let mut ls = state.lineages.get(name).cloned().unwrap_or_default();
        reconcile_live(&mut ls, &KeyInfo::from_spki(&facts.live_spki), now);
        update_observations(&mut ls, &owner_names(lc), &observations, now, &policy);
        let compromised = ls.current.as_ref().map(|c| c.key.clone());
        let report = |outcome, until, withdrawn, lineage| EmergencyReport {
            outcome,
            compromised: compromised.as_ref().map(|k| k.id.to_string()),
            old_rrset_cached_until: until,
            withdrawn,
            lineage,
        };
        let until = match emergency_verdict(&ls, &observations, now, &policy) {
            Err(reasons) => {
                let reasons = reasons.iter().map(ToString::to_string).collect();
                return Ok(report(
                    EmergencyOutcome::Refused { reasons },
                    None,
                    Vec::new(),
                    None,
                ));
            }
            Ok(until) => until,
        };
        if dry_run {
            return Ok(report(
                EmergencyOutcome::WouldSwitch,
                Some(until),
                Vec::new(),
                None,
            ));
        }
        // Write-ahead: a pass after this one is killed or stopped finishes it.
        if let (Some(c), Some(n)) = (&compromised, &ls.next) {
            ls.emergency = Some(crate::rollover::state::EmergencyPending {
                compromised: c.clone(),
                to: n.key.id.clone(),
                at: now,
            });
        }
        *lineage(state, name) = ls;
        self.save(lock, state, Step::Observed)?;
        if let SwitchOutcome::Failed(error) = self.switch(lock, state, name).await? {
            // Over, switched or not (certbot may have renewed with a key of its own):
            // the pass publishes what is missing (that key's record) before returning.
            lineage(state, name).emergency = None;
            self.save(lock, state, Step::SwitchSaved)?;
            let after = self.pass(lock, state, name, Goal::Maintain, false).await?;
            return Ok(report(
                EmergencyOutcome::Failed { error },
                None,
                Vec::new(),
                Some(after),
            ));
        }
        // The servers must present the new key before its predecessor loses its record.
        let (t, reload_failure) = self.after_switch(lock, state, name, lc, until).await?;
        let mut failures: Vec<String> = reload_failure.into_iter().collect();

        // Withdraw the compromised key's records at once, wherever they are.
        let mut withdrawn = Vec::new();
        if let Some(old) = &compromised {
            let (w, f) = self
                .withdraw(lock, state, name, lc, old, &observations, t)
                .await?;
            withdrawn = w;
            failures.extend(f);
        }
        if failures.is_empty() {
            lineage(state, name).emergency = None;
            self.save(lock, state, Step::RetireSaved)?;
        }

        // Then as usual: a fresh next key, generated and published.
        let mut after = self.pass(lock, state, name, Goal::Maintain, false).await?;
        after.failures.splice(0..0, failures);
        Ok(report(
            EmergencyOutcome::Switched,
            Some(until),
            withdrawn,
            Some(after),
        ))
    }
}
