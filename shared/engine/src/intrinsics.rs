//! Intrinsic functions (`States.Format(...)` and friends), parsed at load time and evaluated in a
//! payload template (`"key.$": "States.…"`), in a Fail state's ErrorPath/CausePath.
//!
//! Runtime failures of a function (a wrong argument type, an index out of range) raise
//! `States.IntrinsicFailure`; a path argument that does not exist raises `States.Runtime`.

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use sha2::Digest as _;

use crate::context::Env;
use crate::error::Failure;
use crate::path::Path;
use crate::rng::XorShift;

/// How deep intrinsic calls may nest, as in Step Functions.
const MAX_NESTING: usize = 10;
/// `States.ArrayRange` produces at most this many items, as in Step Functions.
const MAX_RANGE_ITEMS: usize = 1000;

/// The supported functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    const ALL: [Func; 18] = [
        Func::Format,
        Func::StringToJson,
        Func::JsonToString,
        Func::Array,
        Func::ArrayPartition,
        Func::ArrayContains,
        Func::ArrayRange,
        Func::ArrayGetItem,
        Func::ArrayLength,
        Func::ArrayUnique,
        Func::Base64Encode,
        Func::Base64Decode,
        Func::Hash,
        Func::JsonMerge,
        Func::MathRandom,
        Func::MathAdd,
        Func::StringSplit,
        Func::Uuid,
    ];

    fn name(self) -> &'static str {
        match self {
            Func::Format => "States.Format",
            Func::StringToJson => "States.StringToJson",
            Func::JsonToString => "States.JsonToString",
            Func::Array => "States.Array",
            Func::ArrayPartition => "States.ArrayPartition",
            Func::ArrayContains => "States.ArrayContains",
            Func::ArrayRange => "States.ArrayRange",
            Func::ArrayGetItem => "States.ArrayGetItem",
            Func::ArrayLength => "States.ArrayLength",
            Func::ArrayUnique => "States.ArrayUnique",
            Func::Base64Encode => "States.Base64Encode",
            Func::Base64Decode => "States.Base64Decode",
            Func::Hash => "States.Hash",
            Func::JsonMerge => "States.JsonMerge",
            Func::MathRandom => "States.MathRandom",
            Func::MathAdd => "States.MathAdd",
            Func::StringSplit => "States.StringSplit",
            Func::Uuid => "States.UUID",
        }
    }

    /// Minimum and maximum argument counts.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Format => (1, usize::MAX),
            Func::Array => (0, usize::MAX),
            Func::Uuid => (0, 0),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, 1),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::Hash
            | Func::MathAdd
            | Func::StringSplit => (2, 2),
            Func::MathRandom => (2, 3),
            Func::ArrayRange | Func::JsonMerge => (3, 3),
        }
    }
}

/// The hash algorithms `States.Hash` supports here. (Step Functions also has MD5 and SHA-1;
/// a definition naming them is refused at load time.)
const HASH_ALGORITHMS: [&str; 3] = ["SHA-256", "SHA-384", "SHA-512"];

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A quoted string: `value` unescaped, `raw` as written (`States.Format` needs the escapes).
    Str {
        value: String,
        raw: String,
    },
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    Path(Path),
    Call(Box<Intrinsic>),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Intrinsic {
    func: Func,
    args: Vec<Arg>,
}

