#![no_main]
// Bytes straight into danerollover::fuzzing::starttls_reply.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::starttls_reply(data));
