//! Matching a served certificate chain against a TLSA RRset by RFC 7671 / RFC 7672 rules.