/// Whether a `.$` value is an intrinsic call rather than a path.
pub(crate) fn is_intrinsic(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Intrinsic {
    /// Parses `States.Func(arg, …)`; the error says what is wrong, in words.
    pub(crate) fn parse(text: &str) -> Result<Intrinsic, String> {
        let mut parser = Parser { chars: text.chars().collect(), pos: 0 };
        let call = parser.call(1)?;
        parser.skip_ws();
        if parser.pos != parser.chars.len() {
            return Err(format!("unexpected text after the closing ')' of {}", call.func.name()));
        }
        Ok(call)
    }

    /// Evaluates the call.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, Failure> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Literal(value) => value.clone(),
                Arg::Path(path) => env.resolve(path).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The JsonPath argument '{}' of {} could not be found in the input",
                        path.text(),
                        self.func.name()
                    ))
                })?,
                Arg::Call(call) => call.eval(env)?,
            });
        }
        self.apply(&values, env)
    }

    fn apply(&self, values: &[Value], env: &Env<'_>) -> Result<Value, Failure> {
        let f = self.func;
        Ok(match f {
            Func::Format => {
                let template = match &self.args[0] {
                    Arg::Str { raw, .. } => raw.clone(),
                    _ => escape_plain(str_arg(f, values, 0)?),
                };
                Value::String(format_template(&template, &values[1..])?)
            }
            Func::StringToJson => {
                let text = str_arg(f, values, 0)?;
                serde_json::from_str(text)
                    .map_err(|e| Failure::intrinsic(format!("States.StringToJson: the argument is not JSON: {e}")))?
            }
            Func::JsonToString => Value::String(values[0].to_string()),
            Func::Array => Value::Array(values.to_vec()),
            Func::ArrayPartition => {
                let items = array_arg(f, values, 0)?;
                let size = int_arg(f, values, 1)?;
                if size <= 0 {
                    return Err(Failure::intrinsic("States.ArrayPartition: the chunk size must be positive"));
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Value::Array(items.chunks(size).map(|chunk| Value::Array(chunk.to_vec())).collect())
            }
            Func::ArrayContains => Value::Bool(array_arg(f, values, 0)?.contains(&values[1])),
            Func::ArrayRange => {
                let (start, end, step) = (int_arg(f, values, 0)?, int_arg(f, values, 1)?, int_arg(f, values, 2)?);
                if step == 0 {
                    return Err(Failure::intrinsic("States.ArrayRange: the step must not be 0"));
                }
                let mut items = Vec::new();
                let mut current = start;
                while (step > 0 && current <= end) || (step < 0 && current >= end) {
                    if items.len() == MAX_RANGE_ITEMS {
                        return Err(Failure::intrinsic(format!(
                            "States.ArrayRange: the range has more than {MAX_RANGE_ITEMS} items"
                        )));
                    }
                    items.push(Value::from(current));
                    current = match current.checked_add(step) {
                        Some(next) => next,
                        None => break,
                    };
                }
                Value::Array(items)
            }
            Func::ArrayGetItem => {
                let items = array_arg(f, values, 0)?;
                let index = int_arg(f, values, 1)?;
                usize::try_from(index).ok().and_then(|i| items.get(i)).cloned().ok_or_else(|| {
                    Failure::intrinsic(format!(
                        "States.ArrayGetItem: index {index} is out of bounds for an array of {} items",
                        items.len()
                    ))
                })?
            }
            Func::ArrayLength => Value::from(array_arg(f, values, 0)?.len()),
            Func::ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in array_arg(f, values, 0)? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Value::Array(unique)
            }
            Func::Base64Encode => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(str_arg(f, values, 0)?.as_bytes()))
            }
            Func::Base64Decode => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(str_arg(f, values, 0)?)
                    .map_err(|e| Failure::intrinsic(format!("States.Base64Decode: the argument is not base64: {e}")))?;
                Value::String(
                    String::from_utf8(bytes)
                        .map_err(|_| Failure::intrinsic("States.Base64Decode: the decoded bytes are not UTF-8 text"))?,
                )
            }
            Func::Hash => {
                let data = str_arg(f, values, 0)?;
                let algorithm = str_arg(f, values, 1)?;
                Value::String(hash(data, algorithm).ok_or_else(|| {
                    Failure::intrinsic(format!(
                        "States.Hash: algorithm {algorithm:?} is not supported (supported: {})",
                        HASH_ALGORITHMS.join(", ")
                    ))
                })?)
            }
            Func::JsonMerge => {
                let (Value::Object(left), Value::Object(right)) = (&values[0], &values[1]) else {
                    return Err(Failure::intrinsic("States.JsonMerge: both arguments must be objects"));
                };
                if values[2] != Value::Bool(false) {
                    return Err(Failure::intrinsic(
                        "States.JsonMerge: only shallow merges are supported; the third argument must be false",
                    ));
                }
                let mut merged: Map<String, Value> = left.clone();
                for (key, value) in right {
                    merged.insert(key.clone(), value.clone());
                }
                Value::Object(merged)
            }
            Func::MathRandom => {
                let (start, end) = (int_arg(f, values, 0)?, int_arg(f, values, 1)?);
                if end <= start {
                    return Err(Failure::intrinsic("States.MathRandom: the end must be greater than the start"));
                }
                let draw = match values.get(2) {
                    Some(_) => XorShift::new(int_arg(f, values, 2)? as u64).next_u64(),
                    None => env.rng.next_u64(),
                };
                let span = end.abs_diff(start);
                Value::from(start.wrapping_add((draw % span) as i64))
            }
            Func::MathAdd => {
                let (a, b) = (int_arg(f, values, 0)?, int_arg(f, values, 1)?);
                Value::from(a.checked_add(b).ok_or_else(|| Failure::intrinsic("States.MathAdd: the sum overflows"))?)
            }
            Func::StringSplit => {
                let text = str_arg(f, values, 0)?;
                let delimiters: Vec<char> = str_arg(f, values, 1)?.chars().collect();
                Value::Array(
                    text.split(|c| delimiters.contains(&c))
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                )
            }
            Func::Uuid => Value::String(env.rng.uuid_v4()),
        })
    }
}

