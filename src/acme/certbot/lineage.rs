//! One certbot lineage as it is on disk: `renewal/NAME.conf`, the `live/NAME/*.pem` links
//! into `archive/NAME/`, the live certificate and key, and what is wrong with them.
//!
//! [`load`] and [`list`] read the files (following certbot's own rules from `storage.py`:
//! the conf names the live links and the archive directory; each link must point into the
//! archive at `KINDN.pem`); the problems are worked out by pure functions over what was
//! read.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::conf::{RenewalConf, ReuseKey};
pub use crate::acme::cert::{LiveCert, live_cert_of};
use crate::acme::error::CertbotError;
use crate::keys::{self, KeySpec};
use crate::material::{self, Material};
use crate::tlsa::{Matching, TlsaRecord};

/// The four files of a lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `cert.pem`: the certificate alone.
    Cert,
    /// `privkey.pem`: the private key.
    Privkey,
    /// `chain.pem`: the intermediate certificates.
    Chain,
    /// `fullchain.pem`: the certificate and the intermediates.
    Fullchain,
}

impl Kind {
    /// All four, in certbot's order.
    pub const ALL: [Kind; 4] = [Kind::Cert, Kind::Privkey, Kind::Chain, Kind::Fullchain];

    /// `cert`, `privkey`, `chain`, `fullchain`: the conf key and the file name stem.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cert => "cert",
            Kind::Privkey => "privkey",
            Kind::Chain => "chain",
            Kind::Fullchain => "fullchain",
        }
    }

    /// The version N of an archive file name `KINDN.pem`.
    pub fn version_of(self, file_name: &str) -> Option<u32> {
        let digits = file_name.strip_prefix(self.name())?.strip_suffix(".pem")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
}

/// One `live/NAME/KIND.pem` link and where it leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveLink {
    /// Which file.
    pub kind: Kind,
    /// The link, as renewal.conf names it.
    pub link: PathBuf,
    /// Where it points (absolute, `..` resolved as certbot does); None when it is not a
    /// symbolic link.
    pub target: Option<PathBuf>,
    /// N of `KINDN.pem` when the target is named so.
    pub version: Option<u32>,
    /// Whether the target exists.
    pub exists: bool,
    /// Whether the target is in the lineage's archive directory.
    pub in_archive: bool,
}

/// What kind of problem a lineage has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// reuse_key absent or false: every renewal changes the key.
    ReuseKeyOff,
    /// reuse_key spelled in a way certbot's renewal refuses (yes, on, 1, ...), or no
    /// boolean at all.
    ReuseKeyUnreadable,
    /// renewal.conf lacks a `cert`/`privkey`/`chain`/`fullchain` line.
    ConfMissingPath,
    /// renewal.conf's key_type / rsa_key_size / elliptic_curve name no key certbot makes.
    ConfKeyType,
    /// A live file that is not a link to an existing `archive/NAME/KINDN.pem`.
    BadLink,
    /// A live link pointing outside the lineage's archive directory.
    LinkOutsideArchive,
    /// cert.pem missing or not a certificate.
    CertUnreadable,
    /// privkey.pem missing or not a private key.
    KeyUnreadable,
    /// privkey.pem is not the key of cert.pem.
    KeyMismatch,
    /// The key's type differs from what renewal.conf asks for.
    KeyTypeDiffers,
}

/// One problem, spelled out with its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The problem and what to do about it.
    pub message: String,
}

/// One lineage as it is on disk.
#[derive(Debug, Clone)]
pub struct Lineage {
    /// The lineage name (certbot's certificate name).
    pub name: String,
    /// `renewal/NAME.conf`.
    pub conf_path: PathBuf,
    /// Its parsed content.
    pub conf: RenewalConf,
    /// The archive directory (`archive_dir` of the conf, else `archive/NAME`).
    pub archive_dir: PathBuf,
    /// `live/NAME/cert.pem`.
    pub cert: LiveLink,
    /// `live/NAME/privkey.pem`.
    pub privkey: LiveLink,
    /// `live/NAME/chain.pem`.
    pub chain: LiveLink,
    /// `live/NAME/fullchain.pem`.
    pub fullchain: LiveLink,
    /// The live certificate, when cert.pem could be read.
    pub live_cert: Option<LiveCert>,
    /// The SubjectPublicKeyInfo of privkey.pem's key, when it could be read.
    pub key_spki: Option<Vec<u8>>,
    /// What a new key must be, from renewal.conf (with certbot's defaults), or why the
    /// conf names none.
    pub conf_spec: Result<KeySpec, String>,
    /// The highest N of any `archive/NAME/{cert,privkey,chain,fullchain}N.pem`.
    pub highest_version: Option<u32>,
    /// What is wrong, with the fixes.
    pub problems: Vec<Problem>,
}

