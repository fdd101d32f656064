//! Secrets (API keys, tokens, TSIG secrets) come from files or environment variables, never
//! from the configuration itself. A file readable or writable by others is refused. A
//! [`Secret`] never shows its value in Debug or Display output.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {} is accessible by others (mode {mode:o}): run `chmod 600 {}`", path.display(), path.display())]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("secret file {} is empty", path.display())]
    Empty { path: PathBuf },
    #[error("environment variable {name} (named in the configuration) is not set or empty")]
    EnvMissing { name: String },
    #[error("no secret configured: set a *_file or *_env key")]
    NotConfigured,
}

/// A secret value. Debug and Display print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself: only for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Read a secret from a file (trimmed of surrounding white space); refuse files that others
/// may read or write.
pub fn from_file(path: &Path) -> Result<Secret, SecretError> {
    let read = |source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        return Err(SecretError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let value = text.trim();
    if value.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(Secret(value.to_string()))
}

/// Read a secret from an environment variable.
pub fn from_env(name: &str) -> Result<Secret, SecretError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
        _ => Err(SecretError::EnvMissing {
            name: name.to_string(),
        }),
    }
}

/// The secret from whichever source the configuration names (the file wins).
pub fn resolve(file: Option<&Path>, env: Option<&str>) -> Result<Secret, SecretError> {
    match (file, env) {
        (Some(f), _) => from_file(f),
        (None, Some(e)) => from_env(e),
        (None, None) => Err(SecretError::NotConfigured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_world_readable_and_redacts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        std::fs::write(&p, "topsecret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = from_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("chmod 600") && !err.contains("topsecret"),
            "{err}"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = from_file(&p).unwrap();
        assert_eq!(s.expose(), "topsecret");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
    }
}
