//! Whether a host's TLSA RRset leaves room for a key rollover (`--rollover-scheme`).

use super::RolloverScheme;
use crate::dane;
use crate::tlsa::{TlsaRecord, Usage};

/// Whether a TLSA RRset (the usable records) leaves room for a key rollover: internet.nl's
/// "3 1 1 + 3 1 1" (a DANE-EE record for a key not served now, beside the current one) or
/// "3 1 1 + 2 1 1" (a DANE-TA record beside the DANE-EE one). `leaves` are the served leaf
/// certificates; without any, two DANE-EE records count as a scheme.
pub fn rollover_scheme_of(records: &[TlsaRecord], leaves: &[&[u8]]) -> RolloverScheme {
    let ee: Vec<&TlsaRecord> = records
        .iter()
        .filter(|r| r.usage == Usage::DaneEe)
        .collect();
    let ta: Vec<&TlsaRecord> = records
        .iter()
        .filter(|r| r.usage == Usage::DaneTa)
        .collect();
    let params = |r: &TlsaRecord| {
        format!(
            "{} {} {}",
            r.usage as u8, r.selector as u8, r.matching as u8
        )
    };
    if let (Some(e), Some(t)) = (ee.first(), ta.first()) {
        return RolloverScheme {
            ready: true,
            scheme: Some(format!("{} + {}", params(e), params(t))),
        };
    }
    if ee.len() >= 2 {
        let standby = ee
            .iter()
            .find(|r| !leaves.iter().any(|l| dane::ee_matches_leaf(r, l)));
        let in_use = ee
            .iter()
            .find(|r| leaves.iter().any(|l| dane::ee_matches_leaf(r, l)));
        match (leaves.is_empty(), standby, in_use) {
            (true, _, _) => {
                return RolloverScheme {
                    ready: true,
                    scheme: Some(format!("{} + {}", params(ee[0]), params(ee[1]))),
                };
            }
            (false, Some(s), Some(u)) => {
                return RolloverScheme {
                    ready: true,
                    scheme: Some(format!("{} + {}", params(u), params(s))),
                };
            }
            _ => {}
        }
    }
    if ta.len() >= 2 {
        return RolloverScheme {
            ready: true,
            scheme: Some(format!("{} + {}", params(ta[0]), params(ta[1]))),
        };
    }
    RolloverScheme {
        ready: false,
        scheme: None,
    }
}
