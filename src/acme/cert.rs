//! A lineage's certificate as the server loads it: its key, names and expiry.

use crate::keys::{self, KeySpec};
use crate::material;

/// The live certificate (`cert.pem`, lego's `NAME.crt`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCert {
    /// Its DER.
    pub der: Vec<u8>,
    /// Its SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// Its DNS names: the subject common name first, then the other subjectAltName DNS
    /// names (certbot's order).
    pub domains: Vec<String>,
    /// Its notAfter.
    pub not_after: jiff::Timestamp,
    /// Its key's type, or why it is not supported.
    pub spec: Result<KeySpec, String>,
}

/// The leaf certificate of a certificate file (the first one), with its names and expiry.
pub fn live_cert_of(bytes: &[u8]) -> Result<LiveCert, String> {
    let m = material::parse(bytes).map_err(|e| e.to_string())?;
    let Some(first) = m.certs().first() else {
        return Err(format!("it holds a {}, not a certificate", m.kind()));
    };
    let (_, x509) = x509_parser::parse_x509_certificate(&first.der)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let mut domains: Vec<String> = Vec::new();
    for cn in x509.subject().iter_common_name() {
        if let Ok(s) = cn.as_str() {
            domains.push(s.to_string());
        }
    }
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = name
                && !domains.iter().any(|x| x == d)
            {
                domains.push((*d).to_string());
            }
        }
    }
    let not_after = jiff::Timestamp::from_second(x509.validity().not_after.timestamp())
        .map_err(|e| format!("notAfter out of range: {e}"))?;
    let spec = keys::spec_of_spki(&first.spki).map_err(|e| e.to_string());
    Ok(LiveCert {
        der: first.der.clone(),
        spki_der: first.spki.clone(),
        domains,
        not_after,
        spec,
    })
}
