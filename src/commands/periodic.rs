//! `danerollover run`.

use super::Context;
use crate::cli::RunArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &RunArgs) -> Result<u8, Error> {
    Err(super::not_built("run"))
}
