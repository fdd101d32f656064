//! Fault injection: a failure point that kills an operation after a chosen step.

use std::sync::Mutex;

use crate::engine::traits::{FailPoint, Step};
use crate::error::Error;

/// A failure point that "kills" the operation after its `crash_at`-th step (0-based
/// count of all steps seen), and records the steps.
#[derive(Debug, Default)]
pub struct CrashAfter {
    /// Fail at this step (0-based count); None: never.
    pub crash_at: Option<usize>,
    /// Every step seen, in order.
    pub seen: Mutex<Vec<Step>>,
}

impl CrashAfter {
    /// Kill after the `k`-th step (0-based).
    pub fn at(k: usize) -> CrashAfter {
        CrashAfter {
            crash_at: Some(k),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Never kill; only count the steps.
    pub fn never() -> CrashAfter {
        CrashAfter::default()
    }

    /// The steps seen so far.
    pub fn steps(&self) -> Vec<Step> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl FailPoint for CrashAfter {
    fn after(&self, step: Step) -> Result<(), Error> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let k = seen.len();
        seen.push(step);
        if self.crash_at == Some(k) {
            return Err(Error::Failed(format!("killed after step {k} ({step:?})")));
        }
        Ok(())
    }
}
