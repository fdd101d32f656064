//! What each operation returns: typed, serializable for `--json`, with its exit code.

use jiff::Timestamp;
use serde::Serialize;

use crate::error::exit;
use crate::rollover::{LiveChange, Repair};
use crate::status::LineageStatus;
use crate::tlsa::TlsaRecord;

/// What one pass over a lineage saw and did.
#[derive(Debug, Clone, Serialize)]
pub struct LineageReport {
    /// The lineage's status after the pass (observations from its start).
    #[serde(flatten)]
    pub status: LineageStatus,
    /// How the live certificate's key related to the state.
    pub live_change: LiveChange,
    /// The repair of an interrupted step, when there was one.
    pub repaired: Option<Repair>,
    /// What was done, in order, in words.
    pub done: Vec<String>,
    /// What would be done (dry runs), or what is left for a later run.
    pub planned: Vec<String>,
    /// Actions that failed (the pass went on with the others).
    pub failures: Vec<String>,
    /// The records that must be at each owner now: current and next keys'.
    pub records: Vec<OwnerRecords>,
    /// A switch to the next key happened in this pass.
    pub switched: bool,
    /// A switch was tried and did not go through (the lineage was left as it was).
    pub switch_failure: Option<String>,
    /// DANE clients fail now at some owner (records present, none for the live key).
    pub outage: bool,
    /// With --verbose, after a pass that changed DNS: the status as observed before the
    /// changes (`status` above is observed after them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_before: Option<Box<LineageStatus>>,
    /// The time the pass decided on (the wall clock bounded by the monotonic clock, see
    /// `rollover::clock`): the clock of every time the core computes.
    #[serde(skip)]
    pub decided_at: Timestamp,
}

/// The records one owner must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerRecords {
    /// The owner name (absolute).
    pub owner: String,
    /// The TTL the records are published with.
    pub ttl: u32,
    /// The current key's records, then the next key's.
    pub records: Vec<TlsaRecord>,
}

impl LineageReport {
    /// 1 when something failed or DANE clients fail now, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.outage || !self.failures.is_empty() || self.switch_failure.is_some() {
            exit::FAILURE
        } else {
            exit::OK
        }
    }
}

/// `hook`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HookReport {
    /// The lineage is not in the configuration: left alone.
    Unmanaged {
        /// The lineage certbot renewed.
        lineage: String,
    },
    /// The hook runs inside a switch (certbot called it during `rollover`): the rollover
    /// promotes the key and publishes; the hook does nothing.
    LeftToRollover {
        /// The lineage being switched.
        lineage: String,
    },
    /// The hook did its pass.
    Managed(Box<LineageReport>),
}

impl HookReport {
    /// Non-zero when an outage is in progress or something failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            HookReport::Managed(r) => r.exit_code(),
            _ => exit::OK,
        }
    }
}

/// `prepublish`.
#[derive(Debug, Clone, Serialize)]
pub struct PrepublishReport {
    #[serde(flatten)]
    /// The last pass over the lineage.
    pub lineage: LineageReport,
}

impl PrepublishReport {
    /// 1 when the pass recorded a failure (a publication, a reload), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.lineage.failures.is_empty() && self.lineage.switch_failure.is_none() {
            exit::OK
        } else {
            exit::FAILURE
        }
    }
}

/// `rollover`.
#[derive(Debug, Clone, Serialize)]
pub struct RolloverReport {
    /// How the rollover ended.
    pub outcome: RolloverOutcome,
    /// The earliest safe switch moment the last look before the switch computed (or the
    /// one still ahead, when not yet safe); None when not known (also when the first look
    /// already found the switch safe). (Named apart from the
    /// flattened status's `switch_allowed_at`, which is about the new next key after a
    /// switch.)
    pub switch_safe_at: Option<Timestamp>,
    /// When the pass that switched began (its look at DNS and the decision came first), on
    /// the same clock as `switch_safe_at` (the wall clock bounded by the monotonic clock).
    pub switch_started_at: Option<Timestamp>,
    #[serde(flatten)]
    pub lineage: LineageReport,
}

/// How a `rollover` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RolloverOutcome {
    /// The lineage now uses its former next key.
    Switched,
    /// Dry run: the switch is safe now.
    WouldSwitch,
    /// Not safe yet: why, and the earliest switch time when only time is missing.
    NotYet {
        /// Why not (which server lacks the record, validation, time left).
        reasons: Vec<String>,
        /// The earliest switch time, when only time is missing.
        earliest: Option<Timestamp>,
    },
    /// The switch was tried and failed; the lineage was left as it was.
    Failed {
        /// What failed, and that the lineage was left as it was.
        error: String,
    },
    /// `--wait` was stopped by a signal while waiting (nothing in progress, lock free).
    Stopped {
        /// SIGTERM or SIGINT.
        signal: String,
        /// Why it was not safe yet at the last look.
        reasons: Vec<String>,
    },
}

