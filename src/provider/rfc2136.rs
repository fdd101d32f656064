//! RFC 2136 dynamic updates, signed with TSIG (RFC 8945): BIND, Knot, PowerDNS with
//! dnsupdate, ...
//!
//! One change is one UPDATE message: "delete this RR" for each removal (class NONE, RFC 2136
//! 2.5.4) and "add this RR" for each addition, which the server applies atomically. Only the
//! named RRs are touched; other TLSA records at the owner stay. The message goes over UDP,
//! and over TCP when it is larger than 512 bytes or the answer comes back truncated. The
//! answer's TSIG signature is checked.
//!
//! RFC 2136 cannot read records, so [`Provider::read`] returns `Ok(None)`: observation of
//! the authoritative servers tells what is served.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::retry::{Decision, DnsFailure, Failure, RetryPolicy};
use super::{Change, Provider, ProviderError, ProviderView};
use crate::secrets::Secret;
use crate::tlsa::TlsaRecord;

pub const KIND: &str = "rfc2136";

/// Seconds of clock difference the server may accept (RFC 8945 recommends 300).
const FUDGE: u16 = 300;
/// Largest UPDATE sent over UDP (no EDNS on updates).
const UDP_MAX: usize = 512;

pub struct Rfc2136 {
    name: String,
    server: String,
    key_name: Name,
    signer: TSigner,
    timeout: Duration,
    policy: RetryPolicy,
}

impl Rfc2136 {
    pub fn new(
        name: &str,
        server: &str,
        tsig_name: &str,
        tsig_algorithm: &str,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<Rfc2136, ProviderError> {
        let config = |message: String| ProviderError::Config {
            provider: name.to_string(),
            message,
        };
        let algorithm = match tsig_algorithm.to_ascii_lowercase().as_str() {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            other => {
                return Err(config(format!(
                    "tsig_algorithm {other:?}: use hmac-sha256, hmac-sha384 or hmac-sha512"
                )));
            }
        };
        let key = base64_decode(secret.expose()).ok_or_else(|| {
            config("the TSIG secret is not base64 (as tsig-keygen prints it)".to_string())
        })?;
        let key_name = Name::from_ascii(tsig_name)
            .map_err(|e| config(format!("tsig_name {tsig_name:?} is not a domain name: {e}")))?;
        let signer = TSigner::new(key, algorithm, key_name.clone(), FUDGE)
            .map_err(|e| config(format!("cannot use the TSIG key: {e}")))?;
        Ok(Rfc2136 {
            name: name.to_string(),
            server: server.trim().to_string(),
            key_name: signer.signer_name().clone(),
            signer,
            timeout,
            policy: RetryPolicy::default(),
        })
    }

    /// Replace the retry policy (tests use a quick one).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn fail(&self, owner: &str, cause: String) -> ProviderError {
        ProviderError::failed(&self.name, KIND, owner, cause)
    }

    async fn resolve(&self) -> Result<SocketAddr, String> {
        if let Some(addr) = parse_server(&self.server) {
            return Ok(addr);
        }
        let target = if self.server.contains(':') {
            self.server.clone()
        } else {
            format!("{}:53", self.server)
        };
        tokio::net::lookup_host(&target)
            .await
            .map_err(|e| format!("cannot resolve server {:?}: {e}", self.server))?
            .next()
            .ok_or_else(|| format!("server {:?} has no address", self.server))
    }
}

