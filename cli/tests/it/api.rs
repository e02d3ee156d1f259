//! The API served locally (`aiops serve-api`, the same router as the Lambda) against the
//! local engine, driven by the CLI in remote mode and by raw HTTP: start → follow → approve
//! → audit, and every refusal as problem+json.

use serde_json::{Value, json};

use crate::serving::{ACCESS_KEY, ServeApi, ok_json};

const QUESTION: &str = "Why is the payment-service pod crashing?";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn remote_mode_starts_follows_approves_and_audits_an_investigation() {
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let actor = format!("local:sigv4:{ACCESS_KEY}");

    // ask: started over HTTP, followed until it waits for the approval, then says how to approve.
    let out = api.cli(&["ask", QUESTION, "--writes", "approval", "--output", "json"]);
    let asked = ok_json("ask", &out);
    let id = asked["investigation_id"].as_str().expect("id").to_string();
    assert_eq!(asked["status"], "waiting_approval", "{asked:#}");
    for key in ["answer", "findings", "proposed_actions", "executed_actions", "steps", "tokens"] {
        assert!(asked.get(key).is_some(), "the CLI contract's {key} is missing: {asked:#}");
    }
    let approval_id = asked["pending_approval"]["id"].as_str().expect("pending approval").to_string();
    let err = stderr(&out);
    assert!(err.contains("→ tools"), "no progress shown: {err}");
    assert!(err.contains(&format!("approve: aiops --api {} approve {approval_id}", api.url)), "{err}");

    // The approval is listed with its diff and evidence.
    let listed = ok_json("approvals list", &api.cli(&["approvals", "list", "--output", "json"]));
    let pending = listed["approvals"].as_array().expect("approvals");
    assert_eq!(pending.len(), 1, "{listed:#}");
    assert_eq!(pending[0]["id"], approval_id.as_str());
    assert!(pending[0]["diff"].as_str().is_some_and(|d| d.contains("1Gi")), "{listed:#}");
    assert!(!pending[0]["evidence"].as_array().expect("evidence").is_empty());
    assert_eq!(pending[0]["requested_by"], actor.as_str(), "the signer asked");

    // approve: recorded as the signing key's (unverified) identity.
    let approved = ok_json("approve", &api.cli(&["approve", &approval_id, "--output", "json"]));
    assert_eq!(approved["approval"]["status"], "approved", "{approved:#}");
    assert_eq!(approved["approval"]["decided_by"], actor.as_str());

    // follow to the end: the action ran.
    let shown = ok_json("show --wait", &api.cli(&["investigations", "show", &id, "--wait", "--output", "json"]));
    assert_eq!(shown["status"], "succeeded", "{shown:#}");
    let executed = shown["executed_actions"].as_array().expect("executed");
    assert_eq!(executed.len(), 1, "{shown:#}");
    assert_eq!(executed[0]["tool"], "set_container_resources");
    assert_eq!(executed[0]["approval_id"], approval_id.as_str());
    assert!(shown["pending_approval"].is_null());

    let listed = ok_json("investigations list", &api.cli(&["investigations", "list", "--output", "json"]));
    assert_eq!(listed["investigations"][0]["investigation_id"], id.as_str(), "{listed:#}");

    // audit: every page fetched, the decision by the signer, the chain intact.
    let trail = ok_json("audit", &api.cli(&["audit", &id, "--output", "json"]));
    let events = trail["events"].as_array().expect("events");
    assert!(events.len() > 10, "expected the whole trail, got {}", events.len());
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "pages joined without gaps");
    assert_eq!(events[0]["actor"], actor.as_str());
    let decided = events.iter().find(|e| e["event"]["type"] == "approval_decided").expect("decision audited");
    assert_eq!(decided["event"]["by"], actor.as_str());
    assert!(events.iter().any(|e| e["event"]["type"] == "action_executed"));
    let verify = api.cli(&["audit", "verify", &id]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("hash chain intact"));

    // A second decision is refused (409 → exit 1); a rejection without a reason is bad input (exit 2).
    let again = api.cli(&["approve", &approval_id]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(stderr(&again).contains("already approved"), "{}", stderr(&again));
    let blank = api.cli(&["reject", &approval_id, "--reason", " "]);
    assert_eq!(blank.status.code(), Some(2), "{}", stderr(&blank));
}

