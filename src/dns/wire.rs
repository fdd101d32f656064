//! One DNS exchange with one server: a query over UDP (retransmitted until the deadline),
//! retried over TCP when the answer is truncated. Nothing here interprets the answer.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{DEFAULT_MAX_PAYLOAD_LEN, Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use super::DnsError;

/// Header bits of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// RD: ask a resolver to recurse (off for authoritative servers).
    pub recursion_desired: bool,
    /// The EDNS DO bit: send DNSSEC records.
    pub dnssec_ok: bool,
    /// CD: a validating resolver returns the data even when it does not validate.
    pub checking_disabled: bool,
    /// AD in a query: ask for the AD bit in the answer (RFC 6840 5.7).
    pub authentic_data: bool,
}

impl Flags {
    /// A query to an authoritative server: no recursion, DNSSEC records wanted.
    pub const AUTHORITATIVE: Flags = Flags {
        recursion_desired: false,
        dnssec_ok: true,
        checking_disabled: false,
        authentic_data: false,
    };
    /// A query to a validating resolver whose AD bit is trusted.
    pub const VALIDATING: Flags = Flags {
        recursion_desired: true,
        dnssec_ok: true,
        checking_disabled: false,
        authentic_data: true,
    };
    /// The same with checking disabled: data that does not validate still comes back.
    pub const CHECKING_DISABLED: Flags = Flags {
        recursion_desired: true,
        dnssec_ok: true,
        checking_disabled: true,
        authentic_data: false,
    };
    /// A plain recursive query (addresses).
    pub const RECURSIVE: Flags = Flags {
        recursion_desired: true,
        dnssec_ok: false,
        checking_disabled: false,
        authentic_data: false,
    };
    /// Finding zones and their servers: with CD, so that a zone whose DNSSEC is broken can
    /// still be observed (its validation state is reported apart).
    pub const DISCOVERY: Flags = Flags {
        recursion_desired: true,
        dnssec_ok: false,
        checking_disabled: true,
        authentic_data: false,
    };
}

/// A query message for `name`/`rtype` with `flags` (random id, EDNS0).
pub fn query(name: &Name, rtype: RecordType, flags: Flags) -> Message {
    let mut m = Message::query();
    m.add_query(Query::query(name.clone(), rtype));
    m.metadata.recursion_desired = flags.recursion_desired;
    m.metadata.checking_disabled = flags.checking_disabled;
    m.metadata.authentic_data = flags.authentic_data;
    let mut edns = Edns::new();
    edns.set_max_payload(DEFAULT_MAX_PAYLOAD_LEN)
        .set_dnssec_ok(flags.dnssec_ok);
    m.set_edns(edns);
    m
}

/// What a query is about, for error messages: `TLSA _25._tcp.mail.example.com.`.
pub fn describe(m: &Message) -> String {
    match m.queries.first() {
        Some(q) => format!("{} {}", q.query_type(), q.name()),
        None => "an empty query".to_string(),
    }
}

/// At most this many exchanges at once in the process (each holds a socket): beyond it,
/// queries wait for a slot before their timeout starts, instead of failing for lack of file
/// descriptors.
pub const MAX_CONCURRENT: usize = 256;

static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT);

/// Send `request` to `server` and return its answer, within `timeout` in all (counted from
/// the moment the query can be sent, see [`MAX_CONCURRENT`]).
pub async fn exchange(
    server: SocketAddr,
    request: &Message,
    timeout: Duration,
) -> Result<Message, DnsError> {
    let _slot = SLOTS.acquire().await.map_err(|_| DnsError::Io {
        server,
        what: describe(request),
        message: "no more queries can be sent (shutting down)".to_string(),
    })?;
    let what = describe(request);
    let deadline = Instant::now() + timeout;
    let timed_out = || DnsError::Timeout {
        server,
        what: what.clone(),
        after: timeout,
    };
    let bytes = request.to_vec().map_err(|e| DnsError::Malformed {
        server,
        what: what.clone(),
        message: format!("cannot encode the query: {e}"),
    })?;
    let answer =
        match tokio::time::timeout_at(deadline, udp(server, request, &bytes, deadline)).await {
            Err(_) => return Err(timed_out()),
            Ok(r) => r.map_err(|e| e.into_error(server, &what))?,
        };
    if !answer.metadata.truncation {
        return Ok(answer);
    }
    match tokio::time::timeout_at(deadline, tcp(server, request, &bytes)).await {
        Err(_) => Err(timed_out()),
        Ok(r) => r.map_err(|e| e.into_error(server, &what)),
    }
}

enum Failure {
    Io(std::io::Error),
    Malformed(String),
}

impl Failure {
    fn into_error(self, server: SocketAddr, what: &str) -> DnsError {
        match self {
            Failure::Io(source) => DnsError::Io {
                server,
                what: what.to_string(),
                message: source.to_string(),
            },
            Failure::Malformed(message) => DnsError::Malformed {
                server,
                what: what.to_string(),
                message,
            },
        }
    }
}