/// "192.0.2.1:53", "[2001:db8::1]:53", "192.0.2.1", "2001:db8::1" (port 53 by default).
pub fn parse_server(server: &str) -> Option<SocketAddr> {
    if let Ok(addr) = server.parse::<SocketAddr>() {
        return Some(addr);
    }
    server
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

fn tlsa_rdata(r: &TlsaRecord) -> RData {
    RData::TLSA(TLSA::new(
        CertUsage::from(u8::from(r.usage)),
        Selector::from(u8::from(r.selector)),
        Matching::from(u8::from(r.matching)),
        r.data.clone(),
    ))
}

/// The UPDATE message for a change (unsigned): zone section = the zone's SOA; update
/// section = one delete-RR per removal, then one add-RR per addition.
pub fn build_update(zone: &Name, owner: &Name, change: &Change) -> Message {
    let mut zone_query = Query::new();
    zone_query
        .set_name(zone.clone())
        .set_query_class(DNSClass::IN)
        .set_query_type(RecordType::SOA);
    let mut message = Message::query();
    message.metadata.op_code = OpCode::Update;
    message.metadata.recursion_desired = false;
    message.add_query(zone_query);
    for r in &change.remove {
        let mut record = Record::from_rdata(owner.clone(), 0, tlsa_rdata(r));
        record.dns_class = DNSClass::NONE;
        message.add_authority(record);
    }
    for r in &change.add {
        message.add_authority(Record::from_rdata(owner.clone(), change.ttl, tlsa_rdata(r)));
    }
    message
}

/// The failure an answer reports, if any.
pub fn classify(response: &Message) -> Option<DnsFailure> {
    let tsig_error = response.signature.as_ref().and_then(|s| s.data.error);
    match tsig_error {
        Some(TsigError::BadKey) => return Some(DnsFailure::BadKey),
        Some(TsigError::BadSig) | Some(TsigError::BadTrunc) => return Some(DnsFailure::BadSig),
        Some(TsigError::BadTime) => return Some(DnsFailure::BadTime),
        _ => {}
    }
    match response.metadata.response_code {
        ResponseCode::NoError => None,
        ResponseCode::ServFail => Some(DnsFailure::ServFail),
        ResponseCode::Refused => Some(DnsFailure::Refused),
        ResponseCode::NotAuth => Some(DnsFailure::NotAuth),
        ResponseCode::BADKEY => Some(DnsFailure::BadKey),
        ResponseCode::BADSIG => Some(DnsFailure::BadSig),
        ResponseCode::BADTIME => Some(DnsFailure::BadTime),
        _ => Some(DnsFailure::Other),
    }
}

/// A clear message for a DNS-level failure, naming the server, zone and key (never the
/// secret) and what to check.
pub fn describe(
    failure: DnsFailure,
    rcode: ResponseCode,
    server: &str,
    zone: &str,
    key: &str,
) -> String {
    match failure {
        DnsFailure::Refused => format!(
            "server {server} REFUSED the update of zone {zone} signed with key {key}: the server does not let this key update this zone (check allow-update / update-policy)"
        ),
        // Servers give these two for several causes the answer does not tell apart (Knot
        // answers NOTAUTH or BADKEY for a key without update permission and for an update
        // sent to a secondary): every one is named.
        DnsFailure::NotAuth => format!(
            "server {server} refused the update of zone {zone} signed with key {key} (NOTAUTH); \
             the answer allows several causes: (1) the server is not the zone's primary (a \
             secondary, or a server that does not serve {zone}): point `server` at the primary; \
             (2) the key is known but the server's update ACL/policy does not let it update \
             {zone} (BIND allow-update/update-policy, Knot acl with action update, PowerDNS \
             TSIG-ALLOW-DNSUPDATE); (3) the server does not know key {key} with this \
             algorithm: check tsig_name and tsig_algorithm against the server's key"
        ),
        DnsFailure::BadKey => format!(
            "server {server} rejected TSIG key {key} for zone {zone} (BADKEY); the answer allows \
             several causes: (1) the server does not know a key of that name and algorithm: \
             check tsig_name and tsig_algorithm against the server's key; (2) the key is known \
             but its update ACL/policy does not cover {zone} (Knot acl, BIND update-policy); \
             (3) the server is not the zone's primary (a secondary without the key): point \
             `server` at the primary"
        ),
        DnsFailure::BadSig => format!(
            "server {server} rejected the signature of TSIG key {key} for zone {zone} (BADSIG): the secret does not match the server's"
        ),
        DnsFailure::BadTime => format!(
            "server {server} refused the time of the signature of key {key} for zone {zone} (BADTIME): the clocks differ by more than {FUDGE} s (check NTP)"
        ),
        DnsFailure::ServFail => {
            format!("server {server} failed to update zone {zone} (SERVFAIL): see the server's log")
        }
        DnsFailure::Other => {
            format!("server {server} answered the update of zone {zone} with {rcode}")
        }
    }
}

/// One exchange: UDP (TCP when too large or truncated). Errors: the failure and a text.
async fn exchange(
    addr: SocketAddr,
    request: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Vec<u8>, (Failure, String)> {
    if request.len() <= UDP_MAX {
        let answer = tokio::time::timeout(timeout, udp(addr, request, id))
            .await
            .map_err(|_| (Failure::Timeout, format!("no answer from {addr} over UDP")))??;
        match Message::from_vec(&answer) {
            Ok(m) if m.metadata.truncation => {}
            _ => return Ok(answer),
        }
    }
    tokio::time::timeout(timeout, tcp(addr, request))
        .await
        .map_err(|_| (Failure::Timeout, format!("no answer from {addr} over TCP")))?
}

fn io_failure(addr: SocketAddr, proto: &str, e: std::io::Error) -> (Failure, String) {
    let failure = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Failure::ConnectionRefused,
        std::io::ErrorKind::TimedOut => Failure::Timeout,
        _ => Failure::Connect,
    };
    (failure, format!("{addr} over {proto}: {e}"))
}

async fn udp(addr: SocketAddr, request: &[u8], id: u16) -> Result<Vec<u8>, (Failure, String)> {
    let local: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal address")
    } else {
        "[::]:0".parse().expect("literal address")
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| io_failure(addr, "UDP", e))?;
    socket
        .connect(addr)
        .await
        .map_err(|e| io_failure(addr, "UDP", e))?;
    socket
        .send(request)
        .await
        .map_err(|e| io_failure(addr, "UDP", e))?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = socket
            .recv(&mut buf)
            .await
            .map_err(|e| io_failure(addr, "UDP", e))?;
        // Ignore stray datagrams: the answer carries our id and the response flag.
        if n >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id && buf[2] & 0x80 != 0 {
            return Ok(buf[..n].to_vec());
        }
    }
}

