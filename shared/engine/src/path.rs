//! Reference paths: `$`, `$.a.b`, `$.a[0]`, `$['a']`, and the context object's `$$.…`.
//!
//! Parsed once at load time; wildcards, filters, slices and recursive descent are refused there,
//! so a running execution only ever looks values up.

use serde_json::{Map, Value};

/// What a path is evaluated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Field(String),
    Index(usize),
}

/// A parsed reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    root: Root,
    segments: Vec<Segment>,
    text: String,
}

impl Path {
    /// `$`.
    pub(crate) fn identity() -> Path {
        Path { root: Root::Input, segments: Vec::new(), text: "$".to_owned() }
    }

    /// Parses a reference path; the error says what is wrong, in words.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (Root::Input, rest)
        } else {
            return Err(format!("{text:?} is not a path: a path starts with '$'"));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    if chars.get(i) == Some(&'.') {
                        return Err(format!("{text:?}: recursive descent '..' is not supported"));
                    }
                    let start = i;
                    while i < chars.len() && !matches!(chars[i], '.' | '[') {
                        if chars[i].is_whitespace() || matches!(chars[i], ']' | '\'' | '"') {
                            return Err(format!("{text:?}: unexpected {:?} in a field name", chars[i]));
                        }
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err(format!("{text:?}: empty field name"));
                    }
                    if name == "*" {
                        return Err(format!("{text:?}: wildcards are not supported in reference paths"));
                    }
                    segments.push(Segment::Field(name));
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some(&quote @ ('\'' | '"')) => {
                            i += 1;
                            let mut name = String::new();
                            loop {
                                match chars.get(i) {
                                    None => return Err(format!("{text:?}: unterminated quoted field name")),
                                    Some('\\') => {
                                        if let Some(&c) = chars.get(i + 1) {
                                            name.push(c);
                                        }
                                        i += 2;
                                    }
                                    Some(&c) if c == quote => {
                                        i += 1;
                                        break;
                                    }
                                    Some(&c) => {
                                        name.push(c);
                                        i += 1;
                                    }
                                }
                            }
                            if chars.get(i) != Some(&']') {
                                return Err(format!("{text:?}: expected ']' after a quoted field name"));
                            }
                            i += 1;
                            segments.push(Segment::Field(name));
                        }
                        Some(c) if c.is_ascii_digit() => {
                            let start = i;
                            while i < chars.len() && chars[i].is_ascii_digit() {
                                i += 1;
                            }
                            let digits: String = chars[start..i].iter().collect();
                            if chars.get(i) != Some(&']') {
                                return Err(format!(
                                    "{text:?}: only single array indexes are supported (no slices or unions)"
                                ));
                            }
                            i += 1;
                            let index = digits
                                .parse::<usize>()
                                .map_err(|_| format!("{text:?}: index {digits} is too large"))?;
                            segments.push(Segment::Index(index));
                        }
                        Some('*') => return Err(format!("{text:?}: wildcards are not supported in reference paths")),
                        Some('?') => return Err(format!("{text:?}: filter expressions are not supported")),
                        Some('-') => return Err(format!("{text:?}: negative indexes are not supported")),
                        Some(':') => return Err(format!("{text:?}: array slices are not supported")),
                        _ => return Err(format!("{text:?}: expected an index or a quoted field name after '['")),
                    }
                }
                c => return Err(format!("{text:?}: unexpected {c:?}; expected '.' or '['")),
            }
        }
        Ok(Path { root, segments, text: text.to_owned() })
    }

    pub(crate) fn root(&self) -> Root {
        self.root
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The path as written in the definition.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The path in bracket notation, as Step Functions prints it in error causes: `$['a'][0]`.
    pub(crate) fn normalized(&self) -> String {
        let mut out = String::from(if self.root == Root::Context { "$$" } else { "$" });
        for segment in &self.segments {
            match segment {
                Segment::Field(name) => out.push_str(&format!("['{name}']")),
                Segment::Index(index) => out.push_str(&format!("[{index}]")),
            }
        }
        out
    }

    /// The value at this path below `value` (the root is ignored: the caller picked the document).
    pub(crate) fn select<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        select(value, &self.segments)
    }

    /// Writes `result` at this path into `target`, creating missing objects on the way, as
    /// `ResultPath` does. Fails when a step crosses something that is not an object (or an array
    /// with that index).
    pub(crate) fn insert(&self, mut target: Value, result: Value) -> Result<Value, String> {
        if self.segments.is_empty() {
            return Ok(result);
        }
        insert(&mut target, &self.segments, result).map_err(|at| {
            format!(
                "Unable to apply ResultPath '{}': the value at '{at}' is not an object or has no such index",
                self.text
            )
        })?;
        Ok(target)
    }
}

