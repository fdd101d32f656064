//! certbot's evidence of a renewal the CA refused because of the key
//! (`urn:ietf:params:acme:error:badPublicKey`), handed to the core as
//! [`RenewalRefusal::KeyBlocked`].
//!
//! Why the log: when certbot's own timer renews and the CA refuses, no deploy hook runs
//! (hooks run after a successful renewal only) and certbot's exit status goes to its
//! timer's journal. What remains is certbot's log (`--logs-dir`, by default
//! `/var/log/letsencrypt`): certbot starts a fresh `letsencrypt.log` for every run and
//! rotates the older ones to `letsencrypt.log.1`, `.2`, ... (a rename keeps a file's
//! modification time). It always logs at DEBUG level there, which includes every JWS
//! payload it sends (the finalize request's `"csr"`, base64url DER), every response
//! (the problem document with its `type`), and for each lineage whose renewal failed
//! `Failed to renew certificate NAME with error: ...` (checked in certbot 2.1's
//! `renewal.py` and `acme/client.py`, and the same in 5.x).
//!
//! So `run` reads the log files modified since its last pass ([`scan`]), and in each
//! ([`parse_log`]) ties the `badPublicKey` answer to the CSR of the request it answered:
//! the refused key is named by its SPKI, not guessed from which key was live. A refusal
//! with no CSR before it (the CA refusing the account key answers the same type) names no
//! key.
//!
//! A switch's own certbot run is read from its output ([`refusal_in_output`]): there the
//! refused key is the next key the switch planted.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use jiff::Timestamp;

use crate::rollover::{KeyInfo, RenewalRefusal};

pub use crate::rollover::blocked::BAD_PUBLIC_KEY;

/// The short problem type, as it also appears without the URN prefix.
const SHORT: &str = "badPublicKey";

/// What certbot's output says of the CA refusing the key, when it does (the switch's
/// certbot run: `Failed to renew certificate NAME with error:
/// urn:ietf:params:acme:error:badPublicKey :: ...`): the error, from the problem type on.
/// Also finds it in a message that joined the output's lines with ` | `.
pub fn refusal_in_output(text: &str) -> Option<String> {
    let part = text
        .lines()
        .flat_map(|l| l.split(" | "))
        .find(|l| l.contains(BAD_PUBLIC_KEY))?;
    let from = part.find(BAD_PUBLIC_KEY).unwrap_or(0);
    Some(part[from..].trim().to_string())
}

/// One refusal found in one log file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRefusal {
    /// The lineage certbot names in `Failed to renew certificate NAME with error:`.
    pub lineage: String,
    /// The SPKI (DER) of the CSR the refused request carried, when the log shows it.
    pub spki: Option<Vec<u8>>,
    /// The error certbot reported.
    pub detail: String,
}

/// The refusals of one certbot log file's text: each `Failed to renew certificate NAME
/// with error: ...badPublicKey...`, with the CSR of the request the `badPublicKey`
/// response answered (the JWS payload logged just before that request).
pub fn parse_log(text: &str) -> Vec<LoggedRefusal> {
    let mut out = Vec::new();
    // The CSR of the last JWS payload sent, until a response answers it.
    let mut pending: Option<Vec<u8>> = None;
    // The CSR of a request answered with badPublicKey, until certbot reports the failure.
    let mut refused: Option<Option<Vec<u8>>> = None;
    for record in records(text) {
        let message = message_of(record);
        if message.starts_with("JWS payload:") {
            pending = csr_in(message);
        } else if message.starts_with("Received response:") {
            let answer = pending.take();
            if message.contains(BAD_PUBLIC_KEY) {
                refused = Some(answer);
            }
        } else if let Some(rest) = message.strip_prefix("Failed to renew certificate ") {
            let Some((lineage, error)) = rest.split_once(" with error: ") else {
                continue;
            };
            if !error.contains(SHORT) {
                refused = None;
                continue;
            }
            out.push(LoggedRefusal {
                lineage: lineage.trim().to_string(),
                spki: refused.take().flatten(),
                detail: error.lines().next().unwrap_or("").trim().to_string(),
            });
        }
    }
    out
}

/// The log records of certbot's file format (`%(asctime)s:%(levelname)s:%(name)s:%(message)s`,
/// asctime `2026-12-07 10:00:00,123`): a record runs until the next line that starts one.
fn records(text: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if starts_record(line) {
            starts.push(at);
        }
        at += line.len();
    }
    let mut out = Vec::new();
    for (i, s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        out.push(&text[*s..end]);
    }
    out
}

fn starts_record(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 24
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[19] == b','
        && b[23] == b':'
}

/// The message of a record: after `asctime:LEVEL:logger:`.
fn message_of(record: &str) -> &str {
    // asctime holds two colons (the time) and is 23 bytes: skip it, then LEVEL and logger.
    let rest = record.get(24..).unwrap_or("");
    let mut parts = rest.splitn(3, ':');
    let _level = parts.next();
    let _logger = parts.next();
    parts.next().unwrap_or("")
}

