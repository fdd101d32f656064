//! certbot's files: lineages (`live/`, `archive/`, `renewal/NAME.conf`), the ConfigObj
//! format of renewal confs, and the one edit danerollover makes to them (`reuse_key = True`).
//!
//! - [`conf`]: [`RenewalConf`], parsing (pure) and byte-exact edits of a renewal conf.
//! - [`lineage`]: [`Lineage`], one lineage as it is on disk ([`load`], [`list`]), with its
//!   live certificate, key, archive versions and the problems danerollover cares about.
//! - [`refusal`]: certbot's evidence (its log, a switch's output) of the CA refusing a key.
//! - [`version`]: certbot's version and what it lacks for a lineage's settings.

pub mod client;
pub mod conf;
pub mod lineage;
pub mod refusal;
pub mod version;

pub use super::error::CertbotError;
pub use client::Certbot;

pub use conf::{ConfError, Edit, RenewalConf, ReuseKey, Value};
pub use lineage::{
    Kind, Lineage, Listed, LiveCert, LiveLink, Problem, ProblemKind, check_name, list, load,
    locate_live_dir, problems_of, renewal_conf_path,
};
