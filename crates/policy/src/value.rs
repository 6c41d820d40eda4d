//! [`Value`]: the documents policies read (and what an expression evaluates to), and
//! [`Timestamp`], the `time.now` / `Timestamp('…')` type.

use std::collections::BTreeMap;
use std::fmt;

use crate::int::Int;

/// One value of an input document. Maps are the structs of Turnkey's object model (`activity`,
/// `wallet`, `eth.tx`, each approver …) and also free-form maps (`activity.params`,
/// `eth.tx.contract_call_args`, `eth.eip_712.message`).
///
/// `Null` exists so JSON converts losslessly, but reading a `null` field behaves exactly like
/// reading a missing one (an evaluation error), the way an absent `Option` does in Turnkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(Int),
    Str(String),
    Timestamp(Timestamp),
    List(Vec<Value>),
    Map(Map),
}

/// A JSON value that has no [`Value`] form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl Value {
    /// The kind's name as the language calls it (`bool`, `int`, `string`, `timestamp`, `list`,
    /// `struct`, `null`), for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Str(_) => "string",
            Value::Timestamp(_) => "timestamp",
            Value::List(_) => "list",
            Value::Map(_) => "struct",
        }
    }

    /// A map from `(key, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().collect())
    }

    /// A list of string values.
    pub fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::List(items.into_iter().map(|s| Value::Str(s.into())).collect())
    }

    /// Convert JSON: numbers must be integers (any `u64`/`i64`; larger amounts must be passed as
    /// [`Value::Int`] directly, e.g. from [`Int::from_be_bytes`]); objects become maps, `null`
    /// stays `Null`.
    pub fn from_json(json: &serde_json::Value) -> Result<Value, ValueError> {
        Ok(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Value::Int(Int::from(u))
                } else if let Some(i) = n.as_i64() {
                    Value::Int(Int::from(i))
                } else {
                    return Err(ValueError(format!(
                        "`{n}` is not an integer; the policy language has no floats"
                    )));
                }
            }
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(Value::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Value::from_json(v)?)))
                    .collect::<Result<Map, ValueError>>()?,
            ),
        })
    }

    /// The field `name` of a map value, if this is a map that has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(name),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<Int> for Value {
    fn from(i: Int) -> Value {
        Value::Int(i)
    }
}

