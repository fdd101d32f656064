//! Keys behind a symbolic link (certbot's `live/NAME/privkey.pem`, dehydrated's
//! `certs/NAME/privkey.pem`): the next key is written to a new file beside the client's own
//! and the link is repointed at it; a switch that did not go through points the link back,
//! when it still points at our file, and removes our file when no link uses it.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::client::{Plant, spki_of_key_pem};
use super::error::AcmeError;

/// A path with `.` and `..` resolved lexically (as certbot resolves its links).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where the link at `link` leads (absolute, lexically), None when it is not a link.
pub fn link_target(link: &Path) -> Option<PathBuf> {
    let raw = fs::read_link(link).ok()?;
    let dir = link.parent()?;
    Some(normalize(&dir.join(raw)))
}

/// `to` relative to the directory `from` (both absolute), as certbot writes its links.
pub fn relative(from: &Path, to: &Path) -> PathBuf {
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

fn io_err(path: &Path, e: io::Error) -> AcmeError {
    AcmeError::io(path, e)
}

/// Point the symbolic link `link` at `target` atomically: a new link beside it, renamed
/// over it, then the directory synced.
pub fn swap_link(link: &Path, target: &Path) -> Result<(), AcmeError> {
    let dir = link
        .parent()
        .ok_or_else(|| AcmeError::Failed(format!("{}: no directory", link.display())))?;
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

/// Where `link` points now, as the link says it (the plan's `previous`).
pub fn previous_target(link: &Path) -> Result<PathBuf, AcmeError> {
    fs::read_link(link).map_err(|e| {
        AcmeError::Failed(format!(
            "{}: not a symbolic link the client made ({e}); `danerollover lineages` shows the problem",
            link.display()
        ))
    })
}

/// Write `key_pem` to `plan.planted` (mode 0600, never replacing a file), with the owner
/// of the key `link` leads to.
pub fn plant(link: &Path, plan: &Plant, key_pem: &[u8]) -> Result<(), AcmeError> {
    crate::fsutil::create_new(&plan.planted, key_pem, 0o600)
        .map_err(|e| io_err(&plan.planted, e))?;
    super::keyfile::match_owner(&plan.planted, link)?;
    if let Some(dir) = plan.planted.parent() {
        crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

/// Point `link` at `plan.planted` (relative when the link was).
pub fn repoint(link: &Path, plan: &Plant) -> Result<(), AcmeError> {
    if !plan.planted.is_file() {
        return Err(AcmeError::Failed(format!(
            "{}: nothing planted to point {} at",
            plan.planted.display(),
            link.display()
        )));
    }
    let dir = link.parent().unwrap_or(Path::new("/"));
    let target = if plan.previous.is_relative() {
        relative(dir, &plan.planted)
    } else {
        plan.planted.clone()
    };
    swap_link(link, &target)
}

/// Undo a plant: when `plan.planted` holds the key `key_spki` (ours), point `link` back to
/// `plan.previous` if it points at our file, then remove our file unless one of `links`
/// (the client's links, `link` among them) points at it. Nothing else is touched.
pub fn restore(
    link: &Path,
    links: &[PathBuf],
    plan: &Plant,
    key_spki: &[u8],
) -> Result<(), AcmeError> {
    let ours = match fs::read(&plan.planted) {
        Ok(pem) => spki_of_key_pem(&pem).is_some_and(|s| s == key_spki),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_err(&plan.planted, e)),
    };
    if !ours {
        return Ok(());
    }
    let planted = normalize(&plan.planted);
    if link_target(link).as_deref() == Some(planted.as_path()) {
        swap_link(link, &plan.previous)?;
    }
    let in_use = links
        .iter()
        .any(|l| link_target(l).as_deref() == Some(planted.as_path()));
    if !in_use {
        match fs::remove_file(&plan.planted) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&plan.planted, e)),
        }
        if let Some(dir) = plan.planted.parent() {
            crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
