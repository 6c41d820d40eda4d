//! Tiers, billing periods and proration — integer arithmetic only (docs/design/management-api.md
//! §2.2 "Plans", invariant 9).
//!
//! * A period is a calendar month in UTC: `[first day 00:00, first day of the next month
//!   00:00)`, found by civil-date arithmetic (days ↔ year/month/day), never floats.
//! * A plan change is immediate. Its price is the difference of the two tiers' monthly prices
//!   for the rest of the period: `round_half_up((to − from) × (period_end − now) /
//!   (period_end − period_start))`, computed in `i128` milliseconds. An upgrade charges a positive
//!   amount, a downgrade credits a negative one, equal prices give 0.
//! * Rounding is half-up in the commercial sense (half away from zero, like Java's
//!   `RoundingMode.HALF_UP`): 2.5 → 3 and −2.5 → −3, so a downgrade's credit mirrors the
//!   charge of the opposite upgrade at the same instant.
//! * The period's CU allotment moves by the same proration of the tiers' allotments.

use quorate_domain::Millis;
use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of an instant.
pub fn day_of(ms: Millis) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD` (exactly) as a day since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |a, c| {
            c.is_ascii_digit().then(|| a * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = (i64::from(num(0..4)?), num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A day since 1970-01-01 as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The billing period containing `now`: the UTC calendar month, `[start, end)` in ms.
pub fn month_period(now: Millis) -> (Millis, Millis) {
    let (y, m, _) = civil_from_days(day_of(now));
    let start = days_from_civil(y, m, 1) * DAY_MS;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, days_from_civil(ny, nm, 1) * DAY_MS)
}

/// `num / den` rounded half away from zero; `den > 0`.
pub fn round_half_up(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// `amount × remaining / length`, rounded half-up (away from zero), exactly. `remaining` is
/// clamped to `0..=length`, so the result's magnitude never exceeds `amount`'s.
pub fn prorate(amount: i64, remaining: i64, length: i64) -> i64 {
    if length <= 0 {
        return 0;
    }
    let remaining = remaining.clamp(0, length);
    let v = round_half_up(
        i128::from(amount) * i128::from(remaining),
        i128::from(length),
    );
    // |v| ≤ |amount|, so it fits.
    i64::try_from(v).unwrap_or(amount)
}

/// A plan tier: a monthly CU allotment at a monthly price (minor currency units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub id: String,
    pub name: String,
    pub cu_allotment: i64,
    pub price_minor: i64,
    pub currency: String,
}

impl Tier {
    fn new(id: &str, name: &str, cu_allotment: i64, price_minor: i64) -> Tier {
        Tier {
            id: id.into(),
            name: name.into(),
            cu_allotment,
            price_minor,
            currency: "USD".into(),
        }
    }
}

/// The deployment's tiers (`--tiers-file` / `QUORATE_TIERS_FILE`, read with
/// [`TierSettings::from_json`]); the first one is the default tier of organizations that
/// never chose one. Without a file: [`TierSettings::defaults`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierSettings(pub Vec<Tier>);

/// One entry of a tiers file: a tier, optionally with `"period": "month"` and `"object":
/// "tier"` (so the `data` of `GET /v1/tiers` is itself a valid file).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierEntry {
    id: String,
    name: String,
    cu_allotment: i64,
    price_minor: i64,
    currency: String,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    object: Option<String>,
}

impl TierSettings {
    /// free 1,000 CU for 0; starter 50,000 for 29.00; pro 500,000 for 199.00; enterprise
    /// 5,000,000 for 999.00 (USD, per month).
    pub fn defaults() -> TierSettings {
        TierSettings(vec![
            Tier::new("free", "Free", 1_000, 0),
            Tier::new("starter", "Starter", 50_000, 2_900),
            Tier::new("pro", "Pro", 500_000, 19_900),
            Tier::new("enterprise", "Enterprise", 5_000_000, 99_900),
        ])
    }