impl Lineage {
    /// The live directory (where cert.pem is).
    pub fn live_dir(&self) -> PathBuf {
        self.cert
            .link
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The link of one kind.
    pub fn link(&self, kind: Kind) -> &LiveLink {
        match kind {
            Kind::Cert => &self.cert,
            Kind::Privkey => &self.privkey,
            Kind::Chain => &self.chain,
            Kind::Fullchain => &self.fullchain,
        }
    }

    /// The live certificate's SubjectPublicKeyInfo (what the current TLSA record pins).
    pub fn current_spki(&self) -> Option<&[u8]> {
        self.live_cert.as_ref().map(|c| c.spki_der.as_slice())
    }

    /// `3 1 1` of the live certificate's key.
    pub fn tlsa_3_1_1(&self) -> Option<TlsaRecord> {
        self.current_spki()
            .map(|spki| TlsaRecord::dane_ee_spki(Matching::Sha256, spki))
    }

    /// Whether privkey.pem is the key of cert.pem; None when either could not be read.
    pub fn key_matches_cert(&self) -> Option<bool> {
        Some(self.key_spki.as_deref()? == self.current_spki()?)
    }

    /// The type of the key in use: privkey.pem's, else the certificate's.
    pub fn key_spec(&self) -> Option<KeySpec> {
        self.key_spki
            .as_deref()
            .and_then(|s| keys::spec_of_spki(s).ok())
            .or_else(|| self.live_cert.as_ref().and_then(|c| c.spec.clone().ok()))
    }

    /// `reuse_key` of the conf.
    pub fn reuse_key(&self) -> ReuseKey {
        self.conf.reuse_key()
    }

    /// The smallest version above every archive file (certbot's `next_free_version`).
    pub fn next_free_version(&self) -> u32 {
        self.highest_version.map_or(1, |v| v.saturating_add(1))
    }

    /// `archive/NAME/KINDN.pem`.
    pub fn archive_path(&self, kind: Kind, version: u32) -> PathBuf {
        self.archive_dir
            .join(format!("{}{version}.pem", kind.name()))
    }

    /// Where a next key would go: `archive/NAME/privkey{N+1}.pem`.
    pub fn next_privkey_path(&self) -> PathBuf {
        self.archive_path(Kind::Privkey, self.next_free_version())
    }
}

/// `renewal/NAME.conf` under the letsencrypt directory.
pub fn renewal_conf_path(letsencrypt_dir: &Path, name: &str) -> PathBuf {
    letsencrypt_dir.join("renewal").join(format!("{name}.conf"))
}

/// The letsencrypt directory and lineage name of a live directory, as certbot's deploy
/// hooks get it in `RENEWED_LINEAGE` (`/etc/letsencrypt/live/NAME` gives
/// (`/etc/letsencrypt`, `NAME`)). None when the path is not `.../live/NAME`.
pub fn locate_live_dir(live_dir: &Path) -> Option<(PathBuf, String)> {
    let live_dir = normalize(live_dir);
    let name = live_dir.file_name()?.to_str()?.to_string();
    let live = live_dir.parent()?;
    if live.file_name()? != "live" {
        return None;
    }
    check_name(&name).ok()?;
    Some((live.parent()?.to_path_buf(), name))
}

/// Check a lineage name: no path separators, not empty, not `.` or `..`.
pub fn check_name(name: &str) -> Result<(), CertbotError> {
    if name.is_empty()
        || name.contains(['/', '\0'])
        || name == "."
        || name == ".."
        || name.starts_with('.')
    {
        return Err(CertbotError::BadName(name.to_string()));
    }
    Ok(())
}

/// One entry of [`list`]: a lineage, or why it could not be loaded.
#[derive(Debug)]
pub struct Listed {
    /// The name (the conf file name without `.conf`).
    pub name: String,
    /// The lineage, or the error (e.g. a conf that does not parse).
    pub lineage: Result<Lineage, CertbotError>,
}

/// Every lineage of the letsencrypt directory (every `renewal/*.conf`, as certbot reads
/// them), sorted by name. A missing or unreadable directory is an error; a lineage that
/// cannot be loaded is an entry with its error.
pub fn list(letsencrypt_dir: &Path) -> Result<Vec<Listed>, CertbotError> {
    let meta = fs::metadata(letsencrypt_dir).map_err(|e| CertbotError::NoLetsencryptDir {
        dir: letsencrypt_dir.to_path_buf(),
        detail: format!("cannot read certbot's directory: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(CertbotError::NoLetsencryptDir {
            dir: letsencrypt_dir.to_path_buf(),
            detail: "not a directory".into(),
        });
    }
    let renewal = letsencrypt_dir.join("renewal");
    let entries = fs::read_dir(&renewal).map_err(|e| CertbotError::NoLetsencryptDir {
        dir: letsencrypt_dir.to_path_buf(),
        detail: format!("no readable renewal/ directory ({e}): not certbot's directory"),
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CertbotError::io(&renewal, e))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if let Some(name) = file_name.strip_suffix(".conf")
            && !name.is_empty()
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names
        .into_iter()
        .map(|name| {
            let lineage = load(letsencrypt_dir, &name);
            Listed { name, lineage }
        })
        .collect())
}

/// Load one lineage: its conf (an unknown name or a conf that does not parse is an
/// error), its links, certificate, key and archive; everything else that is wrong is a
/// [`Problem`].
pub fn load(letsencrypt_dir: &Path, name: &str) -> Result<Lineage, CertbotError> {
    check_name(name)?;
    let conf_path = renewal_conf_path(letsencrypt_dir, name);
    let bytes = match fs::read(&conf_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CertbotError::UnknownLineage {
                name: name.to_string(),
                conf: conf_path,
            });
        }
        Err(e) => return Err(CertbotError::io(&conf_path, e)),
    };
    let text = String::from_utf8(bytes).map_err(|_| CertbotError::Conf {
        path: conf_path.clone(),
        source: super::ConfError {
            line: 0,
            message: "not UTF-8".into(),
        },
    })?;
    let conf = RenewalConf::parse(&text).map_err(|source| CertbotError::Conf {
        path: conf_path.clone(),
        source,
    })?;

    let mut problems = Vec::new();
    let archive_dir = conf
        .archive_dir()
        .map(PathBuf::from)
        .unwrap_or_else(|| letsencrypt_dir.join("archive").join(name));
    let default_live = letsencrypt_dir.join("live").join(name);
    let mut links = Vec::new();
    for kind in Kind::ALL {
        let link = match conf.top(kind.name()) {
            Some(p) => PathBuf::from(p),
            None => {
                problems.push(Problem {
                    kind: ProblemKind::ConfMissingPath,
                    message: format!(
                        "renewal/{name}.conf has no `{k} = ...` line: certbot cannot renew this lineage; add `{k} = {}`",
                        default_live.join(format!("{}.pem", kind.name())).display(),
                        k = kind.name()
                    ),
                });
                default_live.join(format!("{}.pem", kind.name()))
            }
        };
        links.push(read_link(kind, link, &archive_dir));
    }
    let [cert, privkey, chain, fullchain]: [LiveLink; 4] = match links.try_into() {
        Ok(a) => a,
        Err(_) => unreachable!("four kinds"),
    };

    let live_cert = match fs::read(&cert.link) {
        Ok(bytes) => match live_cert_of(&bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(Problem {
                    kind: ProblemKind::CertUnreadable,
                    message: format!(
                        "{} is not a usable certificate ({e}): renew it with `certbot renew --cert-name {name} --force-renewal`",
                        cert.link.display()
                    ),
                });
                None
            }
        },
        Err(e) => {
            problems.push(Problem {
                kind: ProblemKind::CertUnreadable,
                message: format!("cannot read {}: {e}", cert.link.display()),
            });
            None
        }
    };
    let key_spki = match fs::read(&privkey.link) {
        Ok(bytes) => match material::parse(&bytes) {
            Ok(Material::PrivateKey { spki, .. }) => Some(spki),
            Ok(other) => {
                problems.push(Problem {
                    kind: ProblemKind::KeyUnreadable,
                    message: format!(
                        "{} holds a {}, not a private key",
                        privkey.link.display(),
                        other.kind()
                    ),
                });
                None
            }
            Err(e) => {
                problems.push(Problem {
                    kind: ProblemKind::KeyUnreadable,
                    message: format!(
                        "{} is not a usable private key: {e}",
                        privkey.link.display()
                    ),
                });
                None
            }
        },
        Err(e) => {
            problems.push(Problem {
                kind: ProblemKind::KeyUnreadable,
                message: format!("cannot read {}: {e}", privkey.link.display()),
            });
            None
        }
    };
    let highest_version = highest_archive_version(&archive_dir);
    let conf_spec = conf.key_spec().map_err(|e| e.to_string());

    let mut lineage = Lineage {
        name: name.to_string(),
        conf_path,
        conf,
        archive_dir,
        cert,
        privkey,
        chain,
        fullchain,
        live_cert,
        key_spki,
        conf_spec,
        highest_version,
        problems,
    };
    let more = problems_of(&lineage);
    lineage.problems.extend(more);
    Ok(lineage)
}

