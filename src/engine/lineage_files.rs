//! The real [`LineageFiles`] and [`KeyGen`]: certbot's lineage files under the letsencrypt
//! directory (read through [`crate::certbot::load`]) and next keys made by
//! [`crate::keys::generate`] with the type `renewal/NAME.conf` asks for.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::certbot::lineage::normalize;

use super::traits::{KeyGen, LineageFacts, LineageFiles, NewKey, PlantPlan, PrivateKeyPem};
use crate::certbot::{self, Lineage};
use crate::error::Error;
use crate::keys::{self, KeySpec};
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
/// the rest of fullchain exactly chain.pem's certificates. None when they go together.
pub fn chain_lag(
    cert_der: &[u8],
    fullchain: &Path,
    fullchain_bytes: Result<Vec<u8>, String>,
    chain: &Path,
    chain_bytes: Result<Vec<u8>, String>,
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
    let inter = match certs(chain_bytes) {
        Ok(c) => c,
        Err(e) => {
            return Some(format!(
                "{} cannot be read as certificates ({e}): {wait}",
                chain.display()
            ));
        }
    };
    if full.first().map(Vec::as_slice) != Some(cert_der) {
        return Some(format!(
            "{} does not start with the certificate of cert.pem: {wait}",
            fullchain.display()
        ));
    }
    if full[1..] != inter[..] {
        return Some(format!(
            "{} and {} hold different intermediates: {wait}",
            fullchain.display(),
            chain.display()
        ));
    }
    None
}

/// certbot's lineages under one letsencrypt directory.
#[derive(Debug, Clone)]
pub struct CertbotFiles {
    letsencrypt_dir: PathBuf,
}

impl CertbotFiles {
    /// The lineages under `letsencrypt_dir` (e.g. /etc/letsencrypt).
    pub fn new(letsencrypt_dir: impl Into<PathBuf>) -> CertbotFiles {
        CertbotFiles {
            letsencrypt_dir: letsencrypt_dir.into(),
        }
    }

    fn load(&self, name: &str) -> Result<Lineage, Error> {
        Ok(certbot::load(&self.letsencrypt_dir, name)?)
    }

    fn privkey_link(&self, l: &Lineage) -> PathBuf {
        l.privkey.link.clone()
    }
}

/// Where the link at `link` leads (absolute, lexically), None when it is not a link.
fn link_target(link: &Path) -> Option<PathBuf> {
    let raw = fs::read_link(link).ok()?;
    let dir = link.parent()?;
    Some(normalize(&dir.join(raw)))
}

/// `to` relative to the directory `from` (both absolute), as certbot writes its links.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from_n = normalize(from);
    let from: Vec<Component> = from_n.components().collect();
    let to_n = normalize(to);
    let to_c: Vec<Component> = to_n.components().collect();
    let common = from
        .iter()
        .zip(to_c.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to_c[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn io_err(path: &Path, e: io::Error) -> Error {
    Error::io(path, e)
}

/// Point the symbolic link `link` at `target` atomically: a new link beside it, renamed
/// over it, then the directory synced.
fn swap_link(link: &Path, target: &Path) -> Result<(), Error> {
    let dir = link
        .parent()
        .ok_or_else(|| Error::BadInput(format!("{}: no directory", link.display())))?;
    let file = link
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("privkey.pem");
    let tmp = dir.join(format!(".{file}.danerollover-new"));
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&tmp, e)),
    }
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| io_err(&tmp, e))?;
    fs::rename(&tmp, link).map_err(|e| io_err(link, e))?;
    crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))
}

impl LineageFiles for CertbotFiles {
    fn facts(&self, lineage: &str) -> Result<LineageFacts, Error> {
        let l = self.load(lineage)?;
        let live_spki = l.current_spki().map(<[u8]>::to_vec).ok_or_else(|| {
            Error::Failed(format!(
                "{}: cannot read the live certificate of lineage {lineage:?} (`danerollover lineages` shows why)",
                l.cert.link.display()
            ))
        })?;
        let cert_der = l
            .live_cert
            .as_ref()
            .map(|c| c.der.clone())
            .unwrap_or_default();
        let read = |link: &Path| fs::read(link).map_err(|e| format!("{}: {e}", link.display()));
        Ok(LineageFacts {
            key_family: crate::probe::Algorithms::of_spki(&live_spki),
            live_spki,
            reuse_key: l.reuse_key().is_on(),
            key_spki: l.key_spki.clone(),
            chain_lag: chain_lag(
                &cert_der,
                &l.fullchain.link,
                read(&l.fullchain.link),
                &l.chain.link,
                read(&l.chain.link),
            ),
        })
    }

