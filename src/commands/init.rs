//! `danerollover init`.

use super::Context;
use crate::cli::InitArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &InitArgs) -> Result<u8, Error> {
    Err(super::not_built("init"))
}
