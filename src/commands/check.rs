//! `danerollover check`.

use super::Context;
use crate::cli::CheckArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &CheckArgs) -> Result<u8, Error> {
    Err(super::not_built("check"))
}
