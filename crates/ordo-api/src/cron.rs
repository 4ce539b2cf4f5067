//! Cron schedules as kube-controller-manager reads them (robfig/cron v3 `ParseStandard`): five
//! fields (minute, hour, day of month, month, day of week) with `*`, `?`, lists, ranges, steps
//! and month/day names, the descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight`, `@hourly` and `@every <duration>`, and a `TZ=`/`CRON_TZ=` prefix. Parse errors
//! carry the parser's own texts (the API server shows them). [`Schedule::next`] follows the
//! parser's `Next`, wall clock fields in the schedule's time zone included, so daylight saving
//! days behave as upstream (a time in a spring-forward gap is skipped, one in the repeated hour
//! of a fall-back day runs twice). Time zones come from the tz database compiled into
//! `chrono-tz`. No I/O.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use std::str::FromStr;

/// Set on a field written `*` or `?` (robfig's `starBit`): day-of-month and day-of-week then
/// combine with AND instead of OR.
const STAR: u64 = 1 << 63;

/// A parsed schedule in a time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: Kind,
    zone: Tz,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Bit sets of the allowed values of each field (the seconds field is always `0`).
    Fields {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
    },
    /// `@every D`: D (whole seconds, at least one) after the previous run.
    Every(Duration),
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// Go's `time.LoadLocation`: `""` and `"UTC"` are UTC, any other name must be in the tz
/// database (error `unknown time zone NAME`). `Local` is not supported (ordo has no notion of
/// the controller's local zone; the API refuses it in `spec.timeZone`).
pub fn load_location(name: &str) -> Result<Tz, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(Tz::UTC);
    }
    Tz::from_str(name).map_err(|_| format!("unknown time zone {name}"))
}

/// robfig/cron's `ParseStandard`: a schedule in UTC unless it starts with `TZ=`/`CRON_TZ=`.
pub fn parse_standard(spec: &str) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut zone = Tz::UTC;
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let (name, rest) = match spec.find(' ') {
            Some(i) => (&spec[eq + 1..i], spec[i..].trim()),
            None => (&spec[eq + 1..], ""),
        };
        zone = load_location(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
        spec = rest;
    }
    if spec.starts_with('@') {
        return descriptor(spec).map(|kind| Schedule { kind, zone });
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let kind = Kind::Fields {
        minute: field(fields[0], &MINUTES)?,
        hour: field(fields[1], &HOURS)?,
        dom: field(fields[2], &DOM)?,
        month: field(fields[3], &MONTHS)?,
        dow: field(fields[4], &DOW)?,
    };
    Ok(Schedule { kind, zone })
}

fn all(b: &Bounds) -> u64 {
    bits(b.min, b.max, 1) | STAR
}

fn descriptor(spec: &str) -> Result<Kind, String> {
    let fields = |minute, hour, dom, month, dow| Kind::Fields {
        minute,
        hour,
        dom,
        month,
        dow,
    };
    Ok(match spec {
        "@yearly" | "@annually" => fields(1, 1, 1 << 1, 1 << 1, all(&DOW)),
        "@monthly" => fields(1, 1, 1 << 1, all(&MONTHS), all(&DOW)),
        "@weekly" => fields(1, 1, all(&DOM), all(&MONTHS), 1),
        "@daily" | "@midnight" => fields(1, 1, all(&DOM), all(&MONTHS), all(&DOW)),
        "@hourly" => fields(1, all(&HOURS), all(&DOM), all(&MONTHS), all(&DOW)),
        _ => {
            if let Some(d) = spec.strip_prefix("@every ") {
                let d = parse_go_duration(d)
                    .map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
                // robfig's `Every`: at least a second, whole seconds.
                let secs = (d.num_seconds()).max(1);
                return Ok(Kind::Every(Duration::seconds(secs)));
            }
            return Err(format!("unrecognized descriptor: {spec}"));
        }
    })
}

fn bits(min: u32, max: u32, step: u32) -> u64 {
    if step == 1 {
        return !(u64::MAX << (max + 1)) & (u64::MAX << min);
    }
    (min..=max)
        .step_by(step as usize)
        .fold(0, |acc, i| acc | 1 << i)
}

fn field(f: &str, b: &Bounds) -> Result<u64, String> {
    f.split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0, |acc, r| Ok(acc | range(r, b)?))
}

/// robfig's `getRange`: `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let mut extra = 0;
    let (start, mut end);
    if low_high[0] == "*" || low_high[0] == "?" {
        (start, end) = (b.min, b.max);
        extra = STAR;
    } else {
        start = int_or_name(low_high[0], b)?;
        end = match low_high.len() {
            1 => start,
            2 => int_or_name(low_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_uint(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(bits(start, end, step) | extra)
}

fn int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some((_, v)) = b.names.iter().find(|(n, _)| *n == lower) {
        return Ok(*v);
    }
    parse_uint(expr)
}

/// robfig's `mustParseInt` (Go's `strconv.Atoi` texts).
fn parse_uint(expr: &str) -> Result<u32, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"
        ));
    }
    let n: i64 = expr.parse().map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"
        )
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    // Anything past 63 is out of every field's range; keep it visible in the range errors.
    Ok(u32::try_from(n).unwrap_or(u32::MAX).min(1_000_000))
}

