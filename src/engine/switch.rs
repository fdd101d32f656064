//! The switch: plant the next key, repoint privkey.pem, renew with certbot, check the new
//! certificate carries the next key; undo everything when a step before certbot's success fails.

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
                "repointing privkey.pem failed: {}",
                crate::error::render(&e)
            );
            return self.undo_switch(lock, state, name, &pp, &next.key, why);
        }
        self.step(Step::Repointed)?;
        let renewed = match self.io.certbot.start(name).await {
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
                self.io.certbot.wait(name, &run).await
            }
            Err(e) => Err(e),
        };
        self.step(Step::Renewed)?;
        self.settle(lock, state, name, &pp, &next.key, &before, renewed)
    }

    /// After certbot: whatever it did, end with `privkey.pem` matching `cert.pem`. The
    /// certificate carries the next key: the switch went through (even when certbot then
    /// failed). Otherwise what is ours is undone (the planted key, the link, when certbot
    /// did not move it) and the reason says what certbot did: failed, did nothing, or
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
        if facts.live_spki == next.spki {
            let now = self.steady_now(state);
            lineage(state, name).promote(now);
            self.save(lock, state, Step::SwitchSaved)?;
            return Ok(match renewed {
                Ok(()) => SwitchOutcome::Switched { warning: None },
                Err(e) => SwitchOutcome::Switched {
                    warning: Some(format!(
                        "certbot reported a failure after installing the certificate for the next key ({}); the switch went through: look at certbot's log",
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
                "certbot renew failed: {}; the lineage was left as it was",
                crate::error::render(e)
            ),
            (Ok(()), true) => format!(
                "certbot exited 0 but did not renew: the certificate still carries the old key 3 1 1 {} (a wrapper that does nothing, a --dry-run, or a renewal certbot skipped); the lineage was left as it was; check the configuration's `certbot` command: `{} renew --cert-name {name} --force-renewal --reuse-key` must issue a certificate",
                got.id,
                self.config.certbot.join(" ")
            ),
            (result, false) => format!(
                "certbot {}renewed with a key of its own (3 1 1 {}) instead of the next key 3 1 1 {} (--new-key in the certbot command, or a key type renewal/{name}.conf does not ask for): its record is published now; the next key stays for the next rollover",
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
            why.push_str(&super::pass::mismatch(name));
        }
        // certbot certified the key privkey.pem pointed at: the planted next key. The CA
        // refusing it means that key can never go live: drop it for a fresh one.
        if let (Err(e), true) = (&renewed, unchanged)
            && let Some(line) = crate::certbot::refusal::refusal_in_output(&crate::error::render(e))
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
