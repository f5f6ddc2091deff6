//! A minimal PDF writer for printable forms in Chinese. Text is set in STSong-Light with
//! the UniGB-UCS2-H encoding, one of the standard CJK fonts every PDF reader provides,
//! so nothing is embedded and no font file ships with the binary.

/// One line of text on the page: position in points from the bottom left, size, text.
pub struct TextLine {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    pub text: String,
}

/// A horizontal rule: from x1 to x2 at height y.
pub struct Rule {
    pub x1: u32,
    pub x2: u32,
    pub y: u32,
}

/// A filled black square (a QR code's module): bottom-left corner and side, in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Square {
    pub x: u32,
    pub y: u32,
    pub side: u32,
}

/// The dark modules of a QR code of `text` as squares of `module` points, the code's
/// top-left corner at (`left`, `top`), with no quiet zone (leave 4 modules of white
/// around it on the page). `None` when the text is too long for a QR code.
pub fn qr_squares(text: &str, left: u32, top: u32, module: u32) -> Option<Vec<Square>> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let width = code.width() as u32;
    Some(
        code.to_colors()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == qrcode::Color::Dark)
            .map(|(i, _)| {
                let (col, row) = (i as u32 % width, i as u32 / width);
                Square { x: left + col * module, y: top - (row + 1) * module, side: module }
            })
            .collect(),
    )
}

fn ucs2_hex(s: &str) -> String {
    s.chars().map(|c| if (c as u32) <= 0xFFFF { format!("{:04X}", c as u32) } else { "FFFD".to_string() }).collect()
}

/// An A4 page with the given text and rules, as PDF bytes.
pub fn page(lines: &[TextLine], rules: &[Rule]) -> Vec<u8> {
    page_with_squares(lines, rules, &[])
}

/// An A4 page with text, rules and filled squares (a QR code), as PDF bytes.
pub fn page_with_squares(lines: &[TextLine], rules: &[Rule], squares: &[Square]) -> Vec<u8> {
    let mut content = String::new();
    for q in squares {
        content.push_str(&format!("{} {} {} {} re f\n", q.x, q.y, q.side, q.side));
    }
    for r in rules {
        content.push_str(&format!("0.5 w {} {} m {} {} l S\n", r.x1, r.y, r.x2, r.y));
    }
    for l in lines {
        content.push_str(&format!("BT /F1 {} Tf {} {} Td <{}> Tj ET\n", l.size, l.x, l.y, ucs2_hex(&l.text)));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{}endstream", content.len(), content),
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>".to_string(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>".to_string(),
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_squares_scan_back_to_their_text() {
        let text = "YKT-CERT:110000202603021B87096D";
        let module = 3;
        let squares = qr_squares(text, 0, 1000, module).unwrap();
        // Paint the squares into a greyscale picture with a quiet zone, as a scanner sees the page.
        let modules = squares.iter().map(|q| q.x / module).max().unwrap() + 1;
        let (quiet, px) = (4, 4usize);
        let side = (modules + 2 * quiet) as usize * px;
        let mut img = vec![255u8; side * side];
        for q in &squares {
            let (col, row) = ((q.x / module + quiet) as usize, ((1000 - q.y) / module - 1 + quiet) as usize);
            for dy in 0..px {
                for dx in 0..px {
                    img[(row * px + dy) * side + col * px + dx] = 0;
                }
            }
        }
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| img[y * side + x]);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, text);
        assert!(qr_squares(&"x".repeat(5000), 0, 0, 1).is_none(), "too long for a QR code");
    }

    #[test]
    fn xref_offsets_point_at_their_objects() {
        let pdf = page(&[TextLine { x: 50, y: 800, size: 18, text: "社会保障卡 A".into() }], &[Rule { x1: 50, x2: 545, y: 790 }]);
        // Offsets are in bytes: work on the bytes (the header's binary comment is not UTF-8).
        let find = |pat: &[u8]| pdf.windows(pat.len()).rposition(|w| w == pat).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
        find(b"<793E4F1A4FDD969C536100200041> Tj");
        let tail = &pdf[find(b"startxref\n") + 10..];
        let xref_at: usize = std::str::from_utf8(&tail[..tail.iter().position(|b| *b == b'\n').unwrap()]).unwrap().parse().unwrap();
        assert!(pdf[xref_at..].starts_with(b"xref"));
        let table = std::str::from_utf8(&pdf[xref_at..]).unwrap();
        for (i, line) in table.lines().skip(3).take(7).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
        }
    }
}
