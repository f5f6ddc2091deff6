//! Reading an uploaded table: encoding detection (UTF-8, else GBK), CSV splitting and
//! header mapping with English or Chinese column names.

use yikatong_core::Refusal;

/// Decodes a file: UTF-8 (a byte-order mark is dropped) or, failing that, GBK (read as
/// GB 18030, its superset). Anything else is refused naming both.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), Refusal> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8"));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(Refusal::bad_input("invalid_encoding", "the file is neither UTF-8 nor GBK text"));
    }
    Ok((text.into_owned(), "GBK"))
}

/// Splits one CSV line (double quotes may wrap a field; `""` is a quote).
pub fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A column a file may have: English name, Chinese name, required or not.
pub struct Column {
    pub en: &'static str,
    pub zh: &'static str,
    pub required: bool,
}

/// A CSV table with its columns found in the header.
pub struct Table<'t> {
    lines: std::str::Lines<'t>,
    index: Vec<Option<usize>>,
    /// The line last read (the header is line 1).
    line: usize,
}

/// One data row: its line number and cells in the order of the asked columns.
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

impl<'t> Table<'t> {
    /// Reads the header; a missing required column or an empty file is refused.
    pub fn open(text: &'t str, columns: &[Column]) -> Result<Table<'t>, Refusal> {
        let mut lines = text.lines();
        let header = lines.next().filter(|h| !h.trim().is_empty()).ok_or_else(|| Refusal::bad_input("empty_file", "the file is empty: it needs a header row and data rows"))?;
        let names: Vec<String> = split_csv(header).into_iter().map(|h| h.trim().to_string()).collect();
        let mut index = Vec::with_capacity(columns.len());
        for c in columns {
            let pos = names.iter().position(|n| n == c.en || n == c.zh);
            if pos.is_none() && c.required {
                return Err(Refusal::bad_input("missing_column", format!("the header has no {} ({}) column; it has: {}", c.en, c.zh, names.join(", "))));
            }
            index.push(pos);
        }
        Ok(Table { lines, index, line: 1 })
    }
}

impl Iterator for Table<'_> {
    type Item = Row;

    /// The next non-blank row, with its line number.
    fn next(&mut self) -> Option<Row> {
        loop {
            let raw = self.lines.next()?;
            self.line += 1;
            if raw.trim().is_empty() {
                continue;
            }
            let cells = split_csv(raw);
            let picked = self.index.iter().map(|i| i.and_then(|i| cells.get(i)).map(|s| s.trim().to_string()).unwrap_or_default()).collect();
            return Some(Row { line: self.line, cells: picked });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_and_gbk_are_read_and_lines_counted() {
        let (gbk, _, _) = encoding_rs::GBK.encode("公民身份号码,姓名\n11010519491231002X,张三\n");
        let (text, enc) = decode(&gbk).unwrap();
        assert_eq!(enc, "GBK");
        assert!(text.contains("张三"));
        assert_eq!(decode("\u{feff}a,b".as_bytes()).unwrap(), ("a,b".to_string(), "UTF-8"));
        assert_eq!(decode(&[0xff, 0xfe, 0x00, 0x81]).unwrap_err().code, "invalid_encoding");
        let cols = [Column { en: "ssn", zh: "公民身份号码", required: true }, Column { en: "phone", zh: "联系电话", required: false }];
        let rows: Vec<Row> = Table::open("ssn,name\n\nA,\"x, y\"\nB,z\n", &cols).unwrap().collect();
        assert_eq!(rows.iter().map(|r| (r.line, r.cells[0].clone())).collect::<Vec<_>>(), [(3, "A".to_string()), (4, "B".to_string())]);
        assert_eq!(Table::open("", &cols).err().unwrap().code, "empty_file");
        assert_eq!(Table::open("name\nx", &cols).err().unwrap().code, "missing_column");
        assert_eq!(split_csv("a,\"b \"\"q\"\"\",c"), ["a", "b \"q\"", "c"]);
    }
}
