//! The switch: plant the next key, make it the client's key (repoint privkey.pem, or rename
//! it over the key file), renew with the lineage's ACME client, check the new certificate
//! carries the next key; undo what is ours when a step before the client's success fails.

use super::*;

/// How a switch attempt ended.
pub(super) enum SwitchOutcome {
    /// The certificate carries the next key (a warning when certbot failed all the same).
    Switched {
        warning: Option<String>,
    },
    Failed(String),
}
impl Engine<'_> {
    /// Plant the next key, renew with it, check the new certificate carries it. Anything
    /// failing before the client succeeded is undone (the lineage is left as it was).
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
        let before = self.io.files.facts(name)?.live_spki;
        let at = self.steady_now(state);
        lineage(state, name).intent = Some(Intent::Switch {
            key: next.key.clone(),
            key_path: next.path.clone(),
            archive_path: pp.archive_path.clone(),
            previous_target: pp.previous_target.clone(),
            at,
            certbot: None,
        });
        self.save(lock, state, Step::SwitchIntent)?;
        if let Err(e) = self.io.files.plant(name, &pp, &next.path) {
            let why = format!("planting the next key failed: {}", crate::error::render(&e));
            return self.undo_switch(lock, state, name, &pp, &next.key, why);
        }
        self.step(Step::Planted)?;
        if let Err(e) = self.io.files.repoint(name, &pp) {
            let why = format!(
                "making the next key the client's key failed: {}",
                crate::error::render(&e)
            );
            return self.undo_switch(lock, state, name, &pp, &next.key, why);
        }
        self.step(Step::Repointed)?;
        let renewed = match self.io.renewer.start(name).await {
            Ok(run) => {
                let started = self.steady_now(state);
                let ls = lineage(state, name);
                if let Some(Intent::Switch { certbot, .. }) = &mut ls.intent {
                    *certbot = Some(run.clone());
                }
                // The forced renewal counts against the budget (crate::rollover::budget).
                crate::rollover::budget::record(
                    &mut ls.forced_renewals,
                    started,
                    crate::rollover::budget::WINDOW,
                );
                self.save(lock, state, Step::CertbotStarted)?;
                self.io.renewer.wait(name, &run).await
            }
            Err(e) => Err(e),
        };
        self.step(Step::Renewed)?;
        self.settle(lock, state, name, &pp, &next.key, &before, renewed)
    }

    /// After the client: whatever it did, end with the key file matching the certificate.
    /// The certificate carries the next key: the switch went through (even when the client
    /// then failed). Otherwise what is ours is undone (the planted key, the link or key
    /// file, when the client did not change it) and the reason says what it did: failed, did nothing, or
    /// renewed with a key of its own (whose record is then published at once).
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        lock: &Locked,
        state: &mut State,
        name: &str,
        pp: &PlantPlan,
        next: &KeyInfo,
        before: &[u8],
        renewed: Result<(), Error>,
    ) -> R<SwitchOutcome> {
        let facts = self.io.files.facts(name)?;
        let client = self.io.renewer.client(name);
        if facts.live_spki == next.spki {
            let now = self.steady_now(state);
            let leftovers = self.io.files.leftovers(name, pp);
            let ls = lineage(state, name);
            ls.promote(now);
            ls.cleanup.extend(leftovers);
            self.save(lock, state, Step::SwitchSaved)?;
            return Ok(match renewed {
                Ok(()) => SwitchOutcome::Switched { warning: None },
                Err(e) => SwitchOutcome::Switched {
                    warning: Some(format!(
                        "{client} reported a failure after installing the certificate for the next key ({}); the switch went through: look at {client}'s log",
                        crate::error::render(&e)
                    )),
                },
            });
        }
        self.io.files.restore(name, pp, &next.spki)?;
        self.step(Step::Restored)?;
        lineage(state, name).intent = None;
        self.save(lock, state, Step::SwitchSaved)?;
        let after = self.io.files.facts(name)?;
        let got = KeyInfo::from_spki(&after.live_spki);
        let unchanged = after.live_spki == before;
        let mut why = match (&renewed, unchanged) {
            (Err(e), true) => format!(
                "{client} renew failed: {}; the lineage was left as it was",
                crate::error::render(e)
            ),
            (Ok(()), true) => format!(
                "{client} exited 0 but did not renew: the certificate still carries the old key 3 1 1 {} (a wrapper that does nothing, a --dry-run, or a renewal {client} skipped); the lineage was left as it was; check the configured command: `{}` must issue a certificate",
                got.id,
                self.io.renewer.command(name)
            ),
            (result, false) => format!(
                "{client} {}renewed with a key of its own (3 1 1 {}) instead of the next key 3 1 1 {} (a command that asks for a new key, or a key type the client's settings do not ask for): its record is published now; the next key stays for the next rollover",
                match result {
                    Err(_) => "failed, but first ",
                    Ok(()) => "",
                },
                got.id,
                next.id
            ),
        };
        if after.key_spki.as_deref() != Some(after.live_spki.as_slice()) {
            why.push_str("; ");
            why.push_str(&self.io.files.key_mismatch(name));
        }
        // certbot certified the key privkey.pem pointed at: the planted next key. The CA
        // refusing it means that key can never go live: drop it for a fresh one.
        if let (Err(e), true) = (&renewed, unchanged)
            && let Some(line) =
                crate::acme::certbot::refusal::refusal_in_output(&crate::error::render(e))
        {
            let refusal = crate::rollover::RenewalRefusal::KeyBlocked {
                lineage: name.to_string(),
                key: Some(next.id.clone()),
                at: self.io.clock.now(),
                evidence: "the switch's certbot run".into(),
                detail: line,
            };
            let now = self.steady_now(state);
            let noted = crate::rollover::note_refusal(lineage(state, name), &refusal, now);
            self.save(lock, state, Step::SwitchSaved)?;
            why = format!("{noted}; {why}");
        }
        Ok(SwitchOutcome::Failed(why))
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
