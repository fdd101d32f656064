//! The plain-text dialogues before TLS: SMTP (RFC 3207), IMAP (RFC 9051 6.2.1), POP3
//! (RFC 2595 4). Generic over the stream, so tests can drive them through an in-memory pipe.
//!
//! Replies are read line by line with bounded line length and line count. After the
//! server's "go ahead" nothing may be buffered: bytes sent before the client's TLS
//! ClientHello would be a STARTTLS command-injection symptom (CVE-2011-0411 and kin), and
//! the probe refuses them.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{ProbeError, Protocol};

/// The longest reply line accepted (RFC 5321 4.5.3.1.5 says 512 octets; be generous).
const MAX_LINE: usize = 8192;
/// The most lines one reply may have.
const MAX_LINES: usize = 200;

/// A dialogue failure, before the address is known.
#[derive(Debug)]
pub enum DialogueError {
    Io {
        stage: &'static str,
        source: std::io::Error,
    },
    Protocol(String),
}

impl DialogueError {
    pub fn at(self, addr: SocketAddr) -> ProbeError {
        match self {
            DialogueError::Io { stage, source } => ProbeError::Io {
                addr,
                stage,
                source,
            },
            DialogueError::Protocol(message) => ProbeError::Protocol { addr, message },
        }
    }
}

fn io(stage: &'static str) -> impl FnOnce(std::io::Error) -> DialogueError {
    move |source| DialogueError::Io { stage, source }
}

/// Reads CRLF (or LF) terminated lines, keeping what it over-reads.
pub struct LineReader<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineReader<S> {
    pub fn new(stream: S) -> Self {
        LineReader {
            stream,
            buf: Vec::new(),
        }
    }

    /// One line without its line ending.
    pub async fn read_line(&mut self, stage: &'static str) -> Result<String, DialogueError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(DialogueError::Protocol(format!(
                    "{stage}: reply line longer than {MAX_LINE} bytes"
                )));
            }
            let mut chunk = [0u8; 1024];
            let n = self.stream.read(&mut chunk).await.map_err(io(stage))?;
            if n == 0 {
                return Err(DialogueError::Io {
                    stage,
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ),
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn send(&mut self, line: &str, stage: &'static str) -> Result<(), DialogueError> {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(io(stage))?;
        self.stream.flush().await.map_err(io(stage))
    }

    /// The stream, once the server said "go ahead": refuses bytes the server sent early.
    pub fn into_tls_ready(self, what: &str) -> Result<S, DialogueError> {
        if self.buf.is_empty() {
            Ok(self.stream)
        } else {
            Err(DialogueError::Protocol(format!(
                "the server sent {} bytes after its {what} reply, before TLS (possible command injection)",
                self.buf.len()
            )))
        }
    }
}

/// One line of an SMTP reply: code, whether more lines follow, text.
pub fn parse_smtp_line(line: &str) -> Option<(u16, bool, &str)> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = code.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, false, "")),
        Some(b' ') => Some((code, false, &line[4..])),
        Some(b'-') => Some((code, true, &line[4..])),
        Some(_) => None,
    }
}

/// A whole (possibly multi-line) SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl SmtpReply {
    /// Whether an EHLO reply advertises the extension `keyword` (RFC 5321 4.1.1.1: the
    /// first word of a line after the greeting line).
    pub fn has_extension(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        })
    }

    fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

