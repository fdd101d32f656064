//! One pass over one lineage: repair, observe, plan, act one action at a time (saving
//! the state after each), report; and the steps it takes (saves, new next keys, provider changes).

use super::switch::SwitchOutcome;
use super::*;
use crate::rollover::Repair;

/// After the reload commands, how long to wait before probing an endpoint again that
/// still serves the old key.
pub const REPROBE_DELAY: std::time::Duration = std::time::Duration::from_secs(2);
/// How many times to probe again after the reload commands.
pub const REPROBES: usize = 2;

impl Engine<'_> {
    pub(super) async fn locked_pass(
        &self,
        name: &str,
        goal: Goal,
        dry_run: bool,
    ) -> Result<LineageReport, Error> {
        Ok(self.try_locked_pass(name, goal, dry_run).await?)
    }

    pub(super) async fn try_locked_pass(
        &self,
        name: &str,
        goal: Goal,
        dry_run: bool,
    ) -> R<LineageReport> {
        let lock = self.store.lock(self.options.lock_wait)?;
        let mut state = lock.load()?;
        self.pass(&lock, &mut state, name, goal, dry_run).await
    }

    pub(super) async fn pass(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        mut goal: Goal,
        dry_run: bool,
    ) -> R<LineageReport> {
        let lc = self.lineage_config(name)?;
        let owners = owner_names(lc);
        let mut now = self.steady_now(state);
        let decided_at = now;
        let policy = self.policy_of(state, lc);
        let mut facts = self.io.files.facts(name)?;
        let mut planned = Vec::new();
        let mut done = Vec::new();
        let mut failures = Vec::new();
        let mut switched = false;
        // Records were published or retired: the report observes again.
        let mut changed_dns = false;
        let mut switch_failure = None;
        // Reported as failures at the end, without stopping the pass (a switch that went
        // through although certbot failed still needs its new next key and reload).
        let mut warnings = Vec::new();

        // 1. Repair an interrupted step before anything else.
        let mut repaired = None;
        // certbot started by an interrupted switch still runs: leave the switch alone until it
        // is done (only the lineage's own missing records are published again, below).
        let mut hold = false;
        if let Some(intent) = lineage(state, name).intent.clone() {
            if dry_run {
                planned.push("repair an interrupted step".to_string());
            } else {
                let live = KeyInfo::from_spki(&facts.live_spki);
                let (r, unknown) = self.repair(lock, state, name, &intent, &live, now)?;
                if r == Repair::CertbotRunning {
                    hold = true;
                    let client = self.io.renewer.client(name);
                    failures.push(match unknown {
                        Some(why) => held_unknown_message(&intent, &why, &client),
                        None => held_message(&intent, &client),
                    });
                } else {
                    done.push(format!("repaired an interrupted step: {r:?}"));
                }
                repaired = Some(r);
            }
        }
        if !dry_run && !hold {
            self.cleanup(lock, state, name)?;
        }
        if !hold && facts.key_spki.as_deref() != Some(facts.live_spki.as_slice()) {
            warnings.push(self.io.files.key_mismatch(name));
        }
        // fullchain.pem or chain.pem lag cert.pem: the certificate is not taken in and
        // nothing reloads until they agree.
        let lag = facts.chain_lag.clone();
        if let Some(why) = &lag {
            warnings.push(format!(
                "the certificate's change is not taken in and no reload runs: {why}"
            ));
        }

        // 2. Observe (DNS and the endpoints) and fold in.
        let queries = self.queries(lc)?;
        let (mut observations, mut probes) = tokio::join!(
            self.io.observer.observe(&queries),
            self.probe_endpoints(name, lc, facts.key_family)
        );
        crate::rollover::share_ttl_history(&mut state.lineages, name, &owners);
        let live_change = {
            let ls = lineage(state, name);
            let change = if hold || lag.is_some() {
                LiveChange::Unchanged
            } else {
                reconcile_live(ls, &KeyInfo::from_spki(&facts.live_spki), now)
            };
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
        // While certbot runs, only this lineage's own missing records are published again
        // (additions only: someone deleting the next key's record must not stay unrepaired
        // until certbot puts that key live); nothing else is touched.
        for _round in 0..if hold { 1 } else { 6 } {
            let mut held_view = None;
            if hold {
                // The plan as if the switch were not under way, of which only additions
                // are carried out.
                let mut view = lineage(state, name).clone();
                view.intent = None;
                held_view = Some(view);
            }
            let p = plan_probed(
                held_view.as_ref().unwrap_or_else(|| lineage(state, name)),
                &observations,
                probes.as_deref(),
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
                if hold && !matches!(action, Action::Publish { .. }) {
                    continue;
                }
                match action {
                    Action::Alert(_) | Action::Wait { .. } => {}
                    Action::GenerateNextKey => {
                        let key = self.generate_next(lock, state, name, now)?;
                        done.push(format!("generated the next key 3 1 1 {}", key.id));
                        again = true;
                        break;
                    }
                    Action::Publish { owner, records } | Action::Retire { owner, records } => {
                        let add = matches!(action, Action::Publish { .. });
                        match self.change(lc, owner, records, add, &observations).await {
                            Ok(target) => {
                                let ls = lineage(state, name);
                                if add {
                                    self.step(Step::Published)?;
                                    ls.record_published(owner, records, now);
                                    self.save(lock, state, Step::PublishSaved)?;
                                } else {
                                    self.step(Step::Retired)?;
                                    ls.record_retired(owner, records, now);
                                    self.save(lock, state, Step::RetireSaved)?;
                                }
                                done.push(at_target(action, target));
                                changed_dns = true;
                            }
                            Err(e) => failures.push(format!("{action}: {e}")),
                        }
                    }
                    Action::Switch { .. } => {
                        goal = Goal::Maintain;
                        match self.switch(lock, state, name).await? {
                            SwitchOutcome::Switched { warning } => {
                                switched = true;
                                done.push(action.to_string());
                                warnings.extend(warning);
                            }
                            SwitchOutcome::Failed(e) => switch_failure = Some(e),
                        }
                        // The certificate may have changed: read it again.
                        facts = self.io.files.facts(name)?;
                        let t = self.steady_now(state);
                        let ls = lineage(state, name);
                        reconcile_live(ls, &KeyInfo::from_spki(&facts.live_spki), t);
                        self.save(lock, state, Step::SwitchSaved)?;
                        again = true;
                        break;
                    }
                    Action::Reload if lag.is_some() => {}
                    Action::Reload => match self.io.reloader.reload(name, &lc.reload).await {
                        Ok(()) => {
                            self.step(Step::Reloaded)?;
                            lineage(state, name).reload_pending = false;
                            self.save(lock, state, Step::ReloadSaved)?;
                            done.push(action.to_string());
                            if probes.is_some() {
                                probes = self
                                    .probe_after_reload(
                                        name,
                                        lc,
                                        facts.key_family,
                                        lineage(state, name),
                                        &observations,
                                    )
                                    .await;
                            }
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

        // An emergency a killed or stopped run left: finished as an emergency.
        if !dry_run && !hold && lineage(state, name).emergency.is_some() {
            let live = lineage(state, name)
                .current
                .as_ref()
                .map(|c| c.key.id.clone());
            let (d, f) = self
                .finish_emergency(lock, state, name, lc, &observations, now)
                .await?;
            switched |= lineage(state, name).current.as_ref().map(|c| &c.key.id) != live.as_ref();
            changed_dns |= !d.is_empty();
            done.extend(d);
            failures.extend(f);
        }

        // 4. After changing DNS, look again: the report shows the outcome (what each server
        // serves now), and the look is folded in like any other (a record every server
        // serves, signed, starts its wait now rather than at the next pass). The status as
        // observed before the changes is kept only under --verbose.
        let mut observed_before = None;
        let mut outage_before = false;
        if !dry_run && (changed_dns || switched) {
            let (before, outage, _) = report_parts(
                name,
                lc,
                &policy,
                lineage(state, name),
                &observations,
                probes.as_deref(),
                facts.reuse_key,
                now,
                goal,
            );
            // An outage found before publishing the live key's record stays reported: DANE
            // clients holding the older RRset still fail until it expires.
            outage_before = outage;
            if self.options.verbose {
                observed_before = Some(Box::new(before));
            }
            observations = self.io.observer.observe(&queries).await;
            now = self.steady_now(state);
            update_observations(lineage(state, name), &owners, &observations, now, &policy);
            lock.save(state)?;
        }

        // 5. Report (and remember whether the endpoints follow new files on their own).
        if let Some(p) = &probes {
            let ls = lineage(state, name);
            let before = ls.endpoints_follow_files;
            let findings = crate::rollover::serving::assess(ls, p, &observations);
            crate::rollover::serving::note_endpoints(ls, &findings, &policy, now);
            if !dry_run && ls.endpoints_follow_files != before {
                lock.save(state)?;
            }
        }
        failures.extend(warnings);
        let (status, outage, records) = report_parts(
            name,
            lc,
            &policy,
            lineage(state, name),
            &observations,
            probes.as_deref(),
            facts.reuse_key,
            now,
            goal,
        );
        Ok(LineageReport {
            outage: outage || outage_before,
            status,
            live_change,
            repaired,
            done,
            planned,
            failures,
            records,
            switched,
            switch_failure,
            observed_before,
            decided_at,
        })
    }

    /// The time for the core: the wall clock, bounded by the boot clock's count since the
    /// last pass ([`crate::rollover::clock`]); after a reboot every propagation clock
    /// restarts. When the boot clock cannot be read, `state.clock_unknown` says why (the
    /// policy built after this carries it to the core, which then holds every wait).
    pub(super) fn steady_now(&self, state: &mut State) -> Timestamp {
        let s = crate::rollover::clock::steady_now(
            state.clock.as_ref(),
            self.io.clock.now(),
            self.io.clock.monotonic(),
        );
        state.clock = s.anchor;
        state.clock_unknown = s.unknown;
        if s.restart {
            for l in state.lineages.values_mut() {
                l.clock_restarted(s.now);
            }
        }
        s.now
    }

    /// The lineage's policy with what this pass could read of the clock.
    pub(super) fn policy_of(&self, state: &State, lc: &LineageConfig) -> Policy {
        let mut policy = Policy::of(self.config, lc);
        policy.time_unknown = state.clock_unknown.clone();
        policy
    }

    /// Probe the endpoints after the reload commands ran; while one still serves a key
    /// that is not live, look again after [`REPROBE_DELAY`] (a reload takes a moment), up
    /// to [`REPROBES`] times.
    pub(super) async fn probe_after_reload(
        &self,
        name: &str,
        lc: &LineageConfig,
        family: crate::probe::Algorithms,
        ls: &LineageState,
        observations: &[OwnerObservation],
    ) -> Option<Vec<crate::endpoint::EndpointProbe>> {
        use crate::rollover::EndpointState;
        let mut probes = self.probe_endpoints(name, lc, family).await?;
        for _ in 0..REPROBES {
            let behind = crate::rollover::serving::assess(ls, &probes, observations)
                .iter()
                .any(|f| matches!(f.state, EndpointState::Old { .. }));
            if !behind {
                break;
            }
            self.io.clock.sleep(REPROBE_DELAY).await;
            probes = self.probe_endpoints(name, lc, family).await?;
        }
        Some(probes)
    }

    pub(super) fn step(&self, step: Step) -> R<()> {
        self.io.fail.after(step).map_err(|_| Stop::Crash(step))
    }

    pub(super) fn save(&self, lock: &Locked, state: &State, step: Step) -> R<()> {
        lock.save(state)?;
        self.step(step)
    }
    pub(super) fn generate_next(
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
    /// Apply one change at one owner through the lineage's provider. When the owner is an
    /// alias, the change goes to the final target of its CNAME chain (never beside the
    /// CNAME, RFC 7671 7), through the provider that writes the target's zone. Returns the
    /// target, when it is not the owner.
    pub(super) async fn change(
        &self,
        lc: &LineageConfig,
        owner: &str,
        records: &[crate::tlsa::TlsaRecord],
        add: bool,
        observations: &[OwnerObservation],
    ) -> Result<Option<String>, String> {
        let (provider, change, target) = self
            .change_of(lc, owner, records, add, observations)
            .await?;
        provider.apply(&change).await.map_err(|e| e.to_string())?;
        Ok(target)
    }

    /// The change that adds (or removes) `records` for `owner`, at the final target of its
    /// CNAME chain, the provider that writes there, and the target when it is not the owner.
    pub(super) async fn change_of(
        &self,
        lc: &LineageConfig,
        owner: &str,
        records: &[crate::tlsa::TlsaRecord],
        add: bool,
        observations: &[OwnerObservation],
    ) -> Result<(&'_ dyn Provider, Change, Option<String>), String> {
        let obs = find(observations, owner);
        let at = match obs {
            Some(o) => o.publish_at()?,
            None => crate::dns::PublishAt {
                name: owner.to_string(),
                zone: None,
                via_cname: false,
            },
        };
        let owner_zone = lc
            .zone
            .as_deref()
            .map(absolute)
            .or_else(|| obs.and_then(|o| o.zone.clone()).map(|z| absolute(&z)));
        let zone = match (at.via_cname, &owner_zone, &at.zone) {
            (false, Some(z), _) | (true, _, Some(z)) => absolute(z),
            _ => self
                .io
                .observer
                .find_zone(&at.name)
                .await
                .map_err(|e| format!("cannot find the zone of {}: {e}", at.name))?,
        };
        let provider_name = provider_for_zone(self.config, lc, owner, &at, &zone, owner_zone)?;
        let provider = *self
            .io
            .providers
            .iter()
            .find(|p| p.name() == provider_name)
            .ok_or_else(|| format!("provider {provider_name} is not available"))?;
        let change = Change {
            zone,
            owner: at.name.clone(),
            ttl: lc.ttl,
            add: if add { records.to_vec() } else { Vec::new() },
            remove: if add { Vec::new() } else { records.to_vec() },
        };
        Ok((provider, change, at.via_cname.then_some(at.name)))
    }
}

/// The provider that writes `zone`, where records for `owner` go (`at`): the lineage's
/// provider for the owner's own zone, `[zones."ZONE"] provider` for a CNAME target in
/// another zone; a target zone no provider manages is an error naming the zone and the fix.
pub fn provider_for_zone<'a>(
    config: &'a crate::config::Config,
    lc: &'a LineageConfig,
    owner: &str,
    at: &crate::dns::PublishAt,
    zone: &str,
    owner_zone: Option<String>,
) -> Result<&'a str, String> {
    let configured = config
        .zones
        .iter()
        .find(|(z, _)| absolute(z) == absolute(zone))
        .and_then(|(_, zc)| zc.provider.as_deref());
    if !at.via_cname || owner_zone.as_deref().map(absolute) == Some(absolute(zone)) {
        return Ok(&lc.provider);
    }
    configured.ok_or_else(|| {
        format!(
            "{owner} is a CNAME to {} in zone {zone}, which no provider manages: records go to the \
             CNAME target (RFC 7671 7); add [zones.\"{}\"] provider = \"NAME\" to the configuration",
            at.name,
            zone.trim_end_matches('.')
        )
    })
}

/// An action's text, with the CNAME target it went to.
fn at_target(action: &Action, target: Option<String>) -> String {
    match target {
        Some(t) => format!("{action} (at the CNAME target {t})"),
        None => action.to_string(),
    }
}

/// Why a pass did nothing while the ACME client of an interrupted switch still runs.
fn held_message(intent: &Intent, client: &str) -> String {
    let (at, pid) = match intent {
        Intent::Switch { at, certbot, .. } => (
            at.to_string(),
            certbot
                .as_ref()
                .map_or("its pid was not recorded".to_string(), |c| {
                    format!("pid {}", c.pid)
                }),
        ),
        Intent::NewNextKey { at, .. } => (at.to_string(), String::new()),
    };
    format!(
        "the switch started at {at} was interrupted while {client} ({pid}) still runs: the switch was left alone (only this lineage's missing records are published again); run again once {client} has finished (it may still complete the switch)"
    )
}

/// Why a pass did nothing when it cannot tell whether the ACME client of an interrupted switch
/// still runs (`why` names the input and the fix).
fn held_unknown_message(intent: &Intent, why: &str, client: &str) -> String {
    let at = match intent {
        Intent::Switch { at, .. } | Intent::NewNextKey { at, .. } => at,
    };
    format!(
        "the switch started at {at} was interrupted, and whether {client} still runs is unknown: {why}; the switch was left alone (as if {client} ran) until it can be told"
    )
}

/// The end of a pass over one lineage: its status, whether DANE clients fail now, and the
/// records each owner must carry.
#[allow(clippy::too_many_arguments)]
pub(super) fn report_parts(
    name: &str,
    lc: &LineageConfig,
    policy: &Policy,
    ls: &LineageState,
    observations: &[OwnerObservation],
    probes: Option<&[EndpointProbe]>,
    reuse_key: bool,
    now: Timestamp,
    goal: Goal,
) -> (crate::status::LineageStatus, bool, Vec<OwnerRecords>) {
    let final_plan: Plan = plan_probed(ls, observations, probes, reuse_key, now, policy, goal);
    let status = lineage_status(name, ls, observations, &final_plan, now, policy);
    let records = owner_names(lc)
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
    (status, has_outage(&final_plan.dangers), records)
}
