//! Repair of an interrupted step (the intent in the state) and clean-up of planted keys' copies.

use super::*;
use crate::rollover::repair::{self as decide, Repair, RepairFacts};

impl Engine<'_> {
    pub(super) fn repair(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        intent: &Intent,
        live: &KeyInfo,
        now: Timestamp,
    ) -> R<(Repair, Option<String>)> {
        let (key_file_spki, running) = match intent {
            Intent::NewNextKey { path, .. } => (self.io.next_keys.spki(path)?, Ok(false)),
            Intent::Switch { certbot, .. } => {
                (None, self.io.renewer.running(name, certbot.as_ref()))
            }
        };
        // Unknown is taken for running: the switch is left alone, and the pass says why.
        let certbot_running = running.clone().unwrap_or(true);
        let unknown = running.err();
        let decision = decide::repair(
            intent,
            &RepairFacts {
                live: live.clone(),
                key_file_spki,
                certbot_running,
            },
        );
        if decision == Repair::CertbotRunning {
            return Ok((decision, unknown));
        }
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
        decide::apply(lineage(state, name), &decision, now);
        self.save(lock, state, Step::RepairSaved)?;
        Ok((decision, None))
    }

    /// Remove the state directory's copies of keys that were planted and promoted.
    pub(super) fn cleanup(&self, lock: &Locked, state: &mut State, name: &str) -> R<()> {
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
}
