//! [`Int`]: the language's one integer type, covering Turnkey's `int` (i128) and `uint` (u256)
//! in a single ordered domain `[-2^127, 2^256 - 1]`. Only comparison and equality exist; there is
//! no arithmetic in the language, so there is none here either.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A sign and a 256-bit magnitude. Invariants: zero is never negative, and a negative value's
/// magnitude is at most 2^127 (`i128::MIN`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Int {
    neg: bool,
    /// Little-endian 64-bit limbs.
    mag: [u64; 4],
}

/// Why a decimal string is not an [`Int`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntError {
    #[error("not a decimal integer")]
    Invalid,
    #[error("integer out of range (from -2^127 to 2^256 - 1)")]
    OutOfRange,
}

const TWO_POW_127: [u64; 4] = [0, 1 << 63, 0, 0];

fn cmp_mag(a: &[u64; 4], b: &[u64; 4]) -> Ordering {
    for i in (0..4).rev() {
        match a[i].cmp(&b[i]) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

impl Int {
    /// Zero.
    pub const ZERO: Int = Int {
        neg: false,
        mag: [0; 4],
    };

    /// The largest value, 2^256 - 1 (`uint` max).
    pub const MAX: Int = Int {
        neg: false,
        mag: [u64::MAX; 4],
    };

    /// The smallest value, -2^127 (`i128::MIN`).
    pub const MIN: Int = Int {
        neg: true,
        mag: TWO_POW_127,
    };

    /// From an unsigned 128-bit value.
    pub const fn from_u128(v: u128) -> Int {
        Int {
            neg: false,
            mag: [v as u64, (v >> 64) as u64, 0, 0],
        }
    }

    /// From a signed 128-bit value.
    pub const fn from_i128(v: i128) -> Int {
        let m = v.unsigned_abs();
        Int {
            neg: v < 0,
            mag: [m as u64, (m >> 64) as u64, 0, 0],
        }
    }

    /// From a 256-bit unsigned big-endian value (an Ethereum `uint256`, e.g. a wei amount).
    pub fn from_be_bytes(bytes: &[u8; 32]) -> Int {
        let mut mag = [0u64; 4];
        for (i, limb) in mag.iter_mut().enumerate() {
            let start = 32 - 8 * (i + 1);
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[start..start + 8]);
            *limb = u64::from_be_bytes(b);
        }
        Int { neg: false, mag }
    }

    /// From unsigned big-endian bytes of any length (leading zeros allowed); `None` above 2^256 - 1.
    pub fn from_be_slice(bytes: &[u8]) -> Option<Int> {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let bytes = &bytes[first..];
        if bytes.len() > 32 {
            return None;
        }
        let mut full = [0u8; 32];
        full[32 - bytes.len()..].copy_from_slice(bytes);
        Some(Int::from_be_bytes(&full))
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// The value as an `i128`, if it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.mag[2] != 0 || self.mag[3] != 0 {
            return None;
        }
        let m = (self.mag[1] as u128) << 64 | self.mag[0] as u128;
        if self.neg {
            if m == 1u128 << 127 {
                Some(i128::MIN)
            } else {
                i128::try_from(m).ok().map(|v| -v)
            }
        } else {
            i128::try_from(m).ok()
        }
    }

    /// The value as a `usize`, if it is non-negative and fits.
    pub fn to_usize(&self) -> Option<usize> {
        if self.neg || self.mag[1] != 0 || self.mag[2] != 0 || self.mag[3] != 0 {
            return None;
        }
        usize::try_from(self.mag[0]).ok()
    }

    /// Parse decimal digits (no sign) as a magnitude, then apply `negative`.
    pub fn from_decimal_digits(digits: &str, negative: bool) -> Result<Int, IntError> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IntError::Invalid);
        }
        let mut mag = [0u64; 4];
        for b in digits.bytes() {
            let mut carry = u128::from(b - b'0');
            for limb in mag.iter_mut() {
                let t = u128::from(*limb) * 10 + carry;
                *limb = t as u64;
                carry = t >> 64;
            }
            if carry != 0 {
                return Err(IntError::OutOfRange);
            }
        }
        let zero = mag == [0; 4];
        if negative && !zero && cmp_mag(&mag, &TWO_POW_127) == Ordering::Greater {
            return Err(IntError::OutOfRange);
        }
        Ok(Int {
            neg: negative && !zero,
            mag,
        })
    }
}

