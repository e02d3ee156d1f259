//! `aiops-bench all`: every figure, gathered into one JSON document and rendered as text
//! tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::fake_aws::FakeAws;
use crate::process::{FUNCTIONS, Target, round2, summary};

/// What `all` measures and with what.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the release binaries are (`…/release`).
    pub bin_dir: PathBuf,
    /// Cold starts per binary.
    pub runs: usize,
    /// Invocations per tool.
    pub tool_runs: usize,
    /// Whole-process `aiops demo --yes` runs.
    pub demo_runs: usize,
    /// The snapshot the simulated cluster serves.
    pub snapshot: PathBuf,
    /// The scenario corpus (`aiops bench tokens`).
    pub corpus: PathBuf,
    /// Pod counts of `aiops bench analyze`.
    pub sizes: Vec<usize>,
    /// Pods of the generated cluster of the sweep figure.
    pub sweep_pods: usize,
    /// Where bench/python is.
    pub python_dir: PathBuf,
    /// Sections to leave out: cold-start, python, tools, e2e, analyze, tokens.
    pub skip: Vec<String>,
}

impl Options {
    fn wants(&self, section: &str) -> bool {
        !self.skip.iter().any(|s| s == section)
    }
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, v)| v.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |kb| round2(kb / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "memory_gib": mem_gib,
        "kernel": kernel,
        "arch": std::env::consts::ARCH,
        "date": jiff::Timestamp::now().strftime("%Y-%m-%d").to_string(),
    })
}

