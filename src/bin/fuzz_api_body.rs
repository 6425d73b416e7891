//! libFuzzer target: `make fuzz` (or `make fuzz FUZZ_TARGET=fuzz_api_body`). The checks are in
//! `bookhook::fuzzing::api_body`; the seed inputs in `tests/fuzz/api_body/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bookhook::fuzzing::api_body(data));