/// A refused request: name, method, path, headers, body, expected status.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16);

#[test]
fn refusals_are_problem_json_with_the_right_status() {
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let json_ct = [("content-type", "application/json")];
    let cases: Vec<Case> = vec![
        (
            "wrong media type",
            "POST",
            "/investigations",
            vec![("content-type", "text/plain")],
            b"{\"question\":\"x\"}".to_vec(),
            415,
        ),
        ("no media type", "POST", "/investigations", vec![], b"{\"question\":\"x\"}".to_vec(), 415),
        ("malformed JSON", "POST", "/investigations", json_ct.to_vec(), b"{\"question\":".to_vec(), 400),
        (
            "unknown field",
            "POST",
            "/investigations",
            json_ct.to_vec(),
            br#"{"question":"x","sudo":true}"#.to_vec(),
            422,
        ),
        ("wrong type", "POST", "/investigations", json_ct.to_vec(), br#"{"question":42}"#.to_vec(), 422),
        ("blank question", "POST", "/investigations", json_ct.to_vec(), br#"{"question":"   "}"#.to_vec(), 422),
        (
            "question over 4 KiB",
            "POST",
            "/investigations",
            json_ct.to_vec(),
            json!({"question": "x".repeat(4097)}).to_string().into_bytes(),
            422,
        ),
        (
            "body over 16 KiB",
            "POST",
            "/investigations",
            json_ct.to_vec(),
            json!({"question": "y".repeat(17 * 1024)}).to_string().into_bytes(),
            413,
        ),
        (
            "namespace not RFC 1123",
            "POST",
            "/investigations",
            json_ct.to_vec(),
            br#"{"question":"x","namespace":"Prod_1"}"#.to_vec(),
            422,
        ),
        (
            "another cluster",
            "POST",
            "/investigations",
            json_ct.to_vec(),
            br#"{"question":"x","cluster":"other"}"#.to_vec(),
            422,
        ),
        ("unknown investigation", "GET", "/investigations/inv-nope", vec![], vec![], 404),
        ("implausible id", "GET", "/investigations/%2e%2e%2fetc", vec![], vec![], 404),
        ("unknown route", "GET", "/nope", vec![], vec![], 404),
        ("bad status filter", "GET", "/investigations?status=sleeping", vec![], vec![], 400),
        ("limit out of range", "GET", "/investigations?limit=0", vec![], vec![], 400),
        ("forged cursor", "GET", "/investigations?cursor=not-a-cursor", vec![], vec![], 400),
        ("unknown approval", "POST", "/approvals/apr-nope/approve", vec![], vec![], 404),
        ("rejection without reason", "POST", "/approvals/apr-nope/reject", json_ct.to_vec(), b"{}".to_vec(), 422),
        (
            "bad idempotency key",
            "POST",
            "/investigations",
            vec![("content-type", "application/json"), ("idempotency-key", "")],
            br#"{"question":"x"}"#.to_vec(),
            400,
        ),
        ("wrong method", "DELETE", "/investigations", vec![], vec![], 405),
    ];
    for (name, method, path, headers, body, want) in cases {
        let r = api.http(method, path, &headers, &body);
        assert_eq!(r.status, want, "{name}: {} {}", r.status, r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "{name}");
        let p = r.json();
        assert_eq!(p["status"], want, "{name}: {p}");
        assert!(p["type"].as_str().is_some_and(|t| t.starts_with("urn:aiops:problem:")), "{name}: {p}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {p}");
        // No CORS unless configured.
        assert_eq!(r.header("access-control-allow-origin"), None, "{name}");
    }
    // Nothing was started by the refused requests.
    assert_eq!(api.get_json("/investigations")["investigations"], json!([]));
}

#[test]
fn an_idempotency_key_replays_the_same_investigation_and_refuses_another_body() {
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let body = json!({"question": QUESTION, "namespace": "production"}).to_string();
    let headers = [("content-type", "application/json"), ("idempotency-key", "retry-me-1")];
    let first = api.http("POST", "/investigations", &headers, body.as_bytes());
    assert_eq!(first.status, 202, "{}", first.body);
    let first = first.json();
    let id = first["investigation_id"].as_str().expect("id").to_string();
    assert_eq!(first["replayed"], false);
    assert_eq!(first["links"]["self"], format!("/investigations/{id}"));

    let again = api.http("POST", "/investigations", &headers, body.as_bytes());
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.header("location"), Some(format!("/investigations/{id}").as_str()));
    let again = again.json();
    assert_eq!(again["investigation_id"], id.as_str(), "a retry returns the same investigation");
    assert_eq!(again["replayed"], true);

    let other = json!({"question": "something else entirely"}).to_string();
    let refused = api.http("POST", "/investigations", &headers, other.as_bytes());
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("different request body"), "{}", refused.body);

    // The same key from another caller is another request.
    let signed = [
        ("content-type", "application/json"),
        ("idempotency-key", "retry-me-1"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20251130/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=00",
        ),
    ];
    let theirs = api.http("POST", "/investigations", &signed, body.as_bytes());
    assert_eq!(theirs.status, 202, "{}", theirs.body);
    assert_ne!(theirs.json()["investigation_id"], id.as_str());

    // One investigation per caller: the replay started nothing.
    let d = api.wait_for(&id, |d| d["status"] == "succeeded");
    assert_eq!(d["actor"], "local:anonymous");
    let page = api.get_json("/investigations?limit=10");
    assert_eq!(page["investigations"].as_array().expect("list").len(), 2, "{page:#}");
    let trail = api.get_json(&format!("/investigations/{id}/audit?limit=100"));
    let questions =
        trail["events"].as_array().expect("events").iter().filter(|e| e["event"]["type"] == "question").count();
    assert_eq!(questions, 1, "the question was recorded once");
}

