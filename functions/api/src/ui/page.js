"use strict";
// The approvals page: lists pending approval requests and decides them through the API's
// JSON endpoints, with relative URLs so it works under an API Gateway stage path too.
const list = document.getElementById("list");
const statusLine = document.getElementById("status");

async function api(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (_) { data = null; }
  if (!response.ok) {
    throw new Error((data && data.detail) || ("HTTP " + response.status));
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function diffBlock(diff) {
  const pre = el("pre", { class: "diff" });
  for (const line of String(diff || "").split("\n")) {
    const cls = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
    pre.append(el("span", cls ? { class: cls } : {}, line + "\n"));
  }
  return pre;
}

function card(a) {
  const c = el("article", { class: "approval", "data-id": a.id, "data-status": a.status });
  c.append(el("h2", {}, a.summary));
  c.append(el("p", { class: "meta" },
    "Approval " + a.id + " · investigation " + a.investigation_id + " · requested by " + a.requested_by +
    " · expires " + a.expires_at));
  c.append(el("h3", {}, "Question"), el("p", { class: "question" }, a.question));
  c.append(el("h3", {}, "Action"), el("pre", { class: "action" }, a.tool + " " + JSON.stringify(a.args, null, 2)));
  c.append(el("h3", {}, "Dry-run diff"), diffBlock(a.diff));
  if (a.evidence && a.evidence.length) {
    const ul = el("ul", { class: "evidence" });
    for (const e of a.evidence) ul.append(el("li", {}, e));
    c.append(el("h3", {}, "Finding and evidence"), ul);
  }
  if (a.execution_link) c.append(el("p", { class: "meta" }, "Waiting execution: " + a.execution_link));
  const comment = el("input", { class: "comment", placeholder: "Comment (optional)", maxlength: "2048" });
  const approve = el("button", { class: "approve", type: "button" }, "Approve");
  const reject = el("button", { class: "reject", type: "button" }, "Reject…");
  const controls = el("div", { class: "controls" }, comment, approve, reject);
  const reason = el("textarea", { class: "reason", placeholder: "Why reject? (required)", rows: "2", maxlength: "2048" });
  const confirm = el("button", { class: "confirm-reject", type: "button" }, "Reject with this reason");
  const rejectForm = el("div", { class: "controls reject-form", hidden: "" }, reason, confirm);
  const outcome = el("p", { class: "outcome", role: "status" });
  c.append(controls, rejectForm, outcome);

  const buttons = [approve, reject, confirm];
  async function decide(verb, body) {
    buttons.forEach((b) => { b.disabled = true; });
    outcome.className = "outcome";
    outcome.textContent = verb === "approve" ? "Approving…" : "Rejecting…";
    try {
      const r = await api("POST", "approvals/" + encodeURIComponent(a.id) + "/" + verb, body);
      c.classList.add("decided");
      c.dataset.status = r.status;
      controls.hidden = true;
      rejectForm.hidden = true;
      outcome.textContent = (r.status === "approved" ? "Approved" : "Rejected") + " by " + r.decided_by +
        (r.reason ? " (reason: " + r.reason + ")" : "");
    } catch (e) {
      outcome.className = "outcome error";
      outcome.textContent = "Not decided: " + e.message;
      buttons.forEach((b) => { b.disabled = false; });
    }
  }
  approve.addEventListener("click", () => {
    const text = comment.value.trim();
    decide("approve", text ? { comment: text } : {});
  });
  reject.addEventListener("click", () => { rejectForm.hidden = false; reason.focus(); });
  confirm.addEventListener("click", () => {
    const text = reason.value.trim();
    if (!text) {
      outcome.className = "outcome error";
      outcome.textContent = "A rejection needs a reason.";
      reason.focus();
      return;
    }
    decide("reject", { reason: text });
  });
  return c;
}

async function load() {
  statusLine.textContent = "Loading…";
  try {
    const r = await api("GET", "approvals?status=pending");
    list.replaceChildren();
    if (!r.approvals.length) list.append(el("p", { id: "empty" }, "No pending approvals."));
    for (const a of r.approvals) list.append(card(a));
    statusLine.textContent = r.approvals.length + " pending · updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "true";
  } catch (e) {
    statusLine.className = "error";
    statusLine.textContent = "Could not load approvals: " + e.message;
  }
}

document.getElementById("refresh").addEventListener("click", load);
load();
