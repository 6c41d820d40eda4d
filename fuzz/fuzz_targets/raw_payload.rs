#![no_main]
//! cargo-fuzz target: see `quorate_crypto::fuzz::fuzz_raw_payload`. Seed the corpus with
//! `quorate_crypto::fuzz::seeds("raw_payload")` (the xtask fuzzer does this itself).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = quorate_crypto::fuzz::fuzz_raw_payload(data);
});