fn hash(data: &str, algorithm: &str) -> Option<String> {
    Some(match algorithm {
        "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
        _ => return None,
    })
}

fn type_error(f: Func, position: usize, expected: &str, got: &Value) -> Failure {
    Failure::intrinsic(format!("{}: argument {} must be {expected}, got {got}", f.name(), position + 1))
}

fn str_arg(f: Func, values: &[Value], i: usize) -> Result<&str, Failure> {
    values[i].as_str().ok_or_else(|| type_error(f, i, "a string", &values[i]))
}

fn array_arg(f: Func, values: &[Value], i: usize) -> Result<&Vec<Value>, Failure> {
    values[i].as_array().ok_or_else(|| type_error(f, i, "an array", &values[i]))
}

fn int_arg(f: Func, values: &[Value], i: usize) -> Result<i64, Failure> {
    as_integer(&values[i]).ok_or_else(|| type_error(f, i, "an integer", &values[i]))
}

/// An integer, also when written as `3.0`.
pub(crate) fn as_integer(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(i) = number.as_i64() {
        return Some(i);
    }
    let float = number.as_f64()?;
    (float.fract() == 0.0 && float.abs() < 9.0e15).then_some(float as i64)
}

/// A template that came from a path has no escapes: escape its backslashes so that
/// [`format_template`] reads it literally.
fn escape_plain(text: &str) -> String {
    text.replace('\\', "\\\\")
}

/// Fills the `{}` placeholders of an escaped template (`\{`, `\}`, `\'`, `\\` are literals).
fn format_template(template: &str, args: &[Value]) -> Result<String, Failure> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    let mut next_arg = args.iter();
    let mut placeholders = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                placeholders += 1;
                match next_arg.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => {}
                }
            }
            c => out.push(c),
        }
    }
    if placeholders != args.len() {
        return Err(Failure::intrinsic(format!(
            "States.Format: the template has {placeholders} placeholders but {} arguments were given",
            args.len()
        )));
    }
    Ok(out)
}

