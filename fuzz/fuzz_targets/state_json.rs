#![no_main]
// Bytes straight into danerollover::fuzzing::state_json.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::state_json(data));
