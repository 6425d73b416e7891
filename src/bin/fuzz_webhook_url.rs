//! libFuzzer target: `make fuzz` (or `make fuzz FUZZ_TARGET=fuzz_webhook_url`). The checks are in
//! `bookhook::fuzzing::webhook_url`; the seed inputs in `tests/fuzz/webhook_url/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bookhook::fuzzing::webhook_url(data));
