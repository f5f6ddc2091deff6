//! Reading an uploaded table: encoding detection line by line (UTF-8, else GBK), CSV
//! records read by the `csv` crate (quoted fields may hold commas, quotes and line
//! breaks), and header mapping with English or Chinese column names. A record's line
//! number is the physical line it starts on.

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
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(str::to_string).collect(),
        _ => vec![String::new()],
    }
}

/// The bytes of a CSV file as UTF-8 text, decoded a physical line at a time: each line
/// UTF-8, or else GBK (transcoded); a line that is neither is passed on as a marker and
/// its number kept, so that the record starting there is refused alone. A leading BOM
/// is dropped and CRLF line ends become LF (a lone CR is not a line end).
struct Decoded<R> {
    input: R,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    line: u64,
    gbk: bool,
    undecodable: std::collections::HashSet<u64>,
    /// Blank lines not yet passed: the `csv` crate skips them and gives the record after
    /// one the blank line's position.
    blank: std::collections::BTreeSet<u64>,
}

impl<R> Decoded<R> {
    /// The physical line a record whose position the `csv` crate gave as `line` starts
    /// on (past the blank lines it skipped); the blank lines before it are forgotten.
    fn record_line(&mut self, mut line: u64) -> u64 {
        while self.blank.contains(&line) {
            line += 1;
        }
        self.blank = self.blank.split_off(&line);
        line
    }
}

/// What stands for a line that is neither UTF-8 nor GBK.
const MARKER: &str = "\u{FFFD}";

impl<R: std::io::BufRead> std::io::Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.out.len() {
            self.raw.clear();
            if self.input.read_until(b'\n', &mut self.raw)? == 0 {
                return Ok(0);
            }
            self.line += 1;
            // CRLF becomes LF, so that a record's position counts physical lines.
            if self.raw.ends_with(b"\r\n") {
                self.raw.truncate(self.raw.len() - 2);
                self.raw.push(b'\n');
            }
            let raw = if self.line == 1 { self.raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.raw) } else { &self.raw[..] };
            self.out.clear();
            self.pos = 0;
            if let Some(text) = decode_line(raw, &mut self.gbk) {
                if text.trim_end_matches(['\r', '\n']).is_empty() {
                    self.blank.insert(self.line);
                }
                self.out.extend_from_slice(text.as_bytes());
            } else {
                self.undecodable.insert(self.line);
                self.out.extend_from_slice(MARKER.as_bytes());
                if raw.ends_with(b"\n") {
                    self.out.push(b'\n');
                }
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
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
}

enum Source<R> {
    Csv(Box<csv::Reader<Decoded<R>>>, csv::StringRecord),
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
        let is_zip = input.fill_buf().is_ok_and(|b| b.starts_with(b"PK\x03\x04"));
        if is_zip {
            let mut rows = read_sheet(input)?.into_iter().enumerate().map(|(i, r)| (i + 1, r));
            let (_, names) = rows
                .next()
                .filter(|(_, h)| h.iter().any(|c| !c.trim().is_empty()))
                .ok_or_else(|| Refusal::bad_input("empty_file", "the sheet is empty: it needs a header row and data rows"))?;
            let index = Self::map_columns(&names, columns)?;
            let rest: Vec<(usize, Vec<String>)> = rows.collect();
            return Ok(Table { source: Source::Sheet(rest.into_iter()), index, line: 1 });
        }
        let decoded = Decoded { input, raw: Vec::new(), out: Vec::new(), pos: 0, line: 0, gbk: false, undecodable: Default::default(), blank: Default::default() };
        // Only LF ends a record (CRLF became LF above): a lone CR inside a line is text,
        // so that every record's position is the physical line it starts on.
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).terminator(csv::Terminator::Any(b'\n')).from_reader(decoded);
        let mut header = csv::StringRecord::new();
        let read = reader.read_record(&mut header).map_err(|e| Refusal::bad_input("unreadable_file", format!("the file cannot be read: {e}")))?;
        if reader.get_ref().undecodable.contains(&1) {
            return Err(Refusal::bad_input("invalid_encoding", "the file is neither UTF-8 nor GBK text"));
        }
        if !read || header.iter().all(|c| c.trim().is_empty()) {
            return Err(Refusal::bad_input("empty_file", "the file is empty: it needs a header row and data rows"));
        }
        let names: Vec<String> = header.iter().map(str::to_string).collect();
        let index = Self::map_columns(&names, columns)?;
        Ok(Table { source: Source::Csv(Box::new(reader), csv::StringRecord::new()), index, line: 1 })
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
        match &self.source {
            Source::Csv(reader, _) if reader.get_ref().gbk => "GBK",
            _ => "UTF-8",
        }
    }
}

impl<R: std::io::BufRead> Iterator for Table<R> {
    /// A row, or a line that could not be read, with its number.
    type Item = Result<Row, (usize, Refusal)>;

    /// The next non-blank line.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (reader, record) = match &mut self.source {
                Source::Csv(reader, record) => (reader, record),
                Source::Sheet(rows) => {
                    let (line, cells) = rows.find(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))?;
                    self.line = line;
                    return Some(Ok(Row { line, cells: self.pick(&cells) }));
                }
            };
            match reader.read_record(record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(self.line + 1, |p| p.line() as usize);
                    self.line = line;
                    return Some(Err((line, Refusal::bad_input("unreadable_file", format!("the file cannot be read: {e}")))));
                }
            }
            let line = record.position().map_or(self.line as u64 + 1, csv::Position::line);
            let line = reader.get_mut().record_line(line) as usize;
            self.line = line;
            if reader.get_ref().undecodable.contains(&(line as u64)) {
                return Some(Err((line, Refusal::bad_input("invalid_encoding", "this line is neither UTF-8 nor GBK text"))));
            }
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let cells: Vec<String> = record.iter().map(str::to_string).collect();
            return Some(Ok(Row { line, cells: self.pick(&cells) }));
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

    #[test]
    fn a_quoted_line_break_stays_in_its_field_and_lines_are_counted_physically() {
        let cols = [Column { en: "ssn", zh: "公民身份号码", required: true }, Column { en: "name", zh: "姓名", required: false }];
        let text = "ssn,name\nA,\"first\nsecond\"\nB,\"say \"\"hi\"\"\"\nC,plain\n";
        let rows: Vec<Row> = Table::read(text.as_bytes(), &cols).unwrap().map(|r| r.unwrap()).collect();
        let got: Vec<_> = rows.iter().map(|r| (r.line, r.cells[0].as_str(), r.cells[1].as_str())).collect();
        assert_eq!(got, [(2, "A", "first\nsecond"), (4, "B", "say \"hi\""), (5, "C", "plain")]);
        // A GBK line after UTF-8 ones is still read, and named.
        let mut mixed = "ssn,name\nA,甲\n".as_bytes().to_vec();
        mixed.extend(encoding_rs::GBK.encode("B,乙\n").0.iter());
        let mut t = Table::read(&mixed[..], &cols).unwrap();
        let names: Vec<String> = t.by_ref().map(|r| r.unwrap().cells[1].clone()).collect();
        assert_eq!((names, t.encoding()), (vec!["甲".to_string(), "乙".to_string()], "GBK"));
    }
}
