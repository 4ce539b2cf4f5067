//! `resource.Quantity`: parsing, comparison and upstream's canonical string form.

/// A parsed quantity: its value in nano-units and whether it was written with a binary suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// Value × 10⁹ (rounded up).
    pub nanos: i128,
    binary: bool,
    exponent: bool,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parses `1`, `0.5`, `500m`, `1Gi`, `1e3`, `-2k`...; `None` when malformed.
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let (neg, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        // value = digits × 10^(-frac_len)
        let digits: String = format!("{int_part}{frac_part}");
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let frac_len = frac_part.len() as i32;
        let (mut binary, mut exponent) = (false, false);
        let (mul2, exp10): (u32, i32) = match suffix {
            "" => (0, 0),
            "n" => (0, -9),
            "u" => (0, -6),
            "m" => (0, -3),
            "k" => (0, 3),
            "M" => (0, 6),
            "G" => (0, 9),
            "T" => (0, 12),
            "P" => (0, 15),
            "E" => (0, 18),
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                binary = true;
                let p = "KMGTPE".find(&suffix[..1]).unwrap() as u32;
                (10 * (p + 1), 0)
            }
            e if e.starts_with(['e', 'E']) => {
                exponent = true;
                (0, e[1..].parse::<i32>().ok()?)
            }
            _ => return None,
        };
        // nanos = mantissa × 2^mul2 × 10^(exp10 - frac_len + 9), rounded up.
        let scale = exp10 - frac_len + 9;
        let base = mantissa.checked_mul(1i128.checked_shl(mul2)?)?;
        let nanos = if scale >= 0 {
            base.checked_mul(10i128.checked_pow(scale as u32)?)?
        } else {
            let d = 10i128.checked_pow((-scale) as u32)?;
            (base + d - 1) / d
        };
        Some(Quantity {
            nanos: if neg { -nanos } else { nanos },
            binary,
            exponent,
        })
    }

    /// Upstream `Quantity.String()` (canonical form).
    pub fn canonical(&self) -> String {
        let n = self.nanos;
        if n == 0 {
            return "0".to_string();
        }
        let sign = if n < 0 { "-" } else { "" };
        let a = n.abs();
        if self.binary && a >= 1024 * NANO && a % NANO == 0 {
            let mut v = a / NANO;
            let mut i = 0;
            while v % 1024 == 0 && i < 6 {
                v /= 1024;
                i += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][i];
            return format!("{sign}{v}{suffix}");
        }
        let (mut m, mut e) = (a, -9i32);
        while m % 1000 == 0 && e < 18 {
            m /= 1000;
            e += 3;
        }
        let suffix = if self.exponent {
            if e == 0 {
                String::new()
            } else {
                format!("e{e}")
            }
        } else {
            match e {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                _ => "E",
            }
            .to_string()
        };
        format!("{sign}{m}{suffix}")
    }
}

impl Quantity {
    /// Zero, printed `0`.
    pub const ZERO: Quantity = Quantity {
        nanos: 0,
        binary: false,
        exponent: false,
    };

    /// A whole number in the decimal format (`resource.NewQuantity(n, DecimalSI)`).
    pub fn from_int(n: i64) -> Quantity {
        Quantity {
            nanos: n as i128 * NANO,
            binary: false,
            exponent: false,
        }
    }

    /// `Quantity.Add`: the sum keeps this quantity's format, or takes `other`'s when this is zero.
    /// Sums beyond the range saturate (upstream's decimals have none; 10²⁹ units is past any use).
    pub fn add(&self, other: &Quantity) -> Quantity {
        let base = if self.nanos == 0 { other } else { self };
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            ..*base
        }
    }

    /// `Quantity.Sub`: the difference keeps this quantity's format (or `other`'s when zero).
    pub fn sub(&self, other: &Quantity) -> Quantity {
        let base = if self.nanos == 0 { other } else { self };
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            ..*base
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// Parses a JSON quantity (string or number).
pub fn parse_json(v: &serde_json::Value) -> Option<Quantity> {
    let raw = v
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string());
    Quantity::parse(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        Quantity::parse(s).unwrap().canonical()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(c("0.5"), "500m");
        assert_eq!(c("1000m"), "1");
        assert_eq!(c("1500m"), "1500m");
        assert_eq!(c("2000"), "2k");
        assert_eq!(c("1Gi"), "1Gi");
        assert_eq!(c("1.5Gi"), "1536Mi");
        assert_eq!(c("1024Mi"), "1Gi");
        assert_eq!(c("100Mi"), "100Mi");
        assert_eq!(c("512"), "512");
        assert_eq!(c("-1"), "-1");
        assert_eq!(c("1e3"), "1e3");
        assert!(Quantity::parse("abc").is_none());
        assert!(Quantity::parse("1Xi").is_none());
        assert!(Quantity::parse("1Gi").unwrap().nanos > Quantity::parse("1G").unwrap().nanos);
    }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    #[test]
    fn huge_sums_saturate_instead_of_overflowing() {
        // Found by the `quantity` fuzz target: adding this to itself overflowed (a panic with
        // debug assertions, a wrapped negative quota sum without).
        let q = Quantity::parse("111111111111111111111111111111").unwrap();
        assert_eq!(q.add(&q).nanos, i128::MAX);
        let n = Quantity::parse("-111111111111111111111111111111").unwrap();
        assert_eq!(n.sub(&q).nanos, i128::MIN);
        let _ = q.add(&q).canonical();
    }
}
