//! Choice rules: comparisons of a `Variable` with a literal or another path, type tests, and
//! `And`/`Or`/`Not`.
//!
//! As in Step Functions, a `Variable` (or a `…Path` operand) that does not exist raises
//! `States.Runtime`, except under `IsPresent`; a value of the wrong type makes a comparison false.

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::context::Env;
use crate::error::Failure;
use crate::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
    Matches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Compare { kind: Kind, cmp: Cmp, operand: Operand },
    Is { check: Check, expected: bool },
}

/// A boolean expression over the state's effective input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test { variable: Path, test: Test },
}

/// A top-level rule of `Choices`, with its target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChoiceRule {
    pub(crate) rule: Rule,
    pub(crate) next: String,
}

const KINDS: [(&str, Kind); 4] =
    [("String", Kind::String), ("Numeric", Kind::Numeric), ("Boolean", Kind::Boolean), ("Timestamp", Kind::Timestamp)];
const CMPS: [(&str, Cmp); 6] = [
    ("Equals", Cmp::Equals),
    ("LessThanEquals", Cmp::LessThanEquals),
    ("GreaterThanEquals", Cmp::GreaterThanEquals),
    ("LessThan", Cmp::LessThan),
    ("GreaterThan", Cmp::GreaterThan),
    ("Matches", Cmp::Matches),
];
const CHECKS: [(&str, Check); 6] = [
    ("IsNull", Check::Null),
    ("IsPresent", Check::Present),
    ("IsNumeric", Check::Numeric),
    ("IsString", Check::String),
    ("IsBoolean", Check::Boolean),
    ("IsTimestamp", Check::Timestamp),
];

/// Splits an operator name (`NumericLessThanEqualsPath`) into its parts; `None` when it is not
/// a comparison operator of the language.
fn comparison(name: &str) -> Option<(Kind, Cmp, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let (kind, rest) = KINDS.iter().find_map(|(prefix, kind)| base.strip_prefix(prefix).map(|rest| (*kind, rest)))?;
    let cmp = CMPS.iter().find(|(suffix, _)| *suffix == rest).map(|(_, cmp)| *cmp)?;
    let valid = match kind {
        Kind::String => !(is_path && cmp == Cmp::Matches),
        Kind::Boolean => cmp == Cmp::Equals,
        Kind::Numeric | Kind::Timestamp => cmp != Cmp::Matches,
    };
    valid.then_some((kind, cmp, is_path))
}

fn is_operator(key: &str) -> bool {
    comparison(key).is_some() || CHECKS.iter().any(|(name, _)| *name == key)
}

impl ChoiceRule {
    /// Parses `Choices[index]`; the error is the dotted field and what is wrong.
    pub(crate) fn parse(value: &Value, field: &str) -> Result<ChoiceRule, (String, String)> {
        let map = value.as_object().ok_or_else(|| (field.to_owned(), "a choice rule must be an object".to_owned()))?;
        let next = match map.get("Next") {
            Some(Value::String(next)) => next.clone(),
            Some(_) => return Err((format!("{field}.Next"), "Next must be a state name".to_owned())),
            None => return Err((format!("{field}.Next"), "a top-level choice rule needs Next".to_owned())),
        };
        Ok(ChoiceRule { rule: parse_rule(map, field, true)?, next })
    }
}

