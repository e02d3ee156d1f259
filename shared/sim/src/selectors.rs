//! Label and field selectors, parsed and matched as the API server does.
//!
//! Label selectors follow the grammar of `k8s.io/apimachinery/pkg/labels`: `key`, `!key`,
//! `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key>1`,
//! `key<1`, joined by commas (AND). Keys and values are checked like the real server checks them.
//!
//! Field selectors (`k8s.io/apimachinery/pkg/fields`) are `field=value`, `field==value` and
//! `field!=value` joined by commas, with `\,` `\=` `\\` escapes. Unlike the real server, which
//! allows a short list of fields per kind, any dotted path into the object is accepted
//! (`metadata.name`, `involvedObject.kind`, `spec.nodeName`, `status.phase`, `reason`, …): a
//! missing field compares as the empty string, numbers and booleans as their JSON text.

use serde_json::{Map, Value};

/// A selector that cannot be parsed; the message says why, as the real server's does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

/// How a label requirement compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `key=value` or `key==value`: the label is present with that value.
    Equals,
    /// `key!=value`: the label is absent or has another value.
    NotEquals,
    /// `key in (a,b)`: the label is present with one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is an integer greater than `n`.
    GreaterThan,
    /// `key<n`: the label is an integer less than `n`.
    LessThan,
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key, with its optional prefix (`app.kubernetes.io/name`).
    pub key: String,
    /// How the label's value is compared.
    pub operator: Operator,
    /// No values for `Exists`/`DoesNotExist`, one for comparisons, one or more for sets.
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let value = labels.get(&self.key).map(|v| v.as_str().unwrap_or_default());
        match self.operator {
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Equals | Operator::In => value.is_some_and(|v| self.values.iter().any(|w| w == v)),
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.iter().any(|w| w == v)),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(actual), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { actual > bound } else { actual < bound }
            }
        }
    }
}

/// A parsed label selector: every requirement must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses a selector such as `app=web,tier in (fe,be),!canary`.
    ///
    /// # Errors
    /// [`SelectorError`] for a syntax error or an invalid key or value.
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        Parser { tokens: lex(text), pos: 0 }.parse()
    }

    /// The requirements, in the order written.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether the selector has no requirement (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches_object(&self, object: &Value) -> bool {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new));
        self.matches(labels)
    }
}