/// Runs `aiops ARGS` and parses its JSON output.
fn aiops_json(aiops: &Path, args: &[&str], pin: bool) -> anyhow::Result<Value> {
    let taskset = Path::new("/usr/bin/taskset");
    let mut cmd = if pin && taskset.is_file() {
        let mut c = Command::new(taskset);
        c.args(["-c", "0"]).arg(aiops);
        c
    } else {
        Command::new(aiops)
    };
    let out = cmd.args(args).output().with_context(|| format!("cannot run {}", aiops.display()))?;
    if !out.status.success() {
        bail!("aiops {} failed ({}): {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("aiops {} printed no JSON", args.join(" ")))
}

/// Whole-process `aiops demo --yes` wall times.
fn demo_process(aiops: &Path, runs: usize) -> anyhow::Result<Value> {
    let mut ms = Vec::new();
    for _ in 0..=runs {
        let data = tempfile::tempdir()?;
        let started = Instant::now();
        let out = Command::new(aiops)
            .args(["demo", "--yes", "--output", "json", "--data-dir"])
            .arg(data.path())
            .output()
            .with_context(|| format!("cannot run {}", aiops.display()))?;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        if !out.status.success() {
            bail!("aiops demo --yes failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
        }
        ms.push(took);
    }
    ms.remove(0); // the warm-up run
    Ok(json!({"runs": runs, "wall_ms": summary(&ms)}))
}

/// Creates the EKS cluster and a nodegroup in moto, so aws-read's nodegroup tools have one.
async fn seed_eks(fake: &FakeAws) -> anyhow::Result<()> {
    let eks = aws_sdk_eks::Client::new(&crate::sdk_config(&fake.url()));
    let role = "arn:aws:iam::123456789012:role/bench";
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0bench").build();
    eks.create_cluster().name(crate::fake_aws::CLUSTER).role_arn(role).resources_vpc_config(vpc).send().await?;
    eks.create_nodegroup()
        .cluster_name(crate::fake_aws::CLUSTER)
        .nodegroup_name("general")
        .node_role(role)
        .subnets("subnet-0bench")
        .send()
        .await?;
    Ok(())
}

/// Every figure.
///
/// # Errors
/// When a section cannot run (a binary missing, moto not installed, a failing function).
pub async fn all(o: &Options) -> anyhow::Result<Value> {
    let mut doc = json!({"machine": machine(), "options": {
        "bin_dir": o.bin_dir, "runs": o.runs, "tool_runs": o.tool_runs, "demo_runs": o.demo_runs,
        "snapshot": o.snapshot, "sizes": o.sizes, "sweep_pods": o.sweep_pods,
    }});
    let aiops = o.bin_dir.join("aiops");
    let snapshot = aiops_core::snapshot::Snapshot::load(&o.snapshot)?;
    let sim = aiops_sim::SimCluster::start(snapshot).await?;
    let needs_moto = o.wants("tools") || o.wants("e2e");
    let moto = if needs_moto { Some(aiops_testkit::moto::Moto::start()?) } else { None };
    let fake = FakeAws::start(&sim.url(), moto.as_ref().map(|m| m.endpoint())).await?;
    if moto.is_some() {
        crate::e2e::create_tables(&fake).await?;
        if let Err(e) = seed_eks(&fake).await {
            doc["notes"] = json!([format!("moto refused the EKS cluster/nodegroup the aws-read tools read: {e}")]);
        }
        let _ = fake.take_calls();
    }

    let mut targets = vec![Target { name: "hello".into(), program: o.bin_dir.join("hello"), args: Vec::new() }];
    targets.extend(FUNCTIONS.iter().filter_map(|f| Target::binary(&o.bin_dir, f)));
    let python = crate::python::target(&o.python_dir);
    if o.wants("python") {
        match &python {
            Some(p) => targets.push(p.clone()),
            None => bail!(
                "the Python baseline's venv is missing ({}): scripts/bench makes it, or --skip python",
                crate::python::venv_python().display()
            ),
        }
    }
    let mut init_ms: BTreeMap<String, f64> = BTreeMap::new();
    if o.wants("cold-start") {
        let cold = crate::cold_start::measure(&targets, &fake.url(), o.runs, "hello").await?;
        for row in cold["rows"].as_array().into_iter().flatten() {
            if let (Some(n), Some(m)) = (row["name"].as_str(), row["init_ms"]["median"].as_f64()) {
                init_ms.insert(n.to_string(), m);
            }
        }
        doc["cold_start"] = cold;
    }
    if o.wants("python")
        && let Some(p) = &python
    {
        let rust = Target::binary(&o.bin_dir, "k8s-read").context("k8s-read was not built")?;
        let mut first = crate::python::first_invocation(&[rust, p.clone()], &fake.url()).await?;
        let ratio = match (init_ms.get(crate::python::NAME), init_ms.get("k8s-read"), init_ms.get("hello")) {
            (Some(py), Some(rs), Some(hello)) => {
                json!({"python_over_k8s_read": round2(py / rs), "python_over_hello": round2(py / hello)})
            }
            _ => Value::Null,
        };
        first["init_ratio"] = ratio;
        doc["python"] = first;
    }
    let mut memory_mb: BTreeMap<String, u32> = BTreeMap::new();
    if o.wants("tools") {
        let tools = crate::tools::measure(&o.bin_dir, &fake, o.tool_runs).await?;
        for m in tools["memory"].as_array().into_iter().flatten() {
            if let (Some(f), Some(mb)) = (m["function"].as_str(), m["memory_mb"].as_u64()) {
                memory_mb.insert(f.to_string(), u32::try_from(mb).unwrap_or(128));
            }
        }
        doc["tools"] = tools;
    }
    if o.wants("e2e") {
        let local = crate::e2e::local(&o.snapshot).await?;
        let aws = crate::e2e::aws_shaped(&o.snapshot, &fake).await?;
        let process = if aiops.is_file() { demo_process(&aiops, o.demo_runs)? } else { Value::Null };
        doc["cost"] = crate::cost::project(&aws, &memory_mb, &init_ms, &crate::cost::PRICES);
        doc["e2e"] = json!({"local": local, "aws_shaped": aws, "demo_process": process});
    }
    if o.wants("analyze") {
        let sizes = o.sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        doc["analyze"] = aiops_json(&aiops, &["bench", "analyze", "--sizes", &sizes, "--output", "json"], true)?;
    }
    if o.wants("sweep") {
        // One scheduled sweep of a generated 10k-pod cluster through the kube reader (paged
        // lists) from the simulated API server in the same process, pinned to one core.
        let data = tempfile::tempdir()?;
        let dir = data.path().display().to_string();
        let pods = o.sweep_pods.to_string();
        let run = aiops_json(&aiops, &["--data-dir", &dir, "--output", "json", "sweep", "--bench-pods", &pods], true)?;
        doc["sweep"] = run["bench"].clone();
    }
    if o.wants("tokens") {
        let corpus = o.corpus.display().to_string();
        doc["tokens"] = aiops_json(&aiops, &["bench", "tokens", "--corpus", &corpus, "--output", "json"], false)?;
    }
    Ok(doc)
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "–".to_string(),
    }
}

/// The figures as text tables (Markdown).
pub fn render(doc: &Value) -> String {
    let mut s = String::new();
    let m = &doc["machine"];
    let _ = writeln!(
        s,
        "Machine: {} ({} cores, {} GiB, {} {}), {}\n",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        m["memory_gib"],
        m["arch"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?"),
        m["date"].as_str().unwrap_or("?")
    );
    if let Some(rows) = doc["cold_start"]["rows"].as_array() {
        let _ = writeln!(
            s,
            "## Cold start: process start → first Runtime API request ({} runs each)\n",
            doc["cold_start"]["runs"]
        );
        let _ = writeln!(
            s,
            "| binary | median ms | p99 ms | min ms | ratio to hello | RSS after init MiB |\n|---|---:|---:|---:|---:|---:|"
        );
        for r in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r["name"].as_str().unwrap_or("?"),
                num(&r["init_ms"]["median"]),
                num(&r["init_ms"]["p99"]),
                num(&r["init_ms"]["min"]),
                num(&r["ratio_to_hello"]),
                num(&r["rss_after_init_mib"])
            );
        }
        s.push('\n');
    }
    if let Some(rows) = doc["python"]["rows"].as_array() {
        let _ = writeln!(s, "## Python baseline against k8s-read (one start, then get_pods)\n");
        let _ = writeln!(s, "| process | init ms | first get_pods ms | peak RSS MiB |\n|---|---:|---:|---:|");
        for r in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                r["name"].as_str().unwrap_or("?"),
                num(&r["init_ms"]),
                num(&r["first_get_pods_ms"]),
                num(&r["peak_rss_mib"])
            );
        }
        let ratio = &doc["python"]["init_ratio"];
        let _ = writeln!(
            s,
            "\nInit median ratio: Python / k8s-read = {}, Python / hello = {}\n",
            num(&ratio["python_over_k8s_read"]),
            num(&ratio["python_over_hello"])
        );
    }
    if let Some(rows) = doc["tools"]["rows"].as_array() {
        let _ = writeln!(s, "## Tool invocations against the simulated cluster ({} each)\n", doc["tools"]["runs"]);
        let _ = writeln!(
            s,
            "| function | tool | ok | median ms | p99 ms | AWS requests | of which emulator ms |\n|---|---|---|---:|---:|---:|---:|"
        );
        for r in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r["function"].as_str().unwrap_or("?"),
                r["tool"].as_str().unwrap_or("?"),
                r["ok"],
                num(&r["invocation_ms"]["median"]),
                num(&r["invocation_ms"]["p99"]),
                r["aws_requests"],
                num(&r["aws_emulator_ms_mean"])
            );
        }
        let _ = writeln!(s, "\n| function | peak RSS MiB | memory size MB |\n|---|---:|---:|");
        for m in doc["tools"]["memory"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                m["function"].as_str().unwrap_or("?"),
                num(&m["peak_rss_mib"]),
                m["memory_mb"]
            );
        }
        s.push('\n');
    }
    if doc["e2e"].is_object() {
        let l = &doc["e2e"]["local"];
        let a = &doc["e2e"]["aws_shaped"];
        let _ = writeln!(s, "## End to end: the demo investigation (writes on, approved)\n");
        let _ = writeln!(s, "| figure | local mode | AWS-shaped (DynamoDB on the emulator) |\n|---|---:|---:|");
        let _ = writeln!(s, "| wall ms (in process) | {} | – |", num(&l["wall_ms"]));
        let _ = writeln!(
            s,
            "| `aiops demo --yes` whole process, median ms | {} | – |",
            num(&doc["e2e"]["demo_process"]["wall_ms"]["median"])
        );
        for (k, label) in [
            ("state_transitions", "state transitions"),
            ("lambda_invocations", "Lambda invocations"),
            ("audit_writes", "audit writes"),
            ("turns", "reasoning turns"),
        ] {
            let _ = writeln!(s, "| {label} | {} | {} |", num(&l[k]), num(&a[k]));
        }
        let _ = writeln!(
            s,
            "| invocations by function | {} | {} |",
            l["invocations_by_function"], a["invocations_by_function"]
        );
        let d = &a["dynamodb"];
        let _ = writeln!(
            s,
            "| DynamoDB requests | – | {} ({}) |\n| DynamoDB write / read units | – | {} / {} |",
            d["requests"], d["by_operation"], d["write_request_units"], d["read_request_units"]
        );
        let _ = writeln!(
            s,
            "| tokens in / out (offline reasoner's estimate) | {} / {} | {} / {} |\n",
            l["usage"]["input_tokens"],
            l["usage"]["output_tokens"],
            a["usage"]["input_tokens"],
            a["usage"]["output_tokens"]
        );
    }
    if doc["cost"].is_object() {
        let c = &doc["cost"];
        let p = &c["prices"];
        let _ = writeln!(
            s,
            "## Projected AWS cost of one investigation (list prices {} {})\n",
            p["region"].as_str().unwrap_or("?"),
            p["as_of"].as_str().unwrap_or("?")
        );
        let _ = writeln!(s, "| service | USD | from |\n|---|---:|---|");
        let i = &c["inputs"];
        let _ = writeln!(
            s,
            "| Lambda (arm64) | {:.6} | {:.3} GB-s (Bedrock wait {} s/turn assumed), {} requests |",
            c["usd"]["lambda"].as_f64().unwrap_or(0.0),
            i["gb_s"].as_f64().unwrap_or(0.0),
            p["assumed_bedrock_seconds_per_turn"],
            num(&i["lambda_invocations"])
        );
        let _ = writeln!(
            s,
            "| Step Functions (standard) | {:.6} | {} transitions |",
            c["usd"]["step_functions"].as_f64().unwrap_or(0.0),
            num(&i["state_transitions"])
        );
        let _ = writeln!(
            s,
            "| DynamoDB (on-demand) | {:.6} | {} WRU, {} RRU |",
            c["usd"]["dynamodb"].as_f64().unwrap_or(0.0),
            num(&i["write_request_units"]),
            num(&i["read_request_units"])
        );
        let _ = writeln!(
            s,
            "| Bedrock (Sonnet class) | {:.6} | {} input, {} output tokens |",
            c["usd"]["bedrock"].as_f64().unwrap_or(0.0),
            num(&i["input_tokens"]),
            num(&i["output_tokens"])
        );
        let _ = writeln!(
            s,
            "| total | {:.4} | {} per 1,000 investigations |\n",
            c["usd"]["total"].as_f64().unwrap_or(0.0),
            c["per_1000_investigations_usd"]
        );
    }
    if let Some(rows) = doc["analyze"].as_array() {
        let _ = writeln!(s, "## Analyzer (`aiops bench analyze`, pinned to one core)\n");
        let _ = writeln!(
            s,
            "| pods | events | findings | JSON MiB | decode ms | analyze ms | total ms | peak RSS MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r["pods"],
                r["events"],
                r["findings"],
                num(&r["input_mib"]),
                num(&r["decode_ms"]),
                num(&r["analyze_ms"]),
                num(&r["total_ms"]),
                num(&r["peak_rss_mib"])
            );
        }
        s.push('\n');
    }
    if doc["sweep"].is_object() {
        let w = &doc["sweep"];
        let _ = writeln!(
            s,
            "## Sweep (`aiops sweep --bench-pods N`, pinned to one core)\n\n| pods | findings | sweep s | RSS before MiB | peak RSS MiB |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n",
            w["pods"],
            w["findings"],
            num(&w["sweep_s"]),
            num(&w["rss_before_mib"]),
            num(&w["peak_rss_mib"])
        );
    }
    if doc["tokens"].is_object() {
        let _ = writeln!(s, "## Tokens (`aiops bench tokens`, as it prints them)\n\n{}\n", doc["tokens"]["summary"]);
    }
    s
}
