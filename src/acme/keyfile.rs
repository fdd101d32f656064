//! Keys in a plain file (lego's `certificates/NAME.key`, uacme's `private/NAME/key.pem`,
//! acme.sh's `NAME.key`, a `command` client's key file): the switch copies the key file
//! aside (`FILE.danerollover-previous`), writes the next key beside it
//! (`FILE.danerollover-next`) and renames that over the key file; a switch that did not go
//! through renames the copy back, when the key file still holds our key, and removes our
//! two files. A key the client wrote itself is never touched.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::client::{Plant, spki_of_key_pem};
use super::error::AcmeError;

/// The five steps of the switch ([`plant_plan`](super::AcmeClient::plant_plan) to
/// [`restore`](super::AcmeClient::restore)) of a client keeping its key in one plain file,
/// written in its `impl AcmeClient` by `keyfile::switch_steps!(key_of)`: each is this
/// module's function on `self.key_of(name)?`, the lineage's key file.
macro_rules! switch_steps {
    ($key_of:ident) => {
        fn plant_plan(&self, name: &str) -> Result<$crate::acme::Plant, $crate::acme::AcmeError> {
            Ok($crate::acme::keyfile::plan(&self.$key_of(name)?))
        }

        fn plant(
            &self,
            name: &str,
            plan: &$crate::acme::Plant,
            key_pem: &[u8],
        ) -> Result<(), $crate::acme::AcmeError> {
            $crate::acme::keyfile::plant(&self.$key_of(name)?, plan, key_pem)
        }

        fn repoint(
            &self,
            name: &str,
            plan: &$crate::acme::Plant,
        ) -> Result<(), $crate::acme::AcmeError> {
            $crate::acme::keyfile::repoint(&self.$key_of(name)?, plan)
        }

        fn leftovers(&self, _name: &str, plan: &$crate::acme::Plant) -> Vec<std::path::PathBuf> {
            $crate::acme::keyfile::leftovers(plan)
        }

        fn restore(
            &self,
            name: &str,
            plan: &$crate::acme::Plant,
            key_spki: &[u8],
        ) -> Result<(), $crate::acme::AcmeError> {
            $crate::acme::keyfile::restore(&self.$key_of(name)?, plan, key_spki)
        }
    };
}
pub(crate) use switch_steps;

