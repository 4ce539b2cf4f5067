//! Human-readable durations, ported from `k8s.io/apimachinery/pkg/util/duration`.
//!
//! kubectl never computes the AGE of a server-side Table itself: it prints whatever
//! string the server puts in the cell, so these must match upstream byte for byte.

use chrono::{DateTime, Duration, Utc};

/// Kubernetes `duration.HumanDuration`: a succinct duration with ~2-3 significant
/// figures ("0s", "119s", "2m1s", "10m", "3h1m", "8h", "2d1h", "8d", "2y1d", "8y").
///
/// Durations below -1s (clock skew beyond tolerance) print `<invalid>`; smaller
/// negative durations print `0s`.
pub fn human_duration(d: Duration) -> String {
    // `num_seconds` truncates toward zero, like Go's `int(d.Seconds())`.
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            dy => format!("{years}y{dy}d"),
        };
    }
    format!("{years}y")
}

/// Parses a Kubernetes timestamp (`metav1.Time` / `metav1.MicroTime`, RFC 3339).
pub fn parse_timestamp(ts: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The AGE cell for an RFC 3339 timestamp: `human_duration(now - ts)`, or
/// `<unknown>` when the timestamp is missing, empty or unparsable (upstream's
/// `translateTimestampSince` on a zero time).
pub fn age(ts: Option<&str>, now: DateTime<Utc>) -> String {
    match ts.and_then(parse_timestamp) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: i64) -> Duration {
        Duration::milliseconds(n)
    }
    fn s(n: i64) -> Duration {
        Duration::seconds(n)
    }
    fn m(n: i64) -> Duration {
        Duration::minutes(n)
    }
    fn h(n: i64) -> Duration {
        Duration::hours(n)
    }

    #[test]
    fn upstream_examples() {
        let cases = [
            (s(1), "1s"),
            (s(70), "70s"),
            (s(190), "3m10s"),
            (m(70), "70m"),
            (h(47), "47h"),
            (h(49), "2d1h"),
            (h(8 * 24 + 2), "8d"),
            (h(367 * 24), "367d"),
            (h(365 * 2 * 24 + 25), "2y1d"),
            (h(365 * 8 * 24 + 2), "8y"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn upstream_boundaries() {
        let day = h(24);
        let year = h(365 * 24);
        let cases = [
            (s(-2), "<invalid>"),
            (s(-2) + Duration::nanoseconds(1), "0s"),
            (s(0), "0s"),
            (s(1) - ms(1), "0s"),
            (m(2) - ms(1), "119s"),
            (m(2), "2m"),
            (m(2) + s(1), "2m1s"),
            (m(10) - ms(1), "9m59s"),
            (m(10), "10m"),
            (m(10) + s(1), "10m"),
            (h(3) - ms(1), "179m"),
            (h(3), "3h"),
            (h(3) + m(1), "3h1m"),
            (h(8) - ms(1), "7h59m"),
            (h(8), "8h"),
            (h(8) + m(59), "8h"),
            (day * 2 - ms(1), "47h"),
            (day * 2, "2d"),
            (day * 2 + h(1), "2d1h"),
            (day * 8 - ms(1), "7d23h"),
            (day * 8, "8d"),
            (day * 8 + h(23), "8d"),
            (year * 2 - ms(1), "729d"),
            (year * 2, "2y"),
            (year * 2 + h(23), "2y"),
            (year * 2 + h(23) + m(59), "2y"),
            (year * 2 + h(24) - ms(1), "2y"),
            (year * 2 + h(24), "2y1d"),
            (year * 3, "3y"),
            (year * 4, "4y"),
            (year * 5, "5y"),
            (year * 6, "6y"),
            (year * 7, "7y"),
            (year * 8 - ms(1), "7y364d"),
            (year * 8, "8y"),
            (year * 8 + day * 364, "8y"),
            (year * 9, "9y"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn age_cells() {
        let now = parse_timestamp("2026-11-25T14:17:33Z").unwrap();
        assert_eq!(age(Some("2026-11-25T14:17:05Z"), now), "28s");
        assert_eq!(age(Some("2026-11-25T14:12:33Z"), now), "5m");
        assert_eq!(age(Some("2026-11-25T14:17:33.123456Z"), now), "0s");
        assert_eq!(age(Some("2026-11-25T14:17:40Z"), now), "<invalid>");
        assert_eq!(age(Some("2026-11-25T16:17:33+02:00"), now), "0s");
        assert_eq!(age(None, now), "<unknown>");
        assert_eq!(age(Some(""), now), "<unknown>");
        assert_eq!(age(Some("yesterday"), now), "<unknown>");
    }
}
