//! Any bytes as a HIS request (2204): a coded refusal or fee lines read exactly.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| yikatong_http::properties::his_request(bytes));
