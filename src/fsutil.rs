//! Files that matter are written atomically: a temporary file in the same directory, fsync,
//! rename over the target, fsync of the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Write `contents` to `path` atomically with the given permission bits. When `path` exists
/// and `keep_owner` is set, the new file gets the old file's owner and group as well.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, keep_owner: bool) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let old = fs::metadata(path).ok();
    let mut tmp = tempfile::Builder::new()
        .prefix(".danerollover-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    // The umask may have narrowed the mode: set it exactly.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))?;
    if keep_owner && let Some(meta) = &old {
        std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid()))?;
    }
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// The permission bits of an existing file, for writes that keep them.
pub fn mode_of(path: &Path) -> io::Result<u32> {
    Ok(fs::metadata(path)?.permissions().mode() & 0o7777)
}

/// Create a new file that must not exist yet, with `mode` from the first byte (for private
/// keys: never readable by others, not even briefly), write it, fsync it and its directory.
pub fn create_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.write_all(contents)?;
    f.sync_all()?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// fsync a directory so that a rename or a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"old").unwrap();
        write_atomic(&p, b"new", 0o600, true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(mode_of(&p).unwrap(), 0o600);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn create_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        create_new(&p, b"a", 0o600).unwrap();
        assert_eq!(mode_of(&p).unwrap(), 0o600);
        assert!(create_new(&p, b"b", 0o600).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"a");
    }
}