/// A live link: where it points, the version, whether it stays in the archive.
fn read_link(kind: Kind, link: PathBuf, archive_dir: &Path) -> LiveLink {
    let target = fs::read_link(&link).ok().map(|t| {
        let joined = if t.is_absolute() {
            t
        } else {
            link.parent().unwrap_or(Path::new("/")).join(t)
        };
        normalize(&joined)
    });
    let exists = target.as_deref().is_some_and(|t| t.exists());
    let version = target
        .as_deref()
        .and_then(|t| t.file_name())
        .and_then(|f| f.to_str())
        .and_then(|f| kind.version_of(f));
    let in_archive = target
        .as_deref()
        .and_then(Path::parent)
        .is_some_and(|dir| same_dir(dir, archive_dir));
    LiveLink {
        kind,
        link,
        target,
        version,
        exists,
        in_archive,
    }
}

pub(crate) use crate::acme::linked::normalize;

/// `os.path.samefile` when both exist, else a lexical comparison.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => normalize(a) == normalize(b),
    }
}

/// The highest N of the archive's `KINDN.pem` files.
fn highest_archive_version(archive_dir: &Path) -> Option<u32> {
    let entries = fs::read_dir(archive_dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            Kind::ALL.iter().find_map(|k| k.version_of(name))
        })
        .max()
}

