//! `danerollover dns show|add|remove`.

use super::Context;
use crate::cli::{DnsChangeArgs, DnsShowArgs};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Add,
    Remove,
}

pub fn show(_ctx: &Context, _args: &DnsShowArgs) -> Result<u8, Error> {
    Err(super::not_built("dns show"))
}

pub fn change(_ctx: &Context, _args: &DnsChangeArgs, _direction: Direction) -> Result<u8, Error> {
    Err(super::not_built("dns add/remove"))
}