    /// Parses a tiers file: a JSON array of `{id, name, cu_allotment, price_minor, currency,
    /// period?}`; ids `^[a-z0-9][a-z0-9_-]{0,63}$` and unique, amounts ≥ 0, one ISO 4217
    /// currency for all, period `month` if given. Errors name the entry and field.
    pub fn from_json(text: &str) -> Result<TierSettings, String> {
        let entries: Vec<TierEntry> =
            quorate_proto::decode(text.as_bytes()).map_err(|e| format!("tiers file: {e}"))?;
        if entries.is_empty() {
            return Err("tiers file: at least one tier is needed".into());
        }
        if entries.len() > 100 {
            return Err("tiers file: at most 100 tiers".into());
        }
        let mut tiers: Vec<Tier> = Vec::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let bad = |field: &str, msg: &str| format!("tiers file: `[{i}].{field}`: {msg}");
            let id_ok = e.id.len() <= 64
                && e.id.bytes().enumerate().all(|(j, c)| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || (j > 0 && (c == b'_' || c == b'-'))
                })
                && !e.id.is_empty();
            if !id_ok {
                return Err(bad("id", "must match ^[a-z0-9][a-z0-9_-]{0,63}$"));
            }
            if tiers.iter().any(|t| t.id == e.id) {
                return Err(bad("id", "repeats an earlier tier's id"));
            }
            if e.name.trim().is_empty() || e.name.chars().count() > 128 {
                return Err(bad("name", "must be 1 to 128 characters"));
            }
            if e.cu_allotment < 0 {
                return Err(bad("cu_allotment", "must be ≥ 0"));
            }
            if e.price_minor < 0 {
                return Err(bad("price_minor", "must be ≥ 0"));
            }
            if e.currency.len() != 3 || !e.currency.bytes().all(|c| c.is_ascii_uppercase()) {
                return Err(bad("currency", "must be an ISO 4217 code like USD"));
            }
            if tiers.first().is_some_and(|t| t.currency != e.currency) {
                return Err(bad("currency", "every tier must use the same currency"));
            }
            if e.period.as_deref().is_some_and(|p| p != "month") {
                return Err(bad("period", "only `month` is supported"));
            }
            if e.object.as_deref().is_some_and(|o| o != "tier") {
                return Err(bad("object", "must be `tier` when given"));
            }
            tiers.push(Tier {
                id: e.id,
                name: e.name,
                cu_allotment: e.cu_allotment,
                price_minor: e.price_minor,
                currency: e.currency,
            });
        }
        Ok(TierSettings(tiers))
    }

    /// The default tier (the first).
    pub fn default_tier(&self) -> Option<&Tier> {
        self.0.first()
    }

    pub fn find(&self, id: &str) -> Option<&Tier> {
        self.0.iter().find(|t| t.id == id)
    }
}

/// Whether moving between two tiers costs, credits or is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Upgrade,
    Downgrade,
    Lateral,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Upgrade => "upgrade",
            ChangeKind::Downgrade => "downgrade",
            ChangeKind::Lateral => "lateral",
        }
    }
}

/// A priced transition from the current tier, effective `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// Charged now (negative: credited), minor units.
    pub prorated_price_minor: i64,
    /// The period's CU allotment after the change.
    pub period_allotment: i64,
}