impl std::str::FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Open,
    Close,
    Comma,
    In,
    NotIn,
    Gt,
    Lt,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => s.clone(),
            Token::Bang => "!".into(),
            Token::Eq => "=".into(),
            Token::DoubleEq => "==".into(),
            Token::NotEq => "!=".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Comma => ",".into(),
            Token::In => "in".into(),
            Token::NotIn => "notin".into(),
            Token::Gt => ">".into(),
            Token::Lt => "<".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (token, len) = match (c, next) {
            ('!', Some('=')) => (Token::NotEq, 2),
            ('=', Some('=')) => (Token::DoubleEq, 2),
            ('!', _) => (Token::Bang, 1),
            ('=', _) => (Token::Eq, 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            (',', _) => (Token::Comma, 1),
            ('>', _) => (Token::Gt, 1),
            ('<', _) => (Token::Lt, 1),
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                });
                continue;
            }
        };
        tokens.push(token);
        i += len;
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn found(token: Option<&Token>) -> String {
        token.map_or_else(|| "end of string".to_string(), |t| format!("'{}'", t.describe()))
    }

    fn parse(mut self) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some(Token::Ident(_) | Token::Bang) => {
                    requirements.push(self.requirement()?);
                    match self.next() {
                        None => break,
                        Some(Token::Comma) => {
                            if !matches!(self.peek(), Some(Token::Ident(_) | Token::Bang)) {
                                return Err(SelectorError(format!(
                                    "found {}, expected: identifier after ','",
                                    Parser::found(self.peek())
                                )));
                            }
                        }
                        Some(other) => {
                            return Err(SelectorError(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                other.describe()
                            )));
                        }
                    }
                }
                Some(other) => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        other.describe()
                    )));
                }
            }
        }
        Ok(LabelSelector { requirements })
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let negated = self.peek() == Some(&Token::Bang);
        if negated {
            self.pos += 1;
        }
        let key = match self.next() {
            Some(Token::Ident(key)) => key,
            other => {
                return Err(SelectorError(format!("found {}, expected: identifier", Parser::found(other.as_ref()))));
            }
        };
        check_label_key(&key)?;
        if negated {
            return Ok(Requirement { key, operator: Operator::DoesNotExist, values: Vec::new() });
        }
        let operator = match self.peek() {
            None | Some(Token::Comma) => {
                return Ok(Requirement { key, operator: Operator::Exists, values: Vec::new() });
            }
            Some(Token::Eq | Token::DoubleEq) => Operator::Equals,
            Some(Token::NotEq) => Operator::NotEquals,
            Some(Token::In) => Operator::In,
            Some(Token::NotIn) => Operator::NotIn,
            Some(Token::Gt) => Operator::GreaterThan,
            Some(Token::Lt) => Operator::LessThan,
            Some(other) => {
                return Err(SelectorError(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    other.describe()
                )));
            }
        };
        self.pos += 1;
        let values = match operator {
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => vec![self.exact_value()?],
        };
        for value in &values {
            check_label_value(value)?;
        }
        if matches!(operator, Operator::GreaterThan | Operator::LessThan)
            && values.first().is_none_or(|v| v.parse::<i64>().is_err())
        {
            return Err(SelectorError(format!(
                "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer, got {:?}",
                values.first().map(String::as_str).unwrap_or_default()
            )));
        }
        Ok(Requirement { key, operator, values })
    }

    fn exact_value(&mut self) -> Result<String, SelectorError> {
        match self.peek().cloned() {
            None | Some(Token::Comma) => Ok(String::new()),
            Some(Token::Ident(value)) => {
                self.pos += 1;
                Ok(value)
            }
            Some(other) => Err(SelectorError(format!("found '{}', expected: identifier", other.describe()))),
        }
    }

    fn set_values(&mut self) -> Result<Vec<String>, SelectorError> {
        match self.next() {
            Some(Token::Open) => {}
            other => {
                return Err(SelectorError(format!("found {}, expected: '('", Parser::found(other.as_ref()))));
            }
        }
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            match self.next() {
                Some(Token::Ident(value)) if expect_value => {
                    values.push(value);
                    expect_value = false;
                }
                Some(Token::Comma) => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                Some(Token::Close) => {
                    if expect_value && !values.is_empty() {
                        values.push(String::new());
                    }
                    break;
                }
                other => {
                    return Err(SelectorError(format!(
                        "found {}, expected: ',', ')' or identifier",
                        Parser::found(other.as_ref())
                    )));
                }
            }
        }
        if values.is_empty() {
            return Err(SelectorError(
                "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty".into(),
            ));
        }
        Ok(values)
    }
}

