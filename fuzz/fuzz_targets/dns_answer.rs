#![no_main]
// Bytes straight into danerollover::fuzzing::dns_answer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::dns_answer(data));
