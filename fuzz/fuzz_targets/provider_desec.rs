#![no_main]
// Bytes straight into danerollover::fuzzing::provider_desec.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::provider_desec(data));