/// The problems of a loaded lineage (besides unreadable files), each with its fix. Pure.
pub fn problems_of(l: &Lineage) -> Vec<Problem> {
    let name = &l.name;
    let mut out = Vec::new();
    let init = format!("run `danerollover init {name}`");
    match l.conf.reuse_key() {
        ReuseKey::Absent => out.push(Problem {
            kind: ProblemKind::ReuseKeyOff,
            message: format!(
                "reuse_key is absent from renewal/{name}.conf (certbot's default is False): every renewal will change the key and break the TLSA record: {init}"
            ),
        }),
        ReuseKey::Set { raw, as_bool } => {
            if as_bool == Some(false) {
                out.push(Problem {
                    kind: ProblemKind::ReuseKeyOff,
                    message: format!(
                        "reuse_key = {raw} in renewal/{name}.conf: every renewal will change the key and break the TLSA record: {init}"
                    ),
                });
            } else if !raw.eq_ignore_ascii_case("true") {
                out.push(Problem {
                    kind: ProblemKind::ReuseKeyUnreadable,
                    message: format!(
                        "reuse_key = {raw} in renewal/{name}.conf: certbot's renewal accepts only True or False here and skips the lineage otherwise (\"Expected True or False for reuse_key\"): {init}"
                    ),
                });
            }
        }
    }
    if let Err(e) = &l.conf_spec {
        out.push(Problem {
            kind: ProblemKind::ConfKeyType,
            message: format!(
                "{e}: fix key_type / rsa_key_size / elliptic_curve in renewal/{name}.conf"
            ),
        });
    }
    for link in [&l.cert, &l.privkey, &l.chain, &l.fullchain] {
        let shown = link.link.display();
        let update = "run `certbot update_symlinks`, or point it back at the archive by hand";
        match &link.target {
            None => out.push(Problem {
                kind: ProblemKind::BadLink,
                message: format!(
                    "{shown} is not a symbolic link into {}: certbot will refuse to renew this lineage; {update}",
                    l.archive_dir.display()
                ),
            }),
            Some(target) if !link.in_archive => out.push(Problem {
                kind: ProblemKind::LinkOutsideArchive,
                message: format!(
                    "{shown} points to {}, outside the archive directory {}: certbot will refuse to renew this lineage; {update}",
                    target.display(),
                    l.archive_dir.display()
                ),
            }),
            Some(target) if !link.exists => out.push(Problem {
                kind: ProblemKind::BadLink,
                message: format!(
                    "{shown} points to {}, which does not exist: {update}",
                    target.display()
                ),
            }),
            Some(target) if link.version.is_none() => out.push(Problem {
                kind: ProblemKind::BadLink,
                message: format!(
                    "{shown} points to {}, not named {}N.pem as certbot needs: {update}",
                    target.display(),
                    link.kind.name()
                ),
            }),
            Some(_) => {}
        }
    }
    if l.key_matches_cert() == Some(false) {
        let v = |k: &LiveLink| {
            k.version
                .map(|v| format!("{}{v}.pem", k.kind.name()))
                .unwrap_or_else(|| k.link.display().to_string())
        };
        out.push(Problem {
            kind: ProblemKind::KeyMismatch,
            message: format!(
                "privkey.pem ({}) is not the key of cert.pem ({}): TLS with this pair fails and certbot skips the lineage; point live/{name}/privkey.pem at the key of the certificate (`danerollover tlsa` shows each key's hash), or renew the certificate",
                v(&l.privkey),
                v(&l.cert)
            ),
        });
    }
    if let (Some(actual), Ok(wanted)) = (l.key_spec(), &l.conf_spec)
        && actual != *wanted
    {
        out.push(Problem {
                kind: ProblemKind::KeyTypeDiffers,
                message: format!(
                    "the key is {actual} but renewal/{name}.conf asks for {wanted} (key_type = {}{}): the next key would change type; set key_type{} in the conf to match the key, or accept the change",
                    l.conf.key_type().unwrap_or("rsa, by default"),
                    match wanted {
                        KeySpec::Rsa(_) => format!(", rsa_key_size = {}", l.conf.rsa_key_size().unwrap_or("2048, by default")),
                        KeySpec::Ecdsa(_) => format!(", elliptic_curve = {}", l.conf.elliptic_curve().unwrap_or("secp256r1, by default")),
                        KeySpec::Ed25519 => String::new(),
                    },
                    match actual {
                        KeySpec::Rsa(_) => " = rsa and rsa_key_size",
                        KeySpec::Ecdsa(_) => " = ecdsa and elliptic_curve",
                        KeySpec::Ed25519 => "",
                    }
                ),
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_file_versions() {
        assert_eq!(Kind::Cert.version_of("cert12.pem"), Some(12));
        assert_eq!(Kind::Privkey.version_of("privkey1.pem"), Some(1));
        assert_eq!(Kind::Cert.version_of("cert.pem"), None);
        assert_eq!(Kind::Cert.version_of("cert1.pem.bak"), None);
        assert_eq!(Kind::Cert.version_of("cert-1.pem"), None);
        assert_eq!(Kind::Chain.version_of("fullchain1.pem"), None);
    }

    #[test]
    fn live_dirs_locate_their_lineage() {
        assert_eq!(
            locate_live_dir(Path::new("/etc/letsencrypt/live/mail.example.com/")),
            Some((
                PathBuf::from("/etc/letsencrypt"),
                "mail.example.com".to_string()
            ))
        );
        assert_eq!(
            locate_live_dir(Path::new("/etc/letsencrypt/archive/x")),
            None
        );
        assert_eq!(locate_live_dir(Path::new("/")), None);
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("mail.example.com").is_ok());
        for bad in ["", "a/b", "..", ".hidden"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalize(Path::new("/etc/le/live/x/../../archive/x/cert1.pem")),
            PathBuf::from("/etc/le/archive/x/cert1.pem")
        );
    }
}