    fn plant_plan(&self, lineage: &str) -> Result<PlantPlan, Error> {
        let l = self.load(lineage)?;
        let link = self.privkey_link(&l);
        let previous_target = fs::read_link(&link).map_err(|e| {
            Error::Failed(format!(
                "{}: not a symbolic link certbot made ({e}); `danerollover lineages` shows the problem",
                link.display()
            ))
        })?;
        Ok(PlantPlan {
            archive_path: l.next_privkey_path(),
            previous_target,
        })
    }

    fn plant(&self, _lineage: &str, plan: &PlantPlan, key_path: &Path) -> Result<(), Error> {
        let pem = fs::read(key_path).map_err(|e| io_err(key_path, e))?;
        crate::fsutil::create_new(&plan.archive_path, &pem, 0o600)
            .map_err(|e| io_err(&plan.archive_path, e))?;
        if let Some(dir) = plan.archive_path.parent() {
            crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))?;
        }
        Ok(())
    }

    fn repoint(&self, lineage: &str, plan: &PlantPlan) -> Result<(), Error> {
        let l = self.load(lineage)?;
        let link = self.privkey_link(&l);
        if !plan.archive_path.is_file() {
            return Err(Error::Failed(format!(
                "{}: nothing planted to point {} at",
                plan.archive_path.display(),
                link.display()
            )));
        }
        let dir = link.parent().unwrap_or(Path::new("/"));
        let target = if plan.previous_target.is_relative() {
            relative(dir, &plan.archive_path)
        } else {
            plan.archive_path.clone()
        };
        swap_link(&link, &target)
    }

    fn restore(&self, lineage: &str, plan: &PlantPlan, key_spki: &[u8]) -> Result<(), Error> {
        let ours = match fs::read(&plan.archive_path) {
            Ok(pem) => spki_of_private_pem(&pem).is_ok_and(|s| s == key_spki),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_err(&plan.archive_path, e)),
        };
        if !ours {
            return Ok(());
        }
        let l = self.load(lineage)?;
        let link = self.privkey_link(&l);
        let planted = normalize(&plan.archive_path);
        if link_target(&link).as_deref() == Some(planted.as_path()) {
            swap_link(&link, &plan.previous_target)?;
        }
        let l = self.load(lineage)?;
        let in_use = certbot::Kind::ALL
            .iter()
            .any(|k| link_target(&l.link(*k).link).as_deref() == Some(planted.as_path()));
        if !in_use {
            match fs::remove_file(&plan.archive_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&plan.archive_path, e)),
            }
            if let Some(dir) = plan.archive_path.parent() {
                crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))?;
            }
        }
        Ok(())
    }
}

/// Next keys of the type each lineage's renewal conf asks for.
#[derive(Debug, Clone)]
pub struct RenewalKeyGen {
    letsencrypt_dir: PathBuf,
}

impl RenewalKeyGen {
    /// Key types read from `letsencrypt_dir/renewal/NAME.conf`.
    pub fn new(letsencrypt_dir: impl Into<PathBuf>) -> RenewalKeyGen {
        RenewalKeyGen {
            letsencrypt_dir: letsencrypt_dir.into(),
        }
    }
}

impl KeyGen for RenewalKeyGen {
    fn generate(&self, lineage: &str) -> Result<NewKey, Error> {
        let l = certbot::load(&self.letsencrypt_dir, lineage)?;
        let spec = KeySpec::from_renewal_conf(&l.conf)?;
        let key = keys::generate(spec)?;
        Ok(NewKey {
            pem: PrivateKeyPem(key.pem().as_bytes().to_vec()),
            spki_der: key.spki_der().to_vec(),
        })
    }
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
        let lag = |full, chain| chain_lag(&leaf, f, full, c, chain);
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
    fn relative_links_as_certbot_writes_them() {
        assert_eq!(
            relative(
                Path::new("/etc/letsencrypt/live/a"),
                Path::new("/etc/letsencrypt/archive/a/privkey3.pem")
            ),
            PathBuf::from("../../archive/a/privkey3.pem")
        );
        assert_eq!(
            normalize(Path::new("/e/live/a/../../archive/a/k.pem")),
            PathBuf::from("/e/archive/a/k.pem")
        );
    }

    #[test]
    fn spki_of_a_generated_key_is_its_own() {
        let k = keys::generate(KeySpec::Ecdsa(keys::Curve::P256)).unwrap();
        assert_eq!(
            spki_of_private_pem(k.pem().as_bytes()).unwrap(),
            k.spki_der()
        );
        assert!(spki_of_private_pem(b"not a key").is_err());
    }
}