impl RolloverReport {
    /// 0 switched (or would), 75 not yet safe, 1 failed, or when the pass recorded any
    /// failure (a reload, a publication, certbot failing after installing).
    pub fn exit_code(&self) -> u8 {
        if !self.lineage.failures.is_empty() || self.lineage.switch_failure.is_some() {
            return exit::FAILURE;
        }
        match self.outcome {
            RolloverOutcome::Switched | RolloverOutcome::WouldSwitch => exit::OK,
            RolloverOutcome::NotYet { .. } | RolloverOutcome::Stopped { .. } => exit::TEMPFAIL,
            RolloverOutcome::Failed { .. } => exit::FAILURE,
        }
    }
}

/// `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// One status per lineage looked at.
    pub lineages: Vec<LineageStatus>,
    /// Lineages that could not be looked at, with why.
    pub errors: Vec<LineageError>,
}

/// A lineage a pass could not handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageError {
    /// The lineage.
    pub name: String,
    /// What went wrong, with its causes.
    pub error: String,
}

impl StatusReport {
    /// Non-zero when any lineage is in danger or could not be looked at.
    pub fn exit_code(&self) -> u8 {
        if self.errors.is_empty() && self.lineages.iter().all(|l| !l.needs_attention()) {
            exit::OK
        } else {
            exit::FAILURE
        }
    }
}

/// `run`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// One report per lineage handled.
    pub lineages: Vec<LineageReport>,
    pub errors: Vec<LineageError>,
}

impl RunReport {
    /// Non-zero when any lineage is in danger, failed, or could not be handled.
    pub fn exit_code(&self) -> u8 {
        let bad = !self.errors.is_empty()
            || self
                .lineages
                .iter()
                .any(|l| l.exit_code() != exit::OK || l.status.needs_attention());
        if bad { exit::FAILURE } else { exit::OK }
    }
}

// ---------------------------------------------------------------------------------------
// Text for people (the commands print these unless --json).

fn lineage_lines(r: &LineageReport, out: &mut String) {
    use std::fmt::Write as _;
    if r.outage {
        let _ = writeln!(
            out,
            "OUTAGE: {}: DANE clients cannot verify the live key; its record is being published now",
            r.status.name
        );
    }
    for d in &r.done {
        let _ = writeln!(out, "  done: {d}");
    }
    for f in &r.failures {
        let _ = writeln!(out, "  FAILED: {f}");
    }
    if let Some(f) = &r.switch_failure {
        let _ = writeln!(out, "  SWITCH FAILED: {f}");
    }
    for p in &r.planned {
        let _ = writeln!(out, "  planned: {p}");
    }
    if let Some(before) = &r.observed_before {
        let _ = writeln!(out, "  as observed before these changes:");
        for line in crate::status::render_text(before).lines() {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "  as observed after them:");
    }
    out.push_str(&crate::status::render_text(&r.status));
}

impl LineageReport {
    /// The report as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        lineage_lines(self, &mut out);
        out
    }

    /// The records every owner must carry, zone-file style.
    pub fn records_text(&self) -> String {
        let mut out = String::new();
        for o in &self.records {
            for r in &o.records {
                out.push_str(&format!("{} {} IN TLSA {}\n", o.owner, o.ttl, r));
            }
        }
        out
    }
}

impl HookReport {
    /// The report as text (one line for an unmanaged lineage).
    pub fn text(&self) -> String {
        match self {
            HookReport::Unmanaged { lineage } => {
                format!("{lineage}: not in the configuration, left alone\n")
            }
            HookReport::LeftToRollover { lineage } => format!(
                "{lineage}: renewed by a danerollover switch; the rollover promotes the key, publishes and reloads\n"
            ),
            HookReport::Managed(r) => r.text(),
        }
    }
}

impl PrepublishReport {
    /// The records, then the report.
    pub fn text(&self) -> String {
        format!("{}{}", self.lineage.records_text(), self.lineage.text())
    }
}