fn count_placeholders(raw: &str) -> usize {
    let mut count = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                count += 1;
            }
            _ => {}
        }
    }
    count
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn rest_starts_with(&self, prefix: &str) -> bool {
        let prefix: Vec<char> = prefix.chars().collect();
        self.chars.get(self.pos..).is_some_and(|rest| rest.starts_with(&prefix))
    }

    fn call(&mut self, depth: usize) -> Result<Intrinsic, String> {
        if depth > MAX_NESTING {
            return Err(format!("intrinsic functions nest at most {MAX_NESTING} deep"));
        }
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '.') {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let func = Func::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| format!("unknown intrinsic function {name:?}"))?;
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg(depth)?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => return Err(format!("{name}: expected ',' or ')', found {c:?}")),
                    None => return Err(format!("{name}: missing ')'")),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let expected = match (min, max) {
                (min, usize::MAX) => format!("at least {min}"),
                (min, max) if min == max => format!("{min}"),
                (min, max) => format!("{min} to {max}"),
            };
            return Err(format!("{name} takes {expected} arguments, got {}", args.len()));
        }
        check_literals(func, &args)?;
        Ok(Intrinsic { func, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => {
                self.pos += 1;
                let (mut value, mut raw) = (String::new(), String::new());
                loop {
                    match self.peek() {
                        None => return Err("unterminated string literal".to_owned()),
                        Some('\\') => {
                            let escaped = self.chars.get(self.pos + 1).copied().ok_or("dangling '\\'")?;
                            raw.push('\\');
                            raw.push(escaped);
                            value.push(escaped);
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) => {
                            raw.push(c);
                            value.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Ok(Arg::Str { value, raw })
            }
            Some('$') => {
                let start = self.pos;
                let (mut brackets, mut quote) = (0usize, None::<char>);
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') if brackets > 0 => quote = Some(c),
                        (None, '[') => brackets += 1,
                        (None, ']') => brackets = brackets.saturating_sub(1),
                        (None, ',' | ')') if brackets == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Ok(Arg::Path(Path::parse(text.trim_end())?))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| !matches!(c, ',' | ')') && !c.is_whitespace()) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                let number: Number = serde_json::from_str(&text).map_err(|_| format!("{text:?} is not a number"))?;
                Ok(Arg::Literal(Value::Number(number)))
            }
            Some(_) if self.rest_starts_with("States.") => Ok(Arg::Call(Box::new(self.call(depth + 1)?))),
            Some(_) => {
                for (word, value) in [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)]
                {
                    if self.rest_starts_with(word) {
                        self.pos += word.len();
                        return Ok(Arg::Literal(value));
                    }
                }
                let rest: String = self.chars[self.pos..].iter().take(20).collect();
                Err(format!("unexpected argument {rest:?}: expected a 'string', a number, a path or a call"))
            }
            None => Err("missing argument".to_owned()),
        }
    }
}