fn is_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.first().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_label_key(key: &str) -> Result<(), SelectorError> {
    let valid = match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_name_part(name),
        None => is_name_part(key),
    };
    if valid {
        Ok(())
    } else {
        Err(SelectorError(format!(
            "unable to parse requirement: Invalid value: {key:?}: name part must consist of alphanumeric \
             characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', \
             or 'my.name', or '123-abc'), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        )))
    }
}

fn check_label_value(value: &str) -> Result<(), SelectorError> {
    if value.is_empty() || is_name_part(value) {
        Ok(())
    } else {
        Err(SelectorError(format!(
            "unable to parse requirement: Invalid value: {value:?}: a valid label must be an empty string or \
             consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
             character, at most 63 characters"
        )))
    }
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The dotted path, as written (`involvedObject.name`).
    pub field: String,
    /// `true` for `!=`.
    pub negated: bool,
    /// The value, unescaped.
    pub value: String,
}

/// A parsed field selector: every term must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses a selector such as `involvedObject.name=web-1,type!=Normal`.
    ///
    /// # Errors
    /// [`SelectorError`] for a term without an operator, an empty field name or a bad escape.
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        let mut requirements = Vec::new();
        for term in split_unescaped(text, ',') {
            if term.is_empty() {
                continue;
            }
            let Some((field, op, value)) = split_term(term) else {
                return Err(SelectorError(format!("invalid selector: '{text}'; can't understand '{term}'")));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(SelectorError(format!("invalid selector: '{text}'; a field name is required in '{term}'")));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                negated: op == "!=",
                value: unescape(value)
                    .map_err(|e| SelectorError(format!("invalid field selector: {e} in '{term}'")))?,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// The terms, in the order written.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether every term holds for `object`.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = field_value(object, &r.field);
            (actual == r.value) != r.negated
        })
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Splits on `sep` where it is not escaped by a backslash; escapes are kept for [`unescape`].
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Finds the first unescaped operator (`!=`, `==`, `=`, in that order of preference at a
/// position) and splits the term around it.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    let mut escaped = false;
    for (i, c) in term.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        for op in ["!=", "==", "="] {
            if term[i..].starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence '\\{e}'")),
                None => return Err("unterminated escape sequence".into()),
            }
        } else if c == ',' || c == '=' {
            return Err(format!("unescaped '{c}'"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// The value at a dotted path, as a field selector compares it: strings as they are, numbers
/// and booleans as JSON text, anything else (missing, null, objects, lists) as "".
///
/// A key that itself holds dots (a label such as `app.kubernetes.io/name`) is found too: at
/// each level the shortest key present wins.
pub fn field_value(object: &Value, path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    match lookup(object, &parts) {
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => String::new(),
    }
}

fn lookup<'a>(value: &'a Value, parts: &[&str]) -> Option<&'a Value> {
    if parts.is_empty() {
        return Some(value);
    }
    let map = value.as_object()?;
    for take in 1..=parts.len() {
        let key = parts[..take].join(".");
        if let Some(found) = map.get(&key).and_then(|child| lookup(child, &parts[take..])) {
            return Some(found);
        }
    }
    None
}

/// The label selector string of a `LabelSelector` object (`{matchLabels, matchExpressions}`),
/// as a Scale's `status.selector` shows it: requirements sorted by key.
pub fn selector_string(selector: &Value) -> String {
    let mut terms: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            terms.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())));
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let mut values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            values.sort_unstable();
            let term = match e.get("operator").and_then(Value::as_str).unwrap_or_default() {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_string(),
                "DoesNotExist" => format!("!{key}"),
                _ => continue,
            };
            terms.push((key.to_string(), term));
        }
    }
    terms.sort();
    terms.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn label_selector_table() {
        struct Case {
            name: &'static str,
            selector: &'static str,
            labels: Value,
            expect: bool,
        }
        let web = json!({"app": "web", "tier": "fe", "version": "3"});
        let cases = [
            Case { name: "equals", selector: "app=web", labels: web.clone(), expect: true },
            Case { name: "double equals", selector: "app==web", labels: web.clone(), expect: true },
            Case { name: "equals other", selector: "app=db", labels: web.clone(), expect: false },
            Case { name: "not equals", selector: "app!=db", labels: web.clone(), expect: true },
            Case { name: "not equals missing", selector: "team!=x", labels: web.clone(), expect: true },
            Case { name: "in", selector: "tier in (be, fe)", labels: web.clone(), expect: true },
            Case { name: "in no match", selector: "tier in (be)", labels: web.clone(), expect: false },
            Case { name: "in missing", selector: "team in (a)", labels: web.clone(), expect: false },
            Case { name: "notin", selector: "tier notin (be)", labels: web.clone(), expect: true },
            Case { name: "notin match", selector: "tier notin (fe,be)", labels: web.clone(), expect: false },
            Case { name: "notin missing", selector: "team notin (a)", labels: web.clone(), expect: true },
            Case { name: "exists", selector: "app", labels: web.clone(), expect: true },
            Case { name: "exists missing", selector: "team", labels: web.clone(), expect: false },
            Case { name: "not exists", selector: "!team", labels: web.clone(), expect: true },
            Case { name: "not exists present", selector: "!app", labels: web.clone(), expect: false },
            Case { name: "and", selector: "app=web, tier=fe,!team", labels: web.clone(), expect: true },
            Case { name: "and fails", selector: "app=web,tier=be", labels: web.clone(), expect: false },
            Case { name: "gt", selector: "version>2", labels: web.clone(), expect: true },
            Case { name: "lt", selector: "version<2", labels: web.clone(), expect: false },
            Case { name: "empty", selector: "", labels: json!({}), expect: true },
            Case { name: "empty value", selector: "app=", labels: json!({"app": ""}), expect: true },
            Case {
                name: "prefixed key",
                selector: "app.kubernetes.io/name=web",
                labels: json!({"app.kubernetes.io/name": "web"}),
                expect: true,
            },
        ];
        for case in cases {
            let selector = LabelSelector::parse(case.selector).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(selector.matches(&labels(case.labels)), case.expect, "{}", case.name);
        }
    }

    #[test]
    fn label_selector_parses_requirements() {
        let s = LabelSelector::parse("a in (x,y),b notin (z),!c,d,e!=f").expect("parses");
        let ops: Vec<Operator> = s.requirements().iter().map(|r| r.operator).collect();
        assert_eq!(ops, [Operator::In, Operator::NotIn, Operator::DoesNotExist, Operator::Exists, Operator::NotEquals]);
        assert_eq!(s.requirements()[0].values, ["x", "y"]);
    }

    #[test]
    fn invalid_label_selectors_are_refused() {
        for bad in [
            "app=web,",
            "=web",
            "app in ()",
            "app in (a",
            "app in a",
            "a b",
            "bad key!=x=",
            "-app=x",
            "app=x y",
            "app=web)",
            "v>x",
            "app=va!ue",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn field_selector_table() {
        let event = json!({
            "metadata": {"name": "web-1.17a", "namespace": "prod"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "uid": "u-1"},
            "reason": "BackOff", "type": "Warning", "count": 5,
            "spec": {"unschedulable": true}
        });
        let cases = [
            ("metadata.name=web-1.17a", true),
            ("metadata.namespace==prod", true),
            ("involvedObject.name=web-1,involvedObject.kind=Pod", true),
            ("involvedObject.uid=u-2", false),
            ("type!=Normal", true),
            ("reason=BackOff,type=Normal", false),
            ("spec.nodeName=", true),
            ("spec.nodeName!=", false),
            ("count=5", true),
            ("spec.unschedulable=true", true),
            ("", true),
        ];
        for (text, expect) in cases {
            let s = FieldSelector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.matches(&event), expect, "{text}");
        }
    }

    #[test]
    fn field_selector_escapes_and_errors() {
        let s = FieldSelector::parse(r"metadata.name=a\,b\=c").expect("parses");
        assert_eq!(s.requirements()[0].value, "a,b=c");
        assert!(s.matches(&json!({"metadata": {"name": "a,b=c"}})));
        for bad in ["metadata.name", "=x", r"a=b\q", "a=b=c"] {
            assert!(FieldSelector::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn field_value_finds_dotted_keys() {
        let pod = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web"}}});
        assert_eq!(field_value(&pod, "metadata.labels.app.kubernetes.io/name"), "web");
    }

    #[test]
    fn selector_string_sorts_by_key() {
        let sel = json!({"matchLabels": {"tier": "fe", "app": "web"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]});
        assert_eq!(selector_string(&sel), "app=web,env in (dev,prod),tier=fe");
    }
}
