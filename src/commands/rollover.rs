//! `danerollover rollover`.

use super::Context;
use crate::cli::RolloverArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &RolloverArgs) -> Result<u8, Error> {
    Err(super::not_built("rollover"))
}