fn parse_rule(map: &Map<String, Value>, field: &str, top: bool) -> Result<Rule, (String, String)> {
    let err = |sub: &str, message: String| (format!("{field}.{sub}"), message);
    for key in map.keys() {
        let allowed = matches!(key.as_str(), "Variable" | "Comment" | "And" | "Or" | "Not")
            || (top && key == "Next")
            || is_operator(key);
        if !allowed {
            let message = match key.as_str() {
                "Next" => "Next is only allowed on a top-level choice rule".to_owned(),
                "Condition" => "Condition is JSONata; only JSONPath definitions are supported".to_owned(),
                "Assign" => "variables (Assign) are not supported".to_owned(),
                _ => "unknown field in a choice rule".to_owned(),
            };
            return Err(err(key, message));
        }
    }
    let operators: Vec<&String> =
        map.keys().filter(|k| matches!(k.as_str(), "And" | "Or" | "Not") || is_operator(k)).collect();
    let [operator] = operators.as_slice() else {
        return Err((
            field.to_owned(),
            format!(
                "a choice rule needs exactly one operator (And, Or, Not, a comparison or a type test); found {}",
                if operators.is_empty() { "none".to_owned() } else { format!("{operators:?}") }
            ),
        ));
    };
    let operator = operator.as_str();
    let value = &map[operator];
    match operator {
        "And" | "Or" => {
            if map.contains_key("Variable") {
                return Err(err("Variable", format!("a rule with {operator} has no Variable")));
            }
            let items = value
                .as_array()
                .filter(|items| !items.is_empty())
                .ok_or_else(|| err(operator, format!("{operator} takes a non-empty array of rules")))?;
            let mut rules = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let sub = format!("{field}.{operator}[{i}]");
                let item =
                    item.as_object().ok_or_else(|| (sub.clone(), "a choice rule must be an object".to_owned()))?;
                rules.push(parse_rule(item, &sub, false)?);
            }
            Ok(if operator == "And" { Rule::And(rules) } else { Rule::Or(rules) })
        }
        "Not" => {
            if map.contains_key("Variable") {
                return Err(err("Variable", "a rule with Not has no Variable".to_owned()));
            }
            let sub = format!("{field}.Not");
            let inner = value.as_object().ok_or_else(|| (sub.clone(), "Not takes one rule object".to_owned()))?;
            Ok(Rule::Not(Box::new(parse_rule(inner, &sub, false)?)))
        }
        _ => {
            let variable = match map.get("Variable") {
                Some(Value::String(text)) => Path::parse(text).map_err(|e| err("Variable", e))?,
                Some(_) => return Err(err("Variable", "Variable must be a path".to_owned())),
                None => return Err(err("Variable", format!("{operator} needs a Variable"))),
            };
            let test = parse_test(operator, value).map_err(|message| err(operator, message))?;
            Ok(Rule::Test { variable, test })
        }
    }
}

fn parse_test(operator: &str, value: &Value) -> Result<Test, String> {
    if let Some((_, check)) = CHECKS.iter().find(|(name, _)| *name == operator) {
        let expected = value.as_bool().ok_or_else(|| format!("{operator} takes true or false"))?;
        return Ok(Test::Is { check: *check, expected });
    }
    let Some((kind, cmp, is_path)) = comparison(operator) else {
        return Err("unknown operator".to_owned());
    };
    if is_path {
        let text = value.as_str().ok_or_else(|| format!("{operator} takes a path"))?;
        return Ok(Test::Compare { kind, cmp, operand: Operand::Path(Path::parse(text)?) });
    }
    let ok = match kind {
        Kind::String => value.is_string(),
        Kind::Numeric => value.is_number(),
        Kind::Boolean => value.is_boolean(),
        Kind::Timestamp => value.as_str().is_some_and(|s| s.parse::<Timestamp>().is_ok()),
    };
    if !ok {
        let expected = match kind {
            Kind::String => "a string",
            Kind::Numeric => "a number",
            Kind::Boolean => "true or false",
            Kind::Timestamp => "an RFC 3339 timestamp string",
        };
        return Err(format!("{operator} takes {expected}"));
    }
    Ok(Test::Compare { kind, cmp, operand: Operand::Literal(value.clone()) })
}

fn missing(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.text()
    ))
}

impl Rule {
    /// Evaluates the rule against `env.input`.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<bool, Failure> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.eval(env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.eval(env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(env)?),
            Rule::Test { variable, test } => {
                let value = env.resolve(variable);
                match test {
                    Test::Is { check: Check::Present, expected } => Ok(value.is_some() == *expected),
                    Test::Is { check, expected } => {
                        let value = value.ok_or_else(|| missing(variable))?;
                        let is = match check {
                            Check::Null => value.is_null(),
                            Check::Numeric => value.is_number(),
                            Check::String => value.is_string(),
                            Check::Boolean => value.is_boolean(),
                            Check::Timestamp => value.as_str().is_some_and(|s| s.parse::<Timestamp>().is_ok()),
                            Check::Present => true,
                        };
                        Ok(is == *expected)
                    }
                    Test::Compare { kind, cmp, operand } => {
                        let value = value.ok_or_else(|| missing(variable))?;
                        let operand = match operand {
                            Operand::Literal(literal) => literal.clone(),
                            Operand::Path(path) => env.resolve(path).ok_or_else(|| missing(path))?,
                        };
                        Ok(compare(*kind, *cmp, &value, &operand))
                    }
                }
            }
        }
    }
}

