#![no_main]
// Bytes straight into danerollover::fuzzing::provider_powerdns.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::provider_powerdns(data));
