//! The JSONPath forms `additionalPrinterColumns` and the `scale` subresource use: dotted
//! fields (`.spec.replicas`), indexes (`.spec.ports[0]`), and filters on a field
//! (`.status.conditions[?(@.type=="Ready")].status`). An expression may be wrapped in `{}`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    /// `[?(@.a.b=="v")]`: the first element whose field equals `v`.
    Filter(Vec<String>, Value),
    /// `[*]`: every element (the first is used).
    All,
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(p);
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut steps = Vec::new();
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                    j += 1;
                }
                if j > start {
                    steps.push(Step::Field(p[start..j].to_string()));
                }
                i = j;
            }
            b'[' => {
                let close = find_close(p, i)?;
                let inner = p[i + 1..close].trim();
                if inner == "*" {
                    steps.push(Step::All);
                } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                    let (lhs, rhs) = f.split_once("==")?;
                    let fields = lhs
                        .trim()
                        .strip_prefix("@.")?
                        .split('.')
                        .map(str::to_string)
                        .collect();
                    let rhs = rhs.trim();
                    let value = if let Some(s) = rhs
                        .strip_prefix('"')
                        .and_then(|r| r.strip_suffix('"'))
                        .or_else(|| rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                    {
                        Value::String(s.to_string())
                    } else {
                        serde_json::from_str(rhs).ok()?
                    };
                    steps.push(Step::Filter(fields, value));
                } else if let Some(s) = inner
                    .strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
                {
                    steps.push(Step::Field(s.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn find_close(p: &str, open: usize) -> Option<usize> {
    let mut quote = None;
    for (k, c) in p[open..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(open + k),
            _ => {}
        }
    }
    None
}

/// The value `path` selects in `obj` (the first one for filters and `[*]`), or None.
pub fn eval<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let steps = parse(path)?;
    let mut cur = obj;
    for s in &steps {
        cur = match s {
            Step::Field(f) => cur.get(f)?,
            Step::Index(i) => cur.get(*i)?,
            Step::All => cur.as_array()?.first()?,
            Step::Filter(fields, want) => cur
                .as_array()?
                .iter()
                .find(|e| fields.iter().try_fold(*e, |v, f| v.get(f)) == Some(want))?,
        };
    }
    Some(cur)
}

/// Whether `path` is a JSONPath form [`eval`] understands.
pub(crate) fn is_valid(path: &str) -> bool {
    parse(path).is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_forms() {
        let o = json!({"spec": {"replicas": 3, "ports": [{"port": 80}]},
            "status": {"conditions": [{"type": "Synced", "status": "False"},
                                      {"type": "Ready", "status": "True"}]}});
        assert_eq!(eval(&o, ".spec.replicas"), Some(&json!(3)));
        assert_eq!(eval(&o, "{.spec.ports[0].port}"), Some(&json!(80)));
        assert_eq!(
            eval(&o, ".status.conditions[?(@.type==\"Ready\")].status"),
            Some(&json!("True"))
        );
        assert_eq!(eval(&o, ".spec.missing"), None);
        assert_eq!(eval(&o, ".spec['replicas']"), Some(&json!(3)));
        assert!(!is_valid("spec"));
    }
}