impl FromStr for Int {
    type Err = IntError;

    /// An optional `-` and decimal digits.
    fn from_str(s: &str) -> Result<Int, IntError> {
        match s.strip_prefix('-') {
            Some(digits) => Int::from_decimal_digits(digits, true),
            None => Int::from_decimal_digits(s, false),
        }
    }
}

impl Ord for Int {
    fn cmp(&self, other: &Int) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_mag(&self.mag, &other.mag),
            (true, true) => cmp_mag(&other.mag, &self.mag),
        }
    }
}

impl PartialOrd for Int {
    fn partial_cmp(&self, other: &Int) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Repeated division by 10^19 (the largest power of ten in a u64).
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut mag = self.mag;
        let mut chunks = Vec::with_capacity(4);
        loop {
            let mut rem: u128 = 0;
            for limb in mag.iter_mut().rev() {
                let cur = (rem << 64) | u128::from(*limb);
                *limb = (cur / u128::from(CHUNK)) as u64;
                rem = cur % u128::from(CHUNK);
            }
            chunks.push(rem as u64);
            if mag == [0; 4] {
                break;
            }
        }
        let mut out = String::with_capacity(80);
        if self.neg {
            out.push('-');
        }
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&c.to_string());
            } else {
                out.push_str(&format!("{c:019}"));
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<u64> for Int {
    fn from(v: u64) -> Int {
        Int::from_u128(u128::from(v))
    }
}

impl From<i64> for Int {
    fn from(v: i64) -> Int {
        Int::from_i128(i128::from(v))
    }
}

impl From<u128> for Int {
    fn from(v: u128) -> Int {
        Int::from_u128(v)
    }
}

impl From<i128> for Int {
    fn from(v: i128) -> Int {
        Int::from_i128(v)
    }
}

impl From<usize> for Int {
    fn from(v: usize) -> Int {
        Int::from_u128(v as u128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip_and_bounds() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(max.parse::<Int>().unwrap(), Int::MAX);
        assert_eq!(Int::MAX.to_string(), max);
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(over.parse::<Int>(), Err(IntError::OutOfRange));
        let min = "-170141183460469231731687303715884105728";
        assert_eq!(min.parse::<Int>().unwrap(), Int::MIN);
        assert_eq!(Int::MIN.to_string(), min);
        assert_eq!(Int::MIN.to_i128(), Some(i128::MIN));
        assert_eq!(
            "-170141183460469231731687303715884105729".parse::<Int>(),
            Err(IntError::OutOfRange)
        );
        assert_eq!("-0".parse::<Int>().unwrap(), Int::ZERO);
        assert_eq!(Int::ZERO.to_string(), "0");
        assert_eq!("".parse::<Int>(), Err(IntError::Invalid));
        assert_eq!("1a".parse::<Int>(), Err(IntError::Invalid));
        for v in [
            0i128,
            1,
            -1,
            42,
            i128::MAX,
            i128::MIN,
            10_i128.pow(19),
            -(10_i128.pow(19)),
        ] {
            assert_eq!(Int::from_i128(v).to_string(), v.to_string());
            assert_eq!(v.to_string().parse::<Int>().unwrap().to_i128(), Some(v));
        }
    }

    #[test]
    fn ordering_across_signs_and_widths() {
        let vals: Vec<Int> = [
            "-170141183460469231731687303715884105728",
            "-5",
            "-1",
            "0",
            "1",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
            "1000000000000000000000000000000000000000000",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for (i, a) in vals.iter().enumerate() {
            for (j, b) in vals.iter().enumerate() {
                assert_eq!(a.cmp(b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn be_bytes() {
        let mut b = [0u8; 32];
        b[0] = 1;
        let v = Int::from_be_bytes(&b);
        assert_eq!(
            v.to_string(),
            "452312848583266388373324160190187140051835877600158453279131187530910662656"
        );
        assert_eq!(Int::from_be_slice(&[0, 0, 1, 0]), Some(Int::from(256u64)));
        assert_eq!(Int::from_be_slice(&[1; 33]), None);
    }
}
