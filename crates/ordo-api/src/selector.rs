//! Label and field selectors with upstream (`k8s.io/apimachinery/pkg/labels`,
//! `.../pkg/fields`) parsing, matching and canonical string forms.

use serde_json::Value;
use std::fmt;

// ---------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------

/// Operator of a label [`Requirement`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `k=v`
    Equals,
    /// `k==v`
    DoubleEquals,
    /// `k!=v`
    NotEquals,
    /// `k in (a,b)`
    In,
    /// `k notin (a,b)`
    NotIn,
    /// `k`
    Exists,
    /// `!k`
    DoesNotExist,
    /// `k>1` (integer comparison)
    GreaterThan,
    /// `k<1` (integer comparison)
    LessThan,
}

/// One requirement of a label selector; `values` are sorted and de-duplicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// The label key, e.g. `app` or `app.kubernetes.io/name`.
    pub key: String,
    /// How the label's value is compared with `values`.
    pub operator: Operator,
    /// The values compared with: none for `k` and `!k`, one for `=`, `==`, `!=`, `>` and `<`
    /// (an integer for the last two), one or more for `in` and `notin`.
    pub values: Vec<String>,
}

impl Requirement {
    /// Builds a validated requirement, like upstream `labels.NewRequirement`.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, String> {
        let errs = qualified_name_errors(key);
        if !errs.is_empty() {
            return Err(format!("key: Invalid value: {key:?}: {}", errs.join("; ")));
        }
        use Operator::*;
        let count_err = match operator {
            In | NotIn if values.is_empty() => {
                Some("for 'in', 'notin' operators, values set can't be empty")
            }
            Equals | DoubleEquals | NotEquals if values.len() != 1 => {
                Some("exact-match compatibility requires one single value")
            }
            Exists | DoesNotExist if !values.is_empty() => {
                Some("values set must be empty for exists and does not exist")
            }
            GreaterThan | LessThan if values.len() != 1 => {
                Some("for 'Gt', 'Lt' operators, exactly one value is required")
            }
            GreaterThan | LessThan if values[0].parse::<i64>().is_err() => {
                Some("for 'Gt', 'Lt' operators, the value must be an integer")
            }
            _ => None,
        };
        if let Some(msg) = count_err {
            return Err(format!("values: Invalid value: {values:?}: {msg}"));
        }
        for (i, v) in values.iter().enumerate() {
            let errs = label_value_errors(v);
            if !errs.is_empty() {
                return Err(format!(
                    "values[{i}][{key}]: Invalid value: {v:?}: {}",
                    errs.join("; ")
                ));
            }
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Self {
            key: key.to_string(),
            operator,
            values,
        })
    }

    /// Whether a `metadata.labels` object (or `null`) satisfies this requirement.
    pub fn matches(&self, labels: &Value) -> bool {
        let value = labels.get(&self.key).and_then(scalar_string);
        self.operator.holds(&self.values, value.as_deref())
    }
}

impl Operator {
    /// The operator of a `matchExpressions` entry or a node selector requirement (`In`,
    /// `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`); `None` for any other name.
    pub fn from_expression(op: &str) -> Option<Operator> {
        Some(match op {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::GreaterThan,
            "Lt" => Operator::LessThan,
            _ => return None,
        })
    }

    /// Whether a label whose value is `value` (`None`: the label is absent) satisfies this
    /// operator over `values` (upstream `Requirement.Matches`). This is the one matcher every
    /// selector form uses: parsed selector strings, typed `LabelSelector`s and node selector
    /// requirements.
    pub fn holds(self, values: &[String], value: Option<&str>) -> bool {
        let has = |v: &str| values.iter().any(|x| x == v);
        let int_cmp = |gt: bool| {
            let (Some(v), Some(want)) = (value, values.first()) else {
                return false;
            };
            match (v.parse::<i64>(), want.parse::<i64>()) {
                (Ok(v), Ok(want)) => (gt && v > want) || (!gt && v < want),
                _ => false,
            }
        };
        match self {
            Operator::Equals | Operator::DoubleEquals | Operator::In => value.is_some_and(has),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(has),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan => int_cmp(true),
            Operator::LessThan => int_cmp(false),
        }
    }
}

