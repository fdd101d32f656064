#![no_main]
// Bytes straight into danerollover::fuzzing::renewal_conf.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::renewal_conf(data));