/// The CSR (DER) in a logged JWS payload (`"csr": "BASE64URL"`), as its SPKI.
fn csr_in(message: &str) -> Option<Vec<u8>> {
    let at = message.find("\"csr\"")?;
    let rest = &message[at + 5..];
    let open = rest.find('"')?;
    let rest = &rest[open + 1..];
    let close = rest.find('"')?;
    let b64 = rest[..close].trim_end_matches('=');
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .ok()?;
    crate::material::parse(&der).ok().map(|m| m.spki().to_vec())
}

/// Errors of reading certbot's logs.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source} (certbot's log directory, `certbot_logs_dir` in the configuration; run needs to read it to see renewals the CA refused)", path.display())]
pub struct LogError {
    /// The file or directory.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// What a scan of the log directory found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The refusals, each with its file and the file's modification time.
    pub refusals: Vec<RenewalRefusal>,
    /// The newest modification time of the files read (the next scan reads only newer
    /// ones); the mark given when nothing newer was found.
    pub mark: Option<Timestamp>,
    /// How many files were read.
    pub files_read: usize,
}

/// Read certbot's log files in `dir` (`letsencrypt.log`, `letsencrypt.log.N`) modified
/// after `mark` (all of them when None), oldest first. A missing directory is an empty
/// scan (certbot creates it on its first run); an unreadable one is an error.
pub fn scan(dir: &Path, mark: Option<Timestamp>) -> Result<Scan, LogError> {
    let err = |path: &Path, source| LogError {
        path: path.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Scan {
                mark,
                ..Scan::default()
            });
        }
        Err(e) => return Err(err(dir, e)),
    };
    let mut files: Vec<(Timestamp, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_log = name == "letsencrypt.log"
            || name
                .strip_prefix("letsencrypt.log.")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_log {
            continue;
        }
        let path = entry.path();
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| err(&path, e))?;
        let Some(at) = timestamp(modified) else {
            continue;
        };
        if mark.is_none_or(|m| at > m) {
            files.push((at, path));
        }
    }
    files.sort();
    let mut scan = Scan {
        mark,
        ..Scan::default()
    };
    for (at, path) in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // Rotated away between the listing and the read: its copy is read as .N next time.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(&path, e)),
        };
        scan.files_read += 1;
        scan.mark = scan.mark.max(Some(at));
        for r in parse_log(&String::from_utf8_lossy(&bytes)) {
            scan.refusals.push(RenewalRefusal::KeyBlocked {
                lineage: r.lineage,
                key: r.spki.map(|s| KeyInfo::from_spki(&s).id),
                at,
                evidence: format!("certbot's log {}", path.display()),
                detail: r.detail,
            });
        }
    }
    Ok(scan)
}

