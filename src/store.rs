//! The state file (versioned, human-readable, written atomically) and the lock that
//! serialises concurrent invocations.
//!
//! `STATE_DIR/state.json` holds `{"version": 1, "lineages": {NAME: ...}}` (see
//! [`crate::rollover::LineageState`]), pretty-printed so that a person can read it. It is
//! only written while holding `STATE_DIR/lock` (an advisory `flock`, released by the kernel
//! when the process dies, even by kill -9), always with [`crate::fsutil::write_atomic`]: a
//! crash leaves the old file or the new one, never half of one. Reading needs no lock.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::rollover::LineageState;

/// The state file's name under the state directory.
pub const STATE_FILE: &str = "state.json";
/// The lock file's name under the state directory.
pub const LOCK_FILE: &str = "lock";
/// The observations kept for reuse ([`crate::dns::reuse`]): a cache, never needed.
pub const OBSERVATIONS_FILE: &str = "observations.json";
/// The state file format this build reads and writes.
pub const VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
/// Errors of the state file and the lock; each names the file and the fix.
pub enum StoreError {
    #[error("cannot read the state file {}: {source}", path.display())]
    /// The state file exists but cannot be read.
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    /// The state file (or the directory) cannot be written.
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("state file {}: {message} (fix or move the file away; danerollover rebuilds what it can from DNS and the lineage)", path.display())]
    /// The state file does not parse.
    Parse { path: PathBuf, message: String },
    #[error(
        "state file {} has format version {version}, written by a newer danerollover; this one understands version {VERSION}: upgrade danerollover",
        path.display()
    )]
    /// The state file was written by a newer danerollover.
    FutureVersion { path: PathBuf, version: u64 },
    #[error("{} is held by {} and was not released within {}: another danerollover is running (wait for it, or check that it is not stuck)",
        path.display(),
        holder.map(|p| format!("pid {p}")).unwrap_or_else(|| "another process".into()),
        humantime::format_duration(*waited))]
    /// Another process holds the lock (its pid when known) longer than we wait.
    Busy {
        path: PathBuf,
        holder: Option<u32>,
        waited: Duration,
    },
    #[error("cannot lock {}: {source}", path.display())]
    /// The lock file cannot be opened or locked.
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Everything in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The file format version ([`VERSION`]).
    pub version: u32,
    /// Per lineage (certbot certificate name).
    #[serde(default)]
    pub lineages: BTreeMap<String, LineageState>,
    /// The last time handed to the core and the monotonic clock then: a wall clock
    /// stepped forward never shortens a wait ([`crate::rollover::clock`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::rollover::clock::ClockAnchor>,
    /// The newest modification time of certbot's log files `run` has read for refused
    /// keys ([`crate::acme::certbot::refusal`]): the next pass reads only newer ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certbot_log_mark: Option<jiff::Timestamp>,
    /// This process's reading only, never saved: why the time is unknown (the boot clock
    /// could not be read, and the fix). Set with the time; the switch and retirements hold.
    #[serde(skip)]
    pub clock_unknown: Option<String>,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: VERSION,
            lineages: BTreeMap::new(),
            clock: None,
            certbot_log_mark: None,
            clock_unknown: None,
        }
    }
}