impl RolloverReport {
    /// The outcome first, then the report.
    pub fn text(&self) -> String {
        let name = &self.lineage.status.name;
        let mut out = match &self.outcome {
            RolloverOutcome::Switched => format!(
                "{name}: switched to 3 1 1 {}\n",
                self.lineage.status.current.as_deref().unwrap_or("?")
            ),
            RolloverOutcome::WouldSwitch => format!("{name}: the switch is safe now (dry run)\n"),
            RolloverOutcome::NotYet { reasons, earliest } => {
                let mut t = format!("{name}: not safe to switch yet\n");
                for r in reasons {
                    t.push_str(&format!("  - {r}\n"));
                }
                match earliest {
                    Some(at) => t.push_str(&format!("  earliest switch: {at}\n")),
                    None => t.push_str("  earliest switch: not known until the above is fixed\n"),
                }
                t
            }
            RolloverOutcome::Failed { error } => format!("{name}: switch failed: {error}\n"),
            RolloverOutcome::Stopped { signal, reasons } => {
                let mut t = format!(
                    "{name}: stopped by {signal} while waiting: nothing was in progress, nothing switched; run the rollover again\n"
                );
                for r in reasons {
                    t.push_str(&format!("  - {r}\n"));
                }
                t
            }
        };
        out.push_str(&self.lineage.text());
        out
    }
}

impl StatusReport {
    /// Every lineage's status, then the errors.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.lineages {
            out.push_str(&crate::status::render_text(l));
        }
        for e in &self.errors {
            out.push_str(&format!("{}: ERROR: {}\n", e.name, e.error));
        }
        out
    }
}

impl RunReport {
    /// Every lineage's report, then the errors.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.lineages {
            out.push_str(&l.text());
        }
        for e in &self.errors {
            out.push_str(&format!("{}: ERROR: {}\n", e.name, e.error));
        }
        out
    }
}

/// `rollover --emergency`.
#[derive(Debug, Clone, Serialize)]
pub struct EmergencyReport {
    /// How it ended.
    pub outcome: EmergencyOutcome,
    /// The compromised key (live before the switch), the SHA-256 of its SPKI.
    pub compromised: Option<String>,
    /// Until when some resolvers may still hold the old RRset (when the normal wait would
    /// have ended): DANE clients using them may fail to find the new key's record until then.
    pub old_rrset_cached_until: Option<Timestamp>,
    /// The compromised key's records that were withdrawn, as `OWNER: RECORD`.
    pub withdrawn: Vec<String>,
    /// The pass after the switch (a fresh next key generated and published).
    #[serde(flatten)]
    pub lineage: Option<LineageReport>,
}

/// How a `rollover --emergency` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum EmergencyOutcome {
    /// Switched to the next key; the compromised key's records are withdrawn.
    Switched,
    /// Dry run: the emergency switch would go ahead now.
    WouldSwitch,
    /// Refused; nothing was changed.
    Refused {
        /// Why (no next key, its record not served everywhere or not Secure, ...).
        reasons: Vec<String>,
    },
    /// The switch was tried and failed; the lineage was left as it was.
    Failed {
        /// What failed.
        error: String,
    },
}

impl EmergencyReport {
    /// 0 switched (or would), 1 refused or failed (or a withdrawal failed).
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            EmergencyOutcome::Switched
                if self.lineage.as_ref().is_none_or(|l| l.failures.is_empty()) =>
            {
                exit::OK
            }
            EmergencyOutcome::WouldSwitch => exit::OK,
            _ => exit::FAILURE,
        }
    }

    /// The outcome first, then the report.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let name = self
            .lineage
            .as_ref()
            .map(|l| l.status.name.clone())
            .unwrap_or_else(|| "lineage".into());
        match &self.outcome {
            EmergencyOutcome::Switched => {
                let _ = writeln!(
                    out,
                    "{name}: EMERGENCY switch done: the compromised key 3 1 1 {} is no longer live",
                    self.compromised.as_deref().unwrap_or("?")
                );
            }
            EmergencyOutcome::WouldSwitch => {
                let _ = writeln!(
                    out,
                    "emergency switch possible now (dry run): the next key's record is served by every authoritative server and Secure"
                );
            }
            EmergencyOutcome::Refused { reasons } => {
                let _ = writeln!(out, "emergency switch REFUSED, nothing was changed:");
                for r in reasons {
                    let _ = writeln!(out, "  - {r}");
                }
            }
            EmergencyOutcome::Failed { error } => {
                let _ = writeln!(out, "emergency switch FAILED: {error}");
            }
        }
        for w in &self.withdrawn {
            let _ = writeln!(out, "  withdrawn: {w}");
        }
        if let Some(until) = self.old_rrset_cached_until {
            let _ = writeln!(
                out,
                "  some resolvers may hold the old RRset (without the new key's record) until {until}: DANE clients using them may fail until then"
            );
        }
        if let Some(l) = &self.lineage {
            out.push_str(&l.text());
        }
        out
    }
}
