//! In-process DNSSEC validation with hickory, from trust anchors: the TLSA RRset (and every
//! DNSKEY / DS on the way to an anchor) is fetched from an upstream resolver with the CD
//! bit, so that data failing validation reaches the validator and is reported as Bogus
//! instead of a SERVFAIL.

use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use hickory_net::dnssec::DnssecDnsHandle;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::{DnsHandle, NetError};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::dnssec::{Proof, TrustAnchors};
use hickory_proto::op::{DnsRequest, DnsRequestOptions, DnsResponse, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::{DnsError, Validated, interpret, wire};

/// Trust anchors from zone-file text holding DNSKEY records (e.g. the root's, or a lab
/// zone's). `source` names the file in errors.
pub fn parse_anchors(text: &str, source: &str) -> Result<TrustAnchors, DnsError> {
    let anchors = TrustAnchors::from_str(text).map_err(|e| {
        DnsError::Config(format!(
            "trust anchor file {source}: {e} (expected DNSKEY records in zone-file format)"
        ))
    })?;
    // `TrustAnchors::is_empty` counts root keys only: look at the text for the others.
    let has_dnskey = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .any(|l| {
            l.split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("DNSKEY"))
        });
    if !has_dnskey {
        return Err(DnsError::Config(format!(
            "trust anchor file {source} holds no DNSKEY record"
        )));
    }
    Ok(anchors)
}

/// A DNS handle asking one upstream resolver with RD and CD, through [`wire::exchange`].
#[derive(Clone)]
struct Upstream {
    server: SocketAddr,
    timeout: Duration,
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<DnsResponse, NetError>> + Send>>;

impl DnsHandle for Upstream {
    type Response = ResponseStream;
    type Runtime = TokioRuntimeProvider;

    fn send(&self, request: DnsRequest) -> Self::Response {
        let (mut message, _options) = request.into_parts();
        message.metadata.checking_disabled = true;
        message.metadata.recursion_desired = true;
        let this = self.clone();
        Box::pin(stream::once(async move {
            let mut answer = wire::exchange(this.server, &message, this.timeout)
                .await
                .map_err(|e| NetError::from(e.to_string()))?;
            strip_unneeded_denials(&mut answer);
            let response = DnsResponse::from_message(answer).map_err(NetError::from)?;
            // As hickory's own clients do: error codes and empty answers become errors
            // (NoRecordsFound), which the validator turns back into proven denials.
            hickory_net::DnsError::from_response(response).map_err(NetError::from)
        }))
    }
}

/// Drop NSEC/NSEC3 records (and their signatures) from the authority section of a positive
/// answer that was not synthesized from a wildcard. Resolvers sometimes add them (Unbound
/// does behind a CNAME); they prove nothing there, but hickory 0.26 then checks the answer
/// as a denial of existence and calls it Bogus. Wildcard answers keep them: there they are
/// the proof that no closer name exists (RFC 4035 5.3.4).
pub fn strip_unneeded_denials(m: &mut Message) {
    if m.metadata.response_code != ResponseCode::NoError || m.answers.is_empty() {
        return;
    }
    let wildcard = m.answers.iter().any(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().num_labels < r.name.num_labels(),
        _ => false,
    });
    if wildcard {
        return;
    }
    let denial = |t: RecordType| matches!(t, RecordType::NSEC | RecordType::NSEC3);
    m.authorities.retain(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => !denial(sig.input().type_covered),
        _ => !denial(r.record_type()),
    });
}

/// A validator: hickory's DNSSEC handle over one upstream resolver. Cheap to clone; clones
/// share the validation cache.
#[derive(Clone)]
pub struct InProcess {
    handle: DnssecDnsHandle<Upstream>,
    upstream: SocketAddr,
}

