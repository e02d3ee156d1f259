//! Text rendering of findings, for people and for the model.

use super::{Finding, Severity};

/// Renders findings as text: severity, object, reason, message, evidence, actions, warnings
/// and the chain of symptoms. Says so plainly when there is nothing to report.
pub fn render_findings(findings: &[Finding], scope: &str) -> String {
    let serious: Vec<&Finding> = findings.iter().filter(|f| f.severity > Severity::Info).collect();
    if serious.is_empty() {
        let mut out = format!("No problems found in {scope}: everything analyzed looks healthy.\n");
        for f in findings {
            out.push_str(&format!("  note: {} {}/{}: {}\n", f.kind, f.namespace, f.name, f.message));
        }
        return out;
    }
    let mut out = format!("{} problem{} found in {scope}:\n", serious.len(), if serious.len() == 1 { "" } else { "s" });
    for f in findings {
        let obj = if f.namespace.is_empty() {
            format!("{} {}", f.kind, f.name)
        } else {
            format!("{} {}/{}", f.kind, f.namespace, f.name)
        };
        out.push_str(&format!("\n{} {obj} [{}]\n  {}\n", f.severity.as_str().to_uppercase(), f.reason, f.message));
        if !f.evidence.is_empty() {
            out.push_str("  evidence:\n");
            for e in &f.evidence {
                out.push_str(&format!("    - {e}\n"));
            }
        }
        if !f.chain.is_empty() {
            out.push_str("  also explains:\n");
            for c in &f.chain {
                out.push_str(&format!("    - {} {}/{} [{}]: {}\n", c.kind, c.namespace, c.name, c.reason, c.message));
            }
        }
        if !f.actions.is_empty() {
            out.push_str("  recommended:\n");
            for a in &f.actions {
                match (&a.tool, &a.args) {
                    (Some(t), Some(args)) => out.push_str(&format!("    - {} ({t} {args})\n", a.summary)),
                    _ => out.push_str(&format!("    - {}\n", a.summary)),
                }
            }
        }
        for w in &f.warnings {
            out.push_str(&format!("  caution: {w}\n"));
        }
    }
    out
}
