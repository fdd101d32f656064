//! The engine's [`LineageFiles`], [`KeyGen`] and the renewal specs of [`Renewer`] over the
//! ACME clients ([`crate::acme`]): each lineage is handled by the client its configuration
//! names (certbot by default), through [`AcmeClient`] only, so that nothing here names a
//! client. Next keys are made by [`crate::keys::generate`] with the kind the client asks for.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::traits::{
    KeyGen, LineageFacts, LineageFiles, NewKey, PlantPlan, PrivateKeyPem, Refusals, RenewSpecs,
};
use crate::acme::{self, AcmeClient, ClientLock};
use crate::config::Config;
use crate::error::Error;
use crate::keys;
use crate::material::{self, Material};

/// The SPKI (DER) of a private key in PEM; an error when the bytes are not a private key.
pub fn spki_of_private_pem(pem: &[u8]) -> Result<Vec<u8>, Error> {
    match material::parse(pem)? {
        Material::PrivateKey { spki, .. } => Ok(spki),
        other => Err(Error::BadInput(format!(
            "expected a private key, found a {}",
            other.kind()
        ))),
    }
}

/// Why `fullchain.pem` (`fullchain`, its bytes) and `chain.pem` (`chain`) do not go with
/// the certificate `cert_der` (cert.pem): fullchain's first certificate must be it, and
/// the rest of fullchain exactly chain.pem's certificates (where the client writes a
/// chain.pem: certbot, dehydrated). None when they go together.
pub fn chain_lag(
    cert_der: &[u8],
    fullchain: &Path,
    fullchain_bytes: Result<Vec<u8>, String>,
    chain: Option<(&Path, Result<Vec<u8>, String>)>,
) -> Option<String> {
    let certs = |bytes: Result<Vec<u8>, String>| -> Result<Vec<Vec<u8>>, String> {
        let bytes = bytes?;
        match material::parse(&bytes).map_err(|e| e.to_string())? {
            Material::Certs(c) => Ok(c.into_iter().map(|c| c.der).collect()),
            other => Err(format!("holds a {}, not certificates", other.kind())),
        }
    };
    let wait = "certbot may be relinking live/ (the next pass looks again), or fix the links (`certbot update_symlinks`)";
    let full = match certs(fullchain_bytes) {
        Ok(c) => c,
        Err(e) => {
            return Some(format!(
                "{} cannot be read as certificates ({e}): {wait}",
                fullchain.display()
            ));
        }
    };
    let inter = match chain {
        None => None,
        Some((chain, bytes)) => match certs(bytes) {
            Ok(c) => Some((chain, c)),
            Err(e) => {
                return Some(format!(
                    "{} cannot be read as certificates ({e}): {wait}",
                    chain.display()
                ));
            }
        },
    };
    if full.first().map(Vec::as_slice) != Some(cert_der) {
        return Some(format!(
            "{} does not start with the certificate of cert.pem: {wait}",
            fullchain.display()
        ));
    }
    if let Some((chain, inter)) = inter
        && full[1..] != inter[..]
    {
        return Some(format!(
            "{} and {} hold different intermediates: {wait}",
            fullchain.display(),
            chain.display()
        ));
    }
    None
}

/// Every lineage's ACME client: the configured ones, and certbot over the letsencrypt
/// directory for any other name.
pub struct Clients {
    by_lineage: BTreeMap<String, Box<dyn AcmeClient>>,
    default: Box<dyn AcmeClient>,
}

impl Clients {
    /// certbot for every lineage, over `letsencrypt_dir`, run as `certbot`.
    pub fn certbot(letsencrypt_dir: &Path) -> Clients {
        Clients::certbot_run_as(letsencrypt_dir, &["certbot".to_string()])
    }

    /// certbot for every lineage, over `letsencrypt_dir`, run as `prefix`.
    pub fn certbot_run_as(letsencrypt_dir: &Path, prefix: &[String]) -> Clients {
        Clients {
            by_lineage: BTreeMap::new(),
            default: Box::new(acme::certbot::Certbot::new(letsencrypt_dir, prefix)),
        }
    }

