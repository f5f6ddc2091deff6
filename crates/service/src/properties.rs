//! The properties of reading uploaded files that the fuzz targets (`fuzz/`) and the
//! bounded proptest run of the test command both check: any bytes are read as a table or
//! refused without a panic (CSV in UTF-8 or GBK, or an XLSX workbook), rows come in
//! line order, and what the `csv` crate writes is read back cell for cell.

use crate::batch::table::{Column, Table};

const COLUMNS: [Column; 2] = [Column { en: "ssn", zh: "公民身份号码", required: true }, Column { en: "name", zh: "姓名", required: false }];

/// Any bytes are a table or refused; the rows it yields (or refuses) have line numbers
/// after the header's, in order.
pub fn table_bytes(bytes: &[u8]) {
    let Ok(table) = Table::read(bytes, &COLUMNS) else { return };
    let mut last = 1;
    for item in table {
        let line = match item {
            Ok(row) => {
                assert_eq!(row.cells.len(), COLUMNS.len());
                row.line
            }
            Err((line, refusal)) => {
                assert!(!refusal.message.is_empty());
                line
            }
        };
        assert!(line > last, "line {line} after line {last}");
        last = line;
    }
}

/// Rows written by the `csv` crate (any text in a cell, quotes and line breaks too) are
/// read back the same, each on the line it starts on; the same rows in GBK likewise.
/// (A check: it panics when the property fails, so it may unwrap.)
#[allow(clippy::unwrap_used)]
pub fn csv_round_trip(rows: &[(String, String)], gbk: bool) {
    let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    out.write_record(["ssn", "name"]).unwrap();
    let mut expected = Vec::new();
    let mut line = 2;
    for (a, b) in rows {
        out.write_record([a, b]).unwrap();
        let spans = 1 + a.matches('\n').count() + b.matches('\n').count();
        if !(a.trim().is_empty() && b.trim().is_empty()) {
            expected.push((line, a.trim().to_string(), b.trim().to_string()));
        }
        line += spans;
    }
    let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
    let bytes = if gbk { encoding_rs::GBK.encode(&text).0.into_owned() } else { text.into_bytes() };
    let got: Vec<(usize, String, String)> = Table::read(&bytes[..], &COLUMNS).unwrap().map(|r| r.unwrap()).map(|r| (r.line, r.cells[0].clone(), r.cells[1].clone())).collect();
    assert_eq!(got, expected);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Cell text: letters, digits, Chinese, commas, quotes, line breaks (no CR: a CRLF
    /// is read as a line break).
    fn cell() -> impl Strategy<Value = String> {
        "[a-z0-9张三李四王五,\"\n ]{0,12}"
    }

    /// Found by the property below: a lone CR between two GBK lines had made two
    /// records of one physical line.
    #[test]
    fn a_lone_carriage_return_is_not_a_line_break() {
        let mut input = b"ssn,name\n".to_vec();
        input.extend([129, 64, 13, 129, 64, 129, 64, 0]);
        super::table_bytes(&input);
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_bytes_are_a_table_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..400), zip in any::<bool>(), header in any::<bool>()) {
            let mut input = if zip { b"PK\x03\x04".to_vec() } else if header { b"ssn,name\n".to_vec() } else { Vec::new() };
            input.extend(bytes);
            super::table_bytes(&input);
        }

        #[test]
        fn what_the_csv_crate_writes_is_read_back(rows in proptest::collection::vec((cell(), cell()), 0..20), gbk in any::<bool>()) {
            // The header's own name must not be the first cell's text only by chance.
            super::csv_round_trip(&rows, gbk);
        }
    }
}