fn io_err(path: &Path, e: io::Error) -> AcmeError {
    AcmeError::io(path, e)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The plan for the key file `key`: the staged next key and the copy of the present one,
/// both beside it (the same file system, so that the rename is atomic).
pub fn plan(key: &Path) -> Plant {
    Plant {
        planted: with_suffix(key, ".danerollover-next"),
        previous: with_suffix(key, ".danerollover-previous"),
    }
}

/// Give `path` the owner and group of `like` (when they differ): a client running as its
/// own user must read the key danerollover wrote.
pub fn match_owner(path: &Path, like: &Path) -> Result<(), AcmeError> {
    let want = fs::metadata(like).map_err(|e| io_err(like, e))?;
    let have = fs::metadata(path).map_err(|e| io_err(path, e))?;
    if (want.uid(), want.gid()) != (have.uid(), have.gid()) {
        std::os::unix::fs::chown(path, Some(want.uid()), Some(want.gid()))
            .map_err(|e| io_err(path, e))?;
    }
    Ok(())
}

fn sync_parent(path: &Path) -> Result<(), AcmeError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

/// Copy the key file `key` to `plan.previous` and write `key_pem` to `plan.planted` (both
/// 0600 with the key file's owner). Copies left at these two paths by an earlier switch
/// (one that went through, or one repaired before this plant: the engine plants only when
/// no switch is in progress) are ours and removed first.
pub fn plant(key: &Path, plan: &Plant, key_pem: &[u8]) -> Result<(), AcmeError> {
    let present = fs::read(key).map_err(|e| io_err(key, e))?;
    remove(&plan.previous)?;
    remove(&plan.planted)?;
    crate::fsutil::create_new(&plan.previous, &present, 0o600)
        .map_err(|e| io_err(&plan.previous, e))?;
    match_owner(&plan.previous, key)?;
    crate::fsutil::create_new(&plan.planted, key_pem, 0o600)
        .map_err(|e| io_err(&plan.planted, e))?;
    match_owner(&plan.planted, key)?;
    sync_parent(key)
}

/// The copy of the key before a switch that went through: no longer needed.
pub fn leftovers(plan: &Plant) -> Vec<PathBuf> {
    vec![plan.previous.clone()]
}

/// Rename the staged next key over the key file (atomic).
pub fn repoint(key: &Path, plan: &Plant) -> Result<(), AcmeError> {
    if !plan.planted.is_file() || !plan.previous.is_file() {
        return Err(AcmeError::Failed(format!(
            "{}: nothing planted (or no copy of the present key) to put in place of {}",
            plan.planted.display(),
            key.display()
        )));
    }
    fs::rename(&plan.planted, key).map_err(|e| io_err(key, e))?;
    sync_parent(key)
}

fn remove(path: &Path) -> Result<(), AcmeError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

fn holds(path: &Path, key_spki: &[u8]) -> Result<bool, AcmeError> {
    match fs::read(path) {
        Ok(pem) => Ok(spki_of_key_pem(&pem).is_some_and(|s| s == key_spki)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Undo a plant: when the key file holds our key (`key_spki`) and the copy of the key before
/// the switch is there, rename the copy back over it; our staged file is removed when it
/// holds our key, the copy when the key file does not need it. A key file holding any other
/// key (the client's own) is left alone.
pub fn restore(key: &Path, plan: &Plant, key_spki: &[u8]) -> Result<(), AcmeError> {
    if holds(key, key_spki)? {
        if plan.previous.is_file() {
            fs::rename(&plan.previous, key).map_err(|e| io_err(key, e))?;
        } else {
            return Err(AcmeError::Failed(format!(
                "{} holds the next key but {} (the key before the switch) is gone: the key file does not match the certificate; put the previous key back by hand",
                key.display(),
                plan.previous.display()
            )));
        }
    } else {
        // Only a copy we made is removed: it holds a key other than ours (the key before
        // the switch), at the path only danerollover writes.
        remove(&plan.previous)?;
    }
    if holds(&plan.planted, key_spki)? {
        remove(&plan.planted)?;
    }
    sync_parent(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Curve, KeySpec, generate};

    fn key() -> (Vec<u8>, Vec<u8>) {
        let k = generate(KeySpec::Ecdsa(Curve::P256)).unwrap();
        (k.pem().as_bytes().to_vec(), k.spki_der().to_vec())
    }

    #[test]
    fn plant_repoint_restore_put_back_only_what_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("NAME.key");
        let (old, old_spki) = key();
        let (next, next_spki) = key();
        fs::write(&file, &old).unwrap();
        let p = plan(&file);
        plant(&file, &p, &next).unwrap();
        repoint(&file, &p).unwrap();
        assert_eq!(
            spki_of_key_pem(&fs::read(&file).unwrap()),
            Some(next_spki.clone())
        );
        restore(&file, &p, &next_spki).unwrap();
        assert_eq!(spki_of_key_pem(&fs::read(&file).unwrap()), Some(old_spki));
        assert!(!p.planted.exists() && !p.previous.exists());
        restore(&file, &p, &next_spki).unwrap();

        // The client wrote a key of its own: it stays; our files go.
        let p = plan(&file);
        plant(&file, &p, &next).unwrap();
        repoint(&file, &p).unwrap();
        let (theirs, theirs_spki) = key();
        fs::write(&file, &theirs).unwrap();
        restore(&file, &p, &next_spki).unwrap();
        assert_eq!(
            spki_of_key_pem(&fs::read(&file).unwrap()),
            Some(theirs_spki)
        );
        assert!(!p.planted.exists() && !p.previous.exists());

        // Killed between plant and repoint: nothing changes but our files going.
        let p = plan(&file);
        plant(&file, &p, &next).unwrap();
        restore(&file, &p, &next_spki).unwrap();
        assert_eq!(fs::read(&file).unwrap(), theirs);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