    /// The clients `config` names, certbot (over `letsencrypt_dir`, reading its log
    /// directory `certbot_logs_dir` for refused renewals) for the others.
    pub fn from_config(config: &Config, letsencrypt_dir: &Path) -> Result<Clients, Error> {
        let logs = config
            .certbot_logs_dir
            .as_deref()
            .unwrap_or(Path::new(crate::config::DEFAULT_CERTBOT_LOGS_DIR));
        let mut clients = Clients {
            by_lineage: BTreeMap::new(),
            default: Box::new(
                acme::certbot::Certbot::new(letsencrypt_dir, &config.certbot).reading_logs(logs),
            ),
        };
        for (name, lc) in &config.lineages {
            let c = acme::build(
                lc.client,
                &lc.client_settings(),
                letsencrypt_dir,
                &config.certbot,
            )?;
            clients.by_lineage.insert(name.clone(), c);
        }
        Ok(clients)
    }

    /// Use `client` for `lineage`.
    pub fn with(mut self, lineage: &str, client: Box<dyn AcmeClient>) -> Clients {
        self.by_lineage.insert(lineage.to_string(), client);
        self
    }

    /// The client of `lineage`.
    pub fn of(&self, lineage: &str) -> &dyn AcmeClient {
        self.by_lineage
            .get(lineage)
            .map_or(self.default.as_ref(), |c| c.as_ref())
    }

    /// Every lock any of the clients holds while it runs.
    pub fn locks(&self) -> Vec<ClientLock> {
        let mut locks = self.default.locks();
        for c in self.by_lineage.values() {
            for l in c.locks() {
                if !locks.contains(&l) {
                    locks.push(l);
                }
            }
        }
        locks
    }
}

fn plant_of(p: &PlantPlan) -> acme::Plant {
    acme::Plant {
        planted: p.archive_path.clone(),
        previous: p.previous_target.clone(),
    }
}

impl LineageFiles for Clients {
    fn facts(&self, lineage: &str) -> Result<LineageFacts, Error> {
        let l = self.of(lineage).lineage(lineage)?;
        let live_spki = l.cert_spki.clone().ok_or_else(|| {
            Error::Failed(format!(
                "{}: cannot read the certificate of lineage {lineage:?} ({}; `danerollover lineages` shows why)",
                l.cert.display(),
                l.client
            ))
        })?;
        // The leaf the certificate file holds (empty when unreadable: then no fullchain
        // starts with it, and the lag is reported).
        let cert_der = fs::read(&l.cert)
            .ok()
            .and_then(|b| match material::parse(&b) {
                Ok(Material::Certs(c)) => c.into_iter().next().map(|c| c.der),
                _ => None,
            })
            .unwrap_or_default();
        let read = |link: &Path| fs::read(link).map_err(|e| format!("{}: {e}", link.display()));
        Ok(LineageFacts {
            key_family: crate::probe::Algorithms::of_spki(&live_spki),
            live_spki,
            reuse_key: l.reuse.is_on(),
            key_spki: l.key_spki.clone(),
            chain_lag: l.fullchain.as_ref().and_then(|full| {
                let chain = matches!(
                    l.client,
                    acme::ClientKind::Certbot | acme::ClientKind::Dehydrated
                )
                .then(|| l.cert.with_file_name("chain.pem"));
                chain_lag(
                    &cert_der,
                    full,
                    read(full),
                    chain.as_deref().map(|c| (c, read(c))),
                )
            }),
        })
    }

    fn plant_plan(&self, lineage: &str) -> Result<PlantPlan, Error> {
        let p = self.of(lineage).plant_plan(lineage)?;
        Ok(PlantPlan {
            archive_path: p.planted,
            previous_target: p.previous,
        })
    }

    fn plant(&self, lineage: &str, plan: &PlantPlan, key_path: &Path) -> Result<(), Error> {
        let pem =
            zeroize::Zeroizing::new(std::fs::read(key_path).map_err(|e| Error::io(key_path, e))?);
        Ok(self.of(lineage).plant(lineage, &plant_of(plan), &pem)?)
    }

    fn repoint(&self, lineage: &str, plan: &PlantPlan) -> Result<(), Error> {
        Ok(self.of(lineage).repoint(lineage, &plant_of(plan))?)
    }

