//! Kubernetes resource quantities (`500m`, `1.5Gi`, `128M`, `1e9`) as numbers.

pub use crate::validation::quantity::{parse_json, Quantity};

/// The value of a quantity in base units (cores, bytes); `None` when malformed.
pub fn value(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let bin = |e: i32| 1024f64.powi(e);
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => bin(1),
        "Mi" => bin(2),
        "Gi" => bin(3),
        "Ti" => bin(4),
        "Pi" => bin(5),
        "Ei" => bin(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// Thousandths of a quantity, rounded up (millicores of a CPU quantity).
pub fn milli(q: &str) -> Option<i64> {
    value(q).map(|v| (v * 1000.0).ceil() as i64)
}

/// A whole quantity in the canonical form upstream's `Quantity.String()` prints (`1024Mi` is
/// `1Gi`, `1000k` is `1M`, `0.5Gi` is `512Mi`): binary suffixes stay binary (below 1024 the plain
/// number), others decimal. `None` when malformed or not a whole number of units.
pub fn canonical(q: &str) -> Option<String> {
    let v = value(q)?;
    if v.fract() != 0.0 || v.abs() >= 9.0e18 {
        return None;
    }
    Some(format_whole(v as i64, q.trim().ends_with('i')))
}

/// A whole number of units as upstream prints a quantity of that value, in the binary
/// (`BinarySI`) or decimal format.
pub fn format_whole(n: i64, binary: bool) -> String {
    let (base, suffixes): (i64, &[&str]) = if binary && n.abs() >= 1024 {
        (1024, &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])
    } else {
        (1000, &["", "k", "M", "G", "T", "P", "E"])
    };
    let (mut m, mut i) = (n, 0);
    while m != 0 && m % base == 0 && i + 1 < suffixes.len() {
        m /= base;
        i += 1;
    }
    format!("{m}{}", suffixes[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(value("1Gi"), Some(1073741824.0));
        assert_eq!(value("128M"), Some(128e6));
        assert_eq!(value("1e9"), Some(1e9));
        assert_eq!(milli("500m"), Some(500));
        assert_eq!(milli("0.25"), Some(250));
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(value("12x"), None);
        assert_eq!(canonical("10Mi").as_deref(), Some("10Mi"));
        assert_eq!(canonical("1024Mi").as_deref(), Some("1Gi"));
        assert_eq!(canonical("0.5Gi").as_deref(), Some("512Mi"));
        assert_eq!(canonical("1536Mi").as_deref(), Some("1536Mi"));
        assert_eq!(canonical("1000k").as_deref(), Some("1M"));
        assert_eq!(canonical("20M").as_deref(), Some("20M"));
        assert_eq!(canonical("512").as_deref(), Some("512"));
        assert_eq!(canonical("0.5Ki").as_deref(), Some("512"));
        assert_eq!(canonical("0").as_deref(), Some("0"));
        assert_eq!(value(""), None);
    }
}
