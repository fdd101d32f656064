#![no_main]
// Bytes straight into danerollover::fuzzing::provider_cloudflare.
libfuzzer_sys::fuzz_target!(|data: &[u8]| danerollover::fuzzing::provider_cloudflare(data));
