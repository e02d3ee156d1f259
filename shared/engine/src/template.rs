//! Payload templates: `Parameters`, `ItemSelector`, `ResultSelector`. A key ending in `.$` takes
//! its value from a path or an intrinsic function; every other value is copied as written.

use serde_json::{Map, Value};

use crate::context::Env;
use crate::error::Failure;
use crate::intrinsics::{Intrinsic, is_intrinsic};
use crate::path::Path;

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// Nothing to evaluate below this point.
    Static(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// `"key.$": "$.path"`; `field` is the key as written, for error causes.
    Path {
        field: String,
        path: Path,
    },
    /// `"key.$": "States.Func(…)"`.
    Call {
        field: String,
        call: Intrinsic,
    },
}

impl Template {
    /// Parses the template found in field `field` (a dotted name such as `Parameters`). The error
    /// is the dotted field where the problem is and what it is.
    pub(crate) fn parse(value: &Value, field: &str) -> Result<Template, (String, String)> {
        match value {
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                let mut dynamic = false;
                for (key, value) in map {
                    let sub = format!("{field}.{key}");
                    if let Some(name) = key.strip_suffix(".$") {
                        if map.contains_key(name) {
                            return Err((sub, format!("both {name:?} and {key:?} are given")));
                        }
                        let Value::String(text) = value else {
                            return Err((
                                sub,
                                "a key ending in '.$' takes a string: a path or an intrinsic function".to_owned(),
                            ));
                        };
                        let template = if is_intrinsic(text) {
                            Template::Call { field: key.clone(), call: Intrinsic::parse(text).map_err(|e| (sub, e))? }
                        } else {
                            Template::Path { field: key.clone(), path: Path::parse(text).map_err(|e| (sub, e))? }
                        };
                        entries.push((name.to_owned(), template));
                        dynamic = true;
                    } else {
                        let template = Template::parse(value, &sub)?;
                        dynamic |= !matches!(template, Template::Static(_));
                        entries.push((key.clone(), template));
                    }
                }
                Ok(if dynamic { Template::Object(entries) } else { Template::Static(value.clone()) })
            }
            Value::Array(items) => {
                let mut templates = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    templates.push(Template::parse(item, &format!("{field}[{i}]"))?);
                }
                if templates.iter().all(|t| matches!(t, Template::Static(_))) {
                    Ok(Template::Static(value.clone()))
                } else {
                    Ok(Template::Array(templates))
                }
            }
            other => Ok(Template::Static(other.clone())),
        }
    }

    /// Builds the payload. A path that finds nothing raises `States.Runtime`, as in Step Functions.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, Failure> {
        match self {
            Template::Static(value) => Ok(value.clone()),
            Template::Object(entries) => {
                let mut map = Map::new();
                for (key, template) in entries {
                    map.insert(key.clone(), template.eval(env)?);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => {
                items.iter().map(|t| t.eval(env)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            Template::Path { field, path } => env.resolve(path).ok_or_else(|| {
                Failure::runtime(format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    path.text(),
                    env.input
                ))
            }),
            Template::Call { call, .. } => call.eval(env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Context, tests::info};
    use crate::rng::Rng;
    use serde_json::json;

    fn eval(template: Value, input: Value) -> Result<Value, Failure> {
        let info = info();
        let ctx = Context {
            execution: &info,
            input: &input,
            state_name: "Reason",
            entered_time: "t",
            retry_count: 0,
            task_token: Some("token-1"),
            map_item: None,
        };
        let rng = Rng::new(1);
        let env = Env { input: &input, context: &ctx, rng: &rng };
        Template::parse(&template, "Parameters").map_err(|e| Failure::new("load", format!("{e:?}")))?.eval(&env)
    }

    #[test]
    fn dollar_keys_take_paths_context_and_intrinsics_recursively() {
        let out = eval(
            json!({
                "FunctionName": "reason",
                "Payload": {
                    "id.$": "$.id",
                    "token.$": "$$.Task.Token",
                    "execution.$": "$$.Execution.Name",
                    "label.$": "States.Format('inv-{}', $.id)",
                    "list": [{"x.$": "$.id"}, 2],
                    "literal": {"keep": "$.not_a_path"}
                }
            }),
            json!({"id": 7}),
        )
        .expect("payload");
        assert_eq!(
            out,
            json!({
                "FunctionName": "reason",
                "Payload": {
                    "id": 7,
                    "token": "token-1",
                    "execution": "run-1",
                    "label": "inv-7",
                    "list": [{"x": 7}, 2],
                    "literal": {"keep": "$.not_a_path"}
                }
            })
        );
    }

    #[test]
    fn missing_path_is_a_runtime_error_naming_path_and_field() {
        let err = eval(json!({"a.$": "$.missing"}), json!({"b": 1})).expect_err("missing");
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("'$.missing'") && err.cause.contains("'a.$'"), "{}", err.cause);
    }

    #[test]
    fn load_errors_name_the_field() {
        let (field, message) = Template::parse(&json!({"P": {"x.$": 3}}), "Parameters").expect_err("number");
        assert_eq!(field, "Parameters.P.x.$");
        assert!(message.contains("takes a string"), "{message}");
        let (field, _) = Template::parse(&json!({"l": [{"y.$": "nope"}]}), "Parameters").expect_err("bad path");
        assert_eq!(field, "Parameters.l[0].y.$");
        let (field, message) = Template::parse(&json!({"a": 1, "a.$": "$"}), "ItemSelector").expect_err("dup");
        assert_eq!(field, "ItemSelector.a.$");
        assert!(message.contains("both"), "{message}");
    }
}
