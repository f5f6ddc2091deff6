//! Reading an uploaded table: encoding detection (UTF-8, else GBK), CSV splitting and
//! header mapping with English or Chinese column names.

use yikatong_core::Refusal;

/// The row of an item the table yields, or `None` after recording the unreadable line
/// in `refused` (built by `refusal` from its line number and reason).
pub fn readable<T>(item: Result<Row, (usize, Refusal)>, refused: &mut Vec<T>, refusal: impl FnOnce(usize, Refusal) -> T) -> Option<Row> {
    match item {
        Ok(row) => Some(row),
        Err((line, r)) => {
            refused.push(refusal(line, r));
            None
        }
    }
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

/// A table from a CSV file read line by line from any reader, so a file of any size is
/// read in bounded memory (each line UTF-8 or, failing that, GBK), or from the first
/// sheet of an XLSX workbook (detected by its zip signature; read whole, as a zip is).
pub struct Table<R> {
    source: Source<R>,
    index: Vec<Option<usize>>,
    /// The line last read (the header is line 1).
    line: usize,
    gbk: bool,
    buf: Vec<u8>,
}

enum Source<R> {
    Csv(R),
    /// The sheet's rows after the header, each with its row number.
    Sheet(std::vec::IntoIter<(usize, Vec<String>)>),
}

/// A spreadsheet cell as text: numbers without a spurious `.0`, dates as `YYYYMMDD`.
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::DateTime(dt) => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
            epoch.checked_add_signed(chrono::Duration::days(dt.as_f64() as i64)).map(|d| d.format("%Y%m%d").to_string()).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// The first sheet of a workbook as rows of text.
fn read_sheet(mut input: impl std::io::Read) -> Result<Vec<Vec<String>>, Refusal> {
    use calamine::Reader;
    let bad = |e: &dyn std::fmt::Display| Refusal::bad_input("unreadable_file", format!("the workbook cannot be read: {e}"));
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|e| bad(&e))?;
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let range = book.worksheet_range_at(0).ok_or_else(|| Refusal::bad_input("empty_file", "the workbook has no sheet"))?.map_err(|e| bad(&e))?;
    Ok(range.rows().map(|r| r.iter().map(cell_text).collect()).collect())
}

/// One data row: its line number and cells in the order of the asked columns.
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// Decodes one line: UTF-8, else GBK; `None` when it is neither.
fn decode_line(bytes: &[u8], gbk: &mut bool) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_string());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    *gbk = true;
    (!had_errors).then(|| text.into_owned())
}

impl<R: std::io::BufRead> Table<R> {
    /// Reads the header; an empty file, an unreadable header or a missing required
    /// column is refused for the whole file.
    pub fn read(mut input: R, columns: &[Column]) -> Result<Table<R>, Refusal> {
        let is_zip = input.fill_buf().map(|b| b.starts_with(b"PK\x03\x04")).unwrap_or(false);
        if is_zip {
            let mut rows = read_sheet(input)?.into_iter().enumerate().map(|(i, r)| (i + 1, r));
            let (_, names) = rows.next().filter(|(_, h)| h.iter().any(|c| !c.trim().is_empty())).ok_or_else(|| Refusal::bad_input("empty_file", "the sheet is empty: it needs a header row and data rows"))?;
            let index = Self::map_columns(&names, columns)?;
            let rest: Vec<(usize, Vec<String>)> = rows.collect();
            return Ok(Table { source: Source::Sheet(rest.into_iter()), index, line: 1, gbk: false, buf: Vec::new() });
        }
        let mut buf = Vec::new();
        let n = input.read_until(b'\n', &mut buf).map_err(|e| Refusal::bad_input("unreadable_file", format!("the file cannot be read: {e}")))?;
        let raw = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf);
        let mut gbk = false;
        let header = decode_line(raw, &mut gbk).ok_or_else(|| Refusal::bad_input("invalid_encoding", "the file is neither UTF-8 nor GBK text"))?;
        if n == 0 || header.trim().is_empty() {
            return Err(Refusal::bad_input("empty_file", "the file is empty: it needs a header row and data rows"));
        }
        let names: Vec<String> = split_csv(header.trim_end_matches(['\r', '\n']));
        let index = Self::map_columns(&names, columns)?;
        Ok(Table { source: Source::Csv(input), index, line: 1, gbk, buf: Vec::new() })
    }

    /// Where each asked column is in the header (English or Chinese name).
    fn map_columns(names: &[String], columns: &[Column]) -> Result<Vec<Option<usize>>, Refusal> {
        let names: Vec<String> = names.iter().map(|h| h.trim().to_string()).collect();
        let mut index = Vec::with_capacity(columns.len());
        for c in columns {
            let pos = names.iter().position(|n| n == c.en || n == c.zh);
            if pos.is_none() && c.required {
                return Err(Refusal::bad_input("missing_column", format!("the header has no {} ({}) column; it has: {}", c.en, c.zh, names.join(", "))));
            }
            index.push(pos);
        }
        Ok(index)
    }

    fn pick(&self, cells: &[String]) -> Vec<String> {
        self.index.iter().map(|i| i.and_then(|i| cells.get(i)).map(|s| s.trim().to_string()).unwrap_or_default()).collect()
    }

    /// `GBK` when a line needed it, else `UTF-8` (so far).
    pub fn encoding(&self) -> &'static str {
        if self.gbk { "GBK" } else { "UTF-8" }
    }
}

