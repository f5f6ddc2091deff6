//! Any text as an ID number (R-ID-1): parsed or refused, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| yikatong_core::properties::ssn_parse(text));
