//! Any text as a yuan amount of the national interface: parsed and printed back, or refused.
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| yikatong_core::properties::yuan_amount(text));