    fn restore(&self, lineage: &str, plan: &PlantPlan, key_spki: &[u8]) -> Result<(), Error> {
        Ok(self
            .of(lineage)
            .restore(lineage, &plant_of(plan), key_spki)?)
    }

    fn leftovers(&self, lineage: &str, plan: &PlantPlan) -> Vec<PathBuf> {
        self.of(lineage).leftovers(lineage, &plant_of(plan))
    }

    fn key_mismatch(&self, lineage: &str) -> String {
        self.of(lineage).key_mismatch(lineage)
    }
}

impl KeyGen for Clients {
    fn generate(&self, lineage: &str) -> Result<NewKey, Error> {
        let spec = self.of(lineage).key_spec(lineage)?;
        let key = keys::generate(spec)?;
        Ok(NewKey {
            pem: PrivateKeyPem(key.pem().as_bytes().to_vec()),
            spki_der: key.spki_der().to_vec(),
        })
    }
}

impl RenewSpecs for Clients {
    fn argv(&self, lineage: &str) -> Result<Vec<String>, Error> {
        Ok(self.of(lineage).renew_argv(lineage)?)
    }

    fn client(&self, lineage: &str) -> String {
        self.of(lineage).kind().to_string()
    }

    fn locks(&self, lineage: &str) -> Vec<ClientLock> {
        self.of(lineage).locks()
    }

    /// The default client's records: certbot's log directory is one per configuration
    /// (`certbot_logs_dir`), read once however many lineages certbot renews; the other
    /// clients keep no record of refused renewals.
    fn refusals_since(&self, mark: Option<Timestamp>) -> Result<Refusals, Error> {
        self.default
            .refusals_since(mark)
            .map_err(|e| Error::Failed(e.to_string()))
    }
}

/// The client's lock files of one lineage, for messages.
pub fn lock_paths(locks: &[ClientLock]) -> Vec<PathBuf> {
    locks
        .iter()
        .map(|l| match l {
            ClientLock::Posix(p) | ClientLock::Exists(p) => p.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_files_must_go_with_the_certificate() {
        let pem = |ders: &[&[u8]]| -> Result<Vec<u8>, String> {
            Ok(ders
                .iter()
                .map(|d| {
                    format!(
                        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, d)
                    )
                })
                .collect::<String>()
                .into_bytes())
        };
        let cert = |cn: &str| {
            let mut p = rcgen::CertificateParams::new(vec![cn.to_string()]).unwrap();
            p.is_ca = rcgen::IsCa::NoCa;
            p.self_signed(&rcgen::KeyPair::generate().unwrap())
                .unwrap()
                .der()
                .to_vec()
        };
        let (leaf, old, inter) = (cert("new.test"), cert("old.test"), cert("ca.test"));
        let (f, c) = (Path::new("/le/fullchain.pem"), Path::new("/le/chain.pem"));
        let lag = |full, chain| chain_lag(&leaf, f, full, Some((c, chain)));
        assert_eq!(lag(pem(&[&leaf, &inter]), pem(&[&inter])), None);
        let e = lag(pem(&[&old, &inter]), pem(&[&inter])).unwrap();
        assert!(e.contains("/le/fullchain.pem does not start"), "{e}");
        let e = lag(pem(&[&leaf, &inter]), pem(&[&old])).unwrap();
        assert!(e.contains("different intermediates"), "{e}");
        let e = lag(
            Err("/le/fullchain.pem: No such file".into()),
            pem(&[&inter]),
        )
        .unwrap();
        assert!(
            e.contains("cannot be read") && e.contains("update_symlinks"),
            "{e}"
        );
        let e = lag(pem(&[&leaf, &inter]), Ok(b"junk".to_vec())).unwrap();
        assert!(e.contains("/le/chain.pem cannot be read"), "{e}");
    }

    #[test]
    fn spki_of_a_generated_key_is_its_own() {
        let k = keys::generate(keys::KeySpec::Ecdsa(keys::Curve::P256)).unwrap();
        assert_eq!(
            spki_of_private_pem(k.pem().as_bytes()).unwrap(),
            k.spki_der()
        );
        assert!(spki_of_private_pem(b"not a key").is_err());
    }
}