fn compare(kind: Kind, cmp: Cmp, value: &Value, operand: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match kind {
        Kind::String => match (value.as_str(), operand.as_str()) {
            (Some(v), Some(o)) if cmp == Cmp::Matches => return matches_pattern(v, o),
            (Some(v), Some(o)) => Some(v.cmp(o)),
            _ => None,
        },
        Kind::Numeric => match (value.as_f64(), operand.as_f64()) {
            (Some(v), Some(o)) if value.is_number() && operand.is_number() => v.partial_cmp(&o),
            _ => None,
        },
        Kind::Boolean => match (value.as_bool(), operand.as_bool()) {
            (Some(v), Some(o)) => Some(v.cmp(&o)),
            _ => None,
        },
        Kind::Timestamp => {
            let parse = |v: &Value| v.as_str().and_then(|s| s.parse::<Timestamp>().ok());
            match (parse(value), parse(operand)) {
                (Some(v), Some(o)) => Some(v.cmp(&o)),
                _ => None,
            }
        }
    };
    let Some(ordering) = ordering else { return false };
    match cmp {
        Cmp::Equals => ordering == Ordering::Equal,
        Cmp::LessThan => ordering == Ordering::Less,
        Cmp::GreaterThan => ordering == Ordering::Greater,
        Cmp::LessThanEquals => ordering != Ordering::Greater,
        Cmp::GreaterThanEquals => ordering != Ordering::Less,
        Cmp::Matches => false,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literals.
fn matches_pattern(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Star,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Context, tests::info};
    use crate::rng::Rng;
    use serde_json::json;

    fn check(rule: Value, input: &Value) -> Result<bool, Failure> {
        let info = info();
        let ctx = Context {
            execution: &info,
            input,
            state_name: "Route",
            entered_time: "t",
            retry_count: 0,
            task_token: None,
            map_item: None,
        };
        let rng = Rng::new(1);
        let env = Env { input, context: &ctx, rng: &rng };
        let mut rule = rule;
        rule["Next"] = json!("X");
        let parsed = ChoiceRule::parse(&rule, "Choices[0]").map_err(|e| Failure::new("load", format!("{e:?}")))?;
        parsed.rule.eval(&env)
    }

    #[test]
    fn comparisons_table() {
        let input = json!({
            "s": "crashloop", "n": 5, "f": 2.5, "b": true, "nul": null,
            "t": "2024-05-01T10:00:00Z", "limit": 5, "other": "crashloop"
        });
        struct Case {
            name: &'static str,
            rule: Value,
            expect: bool,
        }
        let cases = [
            Case { name: "string equals", rule: json!({"Variable": "$.s", "StringEquals": "crashloop"}), expect: true },
            Case {
                name: "string equals path",
                rule: json!({"Variable": "$.s", "StringEqualsPath": "$.other"}),
                expect: true,
            },
            Case { name: "string less", rule: json!({"Variable": "$.s", "StringLessThan": "d"}), expect: true },
            Case { name: "string on number", rule: json!({"Variable": "$.n", "StringEquals": "5"}), expect: false },
            Case {
                name: "numeric equals int/float",
                rule: json!({"Variable": "$.n", "NumericEquals": 5.0}),
                expect: true,
            },
            Case { name: "numeric less", rule: json!({"Variable": "$.f", "NumericLessThan": 3}), expect: true },
            Case { name: "numeric greater", rule: json!({"Variable": "$.n", "NumericGreaterThan": 5}), expect: false },
            Case { name: "numeric gte", rule: json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}), expect: true },
            Case {
                name: "numeric lte path",
                rule: json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.limit"}),
                expect: true,
            },
            Case { name: "numeric on string", rule: json!({"Variable": "$.s", "NumericEquals": 5}), expect: false },
            Case { name: "boolean", rule: json!({"Variable": "$.b", "BooleanEquals": true}), expect: true },
            Case { name: "is null", rule: json!({"Variable": "$.nul", "IsNull": true}), expect: true },
            Case { name: "is present", rule: json!({"Variable": "$.missing", "IsPresent": false}), expect: true },
            Case { name: "is string", rule: json!({"Variable": "$.s", "IsString": true}), expect: true },
            Case { name: "is numeric", rule: json!({"Variable": "$.s", "IsNumeric": true}), expect: false },
            Case { name: "is boolean", rule: json!({"Variable": "$.b", "IsBoolean": true}), expect: true },
            Case { name: "is timestamp", rule: json!({"Variable": "$.t", "IsTimestamp": true}), expect: true },
            Case {
                name: "timestamp less",
                rule: json!({"Variable": "$.t", "TimestampLessThan": "2024-05-02T00:00:00Z"}),
                expect: true,
            },
            Case { name: "matches", rule: json!({"Variable": "$.s", "StringMatches": "crash*"}), expect: true },
            Case { name: "matches middle", rule: json!({"Variable": "$.s", "StringMatches": "*sh*oo*"}), expect: true },
            Case { name: "matches no", rule: json!({"Variable": "$.s", "StringMatches": "*x*"}), expect: false },
            Case {
                name: "matches escaped star",
                rule: json!({"Variable": "$.s", "StringMatches": "crash\\*"}),
                expect: false,
            },
            Case {
                name: "and",
                rule: json!({"And": [
                    {"Variable": "$.n", "NumericEquals": 5},
                    {"Variable": "$.b", "BooleanEquals": true}
                ]}),
                expect: true,
            },
            Case {
                name: "or",
                rule: json!({"Or": [
                    {"Variable": "$.n", "NumericEquals": 1},
                    {"Variable": "$.b", "BooleanEquals": false}
                ]}),
                expect: false,
            },
            Case { name: "not", rule: json!({"Not": {"Variable": "$.n", "NumericEquals": 1}}), expect: true },
            Case {
                name: "and guards a missing field",
                rule: json!({"And": [
                    {"Variable": "$.missing", "IsPresent": true},
                    {"Variable": "$.missing", "IsNull": false}
                ]}),
                expect: false,
            },
        ];
        for case in cases {
            let got = check(case.rule, &input).unwrap_or_else(|f| panic!("{}: {f:?}", case.name));
            assert_eq!(got, case.expect, "{}", case.name);
        }
    }

    #[test]
    fn missing_variable_is_a_runtime_error() {
        let err = check(json!({"Variable": "$.missing", "StringEquals": "x"}), &json!({})).expect_err("missing");
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"), "{}", err.cause);
    }

    #[test]
    fn bad_rules_name_the_field() {
        for (rule, field, expect) in [
            (json!({"Variable": "$.a", "StringEquals": 1, "Next": "X"}), "Choices[0].StringEquals", "takes a string"),
            (json!({"Variable": "$.a", "Next": "X"}), "Choices[0]", "exactly one operator"),
            (
                json!({"Variable": "$.a", "StringEquals": "a", "NumericEquals": 1, "Next": "X"}),
                "Choices[0]",
                "exactly one",
            ),
            (json!({"StringEquals": "a", "Next": "X"}), "Choices[0].Variable", "needs a Variable"),
            (json!({"Variable": "$.a", "StringEqual": "a", "Next": "X"}), "Choices[0].StringEqual", "unknown field"),
            (json!({"Variable": "$.a", "BooleanLessThan": true, "Next": "X"}), "Choices[0].BooleanLessThan", "unknown"),
            (json!({"Variable": "$.a", "StringEquals": "a"}), "Choices[0].Next", "needs Next"),
            (
                json!({"And": [{"Variable": "$.a", "StringEquals": "a", "Next": "Y"}], "Next": "X"}),
                "Choices[0].And[0].Next",
                "only allowed on a top-level",
            ),
            (json!({"Condition": "{% true %}", "Next": "X"}), "Choices[0].Condition", "JSONata"),
        ] {
            let (got_field, message) = ChoiceRule::parse(&rule, "Choices[0]").expect_err(field);
            assert_eq!(got_field, field, "{message}");
            assert!(message.contains(expect), "{field}: {message}");
        }
    }

    #[test]
    fn wildcard_matching() {
        assert!(matches_pattern("log-2024.txt", "log-*.txt"));
        assert!(matches_pattern("", "*"));
        assert!(matches_pattern("a*b", "a\\*b"));
        assert!(!matches_pattern("axb", "a\\*b"));
        assert!(matches_pattern("aaab", "*ab"));
        assert!(!matches_pattern("abc", "abd"));
    }
}