/// Prices the move `from → to` at `now` within `[start, end)`, given the period's current CU
/// allotment.
pub fn change(
    from: &Tier,
    to: &Tier,
    allotment: i64,
    now: Millis,
    (start, end): (Millis, Millis),
) -> Change {
    let kind = match to.price_minor.cmp(&from.price_minor) {
        std::cmp::Ordering::Greater => ChangeKind::Upgrade,
        std::cmp::Ordering::Less => ChangeKind::Downgrade,
        std::cmp::Ordering::Equal => ChangeKind::Lateral,
    };
    let (remaining, length) = (end - now, end - start);
    let price = prorate(
        to.price_minor.saturating_sub(from.price_minor),
        remaining,
        length,
    );
    let cu = prorate(
        to.cu_allotment.saturating_sub(from.cu_allotment),
        remaining,
        length,
    );
    Change {
        kind,
        prorated_price_minor: price,
        period_allotment: allotment.saturating_add(cu).max(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: u32, d: u32) -> Millis {
        days_from_civil(y, m, d) * DAY_MS
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for z in [-800_000, -1, 0, 59, 365, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-01"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("2024-01-01T"), None);
        assert_eq!(format_date(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(format_date(0), "1970-01-01");
    }

    #[test]
    fn periods_are_calendar_months() {
        let now = ms(2024, 2, 10) + 12 * 3_600_000;
        assert_eq!(month_period(now), (ms(2024, 2, 1), ms(2024, 3, 1)));
        assert_eq!(
            month_period(ms(2024, 12, 31) + DAY_MS - 1),
            (ms(2024, 12, 1), ms(2025, 1, 1))
        );
        assert_eq!(
            month_period(ms(2025, 1, 1)),
            (ms(2025, 1, 1), ms(2025, 2, 1))
        );
        // February of a leap year is 29 days, of a common year 28.
        let (s, e) = month_period(ms(2024, 2, 5));
        assert_eq!((e - s) / DAY_MS, 29);
        let (s, e) = month_period(ms(2023, 2, 5));
        assert_eq!((e - s) / DAY_MS, 28);
    }

    #[test]
    fn half_up_rounds_halves_away_from_zero() {
        assert_eq!(round_half_up(5, 2), 3); // 2.5
        assert_eq!(round_half_up(-5, 2), -3); // -2.5
        assert_eq!(round_half_up(7, 4), 2); // 1.75
        assert_eq!(round_half_up(5, 4), 1); // 1.25
        assert_eq!(round_half_up(-5, 4), -1); // -1.25
        assert_eq!(round_half_up(-7, 4), -2); // -1.75
        assert_eq!(round_half_up(0, 3), 0);
        assert_eq!(round_half_up(1, 3), 0);
        assert_eq!(round_half_up(2, 3), 1);
        assert_eq!(round_half_up(-2, 3), -1);
    }

    #[test]
    fn proration_vectors() {
        // Half of a 30-day period left.
        assert_eq!(prorate(2_900, 15, 30), 1_450);
        // 100 × 1/8 = 12.5 → 13; a credit mirrors it: −12.5 → −13.
        assert_eq!(prorate(100, 1, 8), 13);
        assert_eq!(prorate(-100, 1, 8), -13);
        // 2,900 × 10/31 = 935.48… → 935; 19,900 × 1/3 = 6,633.33… → 6,633.
        assert_eq!(prorate(2_900, 10, 31), 935);
        assert_eq!(prorate(19_900, 1, 3), 6_633);
        assert_eq!(prorate(-19_900, 2, 3), -13_267); // −13,266.67
                                                     // Whole period, none left, out of range.
        assert_eq!(prorate(99_900, 30, 30), 99_900);
        assert_eq!(prorate(99_900, 0, 30), 0);
        assert_eq!(prorate(99_900, 31, 30), 99_900);
        assert_eq!(prorate(99_900, -5, 30), 0);
        // No overflow at the extremes (i128 inside).
        assert_eq!(prorate(i64::MAX, i64::MAX - 1, i64::MAX), i64::MAX - 1);
        assert_eq!(prorate(i64::MIN + 1, 1, 2), i64::MIN / 2);
    }

    #[test]
    fn plan_changes_in_a_31_day_month() {
        let t = TierSettings::defaults();
        let (free, starter, pro) = (&t.0[0], &t.0[1], &t.0[2]);
        let period = (ms(2025, 1, 1), ms(2025, 2, 1));
        // 10 days and 12 hours left of 31 days: 252 of 744 hours.
        let now = ms(2025, 1, 21) + 12 * 3_600_000;
        let up = change(free, pro, 1_000, now, period);
        assert_eq!(up.kind, ChangeKind::Upgrade);
        // 19,900 × 252/744 = 6,740.32… → 6,740.
        assert_eq!(up.prorated_price_minor, 6_740);
        // 1,000 + 499,000 × 252/744 = 1,000 + 169,016.13… → 170,016.
        assert_eq!(up.period_allotment, 170_016);
        let down = change(pro, starter, 500_000, now, period);
        assert_eq!(down.kind, ChangeKind::Downgrade);
        // −17,000 × 252/744 = −5,758.06… → −5,758.
        assert_eq!(down.prorated_price_minor, -5_758);
        // 500,000 − 450,000 × 252/744 = 500,000 − 152,419.35… → 347,581.
        assert_eq!(down.period_allotment, 347_581);
        // Exactly half of a 2-ms period left: 2,901 / 2 = 1,450.5 → 1,451, and the way
        // back credits −1,450.5 → −1,451.
        let odd = Tier::new("odd", "Odd", 0, 2_901);
        assert_eq!(change(free, &odd, 0, 1, (0, 2)).prorated_price_minor, 1_451);
        assert_eq!(
            change(&odd, free, 0, 1, (0, 2)).prorated_price_minor,
            -1_451
        );
        let same = Tier::new("same", "Same", 7, 0);
        let lateral = change(free, &same, 1_000, 1, (0, 2));
        assert_eq!(lateral.kind, ChangeKind::Lateral);
        assert_eq!(lateral.prorated_price_minor, 0);
        // 1,000 + (7 − 1,000) / 2: −496.5 rounds away from zero to −497, so 503.
        assert_eq!(lateral.period_allotment, 503);
    }

    #[test]
    fn tier_files() {
        let t = TierSettings::from_json(
            r#"[{"id":"basic","name":"Basic","cu_allotment":10,"price_minor":0,"currency":"EUR"},
                {"id":"max","name":"Max","cu_allotment":100,"price_minor":500,"currency":"EUR","period":"month"}]"#,
        )
        .unwrap();
        assert_eq!(t.default_tier().unwrap().id, "basic");
        assert_eq!(t.find("max").unwrap().price_minor, 500);
        for (text, needle) in [
            ("[]", "at least one"),
            (
                r#"[{"id":"A","name":"a","cu_allotment":1,"price_minor":0,"currency":"USD"}]"#,
                "`[0].id`",
            ),
            (
                r#"[{"id":"a","name":"a","cu_allotment":-1,"price_minor":0,"currency":"USD"}]"#,
                "`[0].cu_allotment`",
            ),
            (
                r#"[{"id":"a","name":"a","cu_allotment":1,"price_minor":0,"currency":"USD"},{"id":"a","name":"b","cu_allotment":1,"price_minor":0,"currency":"USD"}]"#,
                "`[1].id`",
            ),
            (
                r#"[{"id":"a","name":"a","cu_allotment":1,"price_minor":0,"currency":"USD"},{"id":"b","name":"b","cu_allotment":1,"price_minor":0,"currency":"EUR"}]"#,
                "`[1].currency`",
            ),
            (
                r#"[{"id":"a","name":"a","cu_allotment":1,"price_minor":0,"currency":"USD","period":"year"}]"#,
                "`[0].period`",
            ),
            (
                r#"[{"id":"a","name":"a","cu_allotment":1,"price_minor":0,"currency":"USD","x":1}]"#,
                "unknown field",
            ),
        ] {
            let e = TierSettings::from_json(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
