//! Any text as a region policy file: loaded or refused with a reason, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| yikatong_core::properties::policy_text(text));
