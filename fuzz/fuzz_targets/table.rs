//! Any bytes as an uploaded file (CSV in UTF-8 or GBK, or XLSX): a table or refused, rows in order.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| yikatong_service::properties::table_bytes(bytes));