fn timestamp(t: SystemTime) -> Option<Timestamp> {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    Timestamp::new(i64::try_from(d.as_secs()).ok()?, d.subsec_nanos() as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSR (DER) for a fresh P-256 key, and the key's SPKI.
    fn csr() -> (Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["mail.example.test".into()]).unwrap();
        let csr = params.serialize_request(&key).unwrap();
        (
            csr.der().to_vec(),
            rcgen::PublicKeyData::subject_public_key_info(&key),
        )
    }

    fn log(csr_der: &[u8], lineage: &str, problem: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(csr_der);
        format!(
            "2026-12-07 10:00:00,001:DEBUG:certbot._internal.main:certbot version: 2.1.0\n\
             2026-12-07 10:00:00,002:DEBUG:certbot._internal.main:Arguments: ['-q']\n\
             2026-12-07 10:00:01,000:DEBUG:acme.client:JWS payload:\n\
             b'{{\\n  \"identifiers\": []\\n}}'\n\
             2026-12-07 10:00:01,100:DEBUG:acme.client:Received response:\n\
             HTTP 201\n\
             Content-Type: application/json\n\n\
             {{\"status\": \"pending\"}}\n\
             2026-12-07 10:00:02,000:DEBUG:acme.client:JWS payload:\n\
             b'{{\\n  \"csr\": \"{b64}\"\\n}}'\n\
             2026-12-07 10:00:02,010:DEBUG:acme.client:Sending POST request to https://127.0.0.1:14000/finalize-order/x:\n\
             {{\"protected\": \"...\"}}\n\
             2026-12-07 10:00:02,100:DEBUG:acme.client:Received response:\n\
             HTTP 400\n\
             Content-Type: application/problem+json\n\n\
             {{\n  \"type\": \"urn:ietf:params:acme:error:{problem}\",\n  \"detail\": \"key is blocked\"\n}}\n\
             2026-12-07 10:00:02,200:ERROR:certbot._internal.renewal:Failed to renew certificate {lineage} with error: urn:ietf:params:acme:error:{problem} :: The JWS was signed by a public key the server does not support :: key is blocked\n\
             2026-12-07 10:00:02,201:DEBUG:certbot._internal.renewal:Traceback was:\n\
             Traceback (most recent call last):\n  ...\n"
        )
    }

    #[test]
    fn a_refusal_names_the_key_of_the_refused_csr() {
        let (der, spki) = csr();
        let found = parse_log(&log(&der, "mail.example.test", "badPublicKey"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].lineage, "mail.example.test");
        assert_eq!(found[0].spki.as_deref(), Some(spki.as_slice()));
        assert!(found[0].detail.contains("key is blocked"), "{found:?}");
    }

    #[test]
    fn other_failures_and_successes_are_not_refusals() {
        let (der, _) = csr();
        assert!(parse_log(&log(&der, "mail.example.test", "rateLimited")).is_empty());
        assert!(parse_log("").is_empty());
        assert!(
            parse_log("garbage\nFailed to renew certificate x with error: badPublicKey\n")
                .is_empty()
        );
    }

    #[test]
    fn a_refusal_without_a_csr_names_no_key() {
        // The CA refusing the account key (newOrder answered badPublicKey): no CSR sent.
        let text = "2026-12-07 10:00:01,000:DEBUG:acme.client:JWS payload:\n\
             b'{\\n  \"identifiers\": []\\n}'\n\
             2026-12-07 10:00:01,100:DEBUG:acme.client:Received response:\n\
             HTTP 400\n\n\
             {\"type\": \"urn:ietf:params:acme:error:badPublicKey\"}\n\
             2026-12-07 10:00:02,200:ERROR:certbot._internal.renewal:Failed to renew certificate a.test with error: urn:ietf:params:acme:error:badPublicKey :: x\n";
        let found = parse_log(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].spki, None);
    }

    #[test]
    fn the_switch_output_names_the_refusal() {
        let out = "Renewing an existing certificate for mail.example.test\n\
                   Failed to renew certificate mail.example.test with error: urn:ietf:params:acme:error:badPublicKey :: The JWS was signed by a public key the server does not support :: key is blocked\n\
                   All renewals failed.\n";
        let found = refusal_in_output(out).unwrap();
        assert!(
            found.starts_with(BAD_PUBLIC_KEY) && found.ends_with("key is blocked"),
            "{found}"
        );
        let joined = "`certbot renew` failed (exit status: 1): Failed to renew certificate m with error: urn:ietf:params:acme:error:badPublicKey :: x | All renewals failed.";
        assert_eq!(
            refusal_in_output(joined).unwrap(),
            "urn:ietf:params:acme:error:badPublicKey :: x"
        );
        assert_eq!(refusal_in_output("Failed: rateLimited"), None);
    }

    #[test]
    fn scan_reads_only_files_newer_than_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let (der, spki) = csr();
        std::fs::write(
            dir.path().join("letsencrypt.log.1"),
            log(&der, "mail.example.test", "badPublicKey"),
        )
        .unwrap();
        std::fs::write(dir.path().join("other.log"), "x").unwrap();
        let first = scan(dir.path(), None).unwrap();
        assert_eq!(first.files_read, 1);
        let RenewalRefusal::KeyBlocked { key, lineage, .. } = &first.refusals[0];
        assert_eq!(lineage, "mail.example.test");
        assert_eq!(key.as_ref(), Some(&KeyInfo::from_spki(&spki).id));
        let again = scan(dir.path(), first.mark).unwrap();
        assert_eq!(again.files_read, 0);
        assert!(again.refusals.is_empty());
        assert_eq!(again.mark, first.mark);
        // No directory: nothing to read, the mark stays.
        let none = scan(&dir.path().join("absent"), first.mark).unwrap();
        assert_eq!(none.mark, first.mark);
    }

    /// Refused renewals are read behind the client: certbot reads its log directory (when
    /// given one); lego keeps no such log, finds none in the same directory and keeps the
    /// mark.
    #[test]
    fn the_certbot_client_reads_its_log_and_other_clients_keep_none() {
        use crate::acme::{AcmeClient, ClientKind, ClientSettings};
        let dir = tempfile::tempdir().unwrap();
        let (der, _) = csr();
        std::fs::write(
            dir.path().join("letsencrypt.log"),
            log(&der, "mail.example.test", "badPublicKey"),
        )
        .unwrap();
        let prefix = ["certbot".to_string()];
        let certbot =
            super::super::client::Certbot::new(dir.path(), &prefix).reading_logs(dir.path());
        let found = certbot.refusals_since(None).unwrap();
        assert_eq!(found.refusals.len(), 1, "{found:?}");
        assert!(found.mark.is_some());
        let bare = super::super::client::Certbot::new(dir.path(), &prefix);
        assert!(bare.refusals_since(None).unwrap().refusals.is_empty());
        let settings = ClientSettings {
            command: Some(
                [
                    "lego",
                    "--path",
                    &dir.path().display().to_string(),
                    "--http",
                ]
                .map(String::from)
                .to_vec(),
            ),
            ..ClientSettings::default()
        };
        let lego = crate::acme::build(ClientKind::Lego, &settings, dir.path(), &prefix).unwrap();
        let mark = Some(Timestamp::from_second(5).unwrap());
        let none = lego.refusals_since(mark).unwrap();
        assert!(none.refusals.is_empty());
        assert_eq!(none.mark, mark);
    }
}
