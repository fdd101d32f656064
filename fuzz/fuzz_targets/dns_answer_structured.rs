#![no_main]
// Structure-aware: a DNS answer assembled from records at a few related names (TLSA with
// any usage/selector/matching/data, CNAME chains and loops, SOA with any serial and
// minimum, NS referrals), any flags and response code, encoded by hickory and fed to
// danerollover::fuzzing::dns_answer. Raw bytes rarely get past the message parser.
use arbitrary::Arbitrary;
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector, TLSA};
use hickory_proto::rr::rdata::{CNAME, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

const NAMES: &[&str] = &[
    "_25._tcp.mail.example.test.",
    "_dane.example.test.",
    "example.test.",
    "mail.example.test.",
    "test.",
    ".",
    "_25._tcp.mail.other.test.",
];

#[derive(Arbitrary, Debug)]
enum Rec {
    Tlsa { name: u8, ttl: u32, usage: u8, selector: u8, matching: u8, data: Vec<u8> },
    Cname { name: u8, ttl: u32, target: u8 },
    Soa { name: u8, ttl: u32, serial: u32, minimum: u32 },
    Ns { name: u8, ttl: u32, target: u8 },
}

#[derive(Arbitrary, Debug)]
struct Answer {
    query: Option<u8>,
    authoritative: bool,
    authentic_data: bool,
    truncated: bool,
    rcode: u16,
    answers: Vec<Rec>,
    authorities: Vec<Rec>,
}

fn name(i: u8) -> Name {
    Name::from_ascii(NAMES[usize::from(i) % NAMES.len()]).expect("a valid name")
}

fn record(r: &Rec) -> Record {
    match r {
        Rec::Tlsa { name: n, ttl, usage, selector, matching, data } => Record::from_rdata(
            name(*n),
            *ttl,
            RData::TLSA(TLSA::new(
                CertUsage::from(*usage),
                Selector::from(*selector),
                Matching::from(*matching),
                data.clone(),
            )),
        ),
        Rec::Cname { name: n, ttl, target } => {
            Record::from_rdata(name(*n), *ttl, RData::CNAME(CNAME(name(*target))))
        }
        Rec::Soa { name: n, ttl, serial, minimum } => Record::from_rdata(
            name(*n),
            *ttl,
            RData::SOA(SOA::new(name(2), name(3), *serial, 3600, 600, 86400, *minimum)),
        ),
        Rec::Ns { name: n, ttl, target } => {
            Record::from_rdata(name(*n), *ttl, RData::NS(NS(name(*target))))
        }
    }
}

libfuzzer_sys::fuzz_target!(|a: Answer| {
    let mut m = Message::query();
    if let Some(q) = a.query {
        m.add_query(Query::query(name(q), RecordType::TLSA));
    }
    let mut m = m.into_response();
    m.metadata.authoritative = a.authoritative;
    m.metadata.authentic_data = a.authentic_data;
    m.metadata.truncation = a.truncated;
    m.metadata.response_code = ResponseCode::from_low(a.rcode as u8 & 0x0f);
    for r in &a.answers {
        m.add_answer(record(r));
    }
    for r in &a.authorities {
        m.add_authority(record(r));
    }
    if let Ok(bytes) = m.to_bytes() {
        danerollover::fuzzing::dns_answer(&bytes);
    }
});
