//! The string `format`s kube-openapi checks (`strfmt.Default`, the ones CRDs use); unknown
//! formats pass, as upstream.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `s` is a valid `format` value (true for formats not checked).
pub(crate) fn valid(format: &str, s: &str) -> bool {
    match format {
        "date-time" | "datetime" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "uuid" => uuid_like(s, None),
        "uuid3" => uuid_like(s, Some('3')),
        "uuid4" => uuid_like(s, Some('4')),
        "uuid5" => uuid_like(s, Some('5')),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        "ipv4" => s.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "cidr" => {
            s.split_once('/')
                .is_some_and(|(a, m)| match (a.parse::<IpAddr>(), m.parse::<u8>()) {
                    (Ok(IpAddr::V4(_)), Ok(m)) => m <= 32,
                    (Ok(IpAddr::V6(_)), Ok(m)) => m <= 128,
                    _ => false,
                })
        }
        "hostname" => hostname(s),
        "email" => s
            .split_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && hostname(d)),
        "mac" => {
            let parts: Vec<&str> = s.split([':', '-']).collect();
            matches!(parts.len(), 6 | 8 | 20)
                && parts
                    .iter()
                    .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
        }
        _ => true,
    }
}

fn uuid_like(s: &str, version: Option<char>) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, l)| g.len() == l && g.chars().all(|c| c.is_ascii_hexdigit()))
        && version.is_none_or(|v| groups[2].starts_with(v))
}

fn hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}