impl InProcess {
    pub fn new(upstream: SocketAddr, anchors: TrustAnchors, timeout: Duration) -> Self {
        InProcess {
            handle: DnssecDnsHandle::with_trust_anchor(
                Upstream {
                    server: upstream,
                    timeout,
                },
                Arc::new(anchors),
            ),
            upstream,
        }
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The validated TLSA RRset at `owner`.
    pub async fn validated_tlsa(&self, owner: &Name) -> Validated {
        let outcome = self.lookup(owner, RecordType::TLSA).await;
        match outcome {
            Ok(m) => interpret::read_in_process(owner, Ok(&m)),
            Err(e) => interpret::read_in_process(owner, Err(e)),
        }
    }

    /// `name`/`rtype` through the validator: the answer, each record carrying its proof, or
    /// the proof an error stands for and why.
    pub async fn lookup(&self, name: &Name, rtype: RecordType) -> Result<Message, (Proof, String)> {
        let mut options = DnsRequestOptions::default();
        options.recursion_desired = true;
        options.use_edns = true;
        options.edns_set_dnssec_ok = true;
        let mut responses = self
            .handle
            .lookup(Query::query(name.clone(), rtype), options);
        match responses.next().await {
            Some(Ok(response)) => Ok(response.into_message()),
            Some(Err(e)) => Err(proof_of_error(&e, self.upstream)),
            None => Err((
                Proof::Indeterminate,
                format!("{}: no answer from the upstream resolver", self.upstream),
            )),
        }
    }
}

/// The proof an error of the validator stands for, and its text.
fn proof_of_error(e: &NetError, upstream: SocketAddr) -> (Proof, String) {
    match e {
        NetError::Dns(hickory_net::DnsError::Nsec { proof, .. }) => (
            *proof,
            format!("the denial of existence is not proven ({proof})"),
        ),
        NetError::Dns(hickory_net::DnsError::DnssecBogus) => {
            (Proof::Bogus, "DNSSEC validation failed".to_string())
        }
        other => (
            Proof::Indeterminate,
            format!("validation through {upstream} failed: {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::dnssec::rdata::sig::SigInput;
    use hickory_proto::dnssec::rdata::{NSEC, RRSIG};
    use hickory_proto::rr::rdata::CNAME;
    use hickory_proto::rr::{Record, SerialNumber};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn rrsig(owner: &str, covered: RecordType, labels: u8) -> Record {
        let input = SigInput {
            type_covered: covered,
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: labels,
            original_ttl: 300,
            sig_expiration: SerialNumber::new(2),
            sig_inception: SerialNumber::new(1),
            key_tag: 1,
            signer_name: name("example.test."),
        };
        Record::from_rdata(
            name(owner),
            300,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0; 64]))),
        )
    }

    fn positive(labels_of_cname_sig: u8) -> Message {
        let owner = "_25._tcp.a.example.test.";
        let mut m = Message::query();
        m.add_query(Query::query(name(owner), RecordType::TLSA));
        let mut m = m.into_response();
        m.add_answer(Record::from_rdata(
            name(owner),
            300,
            RData::CNAME(CNAME(name("_dane.a.example.test."))),
        ));
        m.add_answer(rrsig(owner, RecordType::CNAME, labels_of_cname_sig));
        m.add_authority(Record::from_rdata(
            name("_dane.a.example.test."),
            60,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                name(owner),
                [RecordType::TLSA],
            ))),
        ));
        m.add_authority(rrsig("_dane.a.example.test.", RecordType::NSEC, 4));
        m
    }

    #[test]
    fn denials_beside_a_positive_answer_are_dropped_unless_wildcard() {
        let mut m = positive(5);
        strip_unneeded_denials(&mut m);
        assert!(m.authorities.is_empty(), "{:?}", m.authorities);
        assert_eq!(m.answers.len(), 2);
        // Synthesized from *.tcp.a.example.test: the NSEC proves no closer name exists.
        let mut m = positive(4);
        strip_unneeded_denials(&mut m);
        assert_eq!(m.authorities.len(), 2);
        // Negative answers keep their proof.
        let mut m = positive(5);
        m.answers.clear();
        strip_unneeded_denials(&mut m);
        assert_eq!(m.authorities.len(), 2);
    }

    #[test]
    fn anchors_parse_or_say_why() {
        // The root KSK-2017 (20326), as in root.key.
        let root = ". 172800 IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=\n";
        let a = parse_anchors(root, "root.key").unwrap();
        assert_eq!(a.len(), 1);
        let lab = "example.test. 60 IN DNSKEY 257 3 13 lYGkoSQhz6R0AnBjVLfHwk6rKHLtYSrzMwWLSeXifANGq11mGa5nerdRFhaANUvgr6Frj+9Zvz1ZBvXE9PM1fA==\n";
        assert!(parse_anchors(lab, "lab.key").is_ok());
        let e = parse_anchors("; only a comment DNSKEY\n", "empty.key")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("empty.key") && e.contains("no DNSKEY"), "{e}");
        let e = parse_anchors("this is not a zone file", "bad.key")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("bad.key"), "{e}");
    }
}