impl From<u64> for Value {
    fn from(i: u64) -> Value {
        Value::Int(Int::from(i))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(Int::from(i))
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Value {
        Value::Timestamp(t)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::List(items)
    }
}

impl fmt::Display for Value {
    /// The value written in the policy language's own syntax (maps as `{key: value}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "'{s}'"),
            Value::Timestamp(t) => write!(f, "Timestamp('{t}')"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A struct or free-form map: unique keys, kept sorted. Stored as one sorted vector: the maps
/// of a request are small, and a scan of a few contiguous keys is what field access costs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        if self.entries.len() <= 16 {
            self.entries
                .iter()
                .find(|(k, _)| k.len() == key.len() && k == key)
                .map(|(_, v)| v)
        } else {
            self.entries
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| &self.entries[i].1)
        }
    }

    /// Set `key`, returning its previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => Some(self.entries.remove(i).1),
            Err(_) => None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Map {
    /// Later entries replace earlier ones with the same key.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        let mut entries: Vec<(String, Value)> =
            iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        // Stable: equal keys keep their order, so the last one is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, Value)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        Map { entries: out }
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl From<BTreeMap<String, Value>> for Map {
    fn from(m: BTreeMap<String, Value>) -> Map {
        Map {
            entries: m.into_iter().collect(),
        }
    }
}

/// An instant in UTC: seconds since the Unix epoch and nanoseconds within the second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Why a string is not an RFC 3339 UTC timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimestampError(&'static str);

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

impl Timestamp {
    /// From seconds and nanoseconds since the Unix epoch (`nanos` is clamped below 10^9).
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp {
            secs,
            nanos: nanos.min(999_999_999),
        }
    }

    /// From milliseconds since the Unix epoch (what `domain::Clock` gives).
    pub fn from_unix_millis(ms: i64) -> Timestamp {
        Timestamp {
            secs: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) as u32) * 1_000_000,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Parse RFC 3339 with a zero UTC offset, as Turnkey's `Timestamp('…')` does: offsets `Z`,
    /// `z`, `+00:00` or `-00:00`; `T`, `t` or a space between date and time; optional fraction
    /// of up to 9 digits. Any other offset is rejected.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, TimestampError> {
        let b = s.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Result<u32, TimestampError> {
            let part = b
                .get(range)
                .ok_or(TimestampError("too short for RFC 3339"))?;
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(TimestampError("expected digits (YYYY-MM-DDTHH:MM:SSZ)"));
            }
            Ok(part.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
        };
        let sep = |i: usize, allowed: &[u8]| -> Result<(), TimestampError> {
            match b.get(i) {
                Some(c) if allowed.contains(c) => Ok(()),
                _ => Err(TimestampError("not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ)")),
            }
        };
        let year = i64::from(num(0..4)?);
        sep(4, b"-")?;
        let month = num(5..7)?;
        sep(7, b"-")?;
        let day = num(8..10)?;
        sep(10, b"Tt ")?;
        let hour = num(11..13)?;
        sep(13, b":")?;
        let minute = num(14..16)?;
        sep(16, b":")?;
        let second = num(17..19)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(TimestampError("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError("no such time of day"));
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            if digits == 0 || digits > 9 {
                return Err(TimestampError(
                    "fraction of a second must have 1 to 9 digits",
                ));
            }
            nanos = num(start..i)? * 10u32.pow(9 - digits as u32);
        }
        match &s[i..] {
            "Z" | "z" | "+00:00" | "-00:00" => {}
            "" => return Err(TimestampError("missing UTC offset (end with `Z`)")),
            _ => {
                return Err(TimestampError(
                    "only a zero UTC offset is accepted (`Z`, `+00:00` or `-00:00`)",
                ))
            }
        }
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Ok(Timestamp { secs, nanos })
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with `Z`, with a fraction only when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_keys_sorted_and_unique() {
        let mut m: Map = [
            ("b", Value::from(1u64)),
            ("a", 2u64.into()),
            ("b", 3u64.into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("b"), Some(&Value::from(3u64)));
        assert_eq!(m.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m.insert("c", Value::Bool(true)), None);
        assert_eq!(m.insert("a", Value::Bool(false)), Some(Value::from(2u64)));
        assert_eq!(m.remove("b"), Some(Value::from(3u64)));
        assert_eq!(m.get("b"), None);
        let big: Map = (0..40)
            .map(|i| (format!("k{i:02}"), Value::from(i as u64)))
            .collect();
        assert_eq!(big.get("k33"), Some(&Value::from(33u64)));
        assert_eq!(big.get("k40"), None);
        let from_json = Value::from_json(&serde_json::json!({"z": 1, "a": [true, null]})).unwrap();
        assert_eq!(
            from_json.get("a"),
            Some(&Value::List(vec![Value::Bool(true), Value::Null]))
        );
    }

    #[test]
    fn rfc3339_zero_offset_only() {
        let t = Timestamp::parse_rfc3339("2026-03-01T00:00:00Z").unwrap();
        assert_eq!(t.unix_secs(), 1_772_323_200);
        assert_eq!(t.to_string(), "2026-03-01T00:00:00Z");
        for ok in [
            "2026-03-01t00:00:00z",
            "2026-03-01 00:00:00+00:00",
            "2026-03-01T00:00:00-00:00",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(ok).unwrap(), t, "{ok}");
        }
        let frac = Timestamp::parse_rfc3339("1970-01-01T00:00:01.25Z").unwrap();
        assert_eq!((frac.unix_secs(), frac.subsec_nanos()), (1, 250_000_000));
        assert_eq!(frac.to_string(), "1970-01-01T00:00:01.25Z");
        for bad in [
            "2026-03-01T00:00:00-05:00",
            "2026-03-01T00:00:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01",
            "",
            "2026-03-01T00:00:00.Z",
            "2026-03-01T00:00:00.1234567890Z",
            "2026-03-01T00:00:00Zjunk",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
        assert!(Timestamp::parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
        let old = Timestamp::parse_rfc3339("1900-01-01T00:00:00Z").unwrap();
        assert_eq!(old.to_string(), "1900-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }
}
