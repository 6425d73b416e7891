//! libFuzzer target: `make fuzz` (or `make fuzz FUZZ_TARGET=fuzz_search`). The checks are in
//! `bookhook::fuzzing::search`; the seed inputs in `tests/fuzz/search/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bookhook::fuzzing::search(data));
