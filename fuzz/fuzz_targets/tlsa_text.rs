#![no_main]
// Bytes straight into danerollover::fuzzing::tlsa_text.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::tlsa_text(data));