#[test]
fn follow_ups_continue_the_conversation_and_pages_chain() {
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let ct = [("content-type", "application/json")];
    let started = api.http("POST", "/investigations", &ct, json!({"question": QUESTION}).to_string().as_bytes());
    assert_eq!(started.status, 202, "{}", started.body);
    let id = started.json()["investigation_id"].as_str().expect("id").to_string();
    // While it works, a follow-up is refused (or it already finished: then it is accepted below).
    let d = api.wait_for(&id, |d| d["status"] != "running");
    assert_eq!(d["status"], "succeeded", "{d:#}");
    assert!(d["answer"].as_str().is_some_and(|a| a.contains("payment-service")), "{d:#}");
    assert!(!d["findings"].as_array().expect("findings").is_empty());
    assert!(d["reasoner"].as_str().is_some(), "{d:#}");

    let follow = api.http(
        "POST",
        &format!("/investigations/{id}/messages"),
        &ct,
        json!({"question": "and what about the other replicas?"}).to_string().as_bytes(),
    );
    assert_eq!(follow.status, 202, "{}", follow.body);
    let execution = follow.json()["execution_name"].as_str().expect("execution").to_string();
    assert!(execution.starts_with(&format!("{id}-")) && execution != format!("{id}-1"), "{execution}");
    let busy = api.http(
        "POST",
        &format!("/investigations/{id}/messages"),
        &ct,
        json!({"question": "and now?"}).to_string().as_bytes(),
    );
    // Refused while the follow-up runs; accepted only if it had already answered.
    let last = match busy.status {
        409 => "and what about the other replicas?",
        202 => "and now?",
        other => panic!("unexpected {other}: {}", busy.body),
    };
    let d = api.wait_for(&id, |d| d["status"] != "running" && d["question"] == last);
    assert_eq!(d["status"], "succeeded", "{d:#}");

    // Audit pages chain by `next` and cover the trail exactly once.
    let mut after = 0u64;
    let mut seqs = Vec::new();
    loop {
        let page = api.get_json(&format!("/investigations/{id}/audit?limit=7&after={after}"));
        for e in page["events"].as_array().expect("events") {
            seqs.push(e["seq"].as_u64().expect("seq"));
        }
        match page["next"].as_u64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert!(seqs.len() > 7);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(api.http("GET", "/investigations/inv-none/audit", &[], b"").status, 404);

    // Listing by status and paging with the cursor.
    let page = api.get_json("/investigations?status=succeeded&limit=1");
    assert_eq!(page["investigations"].as_array().map(Vec::len), Some(1));
    assert!(page["next"].is_null(), "one investigation, one page: {page:#}");
    assert_eq!(api.get_json("/investigations?status=failed")["investigations"], json!([]));
}

#[test]
fn the_openapi_document_is_3_1_and_covers_every_route() {
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let doc: Value = api.get_json("/openapi.json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    for (path, method) in [
        ("/investigations", "post"),
        ("/investigations", "get"),
        ("/investigations/{id}", "get"),
        ("/investigations/{id}/messages", "post"),
        ("/investigations/{id}/audit", "get"),
        ("/approvals", "get"),
        ("/approvals/{id}/approve", "post"),
        ("/approvals/{id}/reject", "post"),
        ("/openapi.json", "get"),
        ("/ui", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing from the document");
    }
    let start = &doc["paths"]["/investigations"]["post"]["responses"];
    for code in ["202", "400", "409", "413", "415", "422"] {
        assert!(start[code].is_object(), "POST /investigations does not document {code}");
    }
    assert!(
        doc["components"]["schemas"]["StartInvestigation"]["additionalProperties"] == json!(false),
        "unknown fields are refused, so the schema says so: {}",
        doc["components"]["schemas"]["StartInvestigation"]
    );
}

#[test]
fn cors_is_answered_only_for_the_configured_origin() {
    let api = ServeApi::start("demo-oom-crashloop", &["--cors-origin", "https://tools.example.com"]);
    let pre = api.http(
        "OPTIONS",
        "/investigations",
        &[("origin", "https://tools.example.com"), ("access-control-request-method", "POST")],
        b"",
    );
    assert_eq!(pre.status, 204, "{}", pre.body);
    assert_eq!(pre.header("access-control-allow-origin"), Some("https://tools.example.com"));
    assert!(pre.header("access-control-allow-headers").is_some_and(|h| h.contains("idempotency-key")));
    let other = api.http("GET", "/approvals", &[("origin", "https://evil.example.com")], b"");
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[test]
fn a_sweep_through_the_api_is_the_latest_and_starts_investigations() {
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let none = api.http("GET", "/sweeps/latest", &[], b"");
    assert_eq!(none.status, 404, "{}", none.body);
    let r = api.http("POST", "/sweeps", &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let swept = r.json();
    let new = swept["new"].as_array().expect("new findings");
    assert!(new.iter().any(|f| f.to_string().contains("payment-service")), "{swept:#}");
    let latest = api.get_json("/sweeps/latest");
    assert_eq!(latest["sweep_id"], swept["sweep_id"]);
    let started: Vec<String> = swept["investigations"]
        .as_array()
        .expect("investigations")
        .iter()
        .filter_map(|o| o["investigation_id"].as_str().map(str::to_string))
        .collect();
    assert!(!started.is_empty(), "a new serious finding starts an investigation: {swept:#}");
    let d = api.get_json(&format!("/investigations/{}", started[0]));
    assert_eq!(d["actor"], "sweep");
}
