//! The projected AWS cost of one investigation, from measured counts and stated list prices.
//!
//! Prices: us-east-1 list prices as published in mid-2025 (assumed on 2025-06-01; this machine
//! reaches no pricing page, so check them before quoting the total elsewhere).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The prices the projection assumes.
pub struct Prices {
    /// Lambda arm64, per GB-second.
    pub lambda_gb_s: f64,
    /// Lambda, per request.
    pub lambda_request: f64,
    /// Step Functions standard workflows, per state transition.
    pub sfn_transition: f64,
    /// DynamoDB on-demand, per write request unit.
    pub ddb_wru: f64,
    /// DynamoDB on-demand, per read request unit.
    pub ddb_rru: f64,
    /// Bedrock, Claude Sonnet class (3.5/3.7/4), per input token.
    pub bedrock_input: f64,
    /// … per output token.
    pub bedrock_output: f64,
    /// Seconds the reason function waits on Bedrock per turn (billed Lambda time).
    pub bedrock_seconds_per_turn: f64,
    /// The date the prices are assumed for.
    pub as_of: &'static str,
}

/// The prices the README quotes.
pub const PRICES: Prices = Prices {
    lambda_gb_s: 0.000_013_333_4,
    lambda_request: 0.20 / 1e6,
    sfn_transition: 0.025 / 1000.0,
    ddb_wru: 0.625 / 1e6,
    ddb_rru: 0.125 / 1e6,
    bedrock_input: 3.00 / 1e6,
    bedrock_output: 15.00 / 1e6,
    bedrock_seconds_per_turn: 4.0,
    as_of: "2025-06-01",
};

/// The projection. `e2e` is the AWS-shaped run's figures (transitions, invocations and handler
/// time by function, DynamoDB request units, token usage); `memory_mb` the size each function
/// is given (128 MB where not measured); `init_ms` each function's cold start (billed on a
/// custom runtime), counted once per function as if every one started cold. Bedrock's wait is
/// billed per reasoning turn (`turns`; the closing Finalize step calls no model).
pub fn project(e2e: &Value, memory_mb: &BTreeMap<String, u32>, init_ms: &BTreeMap<String, f64>, p: &Prices) -> Value {
    let invocations = e2e["lambda_invocations"].as_f64().unwrap_or(0.0);
    let turns = e2e["turns"].as_f64().unwrap_or(0.0);
    let mut gb_s = 0.0;
    let mut lines = Vec::new();
    if let Some(by) = e2e["handler_ms_by_function"].as_object() {
        for (function, ms) in by {
            let short = function.trim_start_matches("aiops-");
            let mb = f64::from(memory_mb.get(short).copied().unwrap_or(128));
            let mut seconds = ms.as_f64().unwrap_or(0.0) / 1000.0 + init_ms.get(short).copied().unwrap_or(0.0) / 1000.0;
            if function == "aiops-reason" {
                seconds += turns * p.bedrock_seconds_per_turn;
            }
            let this = seconds * mb / 1024.0;
            gb_s += this;
            lines.push(json!({"function": function, "memory_mb": mb, "billed_seconds": (seconds * 1000.0).round() / 1000.0, "gb_s": this}));
        }
    }
    let transitions = e2e["state_transitions"].as_f64().unwrap_or(0.0);
    let wru = e2e["dynamodb"]["write_request_units"].as_f64().unwrap_or(0.0);
    let rru = e2e["dynamodb"]["read_request_units"].as_f64().unwrap_or(0.0);
    let input = e2e["usage"]["input_tokens"].as_f64().unwrap_or(0.0);
    let output = e2e["usage"]["output_tokens"].as_f64().unwrap_or(0.0);
    let lambda = gb_s * p.lambda_gb_s + invocations * p.lambda_request;
    let sfn = transitions * p.sfn_transition;
    let ddb = wru * p.ddb_wru + rru * p.ddb_rru;
    let bedrock = input * p.bedrock_input + output * p.bedrock_output;
    let total = lambda + sfn + ddb + bedrock;
    json!({
        "usd": {"lambda": lambda, "step_functions": sfn, "dynamodb": ddb, "bedrock": bedrock, "total": total},
        "per_1000_investigations_usd": (total * 1000.0 * 100.0).round() / 100.0,
        "inputs": {"gb_s": gb_s, "lambda_invocations": invocations, "state_transitions": transitions,
                   "write_request_units": wru, "read_request_units": rru, "input_tokens": input, "output_tokens": output,
                   "lambda": lines},
        "prices": {
            "as_of": p.as_of, "region": "us-east-1",
            "lambda_arm64_per_gb_s": p.lambda_gb_s, "lambda_per_million_requests": p.lambda_request * 1e6,
            "step_functions_standard_per_1000_transitions": p.sfn_transition * 1000.0,
            "dynamodb_on_demand_per_million_wru": p.ddb_wru * 1e6, "dynamodb_on_demand_per_million_rru": p.ddb_rru * 1e6,
            "bedrock_sonnet_per_million_input": p.bedrock_input * 1e6, "bedrock_sonnet_per_million_output": p.bedrock_output * 1e6,
            "assumed_bedrock_seconds_per_turn": p.bedrock_seconds_per_turn,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_priced_from_its_count() {
        let e2e = json!({
            "lambda_invocations": 10, "state_transitions": 1000, "turns": 2,
            "handler_ms_by_function": {"aiops-reason": 1000.0, "aiops-k8s-read": 1000.0},
            "dynamodb": {"write_request_units": 1_000_000, "read_request_units": 1_000_000},
            "usage": {"input_tokens": 1_000_000, "output_tokens": 0},
        });
        let memory = BTreeMap::from([("k8s-read".to_string(), 1024)]);
        let c = project(&e2e, &memory, &BTreeMap::new(), &PRICES);
        let close = |v: &Value, want: f64| v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9);
        assert!(close(&c["usd"]["step_functions"], 0.025), "{c}");
        assert!(close(&c["usd"]["dynamodb"], 0.75), "{c}");
        assert!(close(&c["usd"]["bedrock"], 3.0), "{c}");
        // reason: (1 s + 2 turns × 4 s) × 128 MB = 1.125 GB-s; k8s-read: 1 s × 1 GB = 1 GB-s.
        assert!(close(&c["inputs"]["gb_s"], 2.125), "{c}");
    }
}
