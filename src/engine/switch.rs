//! The switch: plant the next key, repoint privkey.pem, renew with certbot, check the new
//! certificate carries the next key; undo everything when a step before certbot's success fails.

use super::*;

/// How a switch attempt ended.
pub(super) enum SwitchOutcome {
    Switched,
    Failed(String),
}
impl Engine<'_> {
    /// Plant the next key, renew with it, check the new certificate carries it. Anything
    /// failing before certbot succeeded is undone (the lineage is left as it was).
    pub(super) async fn switch(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
    ) -> R<SwitchOutcome> {
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

    pub(super) fn undo_switch(
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
}
