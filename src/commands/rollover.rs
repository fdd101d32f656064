//! `danerollover rollover NAME`: switch the lineage to its next key when that is safe
//! (exit 75 with the reasons when it is not yet); `--wait` looks again until it is, showing
//! what it waits for on stderr (a live line on a terminal, plain lines otherwise);
//! `--emergency` switches at once after a key compromise (exit 1 when refused).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::Context;
use super::wire::{Providers, Wired, print};
use crate::cli::RolloverArgs;
use crate::engine::progress::{NoticeLines, WaitNotice};
use crate::engine::real::SystemClock;
use crate::engine::traits::Clock;
use crate::error::Error;

pub fn run(ctx: &Context, args: &RolloverArgs) -> Result<u8, Error> {
    let wired = Wired::from_ctx_with(ctx, Providers::Of(&args.name))?;
    let mut engine = wired.engine();
    engine.options.verbose = ctx.global.verbose;
    if args.emergency {
        let rt = super::runtime()?;
        // As with --wait: SIGTERM / SIGINT do not kill the emergency half-way (it finishes;
        // one killed anyway is finished by the next pass).
        rt.block_on(async { crate::engine::real::watch_stop_signals() })?;
        let report = rt.block_on(engine.emergency(&args.name, args.dry_run))?;
        print(args.json, &report, || report.text())?;
        return Ok(report.exit_code());
    }
    let rt = super::runtime()?;
    let showing = ShowingClock::new(std::io::stderr().is_terminal());
    if args.wait {
        // SIGTERM / SIGINT end the wait cleanly instead of killing a switch half-way.
        rt.block_on(async { crate::engine::real::watch_stop_signals() })?;
        engine.io.clock = &showing;
    }
    let report =
        rt.block_on(engine.rollover(&args.name, args.wait, args.max_wait, args.dry_run))?;
    print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}

/// The system clock, showing what `--wait` waits for on stderr: on a terminal one line
/// rewritten every second (time left), elsewhere (logs, certbot, systemd) a plain
/// timestamped line each time what it waits for changes.
struct ShowingClock {
    tty: bool,
    notice: Mutex<Option<WaitNotice>>,
    lines: Mutex<NoticeLines>,
}

impl ShowingClock {
    fn new(tty: bool) -> Self {
        ShowingClock {
            tty,
            notice: Mutex::new(None),
            lines: Mutex::new(NoticeLines::default()),
        }
    }
}

#[async_trait]
impl Clock for ShowingClock {
    fn now(&self) -> Timestamp {
        SystemClock.now()
    }

    fn monotonic(&self) -> Result<crate::rollover::clock::Monotonic, String> {
        SystemClock.monotonic()
    }

    fn stop_requested(&self) -> Option<&'static str> {
        SystemClock.stop_requested()
    }

    fn waiting(&self, notice: &WaitNotice) {
        if self.tty {
            *self.notice.lock().unwrap_or_else(|e| e.into_inner()) = Some(notice.clone());
            return;
        }
        let line = self
            .lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .line(notice, self.now());
        if let Some(line) = line {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    async fn sleep(&self, d: Duration) {
        let notice = self.notice.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(notice) = notice.filter(|_| self.tty) else {
            return SystemClock.sleep(d).await;
        };
        let end = tokio::time::Instant::now() + d;
        let mut err = std::io::stderr();
        loop {
            let _ = write!(err, "\r\x1b[K{}", notice.line(self.now()));
            let _ = err.flush();
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || self.stop_requested().is_some() {
                break;
            }
            SystemClock.sleep(left.min(Duration::from_secs(1))).await;
        }
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}
