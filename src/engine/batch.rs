//! `run` and `status` over many lineages at once: one lock, one load of the state, one
//! observation of every owner (each distinct owner once, the observer bounding the queries
//! in flight), and the cheap, reversible steps of every lineage batched together:
//!
//! 1. observe everything and probe every lineage's endpoints (concurrently), fold it in,
//!    save once ([`Step::Observed`]);
//! 2. next keys: every intent saved at once ([`Step::NextKeyIntent`]), the files written
//!    ([`Step::NextKeyWritten`] after each), the keys saved at once ([`Step::NextKeySaved`]);
//! 3. publications and retirements: one [`Provider::apply_all`] per provider (PowerDNS: one
//!    PATCH per zone), then one save ([`Step::PublishSaved`] / [`Step::RetireSaved`]).
//!
//! Every plan here is made with the lineage's endpoint probes, exactly as in a pass of its
//! own ([`plan_probed`]): a retirement in a batch is held back while an endpoint serves the
//! retired key or cannot be probed, and a switch never happens in a batch at all.
//!
//! The write-ahead rules of the engine hold for each lineage exactly as in a pass of its
//! own (an intent is on disk before its file is written; a provider change is followed by
//! a save, and a crash in between is caught by the next observation). The rare, dangerous
//! or slow steps are not batched: a lineage with an interrupted step to repair, planted
//! copies to clean up, a switch that is due or a reload pending gets its own pass
//! afterwards ([`Engine::try_locked_pass`]), with the lock released in between so that
//! certbot's deploy hooks are not held up by a run over every lineage.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::dns::reuse::{self, ZoneSerials};
use crate::endpoint::{Endpoint, EndpointProbe, Serving};
use crate::rollover::LiveChange;

mod reusing;
use reusing::{hosts_of, quiet_on, round};

/// One lineage in a batch.
struct Entry<'c> {
    name: String,
    lc: &'c LineageConfig,
    policy: Policy,
    owners: Vec<String>,
    queries: Vec<OwnerQuery>,
    reuse_key: bool,
    live_spki: Vec<u8>,
    /// fullchain.pem or chain.pem lag cert.pem: the certificate's change is not taken in.
    chain_lag: bool,
    key_family: crate::probe::Algorithms,
    observations: Vec<OwnerObservation>,
    /// What its endpoints serve; None when its `probe` is false.
    probes: Option<Vec<EndpointProbe>>,
    live_change: LiveChange,
    done: Vec<String>,
    planned: Vec<String>,
    failures: Vec<String>,
    /// Left to a pass of its own (switch, reload, repair).
    alone: bool,
    /// When its observations were made, when they are an earlier pass's reused (see
    /// [`crate::dns::reuse`]): its plan is quiet, and nothing of it is folded into the state.
    reused: Option<Timestamp>,
    /// Records were published or retired for it: its report observes again.
    changed: bool,
}

/// What a batched change is for.
struct Pending {
    entry: usize,
    action: Action,
    add: bool,
}