/// Parse state file text. `path` only names the file in errors. A version newer than
/// [`VERSION`] is refused before anything else is looked at.
pub fn parse(text: &str, path: &Path) -> Result<State, StoreError> {
    let bad = |message: String| StoreError::Parse {
        path: path.to_path_buf(),
        message,
    };
    // The version alone first (the rest skipped, not built: a state file of a thousand
    // lineages is megabytes), then the whole file straight into the types.
    #[derive(Deserialize)]
    struct Head {
        version: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    // serde reads a struct from an array too (`[1]` is "version 1"): the file must be an
    // object (serde_json skips only JSON whitespace before it, a subset of trim_start's).
    if !text.trim_start().starts_with('{') {
        return Err(bad("not a JSON object".into()));
    }
    let version = head
        .version
        .ok_or_else(|| bad("no \"version\" field".into()))?
        .as_u64()
        .ok_or_else(|| bad("\"version\" is not a number".into()))?;
    if version > u64::from(VERSION) {
        return Err(StoreError::FutureVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    if version < 1 {
        return Err(bad(format!("unknown format version {version}")));
    }
    if version == 1 {
        // Older files are small: through a JSON value, migrated, then into the types.
        let mut value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        migrate_v1(&mut value);
        return serde_json::from_value(value).map_err(|e| bad(e.to_string()));
    }
    serde_json::from_str(text).map_err(|e| bad(e.to_string()))
}

/// Version 1 to 2: the per-record `seen_everywhere` and the per-sighting `had_tlsa` were
/// written but never read (the switch verdict counts from the next key's propagation);
/// they are dropped. Everything else carries over unchanged.
fn migrate_v1(value: &mut serde_json::Value) {
    if let Some(lineages) = value
        .get_mut("lineages")
        .and_then(serde_json::Value::as_object_mut)
    {
        for lineage in lineages.values_mut() {
            let Some(owners) = lineage
                .get_mut("owners")
                .and_then(serde_json::Value::as_object_mut)
            else {
                continue;
            };
            for owner in owners.values_mut() {
                if let Some(records) = owner
                    .get_mut("records")
                    .and_then(serde_json::Value::as_array_mut)
                {
                    for r in records.iter_mut().filter_map(|r| r.as_object_mut()) {
                        r.remove("seen_everywhere");
                    }
                }
                if let Some(last) = owner
                    .get_mut("last")
                    .and_then(serde_json::Value::as_object_mut)
                {
                    last.remove("had_tlsa");
                }
            }
        }
    }
    if let Some(object) = value.as_object_mut() {
        object.insert("version".into(), serde_json::Value::from(VERSION));
    }
}

/// The state file's text: pretty-printed JSON with a final newline.
pub fn render(state: &State) -> String {
    let mut text = serde_json::to_string_pretty(state).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// The state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The state directory `dir` (created on first lock).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// `DIR/lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Read the state without the lock (it is always replaced atomically). No file yet:
    /// an empty state.
    pub fn read(&self) -> Result<State, StoreError> {
        let path = self.state_path();
        match fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => parse(&text, &path),
                // Binary garbage (a disk error, a stray write) is a corrupt file to fix,
                // like one that is not JSON, not a file that cannot be read.
                Err(e) => Err(StoreError::Parse {
                    path,
                    message: format!(
                        "not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                }),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StoreError::Read { path, source }),
        }
    }

    /// `DIR/observations.json`.
    pub fn observations_path(&self) -> PathBuf {
        self.dir.join(OBSERVATIONS_FILE)
    }

    /// The observations kept for reuse with `resolver`: empty when there is no file, or it
    /// cannot be read or is not one (a cache: the pass then asks every server).
    pub fn read_observations(&self, resolver: &str) -> crate::dns::reuse::Cache {
        match fs::read_to_string(self.observations_path()) {
            Ok(text) => crate::dns::reuse::Cache::parse(&text, resolver),
            Err(_) => crate::dns::reuse::Cache::new(resolver),
        }
    }

    /// Replace the observations kept for reuse (atomically, 0640; losing the file costs one
    /// pass of fresh queries). Needs no lock: each entry stands on its own, and the last
    /// writer wins.
    pub fn write_observations(&self, cache: &crate::dns::reuse::Cache) -> Result<(), StoreError> {
        let path = self.observations_path();
        if !self.dir.is_dir() {
            return Ok(());
        }
        crate::fsutil::write_atomic(&path, cache.render().as_bytes(), 0o640, false)
            .map_err(|source| StoreError::Write { path, source })
    }

    /// Create the state directory (0700) if needed.
    pub fn ensure_dir(&self) -> Result<(), StoreError> {
        if !self.dir.is_dir() {
            fs::create_dir_all(&self.dir).map_err(|source| StoreError::Write {
                path: self.dir.clone(),
                source,
            })?;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(
                |source| StoreError::Write {
                    path: self.dir.clone(),
                    source,
                },
            )?;
        }
        Ok(())
    }

    /// Take the lock, waiting at most `wait`. The holder's pid is written into the lock
    /// file so that a process that finds it busy can say who holds it.
    pub fn lock(&self, wait: Duration) -> Result<Locked, StoreError> {
        self.ensure_dir()?;
        let path = self.lock_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| StoreError::Lock {
                path: path.clone(),
                source,
            })?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let waited = start.elapsed();
                    if waited >= wait {
                        return Err(StoreError::Busy {
                            holder: holder_pid(&mut file),
                            path,
                            waited,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50).min(wait - waited));
                }
                Err(TryLockError::Error(source)) => return Err(StoreError::Lock { path, source }),
            }
        }
        // Record who holds it (best effort: the lock works without it).
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        Ok(Locked {
            store: self.clone(),
            _file: file,
        })
    }
}

fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// The state directory with the lock held: the only way to save the state. Dropping it
/// releases the lock.
#[derive(Debug)]
pub struct Locked {
    store: Store,
    _file: File,
}

impl Locked {
    /// The state directory this lock is for.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Read the state (under the lock, so nobody changes it until [`Locked::save`]).
    pub fn load(&self) -> Result<State, StoreError> {
        self.store.read()
    }

    /// Write the state atomically (0640: the state holds no secret; the directory decides who
    /// may read it, see the README on the danerollover group).
    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let path = self.store.state_path();
        let mut state = state.clone();
        state.version = VERSION;
        crate::fsutil::write_atomic(&path, render(&state).as_bytes(), 0o640, false)
            .map_err(|source| StoreError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollover::{CurrentKey, KeyInfo};

    fn sample() -> State {
        let mut s = State::default();
        s.lineages.insert(
            "mail.example.test".into(),
            LineageState {
                current: Some(CurrentKey {
                    key: KeyInfo::from_spki(b"spki"),
                    since: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
                }),
                ..Default::default()
            },
        );
        s
    }

    #[test]
    fn round_trip_is_pretty_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        assert_eq!(store.read().unwrap(), State::default());
        let locked = store.lock(Duration::from_secs(1)).unwrap();
        locked.save(&sample()).unwrap();
        let text = fs::read_to_string(store.state_path()).unwrap();
        assert!(text.starts_with("{\n  \"version\": 2,"), "{text}");
        assert!(
            text.contains("\"since\": \"2023-11-14T22:13:20Z\""),
            "{text}"
        );
        assert_eq!(locked.load().unwrap(), sample());
        let mode = fs::metadata(store.state_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640);
        let dmode = fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
    }

    #[test]
    fn version_1_files_migrate_without_their_unread_fields() {
        // A version 1 file: today's shape plus the two fields nothing read.
        let mut state = sample();
        let key = KeyInfo::from_spki(b"spki");
        let record = key.records(&[crate::tlsa::Matching::Sha256]).remove(0);
        let t = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let lineage = state.lineages.get_mut("mail.example.test").unwrap();
        lineage.record_published(
            "_25._tcp.mail.example.test.",
            std::slice::from_ref(&record),
            t,
        );
        lineage
            .owners
            .get_mut("_25._tcp.mail.example.test.")
            .unwrap()
            .last = Some(crate::rollover::Sighting {
            at: t,
            ttl: Some(3600),
            negative_ttl: None,
        });
        let mut v1: serde_json::Value = serde_json::from_str(&render(&state)).unwrap();
        v1["version"] = 1.into();
        let owner =
            &mut v1["lineages"]["mail.example.test"]["owners"]["_25._tcp.mail.example.test."];
        owner["records"][0]["seen_everywhere"] = "2023-11-14T22:13:20Z".into();
        owner["last"]["had_tlsa"] = true.into();
        let v1 = serde_json::to_string(&v1).unwrap();

        let migrated = parse(&v1, Path::new("state.json")).unwrap();
        assert_eq!(migrated.version, VERSION);
        assert_eq!(migrated, state, "everything else carries over");
        let text = render(&migrated);
        assert!(
            !text.contains("seen_everywhere") && !text.contains("had_tlsa"),
            "{text}"
        );
        // A version 2 file with the old fields is refused (they are unknown there).
        let bad = v1.replacen("\"version\":1", "\"version\":2", 1);
        assert!(bad.contains("\"version\":2"), "{bad}");
        let e = parse(&bad, Path::new("state.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("seen_everywhere") || e.contains("had_tlsa"),
            "{e}"
        );
    }

    #[test]
    fn future_version_is_refused_clearly() {
        let text = r#"{"version": 3, "lineages": {}, "something_new": true}"#;
        let err = parse(text, Path::new("/var/lib/danerollover/state.json")).unwrap_err();
        assert!(matches!(err, StoreError::FutureVersion { version: 3, .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("version 3") && msg.contains("upgrade"),
            "{msg}"
        );
        assert!(msg.contains("/var/lib/danerollover/state.json"), "{msg}");
    }

    #[test]
    fn bad_files_name_the_problem() {
        let p = Path::new("s.json");
        for (text, want) in [
            ("{", "not JSON"),
            ("{}", "no \"version\""),
            (r#"{"version": "1"}"#, "not a number"),
            (r#"{"version": 1, "extra": 1}"#, "extra"),
            (r#"{"version": 0}"#, "unknown format version 0"),
            // serde reads a struct from an array: this one was "version 1" and panicked
            // in the migration (fuzz/regressions/state_json/array-version-1).
            ("[1]", "not a JSON object"),
            (" \n[2]", "not a JSON object"),
            (
                r#"{"version": 2, "lineages": {"m": {"current": {"id": "ééé", "spki": "00", "since": "2023-11-14T22:13:20Z"}}}}"#,
                "not 64 lowercase hex digits",
            ),
        ] {
            let msg = parse(text, p).unwrap_err().to_string();
            assert!(msg.contains(want), "{text}: {msg}");
        }
    }

    #[test]
    fn second_locker_waits_then_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let held = store.lock(Duration::from_secs(1)).unwrap();
        let start = Instant::now();
        let err = store.lock(Duration::from_millis(200)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(200));
        match &err {
            StoreError::Busy { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id()))
        );
        drop(held);
        // Released: the next one gets it at once.
        store.lock(Duration::from_millis(0)).unwrap();
    }

    #[test]
    fn lock_is_released_to_a_waiting_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let held = store.lock(Duration::from_secs(1)).unwrap();
        let s2 = store.clone();
        let waiter = std::thread::spawn(move || s2.lock(Duration::from_secs(5)).map(|_| ()));
        std::thread::sleep(Duration::from_millis(150));
        drop(held);
        waiter.join().unwrap().unwrap();
    }
}