async fn tcp(addr: SocketAddr, request: &[u8]) -> Result<Vec<u8>, (Failure, String)> {
    let len = u16::try_from(request.len()).map_err(|_| {
        (
            Failure::Other,
            "the update is too large for one message".to_string(),
        )
    })?;
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| io_failure(addr, "TCP", e))?;
    let mut out = Vec::with_capacity(request.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(request);
    stream
        .write_all(&out)
        .await
        .map_err(|e| io_failure(addr, "TCP", e))?;
    let mut len_buf = [0u8; 2];
    stream
        .read_exact(&mut len_buf)
        .await
        .map_err(|e| io_failure(addr, "TCP", e))?;
    let mut answer = vec![0u8; u16::from_be_bytes(len_buf) as usize];
    stream
        .read_exact(&mut answer)
        .await
        .map_err(|e| io_failure(addr, "TCP", e))?;
    Ok(answer)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[async_trait]
impl Provider for Rfc2136 {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let owner_text = &change.owner;
        let zone = Name::from_ascii(super::fqdn(&change.zone)).map_err(|e| {
            self.fail(
                owner_text,
                format!("zone {:?} is not a domain name: {e}", change.zone),
            )
        })?;
        let owner = Name::from_ascii(super::fqdn(&change.owner))
            .map_err(|e| self.fail(owner_text, format!("the owner is not a domain name: {e}")))?;
        if !zone.zone_of(&owner) {
            return Err(self.fail(owner_text, format!("the owner is not in zone {zone}")));
        }
        if change.is_empty() {
            return Ok(());
        }
        let addr = self
            .resolve()
            .await
            .map_err(|cause| self.fail(owner_text, cause))?;
        let key = self.key_name.to_string();
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            attempt += 1;
            let mut message = build_update(&zone, &owner, change);
            let verifier = message
                .finalize(&self.signer, unix_now())
                .map_err(|e| self.fail(owner_text, format!("cannot sign the update: {e}")))?;
            let bytes = message
                .to_vec()
                .map_err(|e| self.fail(owner_text, format!("cannot encode the update: {e}")))?;
            let id = message.metadata.id;
            let (failure, text) = match exchange(addr, &bytes, id, self.timeout).await {
                Err(e) => e,
                Ok(answer) => match Message::from_vec(&answer) {
                    Err(e) => (
                        Failure::Other,
                        format!("server {addr} sent an answer that does not parse: {e}"),
                    ),
                    Ok(response)
                        if response.metadata.id != id
                            || response.metadata.message_type != MessageType::Response =>
                    {
                        (
                            Failure::Other,
                            format!("server {addr} sent an answer to another message"),
                        )
                    }
                    Ok(response) => match classify(&response) {
                        Some(f) => (
                            Failure::Dns(f),
                            describe(
                                f,
                                response.metadata.response_code,
                                &addr.to_string(),
                                &zone.to_string(),
                                &key,
                            ),
                        ),
                        None => {
                            let verified = match verifier {
                                Some(mut v) => v.verify(&answer).map(|_| ()),
                                None => Ok(()),
                            };
                            match verified {
                                Ok(()) => return Ok(()),
                                Err(e) => (
                                    Failure::Other,
                                    format!(
                                        "server {addr} answered NOERROR but its TSIG signature (key {key}) does not verify: {e}; the update may or may not have been applied"
                                    ),
                                ),
                            }
                        }
                    },
                },
            };
            match self.policy.decide(attempt, started.elapsed(), &failure) {
                Decision::RetryAfter(wait) => tokio::time::sleep(wait).await,
                Decision::GiveUp => {
                    let text = format!(
                        "{text}{}",
                        super::retry::after_attempts(
                            attempt,
                            started.elapsed(),
                            self.policy.budget
                        )
                    );
                    return Err(self.fail(owner_text, text));
                }
            }
        }
    }

    async fn read(&self, _zone: &str, _owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        Ok(None)
    }
}