/// Whether a node whose label (or field) is `value` satisfies a node selector requirement
/// (`nodeSelectorTerms`, volume node affinity): `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`,
/// `Lt`; an unknown operator matches nothing.
pub fn node_requirement_holds(
    r: &k8s_openapi::api::core::v1::NodeSelectorRequirement,
    value: Option<&str>,
) -> bool {
    Operator::from_expression(&r.operator)
        .is_some_and(|op| op.holds(r.values.as_deref().unwrap_or_default(), value))
}

/// Whether `labels` satisfy a typed `metav1.LabelSelector` (upstream
/// `LabelSelectorAsSelector(sel).Matches(labels)`): every `matchLabels` pair and every
/// `matchExpressions` requirement; the empty selector matches everything, an expression with
/// an unknown operator matches nothing.
pub fn label_selector_matches(
    sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    sel.match_labels
        .iter()
        .flatten()
        .all(|(k, v)| get(k) == Some(v.as_str()))
        && sel.match_expressions.iter().flatten().all(|e| {
            Operator::from_expression(&e.operator)
                .filter(|op| !matches!(op, Operator::GreaterThan | Operator::LessThan))
                .is_some_and(|op| op.holds(e.values.as_deref().unwrap_or_default(), get(&e.key)))
        })
}

impl fmt::Display for Requirement {
    /// Upstream `Requirement.String()`: `a=b`, `a!=b`, `a in (x,y)`, `a`, `!a`, `a>1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Exists => return f.write_str(&self.key),
            Operator::DoesNotExist => return write!(f, "!{}", self.key),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
        };
        let values = self.values.join(",");
        match self.operator {
            Operator::In | Operator::NotIn => write!(f, "{}{op}({values})", self.key),
            _ => write!(f, "{}{op}{values}", self.key),
        }
    }
}

/// A parsed label selector: a conjunction of [`Requirement`]s, sorted by key.
/// The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the string form, e.g. `a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j`.
    /// Whitespace is tolerated; the empty string selects everything. Errors read like
    /// upstream's (`unable to parse requirement: ...`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: lex(s),
            pos: 0,
        };
        Ok(Self::sorted(parser.parse()?))
    }

    /// Converts a `metav1.LabelSelector` JSON object (`matchLabels` and `matchExpressions`
    /// with `In`, `NotIn`, `Exists`, `DoesNotExist`). An empty or absent (`null`) selector
    /// matches everything.
    pub fn from_label_selector(sel: &Value) -> Result<Self, String> {
        if sel.is_null() {
            return Ok(Self::default());
        }
        if !sel.is_object() {
            return Err("a label selector must be an object".into());
        }
        let mut reqs = Vec::new();
        if let Some(labels) = sel.get("matchLabels").filter(|v| !v.is_null()) {
            let labels = labels.as_object().ok_or("matchLabels must be an object")?;
            for (k, v) in labels {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("matchLabels[{k}] must be a string"))?;
                reqs.push(Requirement::new(k, Operator::Equals, vec![v.to_string()])?);
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").filter(|v| !v.is_null()) {
            let exprs = exprs.as_array().ok_or("matchExpressions must be a list")?;
            for e in exprs {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let op = e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let op = match Operator::from_expression(op) {
                    Some(op @ (Operator::In | Operator::NotIn))
                    | Some(op @ (Operator::Exists | Operator::DoesNotExist)) => op,
                    _ => return Err(format!("{op:?} is not a valid label selector operator")),
                };
                let values = match e.get("values") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(vs)) => vs
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or("matchExpressions values must be strings")?,
                    Some(_) => return Err("matchExpressions values must be a list".into()),
                };
                reqs.push(Requirement::new(key, op, values)?);
            }
        }
        Ok(Self::sorted(reqs))
    }

    fn sorted(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self { requirements }
    }

    /// Whether a `metadata.labels` object (or `null`) satisfies every requirement.
    pub fn matches(&self, labels: &Value) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// True when the selector has no requirements (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelSelector {
    /// Upstream `Selector.String()`: requirements sorted by key, comma-joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Ident,
    In,
    NotIn,
    Eq,
    DoubleEq,
    NotEq,
    Not,
    Gt,
    Lt,
    OpenPar,
    ClosePar,
    Comma,
    End,
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn symbol(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosePar,
        "," => Tok::Comma,
        "!" => Tok::Not,
        "==" => Tok::DoubleEq,
        "=" => Tok::Eq,
        ">" => Tok::Gt,
        "<" => Tok::Lt,
        "!=" => Tok::NotEq,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

/// Upstream's selector lexer: identifiers, keywords `in`/`notin` and longest-match symbols.
fn lex(s: &str) -> Vec<(Tok, String)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && is_space(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            out.push((Tok::End, String::new()));
            return out;
        }
        let start = i;
        if is_special(chars[i]) {
            let mut last = None;
            while i < chars.len() && is_special(chars[i]) {
                let buf: String = chars[start..=i].iter().collect();
                match symbol(&buf) {
                    Some(t) => last = Some((t, buf)),
                    None if last.is_some() => break,
                    None => {}
                }
                i += 1;
            }
            // Every single special character is a symbol, so `last` is always set.
            let (tok, lit) = last.expect("special characters are symbols");
            i = start + lit.chars().count();
            out.push((tok, lit));
        } else {
            while i < chars.len() && !is_special(chars[i]) && !is_space(chars[i]) {
                i += 1;
            }
            let lit: String = chars[start..i].iter().collect();
            let tok = match lit.as_str() {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Ident,
            };
            out.push((tok, lit));
        }
    }
}

