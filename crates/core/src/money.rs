//! Exact money: integer fen (分), and ratios as integer basis points (1 % = 100 bp).
//! No floating point anywhere near an amount.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// Bounds on amounts and counts that come in from outside (a HIS, a clerk, a file),
/// so that no sum the service computes can come near `i64`'s range: an amount above
/// them is refused naming its field, never booked. They are sanity bounds of the
/// interface, not policy: no region's rule depends on them.
pub mod limits {
    use super::Fen;

    /// The most one fee line, one visit's total or one account credit may be:
    /// 10,000,000 yuan.
    pub const MAX_AMOUNT: Fen = Fen(1_000_000_000);
    /// `fen` as an amount coming in through `field`: refused with `amount_out_of_range`,
    /// naming the field, above [`MAX_AMOUNT`].
    pub fn bounded(field: &str, fen: i64) -> Result<Fen, crate::Refusal> {
        if fen.unsigned_abs() > MAX_AMOUNT.0.unsigned_abs() {
            return Err(crate::Refusal::bad_input("amount_out_of_range", format!("{field}: {} yuan is more than the {} yuan an amount may be", Fen(fen), MAX_AMOUNT)));
        }
        Ok(Fen(fen))
    }

    /// The most lines one visit (or one upload, one reimbursement) may carry.
    pub const MAX_LINES: usize = 100_000;
    /// The largest quantity of a fee line, in ten-thousandths (100,000 units).
    pub const MAX_QTY_E4: i64 = 100_000 * 10_000;
    /// The largest unit price, in millionths of a yuan (10,000,000 yuan).
    pub const MAX_PRICE_E6: i64 = 10_000_000 * 1_000_000;
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }

    pub fn checked_sub(self, o: Fen) -> Option<Fen> {
        self.0.checked_sub(o.0).map(Fen)
    }

    /// The sum of `amounts`, or `None` when it would overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Fen>) -> Option<Fen> {
        amounts.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    /// Whether the amount lies in `0..=limits::MAX_AMOUNT`.
    pub fn within_limits(self) -> bool {
        (0..=limits::MAX_AMOUNT.0).contains(&self.0)
    }

    pub fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan.checked_mul(100).unwrap_or(if yuan < 0 { i64::MIN } else { i64::MAX }))
    }

    /// Parses a yuan amount exactly (`"12.30"`, `"5"`, `"155.0000"`): any count of
    /// decimals, as long as the value is a whole number of fen (digits below the fen must
    /// be zeros), as the national interface's clients write it.
    pub fn parse_yuan(s: &str) -> Option<Fen> {
        parse_decimal(s, 2).map(Fen)
    }

    /// The share `ratio` of this amount, rounded half up to the fen.
    pub fn share(self, ratio: BasisPoints) -> Fen {
        let num = i128::from(self.0) * i128::from(ratio.0);
        // A share of at most 100 % of an i64 amount fits; beyond, it saturates (an
        // amount that large cannot come in, see `limits`).
        Fen(i64::try_from((num + 5_000) / 10_000).unwrap_or(if num < 0 { i64::MIN } else { i64::MAX }))
    }

    pub fn min(self, other: Fen) -> Fen {
        if self <= other { self } else { other }
    }
    pub fn max(self, other: Fen) -> Fen {
        if self >= other { self } else { other }
    }
}

/// A decimal text as an integer of `places` decimal places, exactly: `-?digits[.digits]`,
/// any count of decimals as long as those past `places` are zeros; `None` for anything
/// else, a value past i64, or a non-zero digit below the precision.
pub fn parse_decimal(s: &str, places: u32) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let width = usize::try_from(places).ok()?;
    let (kept, below) = frac.split_at(frac.len().min(width));
    if below.chars().any(|c| c != '0') {
        return None;
    }
    // In i128, so that the most negative value (whose magnitude no i64 holds) parses too.
    let scale = 10i128.checked_pow(places)?;
    let int: i128 = int.parse().ok()?;
    let frac: i128 = if kept.is_empty() { 0 } else { format!("{kept:0<width$}").parse().ok()? };
    let v = int.checked_mul(scale)?.checked_add(frac)?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// Whether a decimal text has a non-zero digit below `places` decimals (so it is a
/// number, but not an exact one at that precision).
pub fn below_precision(s: &str, places: u32) -> bool {
    let t = s.trim().trim_start_matches('-');
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    !int.is_empty() && int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) && frac.chars().skip(places as usize).any(|c| c != '0')
}

impl fmt::Display for Fen {
    /// Yuan with two decimals, e.g. `1800.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}
impl Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}
impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}
impl AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        self.0 += o.0;
    }
}
impl SubAssign for Fen {
    fn sub_assign(&mut self, o: Fen) {
        self.0 -= o.0;
    }
}

// The operators add and subtract plainly: every amount that comes in is bounded by
// `limits`, so no sum of them reaches i64's range, and the release profile keeps
// overflow checks on, so a bug that did would stop the request rather than book a
// wrapped amount. Sums of untrusted input use `checked_sum`.

/// A ratio in basis points: 10 000 bp = 100 %.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    pub const WHOLE: BasisPoints = BasisPoints(10_000);
}

impl fmt::Display for BasisPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} %", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_round_trip() {
        assert_eq!(Fen::parse_yuan("12.3"), Some(Fen(1230)));
        assert_eq!(Fen::parse_yuan("1800"), Some(Fen(180_000)));
        assert_eq!(Fen::parse_yuan("-0.05"), Some(Fen(-5)));
        assert_eq!(Fen::parse_yuan("1.234"), None);
        assert_eq!(Fen::parse_yuan("abc"), None);
        assert_eq!(Fen(180_000).to_string(), "1800.00");
        assert_eq!(Fen(-5).to_string(), "-0.05");
    }

    #[test]
    fn checked_arithmetic_at_the_edges() {
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(i64::MIN).checked_sub(Fen(1)), None);
        assert_eq!(Fen::checked_sum([Fen(i64::MAX - 1), Fen(1)]), Some(Fen(i64::MAX)));
        assert_eq!(Fen::checked_sum([Fen(i64::MAX), Fen(1)]), None);
        assert!(limits::MAX_AMOUNT.within_limits());
        assert!(!(limits::MAX_AMOUNT + Fen(1)).within_limits());
        assert!(!Fen(-1).within_limits());
        assert_eq!(Fen::parse_yuan("92233720368547758.08"), None, "past i64 is not an amount");
        // The most lines a visit may carry, each at the most a line may be, add up
        // far inside i64: no sum of bounded input can overflow.
        assert!(Fen::checked_sum(std::iter::repeat_n(limits::MAX_AMOUNT, limits::MAX_LINES)).is_some());
        assert_eq!(limits::bounded("amount_fen", 1_000_000_000), Ok(Fen(1_000_000_000)));
        let e = limits::bounded("amount_fen", 1_000_000_001).unwrap_err();
        assert!(e.code == "amount_out_of_range" && e.message.starts_with("amount_fen"), "{e:?}");
        assert!(limits::bounded("price_ceiling_fen", i64::MIN).is_err());
    }

    #[test]
    fn share_rounds_half_up() {
        assert_eq!(Fen(15).share(BasisPoints(1_000)), Fen(2)); // 1.5 -> 2
        assert_eq!(Fen(14).share(BasisPoints(1_000)), Fen(1)); // 1.4 -> 1
        assert_eq!(Fen(100_000).share(BasisPoints(9_000)), Fen(90_000));
    }
}
