//! The properties the fuzz targets (`fuzz/`, cargo-fuzz) and the bounded proptest run of
//! the test command both check, each a function that panics when its property fails:
//! the parsers of what arrives from outside — ID numbers, yuan amounts, region policy
//! files — take any input without panicking and are consistent with what they accept.

use crate::identity::Ssn;
use crate::money::Fen;

/// Any text parses as an ID number or is refused, never panics; what parses is 18
/// characters and parses again the same.
pub fn ssn_parse(text: &str) {
    if let Ok(ssn) = Ssn::parse(text) {
        assert_eq!(ssn.expose().chars().count(), 18, "{text:?}");
        assert_eq!(Ssn::parse(ssn.expose()).map(|s| s.expose().to_string()).ok().as_deref(), Some(ssn.expose()));
    }
}

/// One character of a valid ID number changed to another is always refused: the check
/// character (ISO 7064 MOD 11-2) catches every single substitution.
pub fn ssn_single_change(valid: &str, position: usize, replacement: char) {
    assert!(Ssn::parse(valid).is_ok(), "{valid} is valid");
    let at = position % valid.chars().count();
    if valid.chars().nth(at).is_some_and(|c| c.eq_ignore_ascii_case(&replacement)) {
        return;
    }
    let changed: String = valid.chars().enumerate().map(|(i, c)| if i == at { replacement } else { c }).collect();
    assert!(Ssn::parse(&changed).is_err(), "{valid} with position {at} changed to {replacement:?} must be refused: {changed}");
}

/// Any text parses as a yuan amount or is refused, never panics; what parses prints as
/// yuan with two decimals and parses back to the same fen.
pub fn yuan_amount(text: &str) {
    if let Some(fen) = Fen::parse_yuan(text) {
        assert_eq!(Fen::parse_yuan(&fen.to_string()), Some(fen), "{text:?} → {fen}");
    }
}

/// Every amount in fen prints as yuan and parses back exactly.
pub fn fen_round_trip(fen: i64) {
    let f = Fen(fen);
    assert_eq!(Fen::parse_yuan(&f.to_string()), Some(f));
}

/// An amount written with any count of trailing zero decimals (`"155.0000"`) is the same
/// fen; one with a non-zero digit below the fen is refused.
pub fn yuan_with_any_decimals(fen: i64, extra_zeros: usize, digit: u8) {
    let text = format!("{}{}", Fen(fen), "0".repeat(extra_zeros));
    assert_eq!(Fen::parse_yuan(&text), Some(Fen(fen)), "{text}");
    let digit = (digit % 9) + 1;
    let below = format!("{}{}{digit}", Fen(fen), "0".repeat(extra_zeros));
    assert_eq!(Fen::parse_yuan(&below), None, "{below}");
    assert!(crate::money::below_precision(&below, 2), "{below}");
}

/// Any text as a region policy file is loaded or refused with a reason, never panics.
pub fn policy_text(text: &str) {
    if let Err(e) = crate::policy::parse_region("fuzz.toml", text) {
        assert!(!e.to_string().is_empty());
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Valid ID numbers built from a division, a birth date and a sequence.
    fn valid_ssn() -> impl Strategy<Value = String> {
        (0u32..1000, 1940i32..2024, 1u32..13, 1u32..29, 0u32..1000).prop_map(|(div, y, m, d, seq)| {
            let first17 = format!("110{div:03}{y:04}{m:02}{d:02}{seq:03}");
            let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
            let sum: u32 = first17.bytes().zip(weights).map(|(b, w)| u32::from(b - b'0') * w).sum();
            let check = b"10X98765432"[(sum % 11) as usize] as char;
            format!("{first17}{check}")
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn r_id_1_any_text_is_an_id_number_or_refused(text in "\\PC{0,24}|[0-9Xx]{16,20}") {
            super::ssn_parse(&text);
        }

        #[test]
        fn r_id_1_one_changed_character_is_always_caught(valid in valid_ssn(), position in 0usize..18, replacement in "[0-9X]") {
            super::ssn_single_change(&valid, position, replacement.chars().next().unwrap());
        }

        #[test]
        fn his_amounts_parse_or_are_refused_and_print_back(text in "-?[0-9]{0,20}(\\.[0-9]{0,3})?|\\PC{0,12}") {
            super::yuan_amount(&text);
        }

        #[test]
        fn his_amounts_take_any_trailing_zeros_and_refuse_a_digit_below_the_fen(fen in any::<i64>(), extra in 0usize..6, digit in any::<u8>()) {
            super::yuan_with_any_decimals(fen, extra, digit);
        }

        #[test]
        fn every_fen_amount_round_trips_as_yuan(fen in any::<i64>()) {
            super::fen_round_trip(fen);
        }

        #[test]
        fn any_policy_text_loads_or_is_refused(text in "(\\[[a-z._]{1,12}\\]\n|[a-z_]{1,10} = (\\[\\{ from = [0-9-]{4,10}, [a-z]{1,6} = \"?[0-9a-z.:]{0,6}\"?(, source = \"s\")? \\}\\]|[0-9]{1,4}|\"[a-z]{0,5}\")\n|\\PC{0,8}\n){0,12}") {
            super::policy_text(&text);
        }
    }

    #[test]
    fn the_extreme_fen_amounts_round_trip_too() {
        for fen in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX] {
            super::fen_round_trip(fen);
        }
    }

    /// The shipped files, cut at every line, load or are refused: never a panic.
    #[test]
    fn shipped_policy_files_cut_anywhere_never_panic() {
        for file in ["beijing", "jinan", "hebei", "suzhou"] {
            let text = std::fs::read_to_string(format!("{}/../../policies/{file}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for cut in 0..lines.len() {
                super::policy_text(&lines[..cut].join("\n"));
            }
        }
    }
}