impl<R: std::io::BufRead> Iterator for Table<R> {
    /// A row, or a line that could not be read, with its number.
    type Item = Result<Row, (usize, Refusal)>;

    /// The next non-blank line.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let input = match &mut self.source {
                Source::Csv(input) => input,
                Source::Sheet(rows) => {
                    let (line, cells) = rows.find(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))?;
                    self.line = line;
                    return Some(Ok(Row { line, cells: self.pick(&cells) }));
                }
            };
            self.buf.clear();
            match input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err((self.line + 1, Refusal::bad_input("unreadable_file", format!("the file cannot be read: {e}"))))),
            }
            self.line += 1;
            let Some(text) = decode_line(&self.buf, &mut self.gbk) else {
                return Some(Err((self.line, Refusal::bad_input("invalid_encoding", "this line is neither UTF-8 nor GBK text"))));
            };
            let text = text.trim_end_matches(['\r', '\n']);
            if text.trim().is_empty() {
                continue;
            }
            let cells = split_csv(text);
            return Some(Ok(Row { line: self.line, cells: self.pick(&cells) }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_and_gbk_are_read_line_by_line_and_lines_counted() {
        let cols = [Column { en: "ssn", zh: "公民身份号码", required: true }, Column { en: "name", zh: "姓名", required: false }];
        let (gbk, _, _) = encoding_rs::GBK.encode("公民身份号码,姓名\r\n11010519491231002X,张三\r\n");
        let mut t = Table::read(&gbk[..], &cols).unwrap();
        let row = t.next().unwrap().unwrap();
        assert_eq!((row.line, row.cells[1].as_str(), t.encoding()), (2, "张三", "GBK"));
        assert!(t.next().is_none());
        let rows: Vec<Row> = Table::read("\u{feff}ssn,name\n\nA,\"x, y\"\nB,z".as_bytes(), &cols).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows.iter().map(|r| (r.line, r.cells[1].clone())).collect::<Vec<_>>(), [(3, "x, y".to_string()), (4, "z".to_string())]);
        // A line that is neither UTF-8 nor GBK is refused alone; the next one is read.
        let mut bad = b"ssn\nA\n".to_vec();
        bad.extend([0xff, 0xfe, 0x00, 0x81, b'\n']);
        bad.extend(b"B\n");
        let lines: Vec<_> = Table::read(&bad[..], &cols).unwrap().map(|r| r.map(|r| r.line).map_err(|(l, e)| (l, e.code))).collect();
        assert_eq!(lines, [Ok(2), Err((3, "invalid_encoding")), Ok(4)]);
        assert_eq!(Table::read(&b""[..], &cols).err().unwrap().code, "empty_file");
        assert_eq!(Table::read(&b"name\nx"[..], &cols).err().unwrap().code, "missing_column");
        assert_eq!(split_csv("a,\"b \"\"q\"\"\",c"), ["a", "b \"q\"", "c"]);
    }
}
