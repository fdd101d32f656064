//! `danerollover status`.

use super::Context;
use crate::cli::StatusArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &StatusArgs) -> Result<u8, Error> {
    Err(super::not_built("status"))
}
