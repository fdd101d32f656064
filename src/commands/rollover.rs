//! `danerollover rollover NAME`: switch the lineage to its next key when that is safe
//! (exit 75 with the reasons when it is not yet); `--wait` looks again until it is.

use super::Context;
use super::wire::{Providers, Wired, print};
use crate::cli::RolloverArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &RolloverArgs) -> Result<u8, Error> {
    let wired = Wired::from_ctx_with(ctx, Providers::Of(&args.name))?;
    let engine = wired.engine();
    let report = super::runtime()?.block_on(engine.rollover(
        &args.name,
        args.wait,
        args.max_wait,
        args.dry_run,
    ))?;
    print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}