/// Whether `answer` answers `request`: same id, a response, same question.
fn answers(request: &Message, answer: &Message) -> bool {
    answer.metadata.id == request.metadata.id
        && answer.metadata.message_type == hickory_proto::op::MessageType::Response
        && match (request.queries.first(), answer.queries.first()) {
            (Some(q), Some(a)) => {
                q.query_type() == a.query_type()
                    && q.query_class() == a.query_class()
                    && q.name().eq_ignore_root(a.name())
            }
            // Some servers omit the question in error answers (FORMERR, NOTIMP).
            (Some(_), None) => {
                answer.metadata.response_code != hickory_proto::op::ResponseCode::NoError
            }
            _ => false,
        }
}

async fn udp(
    server: SocketAddr,
    request: &Message,
    bytes: &[u8],
    deadline: Instant,
) -> Result<Message, Failure> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(Failure::Io)?;
    socket.connect(server).await.map_err(Failure::Io)?;
    // Retransmit a few times within the deadline: UDP may lose the query or the answer.
    let total = deadline.saturating_duration_since(Instant::now());
    let interval = (total / 3).max(Duration::from_millis(500));
    let mut buf = vec![0u8; 65535];
    loop {
        socket.send(bytes).await.map_err(Failure::Io)?;
        let resend_at = Instant::now() + interval;
        loop {
            match tokio::time::timeout_at(resend_at, socket.recv(&mut buf)).await {
                Err(_) => break, // resend
                Ok(Err(e)) => return Err(Failure::Io(e)),
                Ok(Ok(n)) => {
                    // Ignore what does not parse or does not answer this query (spoofing,
                    // late answers): keep waiting for the real one.
                    if let Ok(m) = Message::from_vec(&buf[..n])
                        && answers(request, &m)
                    {
                        return Ok(m);
                    }
                }
            }
        }
    }
}

async fn tcp(server: SocketAddr, request: &Message, bytes: &[u8]) -> Result<Message, Failure> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| Failure::Malformed("query longer than 65535 bytes".into()))?;
    let mut stream = TcpStream::connect(server).await.map_err(Failure::Io)?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(Failure::Io)?;
    loop {
        let n = stream.read_u16().await.map_err(Failure::Io)? as usize;
        let mut buf = vec![0u8; n];
        stream.read_exact(&mut buf).await.map_err(Failure::Io)?;
        let m = Message::from_vec(&buf)
            .map_err(|e| Failure::Malformed(format!("answer does not parse: {e}")))?;
        if answers(request, &m) {
            return Ok(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_sets_the_bits() {
        let name = Name::from_ascii("_25._tcp.mail.example.test.").unwrap();
        let q = query(&name, RecordType::TLSA, Flags::AUTHORITATIVE);
        assert!(!q.metadata.recursion_desired);
        assert!(!q.metadata.checking_disabled);
        assert!(q.edns.as_ref().unwrap().flags().dnssec_ok);
        let bytes = q.to_vec().unwrap();
        let back = Message::from_vec(&bytes).unwrap();
        assert!(!back.metadata.recursion_desired);
        assert!(back.edns.unwrap().flags().dnssec_ok);
        let cd = query(&name, RecordType::TLSA, Flags::CHECKING_DISABLED);
        let back = Message::from_vec(&cd.to_vec().unwrap()).unwrap();
        assert!(back.metadata.checking_disabled && back.metadata.recursion_desired);
        assert_eq!(describe(&cd), "TLSA _25._tcp.mail.example.test.");
    }

    #[test]
    fn answers_requires_the_same_id_and_question() {
        let name = Name::from_ascii("a.example.").unwrap();
        let q = query(&name, RecordType::TLSA, Flags::AUTHORITATIVE);
        let mut a = q.clone().into_response();
        assert!(answers(&q, &a));
        a.metadata.id = q.metadata.id.wrapping_add(1);
        assert!(!answers(&q, &a));
        let mut other = query(
            &Name::from_ascii("b.example.").unwrap(),
            RecordType::TLSA,
            Flags::AUTHORITATIVE,
        );
        other.metadata.id = q.metadata.id;
        assert!(!answers(&q, &other.into_response()));
        // not a response
        assert!(!answers(&q, &q));
    }

    #[tokio::test]
    async fn a_silent_server_times_out_within_the_bound() {
        // A bound UDP socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let q = query(
            &Name::from_ascii("a.example.").unwrap(),
            RecordType::TLSA,
            Flags::AUTHORITATIVE,
        );
        let started = Instant::now();
        let err = exchange(addr, &q, Duration::from_millis(300))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, DnsError::Timeout { .. }), "{err}");
        assert!(took < Duration::from_millis(900), "took {took:?}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
