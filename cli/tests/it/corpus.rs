//! The offline reasoner answers every corpus question correctly, end to end: the question from
//! each scenario's expect.yaml, the workflow on the local engine, the snapshot on the simulated
//! cluster. Right root cause and numbers, no wrong action proposed, "healthy" said plainly.

use std::sync::Arc;

use aiops_core::agent::offline::OfflineReasoner;
use serde_json::Value;

use crate::support::{corpus, harness};

fn scenarios() -> Vec<String> {
    let dir = corpus("");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("cluster.yaml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_reasoner_answers_every_corpus_question() {
    let mut problems = Vec::new();
    let all = scenarios();
    assert!(all.len() >= 30);
    for name in &all {
        let expect: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(corpus(name).join("expect.yaml")).expect("expect"))
                .expect("yaml");
        let question = expect["question"].as_str().expect("question");
        let h = harness(name, Arc::new(OfflineReasoner), |_| {}).await;
        let (inv, result) = aiops_cli::local::run_unattended(&h.stack, question).await.expect("run");
        if result.status != aiops_engine::ExecutionStatus::Succeeded {
            problems.push(format!("{name}: execution {:?} {:?}", result.status, result.error));
            continue;
        }
        let answer = inv.answer.clone().unwrap_or_default();
        let text = answer.text.clone();
        if expect["healthy"].as_bool() == Some(true) {
            if !text.contains("healthy") {
                problems.push(format!("{name}: a healthy target was not called healthy: {text}"));
            }
        } else if let Some(first) = expect["findings"].as_array().and_then(|f| f.first()) {
            for m in first["must_mention"].as_array().cloned().unwrap_or_default() {
                let m = m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string());
                if !text.contains(&m) {
                    problems.push(format!("{name}: the answer does not mention {m:?}:\n{text}"));
                }
            }
        }
        let proposed: Vec<&str> = answer.proposed_actions.iter().map(|a| a.tool.as_str()).collect();
        for bad in expect["must_not_propose"].as_array().cloned().unwrap_or_default() {
            if proposed.contains(&bad.as_str().unwrap_or_default()) {
                problems.push(format!("{name}: proposes {bad}"));
            }
        }
        if let Some(tool) = expect["action"]["tool"].as_str()
            && !proposed.contains(&tool)
        {
            problems.push(format!("{name}: does not offer {tool}; offers {proposed:?}"));
        }
        for secret in expect["must_not_leak"].as_array().cloned().unwrap_or_default() {
            let s = secret.as_str().unwrap_or_default();
            let transcript = serde_json::to_string(
                &aiops_core::ports::StateStore::messages(h.stack.store.as_ref(), &inv.id).await.expect("messages"),
            )
            .expect("json");
            if !s.is_empty() && transcript.contains(s) {
                problems.push(format!("{name}: secret {s:?} reached the transcript"));
            }
        }
    }
    assert!(problems.is_empty(), "{} problems over {} scenarios:\n{}", problems.len(), all.len(), problems.join("\n"));
}
