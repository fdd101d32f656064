#![no_main]
// Bytes straight into danerollover::fuzzing::config_toml.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::config_toml(data));
