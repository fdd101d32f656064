//! `danerollover run`: the periodic job (a timer or cron, e.g. hourly): for every managed
//! lineage, observe, republish drift, remove retired records that are due, and do the
//! scheduled rollovers that are due and safe.

use super::Context;
use super::wire::{Wired, print};
use crate::cli::RunArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &RunArgs) -> Result<u8, Error> {
    let wired = Wired::from_ctx(ctx)?;
    let mut engine = wired.engine();
    engine.options.verbose = ctx.global.verbose;
    engine.options.fresh = args.fresh;
    let report = super::runtime()?.block_on(engine.run(args.dry_run))?;
    print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}