pub async fn read_smtp_reply<S: AsyncRead + AsyncWrite + Unpin>(
    r: &mut LineReader<S>,
    stage: &'static str,
) -> Result<SmtpReply, DialogueError> {
    let mut lines = Vec::new();
    let mut first_code = None;
    loop {
        let line = r.read_line(stage).await?;
        let Some((code, more, text)) = parse_smtp_line(&line) else {
            return Err(DialogueError::Protocol(format!(
                "{stage}: not an SMTP reply line: {:?}",
                truncate(&line)
            )));
        };
        if *first_code.get_or_insert(code) != code {
            return Err(DialogueError::Protocol(format!(
                "{stage}: reply lines with different codes"
            )));
        }
        lines.push(text.to_string());
        if !more {
            return Ok(SmtpReply { code, lines });
        }
        if lines.len() >= MAX_LINES {
            return Err(DialogueError::Protocol(format!(
                "{stage}: reply longer than {MAX_LINES} lines"
            )));
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Speak `protocol` up to the point where TLS starts; returns the stream then.
pub async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    protocol: Protocol,
    helo: &str,
) -> Result<S, DialogueError> {
    match protocol {
        Protocol::Tls => Ok(stream),
        Protocol::Smtp => smtp(stream, helo).await,
        Protocol::Imap => imap(stream).await,
        Protocol::Pop3 => pop3(stream).await,
    }
}

async fn smtp<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    helo: &str,
) -> Result<S, DialogueError> {
    let mut r = LineReader::new(stream);
    let banner = read_smtp_reply(&mut r, "SMTP greeting").await?;
    if banner.code != 220 {
        return Err(DialogueError::Protocol(format!(
            "SMTP greeting is not 220: {}",
            banner.text()
        )));
    }
    r.send(&format!("EHLO {helo}"), "SMTP EHLO").await?;
    let ehlo = read_smtp_reply(&mut r, "SMTP EHLO").await?;
    if ehlo.code != 250 {
        return Err(DialogueError::Protocol(format!(
            "SMTP EHLO refused: {}",
            ehlo.text()
        )));
    }
    if !ehlo.has_extension("STARTTLS") {
        return Err(DialogueError::Protocol(
            "the SMTP server does not offer STARTTLS".to_string(),
        ));
    }
    r.send("STARTTLS", "SMTP STARTTLS").await?;
    let go = read_smtp_reply(&mut r, "SMTP STARTTLS").await?;
    if go.code != 220 {
        return Err(DialogueError::Protocol(format!(
            "SMTP STARTTLS refused: {}",
            go.text()
        )));
    }
    r.into_tls_ready("STARTTLS")
}

async fn imap<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<S, DialogueError> {
    let mut r = LineReader::new(stream);
    let greeting = r.read_line("IMAP greeting").await?;
    if !starts_with_ci(&greeting, "* OK") {
        return Err(DialogueError::Protocol(format!(
            "IMAP greeting is not \"* OK\": {:?}",
            truncate(&greeting)
        )));
    }
    r.send("a001 STARTTLS", "IMAP STARTTLS").await?;
    for _ in 0..MAX_LINES {
        let line = r.read_line("IMAP STARTTLS").await?;
        if line.starts_with("* ") {
            continue;
        }
        if starts_with_ci(&line, "a001 OK") {
            return r.into_tls_ready("STARTTLS");
        }
        return Err(DialogueError::Protocol(format!(
            "IMAP STARTTLS refused: {:?}",
            truncate(&line)
        )));
    }
    Err(DialogueError::Protocol(
        "IMAP STARTTLS: no tagged reply".to_string(),
    ))
}

async fn pop3<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<S, DialogueError> {
    let mut r = LineReader::new(stream);
    let greeting = r.read_line("POP3 greeting").await?;
    if !greeting.starts_with("+OK") {
        return Err(DialogueError::Protocol(format!(
            "POP3 greeting is not +OK: {:?}",
            truncate(&greeting)
        )));
    }
    r.send("STLS", "POP3 STLS").await?;
    let reply = r.read_line("POP3 STLS").await?;
    if !reply.starts_with("+OK") {
        return Err(DialogueError::Protocol(format!(
            "POP3 STLS refused: {:?}",
            truncate(&reply)
        )));
    }
    r.into_tls_ready("STLS")
}

fn starts_with_ci(line: &str, prefix: &str) -> bool {
    line.len() >= prefix.len()
        && line.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream, duplex};

    #[test]
    fn smtp_lines() {
        assert_eq!(parse_smtp_line("220 hi"), Some((220, false, "hi")));
        assert_eq!(
            parse_smtp_line("250-STARTTLS"),
            Some((250, true, "STARTTLS"))
        );
        assert_eq!(parse_smtp_line("250"), Some((250, false, "")));
        assert_eq!(parse_smtp_line("25x ok"), None);
        assert_eq!(parse_smtp_line("250+x"), None);
        assert_eq!(parse_smtp_line(""), None);
        assert_eq!(parse_smtp_line("é50 x"), None);
    }

    #[test]
    fn ehlo_extensions_are_first_words_after_the_greeting_line() {
        let r = SmtpReply {
            code: 250,
            lines: vec![
                "STARTTLS.example greets you".into(),
                "PIPELINING".into(),
                "starttls".into(),
            ],
        };
        assert!(r.has_extension("STARTTLS"));
        let r = SmtpReply {
            code: 250,
            lines: vec!["STARTTLS".into(), "SIZE 1000".into()],
        };
        assert!(!r.has_extension("STARTTLS"));
    }

    /// Plays a server script on the other end: each (expect, reply) pair waits for a line
    /// starting with `expect` (or nothing when empty) and writes `reply`.
    async fn server(other: DuplexStream, script: Vec<(&'static str, &'static str)>) -> Vec<String> {
        let (rd, mut wr) = tokio::io::split(other);
        let mut rd = BufReader::new(rd);
        let mut seen = Vec::new();
        for (expect, reply) in script {
            if !expect.is_empty() {
                let mut line = String::new();
                rd.read_line(&mut line).await.unwrap();
                assert!(line.starts_with(expect), "{line:?} vs {expect:?}");
                seen.push(line.trim_end().to_string());
            }
            wr.write_all(reply.as_bytes()).await.unwrap();
        }
        seen
    }

    async fn run(
        protocol: Protocol,
        script: Vec<(&'static str, &'static str)>,
    ) -> (Result<(), String>, Vec<String>) {
        let (client, other) = duplex(4096);
        let srv = tokio::spawn(server(other, script));
        let res = negotiate(client, protocol, "probe.example")
            .await
            .map(|_| ())
            .map_err(|e| match e {
                DialogueError::Protocol(m) => m,
                DialogueError::Io { stage, source } => format!("{stage}: {source}"),
            });
        (res, srv.await.unwrap())
    }

    #[tokio::test]
    async fn smtp_multiline_banner_ehlo_starttls() {
        let (res, seen) = run(
            Protocol::Smtp,
            vec![
                (
                    "",
                    "220-mail.example.test ESMTP\r\n220-second line\r\n220 ready\r\n",
                ),
                (
                    "EHLO",
                    "250-mail.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
                ),
                ("STARTTLS", "220 2.0.0 Ready to start TLS\r\n"),
            ],
        )
        .await;
        assert_eq!(res, Ok(()));
        assert_eq!(seen, vec!["EHLO probe.example", "STARTTLS"]);
    }

    #[tokio::test]
    async fn smtp_without_starttls_is_refused() {
        let (res, _) = run(
            Protocol::Smtp,
            vec![
                ("", "220 hi\r\n"),
                ("EHLO", "250-mail\r\n250 PIPELINING\r\n"),
            ],
        )
        .await;
        assert!(res.unwrap_err().contains("does not offer STARTTLS"));
    }

    #[tokio::test]
    async fn smtp_bad_greeting_and_refused_starttls() {
        let (res, _) = run(Protocol::Smtp, vec![("", "554 go away\r\n")]).await;
        assert!(res.unwrap_err().contains("554 go away"));
        let (res, _) = run(
            Protocol::Smtp,
            vec![
                ("", "220 hi\r\n"),
                ("EHLO", "250-mail\r\n250 STARTTLS\r\n"),
                ("STARTTLS", "454 4.7.0 TLS not available\r\n"),
            ],
        )
        .await;
        assert!(res.unwrap_err().contains("454"));
    }

    #[tokio::test]
    async fn smtp_injected_bytes_after_220_are_refused() {
        let (res, _) = run(
            Protocol::Smtp,
            vec![
                ("", "220 hi\r\n"),
                ("EHLO", "250-mail\r\n250 STARTTLS\r\n"),
                ("STARTTLS", "220 go\r\n250 injected\r\n"),
            ],
        )
        .await;
        assert!(res.unwrap_err().contains("command injection"));
    }

    #[tokio::test]
    async fn imap_and_pop3() {
        let (res, seen) = run(
            Protocol::Imap,
            vec![
                ("", "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
                (
                    "a001 STARTTLS",
                    "* CAPABILITY IMAP4rev1\r\na001 OK Begin TLS\r\n",
                ),
            ],
        )
        .await;
        assert_eq!(res, Ok(()));
        assert_eq!(seen, vec!["a001 STARTTLS"]);
        let (res, _) = run(
            Protocol::Imap,
            vec![("", "* OK hi\r\n"), ("a001", "a001 BAD no\r\n")],
        )
        .await;
        assert!(res.unwrap_err().contains("a001 BAD"));
        let (res, seen) = run(
            Protocol::Pop3,
            vec![("", "+OK POP3 ready\r\n"), ("STLS", "+OK Begin TLS\r\n")],
        )
        .await;
        assert_eq!(res, Ok(()));
        assert_eq!(seen, vec!["STLS"]);
        let (res, _) = run(
            Protocol::Pop3,
            vec![("", "+OK hi\r\n"), ("STLS", "-ERR no\r\n")],
        )
        .await;
        assert!(res.unwrap_err().contains("-ERR"));
    }

    #[tokio::test]
    async fn closed_connection_and_endless_lines() {
        let (res, _) = run(Protocol::Smtp, vec![]).await;
        assert!(res.unwrap_err().contains("closed"));
        let long: &'static str =
            Box::leak(format!("220 {}", "x".repeat(MAX_LINE + 10)).into_boxed_str());
        let (client, other) = duplex(64 * 1024);
        let srv = tokio::spawn(async move {
            let mut other = other;
            other.write_all(long.as_bytes()).await.unwrap();
            other
        });
        let err = negotiate(client, Protocol::Smtp, "x").await.err().unwrap();
        assert!(matches!(err, DialogueError::Protocol(m) if m.contains("longer than")));
        drop(srv.await.unwrap());
    }
}
