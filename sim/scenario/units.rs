//! Human units of scenario files: sizes (`16GiB`), page counts, durations (`1h30m`) and rates
//! (`120/h`).
//!
//! Every quantity is an exact integer: sizes in bytes (`u64`), durations in nanoseconds (`u64`).
//! Nanoseconds because a `u64` of them spans 584 years, far beyond any horizon, while the
//! engine's virtual clock can use the same unit without rounding sub-millisecond events (an
//! allocation costs far less than a millisecond). Decimal input (`1.5GiB`, `0.5s`) is accepted only
//! when the result is a whole number of bytes or nanoseconds, so no value is ever rounded.
//! Sizes use binary multiples throughout (`kB` means 1024 bytes, as in the kernel's own
//! `/proc/meminfo` and failure reports). Each type prints in a form its parser reads back
//! (`Display` → `FromStr` is the identity; a property test checks it).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Bytes in a page on x86-64 (`PAGE_SIZE`).
pub const PAGE_SIZE: u64 = 4096;

/// A malformed unit string; the message says which forms are accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

/// What each unit is, as serde's type errors name it and as the JSON Schema's titles say.
pub const SIZE_NOUN: &str =
    "a size such as `16GiB`, `512MiB` or `4k`, or plain bytes such as `4096`";
pub const PAGES_NOUN: &str = "a number of 4 KiB pages such as `3998`, or a size such as `15992kB`";
pub const DURATION_NOUN: &str = "a duration such as `7d`, `90m`, `1h30m`, `45s` or `250ms`";
pub const RATE_NOUN: &str = "a rate such as `120/h`, `2/m`, `0.5/s` or `3/10m`";

const SIZE_FORMS: &str = "write a number with a binary unit such as `16GiB`, `512MiB`, `4k`, \
     `1.5G`, or plain bytes such as `4096` (units B, K/KiB/kB, M/MiB/MB, G/GiB/GB, T/TiB/TB, \
     P/PiB/PB, E/EiB/EB, all powers of 1024)";
const DURATION_FORMS: &str = "write numbers with units from the largest to the smallest, such \
     as `7d`, `90m`, `1h30m`, `45s` or `250ms` (units d, h, m, s, ms, us, ns)";
const RATE_FORMS: &str = "write COUNT/PERIOD such as `120/h`, `2/m`, `0.5/s` or `3/10m` \
     (a count per duration)";
const PAGES_FORMS: &str =
    "write a number of 4 KiB pages such as `3998`, or a size such as `15992kB`";

/// Splits `text` into a leading decimal number and the rest.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// `number × multiplier` exactly, for a decimal `number` (`12`, `1.5`). `None` when the number is
/// malformed, the product is not a whole number, or it does not fit in a `u64`.
fn exact_product(number: &str, multiplier: u64) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 18
        || whole.len() > 20
    {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let scale = 10u128.pow(frac.len() as u32);
    let frac: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let frac_part = frac.checked_mul(multiplier as u128)?;
    if frac_part % scale != 0 {
        return None;
    }
    let total = whole.checked_mul(multiplier as u128)? + frac_part / scale;
    u64::try_from(total).ok()
}

/// A number from a scenario as its file writes it: YAML's `.nan`, `.inf` and `-.inf` for the
/// values that are not finite (where Rust would print `NaN` and `inf`).
pub(crate) fn yaml_number(x: f64) -> String {
    match x {
        x if x.is_nan() => ".nan".into(),
        f64::INFINITY => ".inf".into(),
        f64::NEG_INFINITY => "-.inf".into(),
        x => x.to_string(),
    }
}

/// A number of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

const SIZE_UNITS: [(&str, u32); 6] = [
    ("E", 60),
    ("P", 50),
    ("T", 40),
    ("G", 30),
    ("M", 20),
    ("K", 10),
];

impl Size {
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Whole 4 KiB pages (rounded down).
    pub fn pages(self) -> u64 {
        self.0 / PAGE_SIZE
    }

    /// Kibibytes (rounded down), the unit of `vm.min_free_kbytes` and of failure reports.
    pub fn kib(self) -> u64 {
        self.0 / 1024
    }

