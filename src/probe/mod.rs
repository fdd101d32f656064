//! TLS and STARTTLS (SMTP, IMAP, POP3) connections to live servers, capturing the chain
//! they serve.

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Other(String),
}
