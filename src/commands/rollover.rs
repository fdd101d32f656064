//! `danerollover rollover NAME`: switch the lineage to its next key when that is safe
//! (exit 75 with the reasons when it is not yet); `--wait` looks again until it is;
//! `--emergency` switches at once after a key compromise (exit 1 when refused).

use super::Context;
use super::wire::{Providers, Wired, print};
use crate::cli::RolloverArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &RolloverArgs) -> Result<u8, Error> {
    let wired = Wired::from_ctx_with(ctx, Providers::Of(&args.name))?;
    let engine = wired.engine();
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
    if args.wait {
        // SIGTERM / SIGINT end the wait cleanly instead of killing a switch half-way.
        rt.block_on(async { crate::engine::real::watch_stop_signals() })?;
    }
    let report =
        rt.block_on(engine.rollover(&args.name, args.wait, args.max_wait, args.dry_run))?;
    print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}