    /// For people to read: one decimal in the largest binary unit the size reaches (`1.5 GiB`,
    /// `620.0 MiB`, `512 B`), where [`Display`](fmt::Display) is exact (`1536MiB`).
    pub fn approx(self) -> String {
        match SIZE_UNITS.iter().find(|&&(_, shift)| self.0 >> shift > 0) {
            Some((prefix, shift)) => {
                format!("{:.1} {prefix}iB", self.0 as f64 / (1u64 << shift) as f64)
            }
            None => format!("{} B", self.0),
        }
    }
}

impl FromStr for Size {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let err = || UnitError(format!("`{text}` is not a size: {SIZE_FORMS}"));
        let (number, unit) = split_number(text.trim());
        let upper = unit.trim().to_ascii_uppercase();
        let shift = match upper.as_str() {
            "" | "B" => 0,
            _ => {
                let prefix = upper
                    .strip_suffix("IB")
                    .or_else(|| upper.strip_suffix('B'))
                    .unwrap_or(&upper);
                SIZE_UNITS
                    .iter()
                    .find(|(p, _)| *p == prefix)
                    .map(|&(_, s)| s)
                    .ok_or_else(err)?
            }
        };
        exact_product(number, 1u64 << shift)
            .map(Size)
            .ok_or_else(|| {
                if number.is_empty() {
                    err()
                } else {
                    UnitError(format!(
                        "`{text}` is not a whole number of bytes below 16 EiB: {SIZE_FORMS}"
                    ))
                }
            })
    }
}

impl fmt::Display for Size {
    /// The largest binary unit that divides the size exactly: `16GiB`, `4KiB`, `4095B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (prefix, shift) in SIZE_UNITS {
            let unit = 1u64 << shift;
            if self.0 != 0 && self.0.is_multiple_of(unit) {
                return write!(f, "{}{prefix}iB", self.0 / unit);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// A number of 4 KiB pages. Written as a plain number of pages (`3998`, as /proc/zoneinfo prints
/// them) or as a size that is a whole number of pages (`15992kB`, as failure reports print them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pages(pub u64);

impl Pages {
    pub fn bytes(self) -> u128 {
        self.0 as u128 * PAGE_SIZE as u128
    }
}

impl FromStr for Pages {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        if let Ok(pages) = text.trim().parse::<u64>() {
            return Ok(Pages(pages));
        }
        let size: Size = text
            .parse()
            .map_err(|_| UnitError(format!("`{text}` is not a page count: {PAGES_FORMS}")))?;
        if !size.0.is_multiple_of(PAGE_SIZE) {
            return Err(UnitError(format!(
                "`{text}` is not a whole number of 4 KiB pages"
            )));
        }
        Ok(Pages(size.0 / PAGE_SIZE))
    }
}

impl fmt::Display for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A span of simulated time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

const NS_PER_SEC: u64 = 1_000_000_000;
const DURATION_UNITS: [(&str, u64); 7] = [
    ("d", 86_400 * NS_PER_SEC),
    ("h", 3_600 * NS_PER_SEC),
    ("m", 60 * NS_PER_SEC),
    ("s", NS_PER_SEC),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs * NS_PER_SEC)
    }

    pub fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_SEC as f64
    }
}

impl FromStr for Duration {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let err =
            |why: &str| UnitError(format!("`{text}` is not a duration{why}: {DURATION_FORMS}"));
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(err(""));
        }
        let mut total: u64 = 0;
        let mut last_unit = usize::MAX;
        while !rest.is_empty() {
            let (number, tail) = split_number(rest);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let index = DURATION_UNITS
                .iter()
                .position(|(u, _)| *u == unit)
                .ok_or_else(|| {
                    err(if unit.is_empty() {
                        " (a unit is missing)"
                    } else {
                        ""
                    })
                })?;
            if last_unit != usize::MAX && index <= last_unit {
                return Err(err(
                    " (units must go from the largest to the smallest, once each)",
                ));
            }
            last_unit = index;
            let part = exact_product(number, DURATION_UNITS[index].1)
                .ok_or_else(|| err(" (not a whole number of nanoseconds below 584 years)"))?;
            total = total
                .checked_add(part)
                .ok_or_else(|| err(" (longer than 584 years)"))?;
            rest = tail;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    /// Exact, largest units first: `1h30m`, `7d`, `250ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, ns) in DURATION_UNITS {
            if rest >= ns {
                write!(f, "{}{unit}", rest / ns)?;
                rest %= ns;
            }
        }
        Ok(())
    }
}

