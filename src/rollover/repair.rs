//! Repairing a step that was interrupted (kill -9, power loss): decided from the intent
//! the state recorded before the step began and from what is on disk now. Repairs run
//! before anything else, so a lineage is never left half-switched and a next key is never
//! lost.

use serde::Serialize;

use super::key::KeyInfo;
use super::state::Intent;

/// What is on disk now, as far as a repair needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairFacts {
    /// The key of the live certificate.
    pub live: KeyInfo,
    /// For a [`Intent::NewNextKey`]: the SPKI of the private key file at the intent's path
    /// (None when there is no such file).
    pub key_file_spki: Option<Vec<u8>>,
    /// For a [`Intent::Switch`]: certbot is still running (the process the switch started,
    /// or any certbot holding the letsencrypt directory's lock). A danerollover killed
    /// while certbot ran leaves certbot running; it may still complete the switch.
    pub certbot_running: bool,
}

/// The repair of one interrupted step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "repair", rename_all = "snake_case")]
pub enum Repair {
    /// The new next key's file was written completely: it becomes the next key.
    AdoptNextKey,
    /// The new next key's file was never written: forget the intent (a new key is made).
    ForgetNextKey,
    /// A file is at the new next key's path but holds another key: keep it (never delete
    /// a private key), forget the intent, say so.
    StrayKeyFile,
    /// The certificate carries the next key: the switch went through, promote it.
    CompleteSwitch,
    /// The certificate does not carry the next key: restore `live/NAME/privkey.pem` to its
    /// previous target and remove the planted copy, leaving the lineage as it was.
    UndoSwitch,
    /// certbot is still running the switch: leave it alone (neither undo nor complete it),
    /// keep the intent, and look again on the next run (the pass only publishes the
    /// lineage's own missing records again meanwhile).
    CertbotRunning,
}

/// Decide how to repair `intent` given what is on disk now.
pub fn repair(intent: &Intent, facts: &RepairFacts) -> Repair {
    match intent {
        Intent::NewNextKey { key, .. } => match &facts.key_file_spki {
            None => Repair::ForgetNextKey,
            Some(spki) if *spki == key.spki => Repair::AdoptNextKey,
            Some(_) => Repair::StrayKeyFile,
        },
        Intent::Switch { .. } if facts.certbot_running => Repair::CertbotRunning,
        Intent::Switch { key, .. } => {
            if facts.live.id == key.id {
                Repair::CompleteSwitch
            } else {
                Repair::UndoSwitch
            }
        }
    }
}

/// The state after `repair` has been carried out on disk (for [`Repair::UndoSwitch`]:
/// after the link was restored). Clears the intent.
pub fn apply(state: &mut super::state::LineageState, repair: &Repair, now: jiff::Timestamp) {
    if *repair == Repair::CertbotRunning {
        return;
    }
    let intent = state.intent.take();
    match (repair, intent) {
        (Repair::AdoptNextKey, Some(Intent::NewNextKey { key, path, .. })) => {
            state.set_next(key, path, now);
        }
        (Repair::CompleteSwitch, Some(Intent::Switch { key, key_path, .. })) => {
            // The state's next key is the intent's key; make sure before promoting.
            if state.next.as_ref().is_none_or(|n| n.key.id != key.id) {
                state.next = Some(super::state::NextKey {
                    key,
                    path: key_path,
                    created_at: now,
                });
            }
            state.promote(now);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn decisions() {
        let k = KeyInfo::from_spki(b"next");
        let other = KeyInfo::from_spki(b"old");
        let at = Timestamp::from_second(0).unwrap();
        let new_key = Intent::NewNextKey {
            key: k.clone(),
            path: "/s/k.pem".into(),
            at,
        };
        let facts = |live: &KeyInfo, file: Option<&[u8]>| RepairFacts {
            live: live.clone(),
            key_file_spki: file.map(<[u8]>::to_vec),
            certbot_running: false,
        };
        assert_eq!(
            repair(&new_key, &facts(&other, None)),
            Repair::ForgetNextKey
        );
        assert_eq!(
            repair(&new_key, &facts(&other, Some(b"next"))),
            Repair::AdoptNextKey
        );
        assert_eq!(
            repair(&new_key, &facts(&other, Some(b"zzz"))),
            Repair::StrayKeyFile
        );
        let switch = Intent::Switch {
            key: k.clone(),
            key_path: "/s/k.pem".into(),
            archive_path: "/le/archive/x/privkey3.pem".into(),
            previous_target: "../../archive/x/privkey2.pem".into(),
            at,
            certbot: None,
        };
        assert_eq!(repair(&switch, &facts(&k, None)), Repair::CompleteSwitch);
        assert_eq!(repair(&switch, &facts(&other, None)), Repair::UndoSwitch);
        // certbot still running: neither undo nor complete, whatever the certificate says.
        for live in [&k, &other] {
            let running = RepairFacts {
                certbot_running: true,
                ..facts(live, None)
            };
            assert_eq!(repair(&switch, &running), Repair::CertbotRunning);
            let mut s = crate::rollover::LineageState {
                intent: Some(switch.clone()),
                ..Default::default()
            };
            apply(&mut s, &Repair::CertbotRunning, at);
            assert_eq!(s.intent, Some(switch.clone()), "the intent stays");
        }
    }
}
