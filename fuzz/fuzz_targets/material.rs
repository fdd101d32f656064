#![no_main]
// Bytes straight into danerollover::fuzzing::material.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::material(data));
