#![no_main]
//! cargo-fuzz target: see `quorate_crypto::fuzz::fuzz_eip712`. Seed the corpus with
//! `quorate_crypto::fuzz::seeds("eip712")` (the xtask fuzzer does this itself).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = quorate_crypto::fuzz::fuzz_eip712(data);
});
