//! danerollover: DANE TLSA records for ACME certificates, with key rollovers that never
//! break mail delivery.
//!
//! # Map of the modules
//!
//! The pure core (no files, sockets or clock; given observations and `now`):
//! - [`tlsa`]: typed TLSA records (usage, selector, matching) and computing them from DER.
//! - [`material`]: certificates, chains, keys, public keys and CSRs read from PEM/DER bytes.
//! - [`rollover`]: the rollover as data: phases, the plan (state + observations + now -> actions).
//! - [`status`]: reports built from state and observations.
//! - [`dane`]: matching a served chain against a TLSA RRset (RFC 7671/7672 rules).
//! - [`endpoint`]: what a lineage's endpoints are and what they serve (the observation types
//!   the core decides on; [`probe::endpoint`] observes them).
//!
//! Leaves (I/O behind small traits):
//! - [`acme`]: the ACME clients behind one interface ([`acme::AcmeClient`]): certbot
//!   (lineages on disk, `renewal/NAME.conf` parsing and editing), lego, dehydrated, uacme,
//!   acme.sh and any other (`command`); their files, key reuse, planting and renewal.
//! - [`config`]: the TOML configuration, with documented defaults; [`secrets`] reads secret files;
//!   [`config_edit`] adds sections to the file keeping its comments (toml_edit).
//! - [`keys`]: generating next keys to match a lineage's renewal.conf.
//! - [`provider`]: the DNS provider trait and its back ends (PowerDNS, RFC 2136, deSEC, ...).
//! - [`dns`]: observation of every authoritative server and DNSSEC validation, and reuse of
//!   the last observation of a zone whose serials have not changed (`dns::reuse`).
//! - [`store`]: the state file and the lock.
//! - [`probe`]: TLS / STARTTLS connections to live servers, for `check`.
//! - [`fsutil`]: atomic file writes.
//! - [`fuzzing`]: one pure `fn(&[u8])` per parser fed from outside, for `fuzz/` and the
//!   corpus test.
//!
//! The shell:
//! - [`engine`]: the rollover's imperative shell: lock, repair, observe, plan, act, save,
//!   report, over small traits (with in-memory fakes for tests).
//! - [`cli`]: the command line (clap types, one per command).
//! - [`commands`]: one module per command: load, observe, decide, act, save, report.
//! - [`error`]: the error type every command returns, rendered once by `main`.

pub mod acme;
pub mod cli;
pub mod commands;
pub mod config;
pub mod config_edit;
pub mod dane;
pub mod dns;
pub mod endpoint;
pub mod engine;
pub mod error;
pub mod fsutil;
pub mod fuzzing;
pub mod keys;
pub mod material;
pub mod probe;
pub mod provider;
pub mod rollover;
pub mod secrets;
pub mod status;
pub mod store;
pub mod tlsa;