/// Events per period: `120/h` is 120 events per hour. The count is kept in millionths so that
/// decimal counts (`0.5/s`) stay exact; two rates are equal when written with the same count and
/// period (`60/h` and `1/m` describe the same intensity but are different values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Events per `per`, in millionths.
    pub micro_events: u64,
    /// The period; never zero.
    pub per: Duration,
}

impl Rate {
    /// Events per second.
    pub fn per_second(self) -> f64 {
        self.micro_events as f64 / 1e6 / self.per.as_secs_f64()
    }

    /// Mean time between events (rounded to the nanosecond); `None` for a zero rate.
    pub fn mean_interval(self) -> Option<Duration> {
        if self.micro_events == 0 {
            return None;
        }
        let ns = self.per.0 as u128 * 1_000_000 / self.micro_events as u128;
        Some(Duration(u64::try_from(ns).unwrap_or(u64::MAX)))
    }
}

impl FromStr for Rate {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let err = |why: &str| UnitError(format!("`{text}` is not a rate{why}: {RATE_FORMS}"));
        let (count, period) = text.trim().split_once('/').ok_or_else(|| err(""))?;
        let micro_events = exact_product(count.trim(), 1_000_000)
            .ok_or_else(|| err(" (the count must be a number with at most 6 decimals)"))?;
        let period = period.trim();
        let per: Duration = if period.starts_with(|c: char| c.is_ascii_digit()) {
            period.parse()
        } else {
            format!("1{period}").parse()
        }
        .map_err(|_| err(" (the period is not a duration such as `h`, `10m` or `1d`)"))?;
        if per.0 == 0 {
            return Err(err(" (the period is zero)"));
        }
        Ok(Rate { micro_events, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.micro_events / 1_000_000)?;
        let frac = self.micro_events % 1_000_000;
        if frac != 0 {
            let digits = format!("{frac:06}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        let per = self.per.to_string();
        match per.strip_prefix('1') {
            Some(unit) if DURATION_UNITS.iter().any(|(u, _)| *u == unit) => {
                write!(f, "/{unit}")
            }
            _ => write!(f, "/{per}"),
        }
    }
}

/// Serde for the unit types: a string in the type's own notation (sizes and pages also accept
/// a plain unsigned integer: bytes and pages respectively). `$noun` names the type in type errors
/// (a list where a size goes); `$forms` says how to write it after a malformed value.
macro_rules! unit_serde {
    ($t:ty, $noun:expr, $forms:expr, $from_int:expr) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($noun)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                        v.parse().map_err(|e: UnitError| E::custom(e))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$t, E> {
                        let from_int: Option<fn(u64) -> $t> = $from_int;
                        match from_int {
                            Some(f) => Ok(f(v)),
                            None => Err(E::custom(format!("`{v}` has no unit: {}", $forms))),
                        }
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$t, E> {
                        match u64::try_from(v) {
                            Ok(v) => self.visit_u64(v),
                            Err(_) => Err(E::custom(format!("`{v}` is negative: {}", $forms))),
                        }
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$t, E> {
                        Err(E::custom(format!("`{v}` has no unit: {}", $forms)))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

unit_serde!(Size, SIZE_NOUN, SIZE_FORMS, Some(Size));
unit_serde!(Pages, PAGES_NOUN, PAGES_FORMS, Some(Pages));
unit_serde!(Duration, DURATION_NOUN, DURATION_FORMS, None);
unit_serde!(Rate, RATE_NOUN, RATE_FORMS, None);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        let s = |t: &str| t.parse::<Size>().map(|s| s.0);
        assert_eq!(s("16GiB"), Ok(16 << 30));
        assert_eq!(s("512MiB"), Ok(512 << 20));
        assert_eq!(s("4k"), Ok(4096));
        assert_eq!(s("15992kB"), Ok(15992 * 1024));
        assert_eq!(s("4096"), Ok(4096));
        assert_eq!(s("1.5G"), Ok(3 << 29));
        assert_eq!(s("1EiB"), Ok(1 << 60));
        assert!(s("16EiB").unwrap_err().0.contains("below 16 EiB"));
        assert!(s("0.3B").is_err());
        assert_eq!(
            s("16 gigs").unwrap_err().0,
            format!("`16 gigs` is not a size: {SIZE_FORMS}")
        );
        assert_eq!(Size(16 << 30).to_string(), "16GiB");
        assert_eq!(Size(4095).to_string(), "4095B");
        assert_eq!(Size(6 << 9).to_string(), "3KiB");
        assert_eq!(
            [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.25].map(yaml_number),
            [".nan", ".inf", "-.inf", "0.25"]
        );
        assert_eq!(Size(1536 << 20).approx(), "1.5 GiB");
        assert_eq!(Size(620 << 20).approx(), "620.0 MiB");
        assert_eq!(Size(512).approx(), "512 B");
        assert_eq!(Size(u64::MAX).approx(), "16.0 EiB");
    }

    #[test]
    fn pages() {
        assert_eq!("3998".parse::<Pages>(), Ok(Pages(3998)));
        assert_eq!("15992kB".parse::<Pages>(), Ok(Pages(3998)));
        assert_eq!(
            "15993kB".parse::<Pages>().unwrap_err().0,
            "`15993kB` is not a whole number of 4 KiB pages"
        );
    }

    #[test]
    fn durations() {
        let d = |t: &str| t.parse::<Duration>().map(|d| d.0);
        assert_eq!(d("90m"), Ok(5_400 * NS_PER_SEC));
        assert_eq!(d("7d"), Ok(604_800 * NS_PER_SEC));
        assert_eq!(d("1h30m"), Ok(5_400 * NS_PER_SEC));
        assert_eq!(d("45s"), Ok(45 * NS_PER_SEC));
        assert_eq!(d("250ms"), Ok(250_000_000));
        assert_eq!(d("1.5h"), Ok(5_400 * NS_PER_SEC));
        assert_eq!(
            d("30m1h").unwrap_err().0,
            format!(
                "`30m1h` is not a duration (units must go from the largest to the smallest, \
                 once each): {DURATION_FORMS}"
            )
        );
        assert_eq!(
            d("3600").unwrap_err().0,
            format!("`3600` is not a duration (a unit is missing): {DURATION_FORMS}")
        );
        assert!(d("0.5ns").is_err());
        assert!(d("99999999d").is_err());
        assert_eq!(Duration(5_400 * NS_PER_SEC).to_string(), "1h30m");
        assert_eq!(Duration(250_000_000).to_string(), "250ms");
    }

    #[test]
    fn rates() {
        let r: Rate = "120/h".parse().unwrap();
        assert_eq!(r.per, Duration::from_secs(3600));
        assert_eq!(r.mean_interval(), Some(Duration::from_secs(30)));
        let half: Rate = "0.5/s".parse().unwrap();
        assert_eq!(half.mean_interval(), Some(Duration::from_secs(2)));
        assert_eq!("2/m".parse::<Rate>().unwrap().to_string(), "2/m");
        assert_eq!("3/10m".parse::<Rate>().unwrap().to_string(), "3/10m");
        assert_eq!(
            "120 per hour".parse::<Rate>().unwrap_err().0,
            format!("`120 per hour` is not a rate: {RATE_FORMS}")
        );
        assert!("1/0s"
            .parse::<Rate>()
            .unwrap_err()
            .0
            .contains("period is zero"));
        assert_eq!("0/h".parse::<Rate>().unwrap().mean_interval(), None);
    }

    proptest! {
        #[test]
        fn size_round_trips(n in any::<u64>()) {
            prop_assert_eq!(Size(n).to_string().parse::<Size>(), Ok(Size(n)));
        }

        #[test]
        fn duration_round_trips(n in any::<u64>()) {
            prop_assert_eq!(Duration(n).to_string().parse::<Duration>(), Ok(Duration(n)));
        }

        #[test]
        fn rate_round_trips(micro in any::<u64>(), per in 1u64..) {
            let rate = Rate { micro_events: micro, per: Duration(per) };
            prop_assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        }

        #[test]
        fn garbage_never_panics(text in "\\PC{0,24}") {
            let _ = text.parse::<Size>();
            let _ = text.parse::<Pages>();
            let _ = text.parse::<Duration>();
            let _ = text.parse::<Rate>();
        }

        #[test]
        fn unit_like_garbage_never_panics(text in "[0-9.]{0,30}[a-zA-Z/ ]{0,4}[0-9.]{0,22}[a-z]{0,3}") {
            let _ = text.parse::<Size>();
            let _ = text.parse::<Duration>();
            let _ = text.parse::<Rate>();
        }
    }
}
