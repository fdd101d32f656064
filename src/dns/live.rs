//! The live observer: asks every authoritative server directly and validates.