/// Load-time checks of literal arguments that would certainly fail at run time.
fn check_literals(func: Func, args: &[Arg]) -> Result<(), String> {
    match (func, args) {
        (Func::Format, [Arg::Str { raw, .. }, rest @ ..]) => {
            let placeholders = count_placeholders(raw);
            if placeholders != rest.len() {
                return Err(format!(
                    "States.Format: the template has {placeholders} placeholders but {} arguments follow it",
                    rest.len()
                ));
            }
        }
        (Func::Hash, [_, Arg::Str { value, .. }]) if !HASH_ALGORITHMS.contains(&value.as_str()) => {
            return Err(format!(
                "States.Hash: algorithm {value:?} is not supported by this engine (supported: {})",
                HASH_ALGORITHMS.join(", ")
            ));
        }
        (Func::JsonMerge, [_, _, Arg::Literal(Value::Bool(true))]) => {
            return Err("States.JsonMerge: only shallow merges (false) are supported".to_owned());
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Context, tests::info};
    use crate::rng::Rng;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, Failure> {
        let info = info();
        let ctx = Context {
            execution: &info,
            input: &input,
            state_name: "S",
            entered_time: "t",
            retry_count: 0,
            task_token: None,
            map_item: None,
        };
        let rng = Rng::new(9);
        let env = Env { input: &input, context: &ctx, rng: &rng };
        Intrinsic::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).eval(&env)
    }

    fn ok(text: &str, input: Value) -> Value {
        eval(text, input).unwrap_or_else(|f| panic!("{text}: {f:?}"))
    }

    #[test]
    fn format_fills_placeholders_and_honours_escapes() {
        let input = json!({"name": "api", "n": 3, "ok": true});
        assert_eq!(
            ok("States.Format('pod {} restarted {} times', $.name, $.n)", input.clone()),
            json!("pod api restarted 3 times")
        );
        assert_eq!(
            ok(r"States.Format('literal \{\} and \'quote\' {}', $.ok)", input.clone()),
            json!("literal {} and 'quote' true")
        );
        assert_eq!(ok("States.Format('{}', States.Format('<{}>', $.name))", input), json!("<api>"));
    }

    #[test]
    fn json_and_arrays() {
        let input = json!({"s": "{\"a\":[1,2]}", "o": {"b": 1}, "l": [1, 2, 2, 3]});
        assert_eq!(ok("States.StringToJson($.s)", input.clone()), json!({"a": [1, 2]}));
        assert_eq!(ok("States.JsonToString($.o)", input.clone()), json!("{\"b\":1}"));
        assert_eq!(
            ok("States.Array(1, 'two', $.o, null, true)", input.clone()),
            json!([1, "two", {"b": 1}, null, true])
        );
        assert_eq!(ok("States.ArrayLength($.l)", input.clone()), json!(4));
        assert_eq!(ok("States.ArrayGetItem($.l, 3)", input.clone()), json!(3));
        assert_eq!(ok("States.ArrayContains($.l, 2)", input.clone()), json!(true));
        assert_eq!(ok("States.ArrayContains($.l, 9)", input.clone()), json!(false));
        assert_eq!(ok("States.ArrayUnique($.l)", input.clone()), json!([1, 2, 3]));
        assert_eq!(ok("States.ArrayPartition($.l, 3)", input.clone()), json!([[1, 2, 2], [3]]));
        assert_eq!(ok("States.ArrayRange(1, 9, 4)", input.clone()), json!([1, 5, 9]));
        assert_eq!(ok("States.ArrayRange(3, 1, -1)", input.clone()), json!([3, 2, 1]));
        assert_eq!(
            ok("States.JsonMerge($.o, States.StringToJson('{\"c\":2}'), false)", input.clone()),
            json!({"b": 1, "c": 2})
        );
        let err = eval("States.ArrayGetItem($.l, 4)", input).expect_err("out of bounds");
        assert_eq!(err.error, "States.IntrinsicFailure");
    }

    #[test]
    fn math_strings_hashes_and_uuids() {
        let input = json!({"a": 111, "b": -1, "text": "a,b,,c"});
        assert_eq!(ok("States.MathAdd($.a, $.b)", input.clone()), json!(110));
        assert_eq!(ok("States.StringSplit($.text, ',')", input.clone()), json!(["a", "b", "c"]));
        assert_eq!(ok("States.Base64Encode('Data to encode')", input.clone()), json!("RGF0YSB0byBlbmNvZGU="));
        assert_eq!(ok("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", input.clone()), json!("Data to encode"));
        assert_eq!(
            ok("States.Hash('abc', 'SHA-256')", input.clone()),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let uuid = ok("States.UUID()", input.clone());
        assert_eq!(uuid.as_str().map(str::len), Some(36));
        let random = ok("States.MathRandom(1, 5, 42)", input.clone());
        assert_eq!(random, ok("States.MathRandom(1, 5, 42)", input.clone()), "a seeded draw repeats");
        assert!((1..5).contains(&random.as_i64().unwrap_or(0)), "{random}");
        let err = eval("States.MathAdd($.text, 1)", input.clone()).expect_err("string");
        assert_eq!(err.error, "States.IntrinsicFailure");
        let err = eval("States.MathAdd($.missing, 1)", input).expect_err("missing");
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"), "{}", err.cause);
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        for (text, expect) in [
            ("States.Nope(1)", "unknown intrinsic function"),
            ("States.Format('{} {}', $.a)", "2 placeholders but 1"),
            ("States.MathAdd(1)", "takes 2 arguments"),
            ("States.UUID(1)", "takes 0 arguments"),
            ("States.Hash('a', 'MD5')", "not supported"),
            ("States.Array(1", "missing ')'"),
            ("States.Array('x)", "unterminated"),
            ("States.Array(1) extra", "unexpected text"),
            ("States.Array($.a[*])", "wildcards"),
        ] {
            let err = Intrinsic::parse(text).expect_err(text);
            assert!(err.contains(expect), "{text}: {err}");
        }
        assert!(Intrinsic::parse("States.Array($['a,b'], $.c)").is_ok());
    }
}
