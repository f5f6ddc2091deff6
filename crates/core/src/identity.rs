//! Identity numbers of SPEC §2: the social security number (社会保障号码, R-ID-1), the
//! medical handbook number (医保手册号, R-ID-2), card numbers, and masking (R-ID-3).
//!
//! `Ssn` can only be built valid. Its `Debug` and `Display` print the masked form, so an
//! SSN that slips into a log line or an error message is masked there too; the full
//! number is only reachable through [`Ssn::expose`].

use std::fmt;

use chrono::{Datelike, NaiveDate};

crate::closed_set! {
    /// Gender as encoded by the sequence digits of the SSN: odd male, even female.
    pub enum Gender {
        Male = "male",
        Female = "female",
    }
}

impl Gender {
    /// 男 / 女, as forms and factory files print it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Gender::Male => "男",
            Gender::Female => "女",
        }
    }

    /// GB/T 2261.1 code as the national interface uses it (`gend`): 1 male, 2 female.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "1",
            Gender::Female => "2",
        }
    }
}

/// What is wrong with a candidate SSN: each variant names the part (R-ID-1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsnError {
    #[error("the ID number must have 18 characters, this one has {0}")]
    Length(usize),
    #[error("character {position} of the ID number must be a digit{x_note}, found '{found}'")]
    Character { position: usize, found: char, x_note: &'static str },
    #[error("the division code {0} (characters 1-6) is not a province of GB/T 2260")]
    Division(String),
    #[error("the birth date {0} (characters 7-14) is not a real date")]
    BirthDate(String),
    #[error("the check character (character 18) should be '{expected}', found '{found}'")]
    Check { expected: char, found: char },
}

/// Province-level codes of GB/T 2260 (the first two digits of every division code).
/// The full county table changes every year; the province is what can be checked
/// without a feed, and the registry comparison (R-CMP-1) checks the rest.
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63",
    "64", "65", "71", "81", "82",
];

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The ISO 7064 MOD 11-2 check character of the first 17 digits.
pub fn check_character(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    // A remainder of 11 is below 11: the index is always in the table.
    CHECK_CHARS.get((sum % 11) as usize).copied().unwrap_or('X')
}

/// 社会保障号码: the 18-character citizen ID number, valid by construction.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssn(String);

impl Ssn {
    /// Parses and validates an SSN (R-ID-1). A lowercase `x` is accepted and upper-cased.
    pub fn parse(input: &str) -> Result<Ssn, SsnError> {
        let s = input.trim().to_ascii_uppercase();
        let count = s.chars().count();
        if count != 18 {
            return Err(SsnError::Length(count));
        }
        for (i, c) in s.chars().enumerate() {
            let ok = c.is_ascii_digit() || (i == 17 && c == 'X');
            if !ok {
                let x_note = if i == 17 { " or X" } else { "" };
                return Err(SsnError::Character { position: i + 1, found: c, x_note });
            }
        }
        let b = s.as_bytes();
        if !PROVINCES.contains(&&s[0..2]) {
            return Err(SsnError::Division(s[0..6].to_string()));
        }
        if NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").map_or(true, |d| d.year() < 1900) {
            return Err(SsnError::BirthDate(s[6..14].to_string()));
        }
        // 18 characters, checked above: the first 17 and the last.
        let Some((last, first17)) = b.split_last() else { return Err(SsnError::Length(0)) };
        let expected = check_character(first17);
        let found = char::from(*last);
        if expected != found {
            return Err(SsnError::Check { expected, found });
        }
        Ok(Ssn(s))
    }

    /// The full number. Call it only where the full number is needed (encryption,
    /// lookup hash, the holder's own view), never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_ssn(&self.0)
    }

    pub fn division_code(&self) -> &str {
        &self.0[0..6]
    }

    pub fn birth_date(&self) -> NaiveDate {
        // Validated in `parse`.
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_default()
    }

    pub fn gender(&self) -> Gender {
        // The 17th character is a digit (validated in `parse`): odd male, even female.
        let seq = self.0.as_bytes().get(16).map_or(0, |d| d.wrapping_sub(b'0'));
        if seq % 2 == 1 { Gender::Male } else { Gender::Female }
    }

    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> u32 {
        let b = self.birth_date();
        let mut age = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        u32::try_from(age).unwrap_or(0)
    }

    /// The initial query password: the SSN's last six characters (R-PWD-1).
    pub fn initial_password(&self) -> &str {
        &self.0[12..18]
    }
}

impl fmt::Debug for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssn({})", self.masked())
    }
}

impl fmt::Display for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks an ID number as R-ID-3 shows it: the first six and the last four characters
/// stay, the birth date and sequence become `*` (`110105********123X`). Anything that is
/// not 18 characters long keeps only its last two characters.
pub fn mask_ssn(s: &str) -> String {
    let n = s.chars().count();
    if n == 18 {
        let head: String = s.chars().take(6).collect();
        let tail: String = s.chars().skip(14).collect();
        format!("{head}********{tail}")
    } else {
        let keep = n.min(2);
        let tail: String = s.chars().skip(n - keep).collect();
        format!("{}{tail}", "*".repeat(n - keep))
    }
}

