//! `run` and keys the CA refuses ([`crate::rollover::blocked`]): read the ACME client's
//! records since the last pass ([`crate::acme::AcmeClient::refusals_since`]), fold each refusal into its
//! lineage's state, and for a lineage whose live key is refused, with
//! `on_key_blocked = "emergency"`, run the emergency rollover ([`Engine::emergency`]'s own
//! path) to the pre-published next key at once. When it cannot run, its reasons (what is
//! missing) go into the lineage's report, and the refused key stays a danger
//! (`status` exits 1) until the key changes.

use std::collections::BTreeMap;

use super::*;
use crate::config::OnKeyBlocked;
use crate::rollover::{Noted, blocked_current, note_refusal};

/// What `run` adds to lineages' reports about refused keys.
#[derive(Debug, Default)]
pub(super) struct BlockedNotes {
    /// Per lineage: lines for `done`.
    pub done: BTreeMap<String, Vec<String>>,
    /// Per lineage: lines for `failures` (the report exits 1).
    pub failures: BTreeMap<String, Vec<String>>,
    /// Per lineage: the report of an emergency rollover that switched (the lineage needs
    /// no other pass in this run).
    pub switched: BTreeMap<String, LineageReport>,
    /// The client's records could not be read.
    pub unreadable: Option<String>,
}

impl BlockedNotes {
    /// Add the notes to a lineage's report.
    pub fn merge(&mut self, name: &str, report: &mut LineageReport) {
        if let Some(d) = self.done.remove(name) {
            report.done.splice(0..0, d);
        }
        if let Some(f) = self.failures.remove(name) {
            report.failures.splice(0..0, f);
        }
    }
}

impl Engine<'_> {
    /// Read the refusals since the last pass, note them, and run the emergency rollover of
    /// every lineage whose live key is refused (see the module documentation). Called by
    /// `run` under the lock, before its batch.
    pub(super) async fn blocked_keys(
        &self,
        lock: &Locked,
        state: &mut State,
        now: Timestamp,
        dry_run: bool,
    ) -> R<BlockedNotes> {
        let mut notes = BlockedNotes::default();
        match self.io.renewer.refusals_since(state.certbot_log_mark) {
            Err(e) => notes.unreadable = Some(crate::error::render(&e)),
            Ok(found) => {
                for refusal in &found.refusals {
                    let name = refusal.lineage();
                    if !self.config.lineages.contains_key(name) {
                        continue;
                    }
                    let noted = note_refusal(lineage(state, name), refusal, now);
                    let line = format!("the CA refused a renewal: {noted}");
                    match noted {
                        Noted::Stale | Noted::NotOurs { .. } | Noted::Retired(_) => {}
                        Noted::NextDropped(_) | Noted::Current(_) => {
                            notes.done.entry(name.to_string()).or_default().push(line)
                        }
                        Noted::KeyUnknown { .. } => notes
                            .failures
                            .entry(name.to_string())
                            .or_default()
                            .push(line),
                    }
                }
                if !dry_run && (!found.refusals.is_empty() || found.mark != state.certbot_log_mark)
                {
                    state.certbot_log_mark = found.mark;
                    self.save(lock, state, Step::Observed)?;
                }
            }
        }
        let names: Vec<String> = self.config.lineages.keys().cloned().collect();
        for name in names {
            let lc = &self.config.lineages[&name];
            let Some(ls) = state.lineages.get(&name) else {
                continue;
            };
            let Some(blocked) = blocked_current(ls).cloned() else {
                continue;
            };
            if ls.intent.is_some() {
                continue; // repaired first, by the lineage's own pass
            }
            if lc.on_key_blocked == OnKeyBlocked::Alarm {
                notes.failures.entry(name.clone()).or_default().push(format!(
                    "{blocked}: on_key_blocked = \"alarm\": run `danerollover rollover --emergency {name}` once the next key is served everywhere"
                ));
                continue;
            }
            let report = self
                .emergency_locked(lock, state, &name, lc, dry_run)
                .await?;
            match report.outcome {
                EmergencyOutcome::Switched => {
                    let line = format!(
                        "{blocked}: emergency rollover to the next key (its record was pre-published){}",
                        report
                            .old_rrset_cached_until
                            .map(|u| format!("; resolvers may hold the old RRset until {u}"))
                            .unwrap_or_default()
                    );
                    match report.lineage {
                        Some(mut after) => {
                            after.done.insert(0, line);
                            after.switched = true;
                            notes.switched.insert(name.clone(), after);
                        }
                        None => notes.done.entry(name.clone()).or_default().push(line),
                    }
                }
                EmergencyOutcome::WouldSwitch => notes.done.entry(name.clone()).or_default().push(
                    format!("would run the emergency rollover to the next key: {blocked}"),
                ),
                EmergencyOutcome::Refused { reasons } => notes
                    .failures
                    .entry(name.clone())
                    .or_default()
                    .push(format!(
                        "{blocked}: the emergency rollover to the next key cannot run: {}",
                        reasons.join("; ")
                    )),
                EmergencyOutcome::Failed { error } => notes
                    .failures
                    .entry(name.clone())
                    .or_default()
                    .push(format!(
                        "{blocked}: the emergency rollover to the next key failed: {error}"
                    )),
            }
        }
        Ok(notes)
    }
}