/// Upstream's recursive-descent selector parser.
struct Parser {
    tokens: Vec<(Tok, String)>,
    pos: usize,
}

impl Parser {
    /// Peeks at the next token. In a "values" context the keywords are identifiers.
    fn peek(&self, values: bool) -> (Tok, String) {
        let (tok, lit) = self.tokens[self.pos.min(self.tokens.len() - 1)].clone();
        match tok {
            Tok::In | Tok::NotIn if values => (Tok::Ident, lit),
            _ => (tok, lit),
        }
    }

    fn next(&mut self, values: bool) -> (Tok, String) {
        let t = self.peek(values);
        self.pos = (self.pos + 1).min(self.tokens.len() - 1);
        t
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.peek(true);
            match tok {
                Tok::Ident | Tok::Not => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.next(true);
                    match t {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.peek(true);
                            if t2 != Tok::Ident && t2 != Tok::Not {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ))
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (mut tok, mut key) = self.next(true);
        let negated = tok == Tok::Not;
        if negated {
            (tok, key) = self.next(true);
        }
        if tok != Tok::Ident {
            return Err(format!("found '{key}', expected: identifier"));
        }
        let (after, _) = self.peek(true);
        if negated || matches!(after, Tok::End | Tok::Comma) {
            let op = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Requirement::new(&key, op, Vec::new());
        }
        let (tok, lit) = self.next(false);
        let op = match tok {
            Tok::In => Operator::In,
            Tok::NotIn => Operator::NotIn,
            Tok::Eq => Operator::Equals,
            Tok::DoubleEq => Operator::DoubleEquals,
            Tok::NotEq => Operator::NotEquals,
            Tok::Gt => Operator::GreaterThan,
            Tok::Lt => Operator::LessThan,
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ))
            }
        };
        let values = match op {
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        Requirement::new(&key, op, values)
    }

    /// `(a,b,c)`; empty members are the empty string.
    fn set_values(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.next(true);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.peek(true);
        match tok {
            Tok::Ident | Tok::Comma => {
                let values = self.identifier_list()?;
                let (tok, lit) = self.next(true);
                if tok != Tok::ClosePar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(values)
            }
            Tok::ClosePar => {
                self.next(true);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifier_list(&mut self) -> Result<Vec<String>, String> {
        let mut values: Vec<String> = Vec::new();
        loop {
            let (tok, lit) = self.next(true);
            match tok {
                Tok::Ident => {
                    values.push(lit);
                    let (t2, l2) = self.peek(true);
                    match t2 {
                        Tok::Comma => {}
                        Tok::ClosePar => return Ok(values),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.peek(true).0 {
                        Tok::ClosePar => {
                            values.push(String::new());
                            return Ok(values);
                        }
                        Tok::Comma => {
                            self.next(true);
                            values.push(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<` (possibly empty).
    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.peek(true).0, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.next(true) {
            (Tok::Ident, lit) => Ok(vec![lit]),
            (_, lit) => Err(format!("found '{lit}', expected: identifier")),
        }
    }
}

const NAME_PART_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// `validation.IsQualifiedName`: `[prefix/]name`.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts[..] {
        [name] => name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else if prefix.len() > 253 {
                errs.push("prefix part must be no more than 253 characters".to_string());
            } else if !prefix.split('.').all(is_dns_label) {
                errs.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
            }
            name
        }
        _ => {
            return vec![format!("a qualified name {NAME_PART_MSG} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")]
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_name_part(name) {
        errs.push(format!("name part {NAME_PART_MSG} (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
    }
    errs
}

/// `validation.IsValidLabelValue`.
fn label_value_errors(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !v.is_empty() && !is_name_part(v) {
        errs.push(format!("a valid label must be an empty string or {} (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')", &NAME_PART_MSG[5..]));
    }
    errs
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

// ---------------------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    equals: bool,
    value: String,
}

/// A parsed field selector: a conjunction of `field=value` / `field!=value` terms.
/// The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parses e.g. `metadata.name=x,status.phase!=Failed,spec.nodeName=`. Operators are
    /// `=`, `==` and `!=`; values may be empty; `\,`, `\=` and `\\` escape as upstream.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let bad = || format!("invalid selector: '{s}'; can't understand '{part}'");
            let (field, op, raw) = split_term(part).ok_or_else(bad)?;
            terms.push(FieldTerm {
                field: field.trim().to_string(),
                equals: op != "!=",
                value: unescape_value(raw)?,
            });
        }
        Ok(Self { terms })
    }

    /// Whether an object satisfies every term; `get(field)` yields the object's value for
    /// a field, and a missing field counts as `""`.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let v = get(&t.field).unwrap_or_default();
            (v == t.value) == t.equals
        })
    }

    /// The terms as `(field, equals, value)`; `equals` is false for `!=`.
    pub fn requirements(&self) -> impl Iterator<Item = (&str, bool, &str)> {
        self.terms
            .iter()
            .map(|t| (t.field.as_str(), t.equals, t.value.as_str()))
    }

    /// True when the selector has no terms (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

impl fmt::Display for FieldSelector {
    /// Upstream `Selector.String()`: `field=value` terms, values escaped, comma-joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            let value = t
                .value
                .replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace('=', "\\=");
            let op = if t.equals { "=" } else { "!=" };
            write!(f, "{}{}{op}{value}", if i > 0 { "," } else { "" }, t.field)?;
        }
        Ok(())
    }
}

/// Splits on unescaped commas, keeping escapes in place.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator (`!=`, `==`, `=`, in that priority).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {c}"
                ))
            }
            _ => out.push(c),
        }
    }
    if escaped {
        return Err("invalid field selector: invalid escape sequence: \\".into());
    }
    Ok(out)
}

/// The value of a field-selector field (`metadata.name`, `spec.nodeName`, `status.phase`,
/// `involvedObject.uid`, `type`, ...) of a JSON object: follows the dotted path and
/// stringifies scalars; `None` when absent or not a scalar. `source` (Events) yields
/// `source.component`, falling back to `reportingComponent`, like upstream.
pub fn field_value(obj: &Value, path: &str) -> Option<String> {
    if path == "source" {
        let component = obj.pointer("/source/component").and_then(scalar_string);
        return component
            .filter(|c| !c.is_empty())
            .or_else(|| obj.get("reportingComponent").and_then(scalar_string));
    }
    path.split('.')
        .try_fold(obj, |cur, part| cur.get(part))
        .and_then(scalar_string)
}

#[cfg(test)]
mod tests;