/// Replaces every run of text that looks like an ID number (17 digits followed by a digit
/// or X, not part of a longer run of digits) with its masked form. Used on request paths
/// and free text before they reach a log.
pub fn mask_ssns_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let alnum_at = |j: usize| chars.get(j).is_some_and(char::is_ascii_alphanumeric);
    while let Some(&c) = chars.get(i) {
        let starts_run = i == 0 || !alnum_at(i - 1);
        if starts_run && let Some(cand) = chars.get(i..i + 18) {
            let body_ok = match cand.split_last() {
                Some((last, body)) => body.iter().all(char::is_ascii_digit) && (last.is_ascii_digit() || *last == 'X' || *last == 'x'),
                None => false,
            };
            if body_ok && !alnum_at(i + 18) {
                out.push_str(&mask_ssn(&cand.iter().collect::<String>()));
                i += 18;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// What is wrong with a handbook or card number (R-ID-2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("a medical handbook number has 10 characters: nine letters or digits and a final 'S'")]
    Handbook,
    #[error("a card number has 9 or 10 letters or digits and ends in a digit or 'X'")]
    Card,
}

/// 社会保障卡号: the number printed on the card (9 characters nationally, 10 on
/// Beijing's older cards), ending in a digit or `X`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(input: &str) -> Result<CardNumber, NumberError> {
        let s = input.trim().to_ascii_uppercase();
        let ok = (9..=10).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()) && s.ends_with(|c: char| c.is_ascii_digit() || c == 'X');
        if ok { Ok(CardNumber(s)) } else { Err(NumberError::Card) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 医保手册号: the medical handbook number. It shares its first nine characters with
/// the card number and ends in `S` (R-ID-2, 003 Q67).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HandbookNumber(String);

impl HandbookNumber {
    pub fn parse(input: &str) -> Result<HandbookNumber, NumberError> {
        let s = input.trim().to_ascii_uppercase();
        let ok = s.len() == 10 && s.ends_with('S') && s[..9].chars().all(|c| c.is_ascii_alphanumeric());
        if ok { Ok(HandbookNumber(s)) } else { Err(NumberError::Handbook) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The nine characters shared with the card number.
    pub fn stem(&self) -> &str {
        &self.0[..9]
    }
    /// R-ID-2: a handbook number and a card number belong together when their first
    /// nine characters are the same; the differing last character is not an error.
    pub fn matches_card(&self, card: &CardNumber) -> bool {
        card.as_str().get(..9) == Some(self.stem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid SSN from its first 17 digits.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", check_character(first17.as_bytes()))
    }

    #[test]
    fn r_id_1_accepts_valid_numbers_and_derives_gender_and_birth_date() {
        let ssn = Ssn::parse("11010519491231002X").unwrap();
        assert_eq!(ssn.gender(), Gender::Female);
        assert_eq!(ssn.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        let male = Ssn::parse(&with_check("11010219900307123")).unwrap();
        assert_eq!(male.gender(), Gender::Male);
        assert_eq!(Ssn::parse("11010519491231002x").unwrap().expose(), "11010519491231002X");
    }

    #[test]
    fn r_id_1_names_the_wrong_part() {
        assert_eq!(Ssn::parse("1101051949123100"), Err(SsnError::Length(16)));
        assert!(matches!(Ssn::parse("1101051949123100AX"), Err(SsnError::Character { position: 17, found: 'A', .. })));
        assert!(matches!(Ssn::parse(&with_check("99010519491231002")), Err(SsnError::Division(_))));
        assert!(matches!(Ssn::parse(&with_check("11010519490231002")), Err(SsnError::BirthDate(_))));
        assert_eq!(Ssn::parse("110105194912310021"), Err(SsnError::Check { expected: 'X', found: '1' }));
        let msg = Ssn::parse("110105194912310021").unwrap_err().to_string();
        assert!(msg.contains("should be 'X'"), "{msg}");
    }

    #[test]
    fn r_id_3_masks_everywhere() {
        let ssn = Ssn::parse("11010519491231002X").unwrap();
        assert_eq!(ssn.masked(), "110105********002X");
        assert_eq!(format!("{ssn}"), "110105********002X");
        assert!(!format!("{ssn:?}").contains("19491231"));
        assert_eq!(mask_ssns_in("/v1/persons/11010519491231002X/changes?x=1"), "/v1/persons/110105********002X/changes?x=1");
        // A longer digit run is not an ID number and stays as it is.
        assert_eq!(mask_ssns_in("1234567890123456789"), "1234567890123456789");
    }

    #[test]
    fn r_id_2_handbook_matches_card_by_first_nine() {
        let hb = HandbookNumber::parse("110105123S").unwrap();
        assert!(hb.matches_card(&CardNumber::parse("1101051237").unwrap()));
        assert!(!hb.matches_card(&CardNumber::parse("11010512X").unwrap()));
        assert!(hb.matches_card(&CardNumber::parse("110105123").unwrap()));
        assert!(HandbookNumber::parse("1101051230").is_err());
        assert!(CardNumber::parse("11010512S").is_err());
    }

    #[test]
    fn initial_password_is_last_six() {
        let ssn = Ssn::parse("11010519491231002X").unwrap();
        assert_eq!(ssn.initial_password(), "31002X");
    }
}
