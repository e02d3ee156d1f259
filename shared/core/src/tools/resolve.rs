//! Names as people give them: "payment-service" for the pods of a workload, "ledger" for
//! `ledger-service-7d9c-x2x`. The pod tools resolve such a name to one pod, the least healthy
//! that matches, so a model (or the offline reasoner) can look at the pod a question is about
//! in its first turn instead of listing pods first.

use k8s_openapi::api::core::v1::Pod;

use crate::error::{Error, Result};
use crate::k8s::{self, decode, decode_all};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// How a name matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameMatch {
    /// The object's own name.
    Exact,
    /// A workload's objects: the name followed by `-` (`web` → `web-5d8f-abcde`).
    Workload,
    /// Part of the name (given names of four characters or more).
    Partial,
}

impl NameMatch {
    /// The three, strongest first.
    pub const ALL: [NameMatch; 3] = [NameMatch::Exact, NameMatch::Workload, NameMatch::Partial];

    /// Whether `name` matches `given` this way.
    pub fn matches(self, given: &str, name: &str) -> bool {
        match self {
            NameMatch::Exact => name == given,
            NameMatch::Workload => {
                name.len() > given.len() + 1 && name.starts_with(given) && name[given.len()..].starts_with('-')
            }
            NameMatch::Partial => given.len() >= 4 && name.contains(given),
        }
    }
}

/// The items whose name matches `given` in this way, least healthy first (unhealthy, then the
/// most restarts, then by name): the pod a question about a workload is most likely about.
/// `key` gives an item's name, whether it is healthy, and its restarts.
pub fn ranked<'a, T>(how: NameMatch, given: &str, items: &'a [T], key: impl Fn(&T) -> (&str, bool, i64)) -> Vec<&'a T> {
    let mut hits: Vec<&T> = items.iter().filter(|i| how.matches(given, key(i).0)).collect();
    hits.sort_by(|a, b| {
        let (an, ah, ar) = key(a);
        let (bn, bh, br) = key(b);
        ah.cmp(&bh).then(br.cmp(&ar)).then_with(|| an.cmp(bn))
    });
    hits
}

/// Whether a pod is healthy: Succeeded, or Running with every container ready and not being
/// deleted.
pub fn pod_healthy(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Unknown");
    pod.metadata.deletion_timestamp.is_none()
        && (phase == "Succeeded" || (phase == "Running" && k8s::is_ready(pod) && k8s::pod_status(pod) == "Running"))
}

fn pod_key(p: &Pod) -> (&str, bool, i64) {
    (k8s::name(&p.metadata), pod_healthy(p), i64::from(k8s::restarts(p)))
}

/// A pod a tool was asked about, found.
#[derive(Debug, Clone)]
pub struct ResolvedPod {
    pub pod: Pod,
    pub namespace: String,
    pub name: String,
    /// How the given name was resolved, when it was not the pod's own name in the given
    /// namespace (said in the tool's result, so the reader knows which pod it is reading).
    pub note: Option<String>,
}

/// Finds the pod `given` names: the pod of that name in `namespace` when there is one, else the
/// least healthy pod (in `namespace`, or in every namespace when none is given) whose name is
/// `given`, starts with `given-`, or contains `given`, in that order of preference.
///
/// # Errors
/// [`Error::NotFound`] when nothing matches, [`Error::InvalidArgs`] when the exact name exists
/// in several namespaces and none was given, or the reader's error.
pub async fn resolve_pod(
    reader: &dyn ClusterReader,
    tool: &str,
    namespace: Option<&str>,
    given: &str,
) -> Result<ResolvedPod> {
    if let Some(ns) = namespace
        && let Some(v) = reader.get(Kind::Pod, Some(ns), given).await?
    {
        let pod: Pod = decode(v)?;
        return Ok(ResolvedPod { pod, namespace: ns.to_string(), name: given.to_string(), note: None });
    }
    let scope = Scope { namespace: namespace.map(str::to_string), label_selector: None, field_selector: None };
    let pods: Vec<Pod> = decode_all(reader.list(Kind::Pod, &scope).await?)?;
    let key = pod_key;
    let exact = ranked(NameMatch::Exact, given, &pods, key);
    if exact.len() > 1 {
        let spaces: Vec<&str> = exact.iter().map(|p| k8s::namespace(&p.metadata)).collect();
        return Err(Error::InvalidArgs {
            tool: tool.to_string(),
            message: format!("pod {given} exists in namespaces {}: give the namespace", spaces.join(", ")),
        });
    }
    for how in NameMatch::ALL {
        let hits = ranked(how, given, &pods, key);
        let Some(first) = hits.first() else { continue };
        let (ns, name) = (k8s::namespace(&first.metadata).to_string(), k8s::name(&first.metadata).to_string());
        let note = match (how, hits.len()) {
            (NameMatch::Exact, _) => format!("pod {given} found in namespace {ns}"),
            (_, 1) => format!("\"{given}\" resolved to pod {ns}/{name}, the only pod matching it"),
            (_, n) => {
                let others: Vec<String> = hits[1..]
                    .iter()
                    .take(5)
                    .map(|p| format!("{}/{}", k8s::namespace(&p.metadata), k8s::name(&p.metadata)))
                    .collect();
                let more =
                    if n - 1 > others.len() { format!(" and {} more", n - 1 - others.len()) } else { String::new() };
                let which = if key(first).1 {
                    format!("one of {n} healthy pods matching it")
                } else {
                    format!("the least healthy of {n} pods matching it")
                };
                format!("\"{given}\" resolved to pod {ns}/{name}, {which} (also {}{more})", others.join(", "))
            }
        };
        return Ok(ResolvedPod { pod: (*first).clone(), namespace: ns, name, note: Some(note) });
    }
    let pod = namespace.map_or_else(|| format!("pod {given} in any namespace"), |n| format!("pod {n}/{given}"));
    Err(Error::NotFound { what: format!("{pod} (or one whose name starts with or contains it)") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ways() {
        assert!(NameMatch::Exact.matches("web", "web"));
        assert!(!NameMatch::Workload.matches("web", "web"));
        assert!(NameMatch::Workload.matches("web", "web-5d8f-abcde"));
        assert!(!NameMatch::Workload.matches("web", "webhook-1"));
        assert!(!NameMatch::Workload.matches("web", "web-"));
        assert!(NameMatch::Partial.matches("ledger", "prod-ledger-service-1"));
        assert!(!NameMatch::Partial.matches("led", "ledger-service-1"), "short fragments match too much");
    }

    #[test]
    fn unhealthy_first_then_most_restarts_then_by_name() {
        let items =
            [("web-b", true, 0), ("web-c", false, 0), ("web-a", true, 0), ("web-d", true, 3), ("other", false, 9)];
        let got: Vec<&str> =
            ranked(NameMatch::Workload, "web", &items, |i| (i.0, i.1, i.2)).iter().map(|i| i.0).collect();
        assert_eq!(got, ["web-c", "web-d", "web-a", "web-b"]);
    }
}
