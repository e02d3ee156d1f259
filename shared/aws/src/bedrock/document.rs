//! Converters between `serde_json::Value` (what aiops-core speaks: tool schemas, tool
//! arguments) and `aws_smithy_types::Document` (what the SDK sends as `inputSchema.json` and
//! receives as `toolUse.input`).
//!
//! Both directions are total. Numbers keep their kind: a non-negative integer is a
//! `PosInt`, a negative one a `NegInt`, anything else a `Float`. JSON cannot carry a NaN or
//! an infinite float, so such a `Document` number becomes `null`. Object key order is not
//! kept (a `Document` object is a hash map).

use std::collections::HashMap;

use aws_smithy_types::{Document, Number};
use serde_json::{Map, Value};

/// The `Document` holding the same JSON value.
pub fn value_to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Document::Number(Number::PosInt(u))
            } else if let Some(i) = n.as_i64() {
                Document::Number(Number::NegInt(i))
            } else {
                n.as_f64().map_or(Document::Null, |f| Document::Number(Number::Float(f)))
            }
        }
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(value_to_document).collect()),
        Value::Object(map) => {
            Document::Object(map.iter().map(|(k, v)| (k.clone(), value_to_document(v))).collect::<HashMap<_, _>>())
        }
    }
}

/// The JSON value a `Document` holds (non-finite floats become `null`).
pub fn document_to_value(doc: &Document) -> Value {
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_value).collect()),
        Document::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), document_to_value(v))).collect::<Map<_, _>>())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_survive_a_round_trip_through_documents() {
        let cases = [
            json!(null),
            json!(true),
            json!(0),
            json!(42),
            json!(u64::MAX),
            json!(-7),
            json!(i64::MIN),
            json!(1.5),
            json!(-0.25),
            json!("payment-service"),
            json!([]),
            json!({}),
            json!([1, "two", {"three": [3.0, null, false]}]),
            aiops_core::catalog::find("get_pod_logs").expect("catalog has get_pod_logs").schema.clone(),
        ];
        for value in cases {
            assert_eq!(document_to_value(&value_to_document(&value)), value, "round trip of {value}");
        }
    }

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(value_to_document(&json!(3)), Document::Number(Number::PosInt(3)));
        assert_eq!(value_to_document(&json!(-3)), Document::Number(Number::NegInt(-3)));
        assert_eq!(value_to_document(&json!(0.5)), Document::Number(Number::Float(0.5)));
        assert_eq!(document_to_value(&Document::Number(Number::NegInt(-9))), json!(-9));
        assert!(document_to_value(&Document::Number(Number::Float(2.0))).is_f64());
    }

    #[test]
    fn non_finite_floats_become_null() {
        assert_eq!(document_to_value(&Document::Number(Number::Float(f64::NAN))), Value::Null);
        assert_eq!(document_to_value(&Document::Number(Number::Float(f64::INFINITY))), Value::Null);
    }

    #[test]
    fn documents_from_the_sdk_read_as_objects() {
        let doc = Document::Object(HashMap::from([
            ("namespace".to_string(), Document::String("prod".into())),
            ("tail_lines".to_string(), Document::Number(Number::PosInt(200))),
            ("previous".to_string(), Document::Bool(true)),
        ]));
        assert_eq!(document_to_value(&doc), json!({"namespace": "prod", "tail_lines": 200, "previous": true}));
    }
}
