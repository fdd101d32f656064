//! `danerollover tlsa`: TLSA records of certificate, key, public key and CSR files.
//!
//! One output line per file, in order; a file that cannot be used gets one line on stderr
//! naming it and what is wrong, the others are still printed, and the exit code is 2.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::Context;
use crate::cli::TlsaArgs;
use crate::error::{Error, exit};
use crate::material::{self, MaterialError};
use crate::tlsa::{Matching, Selector, TlsaRecord, Usage, owner_name};

/// One JSON output object.
#[derive(Debug, Serialize)]
struct JsonRecord<'a> {
    file: String,
    owner: Option<&'a str>,
    usage: u8,
    selector: u8,
    matching: u8,
    data: String,
}

/// The record of one file's bytes.
fn record_of(
    bytes: &[u8],
    usage: Usage,
    selector: Selector,
    matching: Matching,
    depth: Option<usize>,
) -> Result<TlsaRecord, MaterialError> {
    material::parse(bytes)?.tlsa(usage, selector, matching, depth)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("no such file".into()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
}

/// Print the records of every file; exit 2 when any file could not be used.
pub fn run(_ctx: &Context, args: &TlsaArgs) -> Result<u8, Error> {
    let usage = Usage::try_from(args.usage).map_err(|e| Error::Usage(e.to_string()))?;
    let selector = Selector::try_from(args.selector).map_err(|e| Error::Usage(e.to_string()))?;
    let matching = Matching::try_from(args.matching).map_err(|e| Error::Usage(e.to_string()))?;
    let owner = match &args.host {
        Some(host) => {
            let host = host.trim();
            if host.trim_end_matches('.').is_empty() || host.contains(char::is_whitespace) {
                return Err(Error::Usage(format!(
                    "--host {host:?} is not a host name (e.g. mail.example.com)"
                )));
            }
            Some(owner_name(host, args.port, args.proto.label()))
        }
        None => None,
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut json = Vec::new();
    for path in &args.files {
        let result = read(path).and_then(|bytes| {
            record_of(&bytes, usage, selector, matching, args.depth).map_err(|e| e.to_string())
        });
        match result {
            Ok(record) => {
                if args.json {
                    json.push(JsonRecord {
                        file: path.display().to_string(),
                        owner: owner.as_deref(),
                        usage: record.usage as u8,
                        selector: record.selector as u8,
                        matching: record.matching as u8,
                        data: record.data_hex(),
                    });
                } else {
                    let line = match &owner {
                        Some(owner) => format!("{owner} IN TLSA {record}"),
                        None => record.to_string(),
                    };
                    writeln!(out, "{line}").map_err(|e| Error::io("<stdout>", e))?;
                }
            }
            Err(problem) => {
                failed = true;
                // Keep stdout and stderr in order for people reading both.
                out.flush().map_err(|e| Error::io("<stdout>", e))?;
                eprintln!("danerollover: {}: {problem}", path.display());
            }
        }
    }
    if args.json {
        serde_json::to_writer_pretty(&mut out, &json)
            .map_err(|e| Error::Failed(format!("cannot write JSON: {e}")))?;
        writeln!(out).map_err(|e| Error::io("<stdout>", e))?;
    }
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    Ok(if failed { exit::BAD_INPUT } else { exit::OK })
}