/// Standard base64 (RFC 4648, padding optional, white space ignored), as tsig-keygen
/// prints secrets.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded =
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.trim_end_matches('='));
    match decoded {
        Ok(bytes) if !bytes.is_empty() && clean.len() - clean.trim_end_matches('=').len() <= 2 => {
            Some(bytes)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tlsa::sample_3_1_1 as rec;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs bG8h\n").unwrap(), b"hello!");
        assert_eq!(base64_decode("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_decode("").is_none());
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("aGVs*G8=").is_none());
        assert!(base64_decode("aGVsbG8===").is_none());
    }

    #[test]
    fn servers() {
        assert_eq!(
            parse_server("127.0.10.3:53"),
            Some("127.0.10.3:53".parse().unwrap())
        );
        assert_eq!(
            parse_server("127.0.10.3"),
            Some("127.0.10.3:53".parse().unwrap())
        );
        assert_eq!(
            parse_server("2001:db8::1"),
            Some("[2001:db8::1]:53".parse().unwrap())
        );
        assert_eq!(parse_server("ns.example.test"), None);
    }

    #[test]
    fn update_message_deletes_then_adds_only_the_named_rrs() {
        let zone = Name::from_ascii("example2.test.").unwrap();
        let owner = Name::from_ascii("_25._tcp.mail.example2.test.").unwrap();
        let change = Change {
            zone: "example2.test.".into(),
            owner: "_25._tcp.mail.example2.test.".into(),
            ttl: 300,
            add: vec![rec(2)],
            remove: vec![rec(1)],
        };
        let m = build_update(&zone, &owner, &change);
        assert_eq!(m.metadata.op_code, OpCode::Update);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.queries[0].name(), &zone);
        assert_eq!(m.queries[0].query_type(), RecordType::SOA);
        assert!(m.answers.is_empty(), "no prerequisites");
        assert_eq!(m.authorities.len(), 2);
        let del = &m.authorities[0];
        assert_eq!(del.dns_class, DNSClass::NONE);
        assert_eq!(del.ttl, 0);
        assert_eq!(del.data, tlsa_rdata(&rec(1)));
        let add = &m.authorities[1];
        assert_eq!(add.dns_class, DNSClass::IN);
        assert_eq!(add.ttl, 300);
        assert_eq!(add.data, tlsa_rdata(&rec(2)));
        assert_eq!(add.name, owner);
        // never a delete-RRset (class ANY) that would take foreign records with it
        assert!(m.authorities.iter().all(|r| r.dns_class != DNSClass::ANY));
    }

    #[test]
    fn signed_message_round_trips() {
        let secret = Secret::new("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0");
        let p = Rfc2136::new(
            "b",
            "127.0.0.1:53",
            "key.example.",
            "hmac-sha256",
            &secret,
            Duration::from_secs(1),
        )
        .unwrap();
        let zone = Name::from_ascii("example2.test.").unwrap();
        let owner = Name::from_ascii("x.example2.test.").unwrap();
        let change = Change {
            zone: "example2.test.".into(),
            owner: "x.example2.test.".into(),
            ttl: 60,
            add: vec![rec(3)],
            remove: vec![],
        };
        let mut m = build_update(&zone, &owner, &change);
        m.finalize(&p.signer, 1_700_000_000).unwrap();
        let bytes = m.to_vec().unwrap();
        let back = Message::from_vec(&bytes).unwrap();
        let sig = back.signature.as_ref().expect("signed");
        assert_eq!(sig.name, Name::from_ascii("key.example.").unwrap());
        assert_eq!(sig.data.algorithm, TsigAlgorithm::HmacSha256);
        assert!(
            !bytes
                .windows(secret.expose().len())
                .any(|w| w == secret.expose().as_bytes())
        );
    }

    #[test]
    fn bad_secret_text_is_a_config_error_without_the_secret() {
        let err = Rfc2136::new(
            "b",
            "127.0.0.1",
            "k.",
            "hmac-sha256",
            &Secret::new("not*base64!"),
            Duration::from_secs(1),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("base64") && !err.contains("not*base64!"),
            "{err}"
        );
    }

    #[test]
    fn answers_are_classified() {
        let mut m = Message::response(1, OpCode::Update);
        assert_eq!(classify(&m), None);
        for (rcode, want) in [
            (ResponseCode::Refused, DnsFailure::Refused),
            (ResponseCode::NotAuth, DnsFailure::NotAuth),
            (ResponseCode::ServFail, DnsFailure::ServFail),
            (ResponseCode::NotZone, DnsFailure::Other),
        ] {
            m.metadata.response_code = rcode;
            assert_eq!(classify(&m), Some(want), "{rcode:?}");
        }
    }

    #[test]
    fn descriptions_name_server_zone_and_key() {
        for f in [
            DnsFailure::Refused,
            DnsFailure::NotAuth,
            DnsFailure::BadKey,
            DnsFailure::BadSig,
            DnsFailure::BadTime,
        ] {
            let text = describe(
                f,
                ResponseCode::NotAuth,
                "127.0.10.3:53",
                "example2.test.",
                "danerollover-lab.",
            );
            assert!(text.contains("127.0.10.3:53"), "{text}");
            assert!(text.contains("example2.test."), "{text}");
            if f != DnsFailure::NotAuth {
                assert!(text.contains("danerollover-lab."), "{text}");
            }
        }
        assert!(
            describe(DnsFailure::BadSig, ResponseCode::NotAuth, "s", "z", "k").contains("BADSIG")
        );
        assert!(
            describe(DnsFailure::BadKey, ResponseCode::NotAuth, "s", "z", "k").contains("BADKEY")
        );
        // NOTAUTH and BADKEY name every cause the answer allows: the key, the ACL, the primary.
        for f in [DnsFailure::NotAuth, DnsFailure::BadKey] {
            let text = describe(f, ResponseCode::NotAuth, "s", "z", "k");
            for cause in ["tsig_name and tsig_algorithm", "ACL", "primary"] {
                assert!(text.contains(cause), "{f:?} lacks {cause:?}: {text}");
            }
        }
    }

    /// A fake server: answers each UPDATE with the next response code of `script`
    /// (unsigned, as servers answer failed TSIG checks); returns the address and a counter.
    async fn fake_server(
        script: Vec<ResponseCode>,
    ) -> (SocketAddr, std::sync::Arc<std::sync::Mutex<u32>>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(0u32));
        let counter = seen.clone();
        tokio::spawn(async move {
            let mut script = script.into_iter();
            let mut buf = vec![0u8; 65535];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                *counter.lock().unwrap() += 1;
                let request = Message::from_vec(&buf[..n]).unwrap();
                assert_eq!(request.metadata.op_code, OpCode::Update);
                assert!(request.signature.is_some(), "updates are signed");
                let Some(rcode) = script.next() else { continue };
                let answer = Message::error_msg(request.metadata.id, OpCode::Update, rcode);
                socket
                    .send_to(&answer.to_vec().unwrap(), peer)
                    .await
                    .unwrap();
            }
        });
        (addr, seen)
    }

    fn provider_at(addr: SocketAddr, timeout: Duration) -> Rfc2136 {
        Rfc2136::new(
            "fake",
            &addr.to_string(),
            "key.example.",
            "hmac-sha256",
            &Secret::new("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"),
            timeout,
        )
        .unwrap()
        .with_retry(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
    }

    fn change_x() -> Change {
        Change {
            zone: "example2.test.".into(),
            owner: "_25._tcp.x.example2.test.".into(),
            ttl: 300,
            add: vec![rec(1)],
            remove: vec![],
        }
    }

    #[tokio::test]
    async fn servfail_is_retried_refused_is_not() {
        let (addr, seen) = fake_server(vec![ResponseCode::ServFail, ResponseCode::Refused]).await;
        let err = provider_at(addr, Duration::from_secs(2))
            .apply(&change_x())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(*seen.lock().unwrap(), 2, "{err}");
        assert!(
            err.contains("REFUSED") && err.contains("key.example."),
            "{err}"
        );
        assert!(err.contains("(after 2 attempts in "), "{err}");
    }

    #[tokio::test]
    async fn no_answer_is_retried_then_a_timeout() {
        let (addr, seen) = fake_server(vec![]).await;
        let err = provider_at(addr, Duration::from_millis(200))
            .apply(&change_x())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(*seen.lock().unwrap(), 3, "{err}");
        assert!(
            err.contains("no answer") && err.contains("3 attempts"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unsigned_noerror_is_not_taken_for_success() {
        let (addr, _) = fake_server(vec![ResponseCode::NoError]).await;
        let err = provider_at(addr, Duration::from_secs(2))
            .apply(&change_x())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not verify"), "{err}");
    }
}
