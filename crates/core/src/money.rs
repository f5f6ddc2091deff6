//! Exact money: integer fen (分), and ratios as integer basis points (1 % = 100 bp).
//! No floating point anywhere near an amount.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Parses a yuan amount with at most two decimals (`"12.30"`, `"5"`), as the
    /// national interface sends it.
    pub fn parse_yuan(s: &str) -> Option<Fen> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || frac.len() > 2 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let int: i64 = int.parse().ok()?;
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        let v = int.checked_mul(100)?.checked_add(frac)?;
        Some(Fen(if neg { -v } else { v }))
    }

    /// The share `ratio` of this amount, rounded half up to the fen.
    pub fn share(self, ratio: BasisPoints) -> Fen {
        let num = i128::from(self.0) * i128::from(ratio.0);
        Fen(((num + 5_000) / 10_000) as i64)
    }

    pub fn min(self, other: Fen) -> Fen {
        if self <= other { self } else { other }
    }
    pub fn max(self, other: Fen) -> Fen {
        if self >= other { self } else { other }
    }
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
    fn share_rounds_half_up() {
        assert_eq!(Fen(15).share(BasisPoints(1_000)), Fen(2)); // 1.5 -> 2
        assert_eq!(Fen(14).share(BasisPoints(1_000)), Fen(1)); // 1.4 -> 1
        assert_eq!(Fen(100_000).share(BasisPoints(9_000)), Fen(90_000));
    }
}
