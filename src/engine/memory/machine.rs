//! The machine's side of the memory world: key generation, next key files, the lineages'
//! files, certbot runs, reload commands and the clock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::{
    CertbotBehaviour, Follow, KeyStore, MemoryWorld, PendingCertbot, archive_path, copy_path,
    failed, key_file, link_target, pem_of, spki_of, spki_of_pem, staged_path, version_of,
};
use crate::engine::traits::{
    CertbotRun, Clock, KeyGen, LineageFacts, LineageFiles, NewKey, NextKeyFiles, PlantPlan,
    PrivateKeyPem, Reloader, Renewer,
};
use crate::error::Error;

impl KeyGen for MemoryWorld {
    fn generate(&self, lineage: &str) -> Result<NewKey, Error> {
        let mut w = self.world();
        if !w.lineages.contains_key(lineage) {
            return Err(failed("keygen: no such lineage"));
        }
        let n = w.new_key();
        Ok(NewKey {
            pem: PrivateKeyPem(pem_of(n)),
            spki_der: spki_of(n),
        })
    }
}

impl NextKeyFiles for MemoryWorld {
    fn write(&self, path: &Path, pem: &PrivateKeyPem) -> Result<(), Error> {
        let mut w = self.world();
        if w.key_files.contains_key(path) {
            return Err(failed("next key file exists"));
        }
        w.key_files.insert(path.to_path_buf(), pem.0.clone());
        Ok(())
    }

    fn spki(&self, path: &Path) -> Result<Option<Vec<u8>>, Error> {
        let w = self.world();
        Ok(w.key_files.get(path).and_then(|p| spki_of_pem(p)))
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        let mut w = self.world();
        // A key-file client's copy of the key before a switch that went through.
        for (name, l) in w.lineages.iter_mut() {
            if l.store == KeyStore::KeyFile && path == copy_path(name) {
                l.key_copy = None;
                return Ok(());
            }
        }
        if let Some(content) = w.key_files.remove(path) {
            w.removed_key_files.push((path.to_path_buf(), content));
        }
        Ok(())
    }
}