impl<'a> Engine<'a> {
    /// Every lineage's facts and queries; lineages whose files cannot be read become errors.
    fn entries(&self, names: &[String], errors: &mut Vec<LineageError>) -> R<Vec<Entry<'a>>> {
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            let lc = self.lineage_config(name)?;
            let found = self
                .io
                .files
                .facts(name)
                .and_then(|f| Ok((f, self.queries(lc)?)));
            let (facts, queries) = match found {
                Ok(f) => f,
                Err(e) => {
                    errors.push(LineageError {
                        name: name.clone(),
                        error: crate::error::render(&e),
                    });
                    continue;
                }
            };
            // privkey.pem not matching cert.pem: the lineage's own pass reports it with the fix.
            // (fullchain.pem or chain.pem lagging cert.pem too: the lineage's own pass
            // holds its certificate change and reload, and says why.)
            let chain_lag = facts.chain_lag.is_some();
            let mismatch =
                facts.key_spki.as_deref() != Some(facts.live_spki.as_slice()) || chain_lag;
            entries.push(Entry {
                name: name.clone(),
                lc,
                policy: Policy::of(self.config, lc),
                owners: owner_names(lc),
                queries,
                reuse_key: facts.reuse_key,
                live_spki: facts.live_spki,
                chain_lag,
                key_family: facts.key_family,
                observations: Vec::new(),
                probes: None,
                live_change: LiveChange::Unchanged,
                done: Vec::new(),
                planned: Vec::new(),
                failures: Vec::new(),
                alone: mismatch,
                reused: None,
                changed: false,
            });
        }
        Ok(entries)
    }

    /// Observe every entry's owners in one call (each distinct query once) and, at the
    /// same time, probe every entry's endpoints in one call (each distinct endpoint once);
    /// hand each entry its own observations and probes.
    ///
    /// Observations are reused ([`crate::dns::reuse`]) where every server of the owner's
    /// zone still serves the serials it served before the kept observation, and only for a
    /// lineage whose plan on them is quiet: nothing to do but wait, no danger, no endpoint
    /// alert, and folding them into its state would change nothing but the times of the
    /// sightings. Every other lineage is observed afresh (a second round for those whose
    /// reused plan was not quiet).
    ///
    /// What was observed afresh is kept for the next pass unless `dry_run`.
    async fn observe_entries(
        &self,
        entries: &mut [Entry<'_>],
        state: &State,
        now: Timestamp,
        dry_run: bool,
    ) -> Vec<reuse::SilentZone> {
        let mut unique: Vec<OwnerQuery> = Vec::new();
        let mut index: BTreeMap<OwnerQuery, usize> = BTreeMap::new();
        let mut wanted: Vec<Vec<usize>> = Vec::with_capacity(entries.len());
        for e in entries.iter() {
            let mut mine = Vec::new();
            for q in e.queries.iter().cloned() {
                let i = *index.entry(q.clone()).or_insert_with(|| {
                    unique.push(q);
                    unique.len() - 1
                });
                mine.push(i);
            }
            wanted.push(mine);
        }
        // Endpoints: each distinct one probed once, whatever lineages share it.
        let mut endpoints: Vec<Endpoint> = Vec::new();
        let mut probed: Vec<Option<Vec<Endpoint>>> = Vec::with_capacity(entries.len());
        for e in entries.iter() {
            if !e.lc.probe {
                probed.push(None);
                continue;
            }
            let mine = with_family(lineage_endpoints(&e.name, e.lc), e.key_family);
            for ep in &mine {
                if !endpoints.contains(ep) {
                    endpoints.push(ep.clone());
                }
            }
            probed.push(Some(mine));
        }

        // What may be reused: the zones of the kept observations asked first.
        let reuse_for = self.config.dns.reuse_observations;
        let mut cache = (!self.options.fresh && !reuse_for.is_zero()).then(|| {
            let mut c = self
                .store
                .read_observations(&reuse::resolver_of(&self.config.dns));
            if self.options.permissive.reuse_silent_zones {
                c.silent.clear();
            }
            c
        });
        let zones = cache
            .as_ref()
            .map(|c| c.zones_to_check(&unique))
            .unwrap_or_default();
        let checked = if zones.is_empty() {
            Vec::new()
        } else {
            self.io.observer.zone_serials(&zones).await
        };
        let mut kept: Vec<Option<(OwnerObservation, Timestamp)>> = match &cache {
            Some(c) => c.reusable(&unique, &checked, now, reuse_for),
            None => vec![None; unique.len()],
        };
        if !self.options.permissive.no_revalidation {
            self.revalidate_kept(&unique, &mut kept).await;
        }
        let candidate: Vec<bool> = entries
            .iter()
            .zip(&wanted)
            .map(|(e, mine)| {
                !e.alone && !mine.is_empty() && mine.iter().all(|&i| kept[i].is_some())
            })
            .collect();

        // Endpoint hosts whose addresses may be reused: used by candidates only.
        let mut known: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        if let Some(c) = &cache {
            let others = hosts_of(&probed, &candidate);
            for ep in endpoints.iter().filter(|ep| ep.address.is_none()) {
                if !others.contains(ep.host.as_str())
                    && let Some(a) = c.host_addresses(&ep.host, &checked, now, reuse_for)
                {
                    known.insert(ep.host.clone(), a);
                }
            }
        }

        // Round 1: every query of a lineage that cannot reuse, and every endpoint (with the
        // kept addresses of the known hosts: what they serve is always probed).
        let mut fresh: Vec<Option<OwnerObservation>> = vec![None; unique.len()];
        let first: Vec<usize> = round(&wanted, &candidate, &fresh);
        let (seen, mut probes) = tokio::join!(
            self.observe_some(&unique, &first),
            self.probe_known(&endpoints, &known)
        );
        for (i, o) in first.iter().zip(seen) {
            fresh[*i] = Some(o);
        }
        let mine_of = |eps: &[Endpoint], probes: &[EndpointProbe]| -> Vec<EndpointProbe> {
            // In the lineage's endpoint order, every address of each.
            eps.iter()
                .flat_map(|ep| probes.iter().filter(move |p| p.endpoint == *ep))
                .cloned()
                .collect()
        };
        for (e, eps) in entries.iter_mut().zip(&probed) {
            e.probes = eps.as_deref().map(|eps| mine_of(eps, &probes));
        }

        // Round 2: the lineages whose plan on the kept observations is not quiet: observed
        // afresh, and their endpoints' addresses looked up afresh.
        let mut reusing = candidate.clone();
        for (k, (e, mine)) in entries.iter().zip(&wanted).enumerate() {
            if !candidate[k] {
                continue;
            }
            let obs: Vec<OwnerObservation> = mine
                .iter()
                .filter_map(|&i| kept[i].as_ref().map(|(o, _)| o.clone()))
                .collect();
            reusing[k] = quiet_on(
                state,
                e,
                &obs,
                now,
                self.options.permissive.reuse_near_switch,
            );
        }
        let second: Vec<usize> = round(&wanted, &reusing, &fresh);
        let looked_up = hosts_of(&probed, &reusing);
        let again: Vec<Endpoint> = endpoints
            .iter()
            .filter(|ep| known.contains_key(&ep.host) && looked_up.contains(ep.host.as_str()))
            .cloned()
            .collect();
        for ep in &again {
            known.remove(&ep.host);
        }
        if !second.is_empty() || !again.is_empty() {
            let none = BTreeMap::new();
            let (seen, reprobed) = tokio::join!(
                self.observe_some(&unique, &second),
                self.probe_known(&again, &none)
            );
            for (i, o) in second.iter().zip(seen) {
                fresh[*i] = Some(o);
            }
            if !again.is_empty() {
                probes.retain(|p| !again.contains(&p.endpoint));
                probes.extend(reprobed);
                for ((e, eps), r) in entries.iter_mut().zip(&probed).zip(&reusing) {
                    if !r {
                        e.probes = eps.as_deref().map(|eps| mine_of(eps, &probes));
                    }
                }
            }
        }

        for ((e, mine), reuse) in entries.iter_mut().zip(&wanted).zip(&reusing) {
            if *reuse {
                e.reused = mine
                    .iter()
                    .filter_map(|&i| kept[i].as_ref().map(|(_, at)| *at))
                    .min();
                e.observations = mine
                    .iter()
                    .filter_map(|&i| kept[i].as_ref().map(|(o, _)| o.clone()))
                    .collect();
            } else {
                e.observations = mine.iter().filter_map(|&i| fresh[i].clone()).collect();
            }
        }

        // Keep what was observed afresh, with what its zone served before it was asked;
        // and the addresses of the hosts looked up afresh, where a server of the zone
        // serves the same with authority.
        let Some(c) = cache.as_mut().filter(|_| !dry_run) else {
            return cache.map(|c| c.silent).unwrap_or_default();
        };
        let hosts = self
            .settle_hosts(entries, &endpoints, &known, &probes, &checked)
            .await;
        if fresh.iter().all(Option::is_none) && hosts.is_empty() {
            return c.silent.clone();
        }
        for (q, o) in unique.iter().zip(&fresh) {
            if let Some(o) = o {
                // A fresh look differing from the kept one under the same serials: the
                // zone changes without new serials, and is never reused again.
                c.note_silent(q, o, &checked, now);
                c.record(q, o, now, &checked);
            }
        }
        for (host, before, resolved, auth) in hosts {
            c.record_host(&host, &before, now, &resolved, auth.as_deref());
        }
        c.prune(now, reuse_for);
        // A cache: a pass goes on without it (`status` may run where it cannot write).
        let _ = self.store.write_observations(c);
        c.silent.clone()
    }

    /// Remember, for each entry, whether its endpoints pick up new files on their own (as
    /// a pass does at its end); true when that changed for some entry.
    fn note_entries(state: &mut State, entries: &[Entry<'_>], now: Timestamp) -> bool {
        let mut changed = false;
        for e in entries.iter().filter(|e| e.reused.is_none()) {
            let Some(p) = &e.probes else { continue };
            let ls = lineage(state, &e.name);
            let before = ls.endpoints_follow_files;
            let findings = crate::rollover::serving::assess(ls, p, &e.observations);
            crate::rollover::serving::note_endpoints(ls, &findings, &e.policy, now);
            changed |= ls.endpoints_follow_files != before;
        }
        changed
    }

    /// Fold each entry's observations into its state.
    fn fold(state: &mut State, entries: &mut [Entry<'_>], now: Timestamp) {
        // A reused observation is never folded in (its plan is quiet, see `observe_entries`).
        for e in entries.iter_mut().filter(|e| e.reused.is_none()) {
            crate::rollover::share_ttl_history(&mut state.lineages, &e.name, &e.owners);
            let ls = lineage(state, &e.name);
            e.live_change = if e.chain_lag {
                LiveChange::Unchanged
            } else {
                reconcile_live(ls, &KeyInfo::from_spki(&e.live_spki), now)
            };
            update_observations(ls, &e.owners, &e.observations, now, &e.policy);
            match e.live_change {
                LiveChange::Promoted => e
                    .done
                    .push("the certificate carries the next key: promoted it".into()),
                LiveChange::Unknown => e.done.push(
                    "the certificate was renewed with a key that was never published (reuse_key off or --new-key)".into(),
                ),
                LiveChange::Restored => e
                    .done
                    .push("the certificate carries a retired key again: it is current".into()),
                LiveChange::Adopted | LiveChange::Unchanged => {}
            }
        }
    }

    /// After the batch's changes, observe again the owners of the lineages it changed and
    /// fold that in: their reports show what each server serves now (see the pass's
    /// step 4), one observation for all of them.
    async fn observe_changed(
        &self,
        lock: &crate::store::Locked,
        state: &mut State,
        entries: &mut [Entry<'_>],
    ) -> R<()> {
        let changed: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].changed).collect();
        if changed.is_empty() {
            return Ok(());
        }
        let queries: Vec<OwnerQuery> = changed
            .iter()
            .flat_map(|&i| entries[i].queries.iter().cloned())
            .collect();
        let seen = self.io.observer.observe(&queries).await;
        let now = self.steady_now(state);
        let mut seen = seen.into_iter();
        for &i in &changed {
            let e = &mut entries[i];
            e.observations = seen.by_ref().take(e.queries.len()).collect();
            update_observations(
                lineage(state, &e.name),
                &e.owners,
                &e.observations,
                now,
                &e.policy,
            );
        }
        lock.save(state)?;
        Ok(())
    }

    /// The entry's plan, with its endpoint probes (a retirement is held back while an
    /// endpoint serves the key or cannot be probed).
    fn plan_of(state: &mut State, e: &Entry<'_>, now: Timestamp, goal: Goal) -> Plan {
        plan_probed(
            lineage(state, &e.name),
            &e.observations,
            e.probes.as_deref(),
            e.reuse_key,
            now,
            &e.policy,
            goal,
        )
    }

    /// `run` over every configured lineage (see the module documentation).
    pub(super) async fn run_all(&self, dry_run: bool) -> R<RunReport> {
        let names: Vec<String> = self.config.lineages.keys().cloned().collect();
        let mut errors = Vec::new();
        let mut reports: BTreeMap<String, LineageReport> = BTreeMap::new();
        let mut alone: Vec<String> = Vec::new();
        let mut blocked;
        {
            let lock = self.store.lock(self.options.lock_wait)?;
            let mut state = lock.load()?;
            let now = self.steady_now(&mut state);
            // Keys the CA refused since the last pass: emergency rollovers first.
            blocked = self.blocked_keys(&lock, &mut state, now, dry_run).await?;
            // Interrupted steps, planted copies and unfinished emergencies: a pass of their own.
            let (batched, repairs): (Vec<String>, Vec<String>) = names
                .iter()
                .filter(|n| !blocked.switched.contains_key(*n))
                .cloned()
                .partition(|n| {
                    state.lineages.get(n).is_none_or(|l| {
                        l.intent.is_none() && l.cleanup.is_empty() && l.emergency.is_none()
                    })
                });
            alone.extend(repairs);
            let mut entries = self.entries(&batched, &mut errors)?;
            for e in &mut entries {
                e.policy.time_unknown = state.clock_unknown.clone();
            }
            let silent = self
                .observe_entries(&mut entries, &state, now, dry_run)
                .await;
            Self::fold(&mut state, &mut entries, now);
            if !dry_run && !entries.is_empty() {
                self.save(&lock, &state, Step::Observed)?;
            }
            if dry_run {
                for e in &mut entries {
                    let p = Self::plan_of(&mut state, e, now, Goal::Scheduled);
                    e.planned.extend(p.actions.iter().map(ToString::to_string));
                }
            } else {
                self.batch_keys(&lock, &mut state, &mut entries, now)?;
                self.batch_changes(&lock, &mut state, &mut entries, now)
                    .await?;
                self.observe_changed(&lock, &mut state, &mut entries)
                    .await?;
            }
            let (lone, entries): (Vec<Entry<'_>>, Vec<Entry<'_>>) =
                entries.into_iter().partition(|e| e.alone);
            alone.extend(lone.into_iter().map(|e| e.name));
            if Self::note_entries(&mut state, &entries, now) && !dry_run {
                lock.save(&state)?;
            }
            for e in entries {
                let (status, outage, records) = pass::report_parts(
                    &e.name,
                    e.lc,
                    &e.policy,
                    lineage(&mut state, &e.name),
                    &e.observations,
                    e.probes.as_deref(),
                    e.reuse_key,
                    now,
                    Goal::Scheduled,
                );
                let mut status = status;
                status.observed_at = e.reused;
                status
                    .problems
                    .extend(reusing::silent_problems(&silent, &e.observations));
                reports.insert(
                    e.name.clone(),
                    LineageReport {
                        outage,
                        status,
                        live_change: e.live_change,
                        repaired: None,
                        done: e.done,
                        planned: e.planned,
                        failures: e.failures,
                        records,
                        switched: false,
                        switch_failure: None,
                        observed_before: None,
                        decided_at: now,
                    },
                );
            }
        }
        for name in alone {
            match self.try_locked_pass(&name, Goal::Scheduled, dry_run).await {
                Ok(r) => {
                    reports.insert(name, r);
                }
                Err(Stop::Crash(step)) => return Err(Stop::Crash(step)),
                Err(Stop::Failed(e)) => errors.push(LineageError {
                    name,
                    error: crate::error::render(&e),
                }),
            }
        }
        let mut report = RunReport {
            lineages: Vec::new(),
            errors: Vec::new(),
        };
        reports.append(&mut std::mem::take(&mut blocked.switched));
        if let Some(error) = blocked.unreadable.take() {
            report.errors.push(LineageError {
                name: "(certbot's log)".into(),
                error,
            });
        }
        let mut errors: BTreeMap<String, LineageError> =
            errors.into_iter().map(|e| (e.name.clone(), e)).collect();
        for name in names {
            if let Some(mut r) = reports.remove(&name) {
                blocked.merge(&name, &mut r);
                report.lineages.push(r);
            }
            if let Some(e) = errors.remove(&name) {
                report.errors.push(e);
            }
        }
        Ok(report)
    }

    /// Next keys for every entry that needs one: intents, files, keys (three saves in all).
    /// Entries whose plan is a switch or a reload are marked `alone`.
    fn batch_keys(
        &self,
        lock: &Locked,
        state: &mut State,
        entries: &mut [Entry<'_>],
        now: Timestamp,
    ) -> R<()> {
        let mut made: Vec<(usize, KeyInfo, PathBuf, PrivateKeyPem)> = Vec::new();
        for (i, e) in entries.iter_mut().enumerate() {
            if e.alone || e.reused.is_some() {
                continue;
            }
            let p = Self::plan_of(state, e, now, Goal::Scheduled);
            if p.actions
                .iter()
                .any(|a| matches!(a, Action::Switch { .. } | Action::Reload))
            {
                e.alone = true;
                continue;
            }
            if !p.actions.contains(&Action::GenerateNextKey) {
                continue;
            }
            let new = match self.io.keygen.generate(&e.name) {
                Ok(n) => n,
                Err(err) => {
                    e.failures.push(format!(
                        "generate a next key: {}",
                        crate::error::render(&err)
                    ));
                    continue;
                }
            };
            let key = KeyInfo::from_spki(&new.spki_der);
            let path = self.next_key_path(&e.name, &key)?;
            lineage(state, &e.name).intent = Some(Intent::NewNextKey {
                key: key.clone(),
                path: path.clone(),
                at: now,
            });
            made.push((i, key, path, new.pem));
        }
        if made.is_empty() {
            return Ok(());
        }
        self.save(lock, state, Step::NextKeyIntent)?;
        let mut written = Vec::with_capacity(made.len());
        for (i, key, path, pem) in made {
            match self.io.next_keys.write(&path, &pem) {
                Ok(()) => {
                    self.step(Step::NextKeyWritten)?;
                    written.push((i, key, path));
                }
                // The intent stays: the next run resolves it from the file (or its absence).
                Err(err) => entries[i].failures.push(format!(
                    "write the next key {}: {}",
                    path.display(),
                    crate::error::render(&err)
                )),
            }
        }
        for (i, key, path) in &written {
            let e = &mut entries[*i];
            lineage(state, &e.name).set_next(key.clone(), path.clone(), now);
            e.done
                .push(format!("generated the next key 3 1 1 {}", key.id));
        }
        self.save(lock, state, Step::NextKeySaved)?;
        // A new next key changes the plan: a switch or reload now means a pass of its own.
        for (i, _, _) in written {
            let e = &mut entries[i];
            let p = Self::plan_of(state, e, now, Goal::Scheduled);
            if p.actions
                .iter()
                .any(|a| matches!(a, Action::Switch { .. } | Action::Reload))
            {
                e.alone = true;
            }
        }
        Ok(())
    }

    /// Every entry's publications and retirements, one [`Provider::apply_all`] per
    /// provider, then one save.
    async fn batch_changes(
        &self,
        lock: &Locked,
        state: &mut State,
        entries: &mut [Entry<'_>],
        now: Timestamp,
    ) -> R<()> {
        // Per provider (by index in `self.io.providers`): the changes and what they are for.
        let mut by_provider: BTreeMap<usize, Vec<(Pending, Change)>> = BTreeMap::new();
        for (i, e) in entries.iter_mut().enumerate() {
            if e.alone || e.reused.is_some() {
                continue;
            }
            let p = Self::plan_of(state, e, now, Goal::Scheduled);
            for action in p.actions {
                let (owner, records, add) = match &action {
                    Action::Publish { owner, records } => (owner, records, true),
                    Action::Retire { owner, records } => (owner, records, false),
                    Action::Wait { .. } => {
                        e.planned.push(action.to_string());
                        continue;
                    }
                    _ => continue,
                };
                match self
                    .change_of(e.lc, owner, records, add, &e.observations)
                    .await
                {
                    Ok((provider, change, _target)) => {
                        let at = self
                            .io
                            .providers
                            .iter()
                            .position(|p| p.name() == provider.name())
                            .unwrap_or(0);
                        by_provider.entry(at).or_default().push((
                            Pending {
                                entry: i,
                                action: action.clone(),
                                add,
                            },
                            change,
                        ));
                    }
                    Err(err) => e.failures.push(format!("{action}: {err}")),
                }
            }
        }
        let (mut published, mut retired) = (false, false);
        let mut applied: Vec<Pending> = Vec::new();
        for (at, batch) in by_provider {
            let (pending, changes): (Vec<Pending>, Vec<Change>) = batch.into_iter().unzip();
            let results = self.io.providers[at].apply_all(&changes).await;
            for (p, result) in pending.into_iter().zip(results) {
                match result {
                    Ok(()) => {
                        published |= p.add;
                        retired |= !p.add;
                        applied.push(p);
                    }
                    Err(err) => entries[p.entry]
                        .failures
                        .push(format!("{}: {err}", p.action)),
                }
            }
        }
        if published {
            self.step(Step::Published)?;
        }
        if retired {
            self.step(Step::Retired)?;
        }
        for p in &applied {
            let e = &mut entries[p.entry];
            let ls = lineage(state, &e.name);
            match &p.action {
                Action::Publish { owner, records } => ls.record_published(owner, records, now),
                Action::Retire { owner, records } => ls.record_retired(owner, records, now),
                _ => {}
            }
            e.done.push(p.action.to_string());
            e.changed = true;
        }
        if published {
            self.save(lock, state, Step::PublishSaved)?;
        }
        if retired {
            self.save(lock, state, Step::RetireSaved)?;
        }
        Ok(())
    }

    /// `status` over `names`: read-only, one observation of every owner.
    pub(super) async fn status_all(&self, names: &[String]) -> Result<StatusReport, Error> {
        let mut state = self.store.read()?;
        let mut report = StatusReport {
            lineages: Vec::new(),
            errors: Vec::new(),
        };
        let mut entries = self.entries(names, &mut report.errors)?;
        // Bounded like a pass's (a forward step must not make status call a wait over);
        // the state read here is never saved.
        let now = self.steady_now(&mut state);
        for e in &mut entries {
            e.policy.time_unknown = state.clock_unknown.clone();
        }
        let silent = self.observe_entries(&mut entries, &state, now, false).await;
        let mut copy = State::default();
        for e in &entries {
            if let Some(ls) = state.lineages.get(&e.name) {
                copy.lineages.insert(e.name.clone(), ls.clone());
            }
        }
        Self::fold(&mut copy, &mut entries, now);
        for e in &entries {
            let ls = lineage(&mut copy, &e.name);
            let p = plan_probed(
                ls,
                &e.observations,
                e.probes.as_deref(),
                e.reuse_key,
                now,
                &e.policy,
                Goal::Scheduled,
            );
            let mut status = lineage_status(&e.name, ls, &e.observations, &p, now, &e.policy);
            status.observed_at = e.reused;
            status
                .problems
                .extend(reusing::silent_problems(&silent, &e.observations));
            report.lineages.push(status);
        }
        Ok(report)
    }
}