pub(crate) fn select<'v>(mut value: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    for segment in segments {
        value = match (segment, value) {
            (Segment::Field(name), Value::Object(map)) => map.get(name)?,
            (Segment::Index(index), Value::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

/// On failure, returns the prefix (in bracket notation) where the walk stopped.
fn insert(target: &mut Value, segments: &[Segment], result: Value) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *target = result;
        return Ok(());
    };
    let slot = match (first, target) {
        (Segment::Field(name), Value::Object(map)) => {
            if rest.is_empty() {
                map.insert(name.clone(), result);
                return Ok(());
            }
            map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()))
        }
        (Segment::Index(index), Value::Array(items)) => match items.get_mut(*index) {
            Some(slot) => slot,
            None => return Err(format!("[{index}]")),
        },
        (Segment::Field(name), _) => return Err(format!("$ (before ['{name}'])")),
        (Segment::Index(index), _) => return Err(format!("$ (before [{index}])")),
    };
    insert(slot, rest, result).map_err(|at| match first {
        Segment::Field(name) => format!("['{name}']{}", at.trim_start_matches('$')),
        Segment::Index(index) => format!("[{index}]{}", at.trim_start_matches('$')),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_dots_indexes_and_brackets() {
        assert_eq!(path("$").segments(), &[]);
        assert_eq!(path("$.a.b").normalized(), "$['a']['b']");
        assert_eq!(path("$.a[0].b").normalized(), "$['a'][0]['b']");
        assert_eq!(path("$['a b']['c']").normalized(), "$['a b']['c']");
        assert_eq!(path("$[\"x\"]").normalized(), "$['x']");
        assert_eq!(path("$$.Execution.Id").root(), Root::Context);
        assert_eq!(path("$.with-dash_and:colon").normalized(), "$['with-dash_and:colon']");
    }

    #[test]
    fn refuses_what_reference_paths_cannot_say() {
        for (text, expect) in [
            ("a.b", "starts with '$'"),
            ("$..a", "recursive descent"),
            ("$.a[*]", "wildcards"),
            ("$.*", "wildcards"),
            ("$.a[?(@.x)]", "filter"),
            ("$.a[-1]", "negative"),
            ("$.a[0:2]", "slices"),
            ("$.", "empty field name"),
            ("$a", "unexpected 'a'"),
            ("$['a'", "expected ']'"),
        ] {
            let err = Path::parse(text).expect_err(text);
            assert!(err.contains(expect), "{text}: {err}");
        }
    }

    #[test]
    fn selects_values() {
        let doc = json!({"a": {"b": [10, {"c": true}]}, "k y": 1});
        assert_eq!(path("$.a.b[0]").select(&doc), Some(&json!(10)));
        assert_eq!(path("$.a.b[1].c").select(&doc), Some(&json!(true)));
        assert_eq!(path("$['k y']").select(&doc), Some(&json!(1)));
        assert_eq!(path("$.a.b[2]").select(&doc), None);
        assert_eq!(path("$.a.b.c").select(&doc), None);
        assert_eq!(path("$").select(&doc), Some(&doc));
    }

    #[test]
    fn insert_creates_missing_parents_and_refuses_non_objects() {
        let out = path("$.x.y.z").insert(json!({"a": 1}), json!("r")).expect("insert");
        assert_eq!(out, json!({"a": 1, "x": {"y": {"z": "r"}}}));
        let out = path("$.a").insert(json!({"a": 1}), json!(2)).expect("replace");
        assert_eq!(out, json!({"a": 2}));
        let out = path("$.l[1]").insert(json!({"l": [0, 0]}), json!(5)).expect("index");
        assert_eq!(out, json!({"l": [0, 5]}));
        assert_eq!(path("$").insert(json!({"a": 1}), json!([1])).expect("root"), json!([1]));
        let err = path("$.a.b").insert(json!({"a": "text"}), json!(1)).expect_err("string parent");
        assert!(err.contains("['a']"), "{err}");
        let err = path("$.a").insert(json!("text"), json!(1)).expect_err("string input");
        assert!(err.contains("Unable to apply ResultPath '$.a'"), "{err}");
        path("$.l[3]").insert(json!({"l": []}), json!(1)).expect_err("missing index");
    }
}