impl LineageFiles for MemoryWorld {
    fn facts(&self, lineage: &str) -> Result<LineageFacts, Error> {
        let w = self.world();
        let l = w
            .lineages
            .get(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        Ok(LineageFacts {
            live_spki: l
                .certs
                .get(&l.cert_link)
                .cloned()
                .ok_or_else(|| failed("cert.pem points at nothing"))?,
            reuse_key: l.reuse_key,
            key_spki: l.privkeys.get(&l.privkey_link).and_then(|p| spki_of_pem(p)),
            key_family: w.key_family(lineage),
            chain_lag: l
                .chain_link
                .filter(|v| *v != l.cert_link)
                .map(|v| format!("fullchain.pem is version {v}, cert.pem {}", l.cert_link)),
        })
    }

    fn plant_plan(&self, lineage: &str) -> Result<PlantPlan, Error> {
        let w = self.world();
        let l = w
            .lineages
            .get(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        if l.store == KeyStore::KeyFile {
            return Ok(PlantPlan {
                archive_path: staged_path(lineage),
                previous_target: copy_path(lineage),
            });
        }
        Ok(PlantPlan {
            archive_path: archive_path(lineage, l.highest() + 1),
            previous_target: link_target(lineage, l.privkey_link),
        })
    }

    fn plant(&self, lineage: &str, plan: &PlantPlan, key_path: &Path) -> Result<(), Error> {
        let mut w = self.world();
        let pem = w
            .key_files
            .get(key_path)
            .cloned()
            .ok_or_else(|| failed("the next key file is missing"))?;
        if w.lineages.get(lineage).map(|l| l.store) == Some(KeyStore::KeyFile) {
            let l = w
                .lineages
                .get_mut(lineage)
                .ok_or_else(|| failed("no such lineage"))?;
            // Copies of an earlier switch are ours: cleared first (as keyfile::plant does).
            l.key_copy = l.privkeys.get(&l.privkey_link).cloned();
            l.key_staged = Some(pem);
            return Ok(());
        }
        let v = version_of(&plan.archive_path).ok_or_else(|| failed("bad archive path"))?;
        let l = w
            .lineages
            .get_mut(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        if l.privkeys.contains_key(&v) {
            return Err(failed("archive file exists"));
        }
        l.privkeys.insert(v, pem);
        Ok(())
    }

    fn repoint(&self, lineage: &str, plan: &PlantPlan) -> Result<(), Error> {
        let mut w = self.world();
        if let Some(l) = w
            .lineages
            .get_mut(lineage)
            .filter(|l| l.store == KeyStore::KeyFile)
        {
            let (Some(pem), Some(_)) = (l.key_staged.take(), &l.key_copy) else {
                return Err(failed(
                    "nothing planted (or no copy) to rename over the key file",
                ));
            };
            let v = l.highest() + 1;
            l.privkeys.insert(v, pem);
            l.privkey_link = v;
            return Ok(());
        }
        let v = version_of(&plan.archive_path).ok_or_else(|| failed("bad archive path"))?;
        let l = w
            .lineages
            .get_mut(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        if !l.privkeys.contains_key(&v) {
            return Err(failed("nothing planted to point at"));
        }
        l.privkey_link = v;
        Ok(())
    }

    fn restore(&self, lineage: &str, plan: &PlantPlan, key_spki: &[u8]) -> Result<(), Error> {
        let mut w = self.world();
        if let Some(l) = w
            .lineages
            .get_mut(lineage)
            .filter(|l| l.store == KeyStore::KeyFile)
        {
            let holds = |pem: Option<&Vec<u8>>| {
                pem.and_then(|p| spki_of_pem(p))
                    .is_some_and(|s| s == key_spki)
            };
            if holds(l.privkeys.get(&l.privkey_link)) {
                let copy = l.key_copy.take().ok_or_else(|| {
                    failed("the key file holds the next key and the copy is gone")
                })?;
                let v = l.highest() + 1;
                l.privkeys.insert(v, copy);
                l.privkey_link = v;
            } else {
                l.key_copy = None;
            }
            if holds(l.key_staged.as_ref()) {
                l.key_staged = None;
            }
            return Ok(());
        }
        let planted = version_of(&plan.archive_path).ok_or_else(|| failed("bad archive path"))?;
        let previous = version_of(&plan.previous_target).ok_or_else(|| failed("bad target"))?;
        let l = w
            .lineages
            .get_mut(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        let ours = l
            .privkeys
            .get(&planted)
            .and_then(|p| spki_of_pem(p))
            .is_some_and(|s| s == key_spki);
        if !ours {
            return Ok(());
        }
        if l.privkey_link == planted {
            l.privkey_link = previous;
        }
        if l.privkey_link != planted && l.cert_link != planted {
            l.privkeys.remove(&planted);
        }
        Ok(())
    }

    fn leftovers(&self, lineage: &str, plan: &PlantPlan) -> Vec<PathBuf> {
        let w = self.world();
        match w.lineages.get(lineage).map(|l| l.store) {
            Some(KeyStore::KeyFile) => vec![plan.previous_target.clone()],
            _ => Vec::new(),
        }
    }

    fn key_mismatch(&self, lineage: &str) -> String {
        match self.world().lineages.get(lineage).map(|l| l.store) {
            Some(KeyStore::KeyFile) => format!(
                "{} does not hold the key of the certificate (a server that reloads now cannot use the pair)",
                key_file(lineage).display()
            ),
            _ => crate::acme::certbot::client::mismatch(lineage),
        }
    }
}

#[async_trait]
impl Renewer for MemoryWorld {
    async fn start(&self, lineage: &str) -> Result<CertbotRun, Error> {
        let mut w = self.world();
        if w.certbot_pending.is_some() {
            return Err(failed(
                "certbot: another instance of certbot is already running",
            ));
        }
        let behaviour = if w.certbot_failures > 0 {
            w.certbot_failures -= 1;
            CertbotBehaviour::Fail
        } else {
            w.certbot_next.take().unwrap_or(CertbotBehaviour::Renew)
        };
        let pem = w
            .lineages
            .get(lineage)
            .and_then(|l| l.privkeys.get(&l.privkey_link).cloned());
        w.certbot_runs += 1;
        let pid = 1000 + w.certbot_runs;
        w.certbot_pending = Some(PendingCertbot {
            lineage: lineage.to_string(),
            pid,
            pem,
            behaviour,
        });
        Ok(CertbotRun {
            pid,
            start: Some(u64::from(pid)),
        })
    }

    async fn wait(&self, _lineage: &str, run: &CertbotRun) -> Result<(), Error> {
        let mut w = self.world();
        match w.certbot_pending.take() {
            Some(p) if p.pid == run.pid => w.complete(p),
            other => {
                w.certbot_pending = other;
                Err(failed("certbot: no such run"))
            }
        }
    }

    fn running(&self, _lineage: &str, _run: Option<&CertbotRun>) -> Result<bool, String> {
        let w = self.world();
        if w.lock_unknown && w.permissive_unknowns {
            return Ok(false);
        }
        if w.lock_unknown {
            return Err(
                "cannot ask the kernel whether certbot holds its lock (memory world)".into(),
            );
        }
        // The one certbot of this world holds the lock while it runs.
        Ok(w.certbot_pending.is_some())
    }

    fn client(&self, _lineage: &str) -> String {
        "certbot".into()
    }

    fn command(&self, lineage: &str) -> String {
        format!("certbot renew --cert-name {lineage} --force-renewal --reuse-key")
    }

    fn refusals_since(&self, mark: Option<Timestamp>) -> Result<crate::engine::Refusals, Error> {
        let w = self.world();
        let at = |r: &crate::rollover::RenewalRefusal| match r {
            crate::rollover::RenewalRefusal::KeyBlocked { at, .. } => *at,
        };
        let refusals: Vec<_> = w
            .refusal_log
            .iter()
            .filter(|r| mark.is_none_or(|m| at(r) > m))
            .cloned()
            .collect();
        let newest = refusals.iter().map(at).max();
        Ok(crate::engine::Refusals {
            refusals,
            mark: mark.max(newest),
        })
    }
}

#[async_trait]
impl Reloader for MemoryWorld {
    async fn reload(&self, lineage: &str, _commands: &[Vec<String>]) -> Result<(), Error> {
        let mut w = self.world();
        if w.reload_failures > 0 {
            w.reload_failures -= 1;
            return Err(failed("reload: exit status 1"));
        }
        let now = w.now;
        w.reloads.push((now, lineage.to_string()));
        for i in 0..w.endpoints.len() {
            let e = &w.endpoints[i];
            if e.lineage == lineage && e.follow == Follow::Reload && !e.down {
                w.fix_endpoint(i);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Clock for MemoryWorld {
    fn now(&self) -> Timestamp {
        let w = self.world();
        w.now + SignedDuration::from_secs(w.clock_offset)
    }

    fn monotonic(&self) -> Result<crate::rollover::clock::Monotonic, String> {
        let w = self.world();
        if (w.clock_unknown || w.boot.is_none()) && w.permissive_unknowns {
            let wall = w.now + SignedDuration::from_secs(w.clock_offset);
            let ms = wall.as_millisecond() - 1_000_000_000_000;
            return Ok(crate::rollover::clock::Monotonic {
                boot_id: Some("wall".into()),
                since_boot_ms: u64::try_from(ms).unwrap_or(0),
            });
        }
        let (booted, n) = w
            .boot
            .filter(|_| !w.clock_unknown)
            .ok_or_else(|| "the boot clock cannot be read (memory world)".to_string())?;
        let ms = w.now.duration_since(booted).as_millis().max(0);
        Ok(crate::rollover::clock::Monotonic {
            boot_id: w.boot_ids.then(|| format!("memory-boot-{n}")),
            since_boot_ms: u64::try_from(ms).unwrap_or(0),
        })
    }

    async fn sleep(&self, d: Duration) {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4).max(1);
        self.advance(secs);
    }
}
