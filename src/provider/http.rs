//! The HTTP side shared by the API back ends: one request with bounded retries, answers
//! classified, and failure texts that never carry a header or a secret.

use std::fmt;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, StatusCode};

use super::retry::{Decision, Failure, RetryPolicy, parse_retry_after};
use super::{ProviderError, sanitize};
use crate::secrets::Secret;

/// Longest piece of a response body quoted in an error.
const BODY_SNIPPET: usize = 300;

/// A successful (or accepted) answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
}

/// Why a request failed, after the retries. Display is safe to show.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub failure: Failure,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// A sanitized piece of the answer's body, or the transport error.
    pub detail: String,
    pub attempts: u32,
    /// From the first attempt to the give-up, and the budget it had.
    pub elapsed: Duration,
    pub budget: Duration,
}

impl HttpError {
    /// The error of the last of several rounds (each one attempt), counted as attempts.
    pub fn after_rounds(mut self, rounds: u32, elapsed: Duration) -> HttpError {
        self.attempts = rounds;
        self.elapsed = elapsed;
        self
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.status, &self.failure) {
            (Some(status), _) => {
                let reason = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "HTTP {status} {reason}")?;
                if let Failure::Http {
                    retry_after: Some(wait),
                    ..
                } = self.failure
                {
                    write!(f, " (Retry-After {} s)", wait.as_secs())?;
                }
            }
            (None, Failure::Timeout) => f.write_str("no answer within the timeout")?,
            (None, Failure::ConnectionRefused) => f.write_str("connection refused")?,
            (None, Failure::Connect) => f.write_str("cannot connect")?,
            (None, Failure::Dropped) => {
                f.write_str("the connection was closed before a whole answer came")?
            }
            (None, _) => f.write_str("request failed")?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        f.write_str(&super::retry::after_attempts(
            self.attempts,
            self.elapsed,
            self.budget,
        ))?;
        Ok(())
    }
}

/// An HTTP API client bound to one provider and its secret (used only to redact).
pub(crate) struct Api {
    client: Client,
    secret: Secret,
    pub policy: RetryPolicy,
}

impl Api {
    pub fn new(provider: &str, timeout: Duration, secret: Secret) -> Result<Api, ProviderError> {
        // No redirects: a redirect to another host would carry custom secret headers
        // (X-API-Key) along; an API that redirects is misconfigured anyway.
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("danerollover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Config {
                provider: provider.to_string(),
                message: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Api {
            client,
            secret,
            policy: RetryPolicy::default(),
        })
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Redact and bound a text for an error message.
    pub fn clean(&self, text: &str) -> String {
        sanitize(text, &[&self.secret], BODY_SNIPPET)
    }

    /// Send the request `make` builds (again for every attempt). Answers with a 2xx status
    /// or one listed in `accept` are returned; others are retried as the policy says.
    pub async fn send(
        &self,
        accept: &[u16],
        make: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Reply, HttpError> {
        self.send_with(&self.policy, accept, make).await
    }

    /// [`Api::send`] without retries: for a write made from a read, which must be made
    /// again from a fresh read rather than sent again as it is (see `verify`).
    pub async fn send_once(
        &self,
        accept: &[u16],
        make: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Reply, HttpError> {
        let once = RetryPolicy {
            attempts: 1,
            ..self.policy
        };
        self.send_with(&once, accept, make).await
    }

    async fn send_with(
        &self,
        policy: &RetryPolicy,
        accept: &[u16],
        make: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Reply, HttpError> {
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            attempt += 1;
            let (failure, status, detail) = match make(&self.client).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
                    match resp.text().await {
                        Ok(body) => {
                            if (200..300).contains(&status) || accept.contains(&status) {
                                return Ok(Reply { status, body });
                            }
                            (
                                Failure::Http {
                                    status,
                                    retry_after,
                                },
                                Some(status),
                                self.clean(&body),
                            )
                        }
                        Err(e) => transport(&e, self),
                    }
                }
                Err(e) => transport(&e, self),
            };
            match policy.decide(attempt, started.elapsed(), &failure) {
                Decision::RetryAfter(wait) => tokio::time::sleep(wait).await,
                Decision::GiveUp => {
                    return Err(HttpError {
                        failure,
                        status,
                        detail,
                        attempts: attempt,
                        elapsed: started.elapsed(),
                        budget: self.policy.budget,
                    });
                }
            }
        }
    }
}

/// Classify a transport error; the text names the cause without the URL's query or any
/// header.
fn transport(e: &reqwest::Error, api: &Api) -> (Failure, Option<u16>, String) {
    let chain = error_chain(e);
    let failure = if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        if chain.to_ascii_lowercase().contains("refused") {
            Failure::ConnectionRefused
        } else {
            Failure::Connect
        }
    } else if dropped(&chain) {
        Failure::Dropped
    } else {
        Failure::Other
    };
    let host = e
        .url()
        .map(|u| {
            let mut s = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?"));
            if let Some(p) = u.port() {
                s.push_str(&format!(":{p}"));
            }
            s
        })
        .unwrap_or_default();
    (failure, None, api.clean(&format!("{host}: {chain}")))
}

/// Whether a transport error's text says the connection went away mid-exchange.
fn dropped(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    [
        "connection closed",
        "connection reset",
        "incomplete message",
        "broken pipe",
        "unexpected eof",
        "unexpected end of file",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// The error's own text and its causes, without reqwest's "for url (...)" part.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        let text = e.to_string();
        let text = match text.find(" for url (") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        parts.push(text);
    }
    parts.join(": ")
}

/// The API base URL of provider `name`, or a configuration error naming it.
pub fn base_url(name: &str, url: &str) -> Result<reqwest::Url, ProviderError> {
    reqwest::Url::parse(url).map_err(|e| ProviderError::Config {
        provider: name.to_string(),
        message: format!("url {url:?} is not a URL: {e}"),
    })
}