/// Go's `time.ParseDuration`, with its error texts.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let orig = s;
    let invalid = || format!("time: invalid duration {orig:?}");
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(Duration::zero());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_len = s
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        let num = &s[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        s = &s[num_len..];
        let unit_len = s
            .bytes()
            .take_while(|c| !(c.is_ascii_digit() || *c == b'.'))
            .count();
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let nanos = match unit {
            "" => return Err(format!("time: missing unit in duration {orig:?}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        total += value * nanos;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let d = Duration::nanoseconds(total as i64);
    Ok(if neg { -d } else { d })
}

/// Go's `time.Date` in `tz`: a wall clock time that does not exist (a spring-forward gap) or
/// exists twice is resolved as Go resolves it.
fn go_date(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let offset_at =
        |utc: NaiveDateTime| i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc());
    let guess = offset_at(naive);
    let mut utc = naive - Duration::seconds(guess);
    let actual = offset_at(utc);
    if actual != guess {
        utc = naive - Duration::seconds(actual);
    }
    utc.and_utc()
}

/// Go's `time.Date` normalisation of an out-of-range month or day.
fn normalized(y: i32, m: i64, d: i64, time: chrono::NaiveTime) -> NaiveDateTime {
    let months = i64::from(y) * 12 + (m - 1);
    let (y, m) = (
        months.div_euclid(12) as i32,
        months.rem_euclid(12) as u32 + 1,
    );
    let first = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
    (first + Duration::days(d - 1)).and_time(time)
}

impl Schedule {
    /// The schedule with `zone` in place of the one it was parsed with.
    pub fn in_zone(mut self, zone: Tz) -> Schedule {
        self.zone = zone;
        self
    }

    /// The time zone the fields are read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first activation strictly after `t` (robfig's `Next`), None when there is none
    /// within five years (a schedule such as `0 0 30 2 *`).
    pub fn next(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Kind::Fields {
            minute,
            hour,
            dom,
            month,
            dow,
        } = self.kind
        else {
            let Kind::Every(d) = self.kind else {
                unreachable!()
            };
            return Some(t.with_nanosecond(0).unwrap_or(t) + d);
        };
        let tz = self.zone;
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
        let has = |set: u64, v: u32| set & (1 << v) != 0;
        let day_matches = |l: NaiveDateTime| {
            let dom_match = has(dom, l.day());
            let dow_match = has(dow, l.weekday().num_days_from_sunday());
            if dom & STAR != 0 || dow & STAR != 0 {
                dom_match && dow_match
            } else {
                dom_match || dow_match
            }
        };
        let midnight = chrono::NaiveTime::MIN;
        let mut t = t.with_nanosecond(0).unwrap_or(t) + Duration::seconds(1);
        let mut added = false;
        let year_limit = local(t).year() + 5;
        'wrap: loop {
            if local(t).year() > year_limit {
                return None;
            }
            while !has(month, local(t).month()) {
                let l = local(t);
                if !added {
                    added = true;
                    t = go_date(tz, normalized(l.year(), l.month().into(), 1, midnight));
                }
                let l = local(t);
                t = go_date(
                    tz,
                    normalized(l.year(), i64::from(l.month()) + 1, l.day().into(), l.time()),
                );
                if local(t).month() == 1 {
                    continue 'wrap;
                }
            }
            while !day_matches(local(t)) {
                if !added {
                    added = true;
                    t = go_date(tz, local(t).date().and_time(midnight));
                }
                let l = local(t);
                t = go_date(
                    tz,
                    normalized(l.year(), l.month().into(), i64::from(l.day()) + 1, l.time()),
                );
                // A daylight saving change can leave the day not at midnight.
                let h = i64::from(local(t).hour());
                if h != 0 {
                    t += Duration::hours(if h > 12 { 24 - h } else { -h });
                }
                if local(t).day() == 1 {
                    continue 'wrap;
                }
            }
            while !has(hour, local(t).hour()) {
                if !added {
                    added = true;
                    let l = local(t);
                    let at = l.date().and_hms_opt(l.hour(), 0, 0).unwrap_or(l);
                    t = go_date(tz, at);
                }
                t += Duration::hours(1);
                if local(t).hour() == 0 {
                    continue 'wrap;
                }
            }
            while !has(minute, local(t).minute()) {
                if !added {
                    added = true;
                    t = DateTime::from_timestamp(t.timestamp() - t.timestamp().rem_euclid(60), 0)
                        .unwrap_or(t);
                }
                t += Duration::minutes(1);
                if local(t).minute() == 0 {
                    continue 'wrap;
                }
            }
            while local(t).second() != 0 {
                added = true;
                t += Duration::seconds(1);
                if local(t).second() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(spec: &str, from: &str) -> String {
        parse_standard(spec)
            .unwrap()
            .next(at(from))
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    }

    #[test]
    fn parse_errors_have_upstream_texts() {
        let err = |s| parse_standard(s).unwrap_err();
        assert_eq!(err("foo"), "expected exactly 5 fields, found 1: [foo]");
        assert_eq!(
            err("* * * *"),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(
            err("61 * * * *"),
            "end of range (61) above maximum (59): 61"
        );
        assert_eq!(
            err("* * 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            err("x * * * *"),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("5-2 * * * *"),
            "beginning of range (5) beyond end of range (2): 5-2"
        );
        assert_eq!(
            err("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(err("@often"), "unrecognized descriptor: @often");
        assert_eq!(
            err("@every 1d"),
            "failed to parse duration @every 1d: time: unknown unit \"d\" in duration \"1d\""
        );
        assert_eq!(
            err("TZ=Mars/Base * * * * *"),
            "provided bad location Mars/Base: unknown time zone Mars/Base"
        );
        assert_eq!(err(""), "empty spec string");
        assert!(parse_standard("*/5 1-3,7 ? JAN-mar mon-FRI").is_ok());
    }

    #[test]
    fn next_times() {
        assert_eq!(
            next("*/1 * * * *", "2026-12-07T23:50:12Z"),
            "2026-12-07T23:51:00+00:00"
        );
        assert_eq!(
            next("*/1 * * * *", "2026-12-07T23:51:00Z"),
            "2026-12-07T23:52:00+00:00"
        );
        assert_eq!(
            next("@hourly", "2026-12-07T23:50:12Z"),
            "2026-12-08T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00+00:00"
        );
        assert_eq!(next("0 0 30 2 *", "2026-03-01T00:00:00Z"), "");
        // Day of month OR day of week when both are restricted; AND when one is `*`.
        assert_eq!(
            next("0 0 13 * 5", "2026-12-01T00:00:00Z"),
            "2026-12-04T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 * * 5", "2026-12-01T00:00:00Z"),
            "2026-12-04T00:00:00+00:00"
        );
        assert_eq!(
            next("@weekly", "2026-12-01T00:00:00Z"),
            "2026-12-06T00:00:00+00:00"
        );
        assert_eq!(
            next("@every 90s", "2026-12-01T00:00:00.5Z"),
            "2026-12-01T00:01:30+00:00"
        );
        assert_eq!(
            next("0 12 * * *", "2026-12-31T12:00:00Z"),
            "2027-01-01T12:00:00+00:00"
        );
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        let ny = load_location("America/New_York").unwrap();
        let s = |spec| parse_standard(spec).unwrap().in_zone(ny);
        // 09:00 New York is 14:00 UTC in winter, 13:00 UTC in summer.
        assert_eq!(
            s("0 9 * * *").next(at("2026-12-07T00:00:00Z")),
            Some(at("2026-12-07T14:00:00Z"))
        );
        assert_eq!(
            s("0 9 * * *").next(at("2026-07-07T00:00:00Z")),
            Some(at("2026-07-07T13:00:00Z"))
        );
        // Spring forward (2026-03-08, 02:00 EST → 03:00 EDT): 02:30 does not exist that day.
        assert_eq!(
            s("30 2 * * *").next(at("2026-03-08T05:00:00Z")),
            Some(at("2026-03-09T06:30:00Z"))
        );
        // Hourly across the gap: 01:00 EST then 03:00 EDT, an hour apart.
        assert_eq!(
            s("0 * * * *").next(at("2026-03-08T06:00:00Z")),
            Some(at("2026-03-08T07:00:00Z"))
        );
        // Fall back (2026-11-01, 02:00 EDT → 01:00 EST): 01:30 happens twice.
        let first = s("30 1 * * *").next(at("2026-11-01T04:00:00Z")).unwrap();
        assert_eq!(first, at("2026-11-01T05:30:00Z"));
        assert_eq!(
            s("30 1 * * *").next(first),
            Some(at("2026-11-01T06:30:00Z"))
        );
        // A TZ= prefix sets the zone.
        assert_eq!(
            parse_standard("TZ=Asia/Tokyo 0 9 * * *")
                .unwrap()
                .next(at("2026-12-07T00:00:00Z")),
            Some(at("2026-12-08T00:00:00Z"))
        );
        assert_eq!(
            load_location("Mars/Base").unwrap_err(),
            "unknown time zone Mars/Base"
        );
        assert_eq!(load_location(""), Ok(Tz::UTC));
    }
}
