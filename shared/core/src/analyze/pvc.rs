//! PersistentVolumeClaim analyzer: claims that do not bind and why — a StorageClass that does
//! not exist, no default StorageClass, provisioning errors (EBS CSI IAM permissions, KMS), a
//! CSI provisioner that never answers (driver not installed) — claims that lost their volume,
//! and full volumes (a pod mounting the claim logs "No space left on device").
//!
//! Findings are about the claim (subject kind `PersistentVolumeClaim`), so the pod analyzer's
//! Pending pods (which link their cause to the claim) group under them; a full volume absorbs
//! the pods whose logs show it.

use super::event_line;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;

use super::pod::strip_timestamp;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::agent::redact::redact;
use crate::k8s::{self, human_duration};
use crate::kinds::Kind;
use crate::quantity::{format_bytes, parse_bytes};

/// A claim Pending for less than this with no warning event is still being provisioned.
const PROVISIONING_GRACE_SECS: i64 = 300;
/// Events older than this do not explain a current state.
const RECENT_EVENT_SECS: i64 = 3600;

/// Runs the PersistentVolumeClaim analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    let mut out = Vec::new();
    for pvc in &state.pvcs {
        let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
        match phase {
            "Pending" => {
                let Some(mut f) = pending(state, pvc) else { continue };
                // Pods that wait for this claim are its symptoms, whether or not the scheduler's
                // message names the claim in a way the pod analyzer recognises.
                if f.severity > Severity::Info {
                    let ns = k8s::namespace(&pvc.metadata);
                    for p in consumers(state, ns, k8s::name(&pvc.metadata)) {
                        if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending") {
                            f.absorbs.push(ObjectRef::new("Pod", ns, k8s::name(&p.metadata)));
                        }
                    }
                }
                out.push(f);
            }
            "Lost" => out.push(lost(state, pvc)),
            _ => {}
        }
    }
    out.extend(full_volumes(state));
    out
}

/// Whether an event happened within the last hour.
pub(super) fn is_recent(e: &Event, now: jiff::Timestamp) -> bool {
    crate::tools::event_last_time(e).is_some_and(|t| now.as_second() - t.as_second() <= RECENT_EVENT_SECS)
}

/// Whether a StorageClass is marked as the cluster default.
fn is_default(sc: &StorageClass) -> bool {
    sc.metadata.annotations.as_ref().is_some_and(|a| {
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|k| a.get(*k).is_some_and(|v| v == "true"))
    })
}

/// Pods in `ns` that mount claim `claim`.
fn consumers<'a>(state: &'a ClusterState, ns: &str, claim: &str) -> Vec<&'a Pod> {
    state
        .pods
        .iter()
        .filter(|p| k8s::namespace(&p.metadata) == ns)
        .filter(|p| {
            p.spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .any(|v| v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == claim))
        })
        .collect()
}

/// The text between `prefix` and the next quote (`"` or `'`).
fn quoted_after(s: &str, prefix: &str) -> Option<String> {
    let i = s.find(prefix)? + prefix.len();
    let rest = &s[i..];
    let end = rest.find(['"', '\''])?;
    Some(rest[..end].to_string()).filter(|v| !v.is_empty())
}

fn requested(pvc: &PersistentVolumeClaim) -> String {
    pvc.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map_or_else(|| "?".into(), |q| q.0.clone())
}

fn pending(state: &ClusterState, pvc: &PersistentVolumeClaim) -> Option<Finding> {
    let now = state.now;
    let ns = k8s::namespace(&pvc.metadata);
    let name = k8s::name(&pvc.metadata);
    let subject = ObjectRef::new("PersistentVolumeClaim", ns, name);
    let events = state.events_for("PersistentVolumeClaim", ns, name);
    let age = pvc.metadata.creation_timestamp.as_ref().map_or(0, |t| k8s::seconds_since(t, now));
    let class_name = pvc.spec.as_ref().and_then(|s| s.storage_class_name.as_deref());
    let class = class_name.and_then(|c| state.storage_classes.iter().find(|sc| k8s::name(&sc.metadata) == c));
    let users = consumers(state, ns, name);
    let used_by = match users.first() {
        Some(p) if users.len() > 1 => format!(" (used by pod {} and {} more)", k8s::name(&p.metadata), users.len() - 1),
        Some(p) => format!(" (used by pod {})", k8s::name(&p.metadata)),
        None => String::new(),
    };
    let pvc_ref = format!("PersistentVolumeClaim {ns}/{name}{used_by}");
    let pending_for = human_duration(age);
    let lines = |reasons: &[&str], max: usize| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
            .take(max)
            .map(|e| event_line(e, now))
            .collect()
    };
    let failed: Vec<&&Event> = events
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some("ProvisioningFailed")
                && e.type_.as_deref() == Some("Warning")
                && is_recent(e, now)
        })
        .collect();

    // 1. The StorageClass it names does not exist.
    let class_not_found_event =
        failed.iter().find_map(|e| quoted_after(e.message.as_deref().unwrap_or(""), "storageclass.storage.k8s.io \""));
    if let Some(c) = class_name.filter(|c| !c.is_empty()) {
        let missing =
            (state.has_read(Kind::StorageClass) && class.is_none()) || class_not_found_event.as_deref() == Some(c);
        if missing {
            let existing: Vec<String> = state
                .storage_classes
                .iter()
                .map(|sc| format!("{}{}", k8s::name(&sc.metadata), if is_default(sc) { " (default)" } else { "" }))
                .collect();
            let others = if existing.is_empty() {
                "no StorageClass exists in the cluster".to_string()
            } else {
                format!("existing classes: {}", existing.join(", "))
            };
            let mut f = Finding::new(
                subject,
                Severity::Error,
                "StorageClassNotFound",
                format!("{pvc_ref} has been Pending for {pending_for}: its StorageClass {c} does not exist ({others})"),
            )
            .evidence(format!("spec.storageClassName {c}"))
            .evidence("status.phase Pending");
            f.evidence.extend(lines(&["ProvisioningFailed"], 1));
            let fix = match state
                .storage_classes
                .iter()
                .find(|sc| is_default(sc))
                .or_else(|| state.storage_classes.first())
            {
                Some(sc) => format!(
                    "Create StorageClass {c} (e.g. provisioner ebs.csi.aws.com, type gp3, encrypted true) or recreate the claim with an existing class such as {}",
                    k8s::name(&sc.metadata)
                ),
                None => format!(
                    "Create StorageClass {c} (e.g. provisioner ebs.csi.aws.com, type gp3) — the claim binds as soon as it exists"
                ),
            };
            return Some(f.action(Action::text(fix)).warn(
                "Restarting the pods will not help: the claim cannot be provisioned until the StorageClass exists",
            ));
        }
    }

    // 2. No class named and no default class.
    if class_name.is_none() && state.has_read(Kind::StorageClass) && !state.storage_classes.iter().any(is_default) {
        let existing: Vec<&str> = state.storage_classes.iter().map(|sc| k8s::name(&sc.metadata)).collect();
        let mut f = Finding::new(
            subject,
            Severity::Error,
            "NoDefaultStorageClass",
            format!(
                "{pvc_ref} has been Pending for {pending_for}: it names no StorageClass and the cluster has no default one{}",
                if existing.is_empty() { " (no StorageClass exists at all)".to_string() } else { format!(" (classes: {})", existing.join(", ")) }
            ),
        )
        .evidence("spec.storageClassName not set")
        .evidence("no StorageClass carries storageclass.kubernetes.io/is-default-class=true");
        f.evidence.extend(lines(&["FailedBinding", "ProvisioningFailed"], 1));
        let fix = match existing.first() {
            Some(sc) => format!("Mark a class as default (kubectl annotate storageclass {sc} storageclass.kubernetes.io/is-default-class=true) or set storageClassName on the claim"),
            None => "Create a gp3 StorageClass with provisioner ebs.csi.aws.com annotated storageclass.kubernetes.io/is-default-class=true (EKS 1.30+ clusters have no default class)".to_string(),
        };
        return Some(f.action(Action::text(fix)));
    }

    // 3. The provisioner tried and failed.
    if let Some(e) = failed.first() {
        let msg = e.message.as_deref().unwrap_or("").trim().to_string();
        let lower = msg.to_ascii_lowercase();
        let provisioner = class.map(|c| c.provisioner.clone()).unwrap_or_default();
        let (why, fix) = if [
            "unauthorizedoperation",
            "not authorized",
            "accessdenied",
            "access denied",
            "webidentityerr",
            "nocredentialproviders",
        ]
        .iter()
        .any(|w| lower.contains(w))
        {
            (
                "the CSI driver's IAM role is not allowed to create the volume",
                format!(
                    "Give the IAM role of kube-system/ebs-csi-controller-sa (IRSA or Pod Identity) the AmazonEBSCSIDriverPolicy{}",
                    if lower.contains("kms")
                        || class.and_then(|c| c.parameters.as_ref()).is_some_and(|p| p.contains_key("kmsKeyId"))
                    {
                        " and kms:CreateGrant/Encrypt/Decrypt on the class's KMS key"
                    } else {
                        ""
                    }
                ),
            )
        } else if lower.contains("kms") {
            ("the KMS key of the StorageClass cannot be used", "Let the CSI driver's IAM role use the KMS key in the class's kmsKeyId (key policy and kms:CreateGrant)".to_string())
        } else if lower.contains("invalidparameter")
            || lower.contains("invalid parameter")
            || lower.contains("invalid argument")
        {
            (
                "the StorageClass parameters are rejected",
                "Fix the StorageClass parameters the event names (type, iops, throughput, kmsKeyId)".to_string(),
            )
        } else if lower.contains("limitexceeded") || lower.contains("quota") {
            (
                "an AWS account limit was reached",
                "Raise the EBS volume or IOPS service quota, or delete unused volumes".to_string(),
            )
        } else {
            ("the provisioner returned an error", "Fix the cause the ProvisioningFailed event names".to_string())
        };
        let by = if provisioner.is_empty() { String::new() } else { format!(" by {provisioner}") };
        let (detail, fix) = match aws_error(&msg) {
            Some(aws) => {
                let fix = match (&aws.role, &aws.action) {
                    (Some(role), Some(action)) => {
                        format!("Allow {action} for IAM role {role} (the CSI controller's role): {fix}")
                    }
                    _ => fix,
                };
                (aws.summary, fix)
            }
            None => (first_line(&msg, 240), fix),
        };
        let mut f = Finding::new(
            subject,
            Severity::Error,
            "ProvisioningFailed",
            format!("{pvc_ref} has been Pending for {pending_for}: provisioning{by} fails ({why}): {detail}"),
        )
        .evidence(format!(
            "spec.storageClassName {}, requests.storage {}",
            class_name.unwrap_or("<none>"),
            requested(pvc)
        ));
        f.evidence.extend(lines(&["ProvisioningFailed"], 2));
        return Some(
            f.action(Action::text(fix))
                .warn("Deleting and recreating the claim will fail the same way until the provisioning error is fixed"),
        );
    }

    let binding_mode = class.and_then(|c| c.volume_binding_mode.as_deref()).unwrap_or("Immediate");
    let waiting_for_consumer = binding_mode == "WaitForFirstConsumer"
        || events.iter().any(|e| e.reason.as_deref() == Some("WaitForFirstConsumer"));
    let node_selected =
        pvc.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("volume.kubernetes.io/selected-node"));

    // 4. WaitForFirstConsumer with no pod using it: by design.
    if waiting_for_consumer
        && !node_selected
        && users.iter().all(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none())
    {
        if users.is_empty() && age > PROVISIONING_GRACE_SECS {
            return Some(
                Finding::new(
                    subject,
                    Severity::Info,
                    "PVCWaitingForConsumer",
                    format!("PersistentVolumeClaim {ns}/{name} is Pending by design: its StorageClass binds on first use (WaitForFirstConsumer) and no pod uses it"),
                )
                .evidence(format!("StorageClass {} volumeBindingMode WaitForFirstConsumer", class_name.unwrap_or("<default>"))),
            );
        }
        // A pod uses it but is not scheduled: the pod's own finding says why.
        return None;
    }

    // 5. Waiting for an external provisioner that never answers.
    let external = events.iter().find(|e| e.reason.as_deref() == Some("ExternalProvisioning"));
    if age > PROVISIONING_GRACE_SECS
        && let Some(e) = external
    {
        let msg = e.message.as_deref().unwrap_or("");
        let provisioner = quoted_after(msg, "provisioner \"")
            .or_else(|| quoted_after(msg, "provisioner '"))
            .or_else(|| class.map(|c| c.provisioner.clone()))
            .unwrap_or_else(|| "?".into());
        let ebs = provisioner == "ebs.csi.aws.com";
        let efs = provisioner == "efs.csi.aws.com";
        let mut f = Finding::new(
            subject,
            Severity::Error,
            "ProvisionerMissing",
            format!(
                "{pvc_ref} has been Pending for {pending_for}: it waits for the external provisioner {provisioner}, which has not created a volume{}",
                if ebs { " — the EBS CSI driver is not installed or not running" } else if efs { " — the EFS CSI driver is not installed or not running" } else { " — the CSI driver is not installed or not running" }
            ),
        )
        .evidence(format!("spec.storageClassName {}", class_name.unwrap_or("<default>")));
        f.evidence.extend(lines(&["ExternalProvisioning"], 1));
        let kube_system: Vec<&Pod> =
            state.pods.iter().filter(|p| k8s::namespace(&p.metadata) == "kube-system").collect();
        if !kube_system.is_empty() {
            let prefix = if efs { "efs-csi-controller" } else { "ebs-csi-controller" };
            let controllers: Vec<&&Pod> =
                kube_system.iter().filter(|p| k8s::name(&p.metadata).starts_with(prefix)).collect();
            if controllers.is_empty() {
                f.evidence.push(format!("no {prefix} pod runs in kube-system"));
            } else {
                let ready = controllers.iter().filter(|p| k8s::is_ready(p)).count();
                f.evidence.push(format!("{ready} of {} {prefix} pods in kube-system are ready", controllers.len()));
            }
        }
        let fix = if ebs {
            "Install the Amazon EBS CSI driver add-on (aws eks create-addon --addon-name aws-ebs-csi-driver) with an IAM role carrying AmazonEBSCSIDriverPolicy, or fix its controller pods".to_string()
        } else if efs {
            "Install the Amazon EFS CSI driver add-on (aws-efs-csi-driver) with its IAM role, or fix its controller pods".to_string()
        } else {
            format!("Install or repair the CSI driver that serves provisioner {provisioner}")
        };
        return Some(f.action(Action::text(fix)).warn(
            "Restarting the pods that use the claim will not help: no volume will exist until the provisioner runs",
        ));
    }

    // 6. Static binding (storageClassName "") with no matching PV, or pending long with no explanation.
    if age > 2 * PROVISIONING_GRACE_SECS {
        let mut f = Finding::new(
            subject,
            Severity::Warning,
            "PVCPending",
            if class_name == Some("") {
                format!("{pvc_ref} has been Pending for {pending_for}: it asks for a pre-created PersistentVolume (storageClassName \"\") of {} and none matches", requested(pvc))
            } else {
                format!("{pvc_ref} has been Pending for {pending_for} with no provisioning event explaining why")
            },
        )
        .evidence(format!("spec.storageClassName {}, requests.storage {}", class_name.map_or("<none>", |c| if c.is_empty() { "\"\"" } else { c }), requested(pvc)));
        f.evidence.extend(lines(&["FailedBinding", "ProvisioningFailed", "ExternalProvisioning"], 2));
        return Some(
            f.action(Action::text("Check the claim's StorageClass provisioner and its events (kubectl describe pvc)")),
        );
    }
    None
}

fn lost(state: &ClusterState, pvc: &PersistentVolumeClaim) -> Finding {
    let ns = k8s::namespace(&pvc.metadata);
    let name = k8s::name(&pvc.metadata);
    let volume = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()).unwrap_or_default();
    let pv_exists = state.pvs.iter().any(|pv| k8s::name(&pv.metadata) == volume);
    let users: Vec<String> = consumers(state, ns, name).iter().map(|p| k8s::name(&p.metadata).to_string()).collect();
    let mut f = Finding::new(
        ObjectRef::new("PersistentVolumeClaim", ns, name),
        Severity::Error,
        "PVCLost",
        format!(
            "PersistentVolumeClaim {ns}/{name} is Lost: its PersistentVolume {volume} {}{}",
            if pv_exists || !state.has_read(Kind::PersistentVolume) {
                "is no longer usable"
            } else {
                "no longer exists"
            },
            if users.is_empty() { String::new() } else { format!("; pods {} cannot mount it", users.join(", ")) }
        ),
    )
    .evidence("status.phase Lost")
    .evidence(format!("spec.volumeName {volume}"));
    for p in consumers(state, ns, name) {
        f.absorbs.push(ObjectRef::new("Pod", ns, k8s::name(&p.metadata)));
    }
    f.action(Action::text(format!(
        "Find the EBS volume behind PersistentVolume {volume} (tag kubernetes.io/created-for/pv/name); if it still exists, recreate the PV pointing at it, else restore the data from a snapshot"
    )))
    .warn("Deleting and recreating the claim gives the workload a new, empty volume: the old data is not on it")
}

/// A log line reporting a full filesystem, with the pod and container it came from.
struct FullLine {
    pod: String,
    container: String,
    mount_path: String,
    line: String,
}

/// Claims whose mounting pods log "No space left on device".
fn full_volumes(state: &ClusterState) -> Vec<Finding> {
    // (ns, claim) → lines
    let mut by_claim: BTreeMap<(String, String), Vec<FullLine>> = BTreeMap::new();
    for pod in &state.pods {
        let ns = k8s::namespace(&pod.metadata);
        let pname = k8s::name(&pod.metadata);
        let Some(spec) = pod.spec.as_ref() else { continue };
        // volume name → claim name
        let claims: BTreeMap<&str, &str> = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref().map(|c| (v.name.as_str(), c.claim_name.as_str())))
            .collect();
        if claims.is_empty() {
            continue;
        }
        for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
            // (mount path, claim) for the claims this container mounts
            let mounts: Vec<(&str, &str)> = c
                .volume_mounts
                .iter()
                .flatten()
                .filter_map(|m| claims.get(m.name.as_str()).map(|claim| (m.mount_path.as_str(), *claim)))
                .collect();
            if mounts.is_empty() {
                continue;
            }
            for previous in [false, true] {
                let Some(log) = state.log(ns, pname, &c.name, previous) else { continue };
                for line in log.lines().map(strip_timestamp) {
                    if !line.to_ascii_lowercase().contains("no space left on device") {
                        continue;
                    }
                    let Some((mount_path, claim)) = claim_of_line(line, &mounts) else { continue };
                    by_claim.entry((ns.to_string(), claim.to_string())).or_default().push(FullLine {
                        pod: pname.to_string(),
                        container: c.name.clone(),
                        mount_path: mount_path.to_string(),
                        line: redact(line.trim()).into_owned(),
                    });
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((ns, claim), lines) in by_claim {
        let pvc = state.pvcs.iter().find(|p| k8s::namespace(&p.metadata) == ns && k8s::name(&p.metadata) == claim);
        let capacity = pvc
            .and_then(|p| p.status.as_ref()?.capacity.as_ref()?.get("storage").map(|q| q.0.clone()))
            .or_else(|| pvc.map(requested).filter(|r| r != "?"));
        let class = pvc
            .and_then(|p| p.spec.as_ref()?.storage_class_name.as_deref())
            .and_then(|c| state.storage_classes.iter().find(|sc| k8s::name(&sc.metadata) == c));
        let mut pods: Vec<&str> = lines.iter().map(|l| l.pod.as_str()).collect();
        pods.dedup();
        let first = &lines[0];
        let size = capacity.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
        let mut f = Finding::new(
            ObjectRef::new("PersistentVolumeClaim", &ns, &claim),
            Severity::Error,
            "VolumeFull",
            format!(
                "PersistentVolumeClaim {ns}/{claim}{size} is full: pod {} writes to it at {} and gets \"No space left on device\" ({} log lines)",
                first.pod,
                first.mount_path,
                lines.len()
            ),
        );
        if let Some(c) = &capacity {
            f.evidence.push(format!("status.capacity.storage {c}"));
        }
        for l in lines.iter().take(3) {
            f.evidence.push(format!(
                "log of {}/{} (mounts the claim at {}): {}",
                l.pod,
                l.container,
                l.mount_path,
                first_line(&l.line, 300)
            ));
        }
        let doubled = capacity.as_deref().and_then(parse_bytes).map(|b| format_bytes(b * 2.0));
        let expandable = class.and_then(|c| c.allow_volume_expansion).unwrap_or(false);
        let class_name = class.map(|c| k8s::name(&c.metadata).to_string());
        f = match (&doubled, expandable) {
            (Some(new), true) => f.action(Action::text(format!(
                "Expand the claim: raise spec.resources.requests.storage of {ns}/{claim} from {} to {new} (StorageClass {} allows expansion; EBS grows online)",
                capacity.as_deref().unwrap_or("?"),
                class_name.as_deref().unwrap_or("?")
            ))),
            (Some(new), false) => f.action(Action::text(format!(
                "Set allowVolumeExpansion: true on StorageClass {} (the EBS CSI driver supports it), then raise the claim's storage request to {new}",
                class_name.as_deref().unwrap_or("of the claim")
            ))),
            (None, _) => f.action(Action::text(format!("Expand PersistentVolumeClaim {ns}/{claim} (raise spec.resources.requests.storage)"))),
        };
        f = f
            .action(Action::text("Free space on the volume: delete old data, rotated logs or WAL segments the application no longer needs"))
            .warn("Restarting the pod will not free space: the data lives on the volume and survives restarts")
            .warn("Deleting the claim destroys the data on it");
        for p in pods {
            f.absorbs.push(ObjectRef::new("Pod", &ns, p));
        }
        out.push(f);
    }
    out
}

/// Which mounted claim a "no space left" line is about: the mount whose path the line names,
/// else the only mounted claim when the line names no other absolute path.
fn claim_of_line<'a>(line: &str, mounts: &[(&'a str, &'a str)]) -> Option<(&'a str, &'a str)> {
    let named = mounts
        .iter()
        .filter(|(path, _)| path.len() > 1 && line.contains(path.trim_end_matches('/')))
        .max_by_key(|(path, _)| path.len());
    if let Some(m) = named {
        return Some(*m);
    }
    let names_other_path = line
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | ',' | '`'))
        .any(|t| t.starts_with('/') && t.len() > 1);
    if names_other_path || mounts.len() != 1 {
        return None;
    }
    Some(mounts[0])
}

/// The parts of an AWS API error quoted in an event that say what was refused.
struct AwsError {
    /// `UnauthorizedOperation: IAM role X is not authorized to perform ec2:CreateVolume`.
    summary: String,
    role: Option<String>,
    action: Option<String>,
}

/// Reads `api error CODE: …`, `assumed-role/ROLE/…` and `not authorized to perform: ACTION` out
/// of an AWS SDK error message.
fn aws_error(msg: &str) -> Option<AwsError> {
    let code = msg.split("api error ").nth(1)?.split(':').next()?.trim().to_string();
    let role = msg.split("assumed-role/").nth(1).and_then(|r| r.split('/').next()).map(str::to_string);
    let action = msg
        .split("not authorized to perform: ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .map(|a| a.trim_end_matches([',', '.', ';']).to_string());
    let summary = match (&role, &action) {
        (Some(r), Some(a)) => format!("{code}: IAM role {r} is not authorized to perform {a}"),
        (None, Some(a)) => format!("{code}: not authorized to perform {a}"),
        _ => code.clone(),
    };
    Some(AwsError { summary, role, action })
}

/// The first line of `s`, cut to `max` characters.
fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::snapshot::LogKey;

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        logs: Vec<(&'static str, &'static str, bool, &'static str)>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    fn gp3() -> serde_json::Value {
        storage_class("gp3", "ebs.csi.aws.com", true, "WaitForFirstConsumer")
    }

    fn db_pod() -> serde_json::Value {
        pod("db-0")
            .in_ns("prod")
            .owned_by("StatefulSet", "db")
            .mounts_claim("data-db-0", "/var/lib/postgresql/data")
            .build()
    }

    #[test]
    fn pvc_cases() {
        let cases = vec![
            Case {
                name: "bound claim",
                objects: vec![gp3(), pvc("prod", "data", Some("gp3"), "Bound", 86_400).build()],
                logs: vec![],
                expect: None,
            },
            Case {
                name: "storage class not found",
                objects: vec![
                    gp3(),
                    pvc("prod", "data-db-0", Some("gp3-encrypted"), "Pending", 1800).build(),
                    event(
                        "prod",
                        "PersistentVolumeClaim",
                        "data-db-0",
                        "Warning",
                        "ProvisioningFailed",
                        "storageclass.storage.k8s.io \"gp3-encrypted\" not found",
                        12,
                        30,
                    ),
                ],
                logs: vec![],
                expect: Some((
                    "StorageClassNotFound",
                    Severity::Error,
                    &["gp3-encrypted", "does not exist", "gp3 (default)", "30m"],
                )),
            },
            Case {
                name: "no default storage class",
                objects: vec![
                    storage_class("gp2", "kubernetes.io/aws-ebs", false, "WaitForFirstConsumer"),
                    pvc("prod", "data", None, "Pending", 1800).build(),
                ],
                logs: vec![],
                expect: Some(("NoDefaultStorageClass", Severity::Error, &["no default", "gp2"])),
            },
            Case {
                name: "ebs csi unauthorized",
                objects: vec![
                    gp3(),
                    pvc("prod", "data", Some("gp3"), "Pending", 1800).build(),
                    event(
                        "prod",
                        "PersistentVolumeClaim",
                        "data",
                        "Warning",
                        "ProvisioningFailed",
                        "failed to provision volume with StorageClass \"gp3\": rpc error: code = Internal desc = Could not create volume \"pvc-1\": could not create volume in EC2: operation error EC2: CreateVolume, https response error StatusCode: 403, RequestID: 2de6c26f, api error UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/prod-ebs-csi-driver/1735641211 is not authorized to perform: ec2:CreateVolume on resource: arn:aws:ec2:eu-west-1:123456789012:volume/*",
                        5,
                        60,
                    ),
                ],
                logs: vec![],
                expect: Some((
                    "ProvisioningFailed",
                    Severity::Error,
                    &[
                        "ebs.csi.aws.com",
                        "UnauthorizedOperation: IAM role prod-ebs-csi-driver is not authorized to perform ec2:CreateVolume",
                    ],
                )),
            },
            Case {
                name: "provisioning error without an aws error",
                objects: vec![
                    gp3(),
                    pvc("prod", "data", Some("gp3"), "Pending", 1800).build(),
                    event(
                        "prod",
                        "PersistentVolumeClaim",
                        "data",
                        "Warning",
                        "ProvisioningFailed",
                        "failed to provision volume with StorageClass \"gp3\": rpc error: code = InvalidArgument desc = invalid parameter iops",
                        5,
                        60,
                    ),
                ],
                logs: vec![],
                expect: Some((
                    "ProvisioningFailed",
                    Severity::Error,
                    &["parameters are rejected", "invalid parameter iops"],
                )),
            },
            Case {
                name: "ebs csi driver not installed",
                objects: vec![
                    storage_class("gp3", "ebs.csi.aws.com", true, "Immediate"),
                    pvc("prod", "data", Some("gp3"), "Pending", 3600).build(),
                    event(
                        "prod",
                        "PersistentVolumeClaim",
                        "data",
                        "Normal",
                        "ExternalProvisioning",
                        "waiting for a volume to be created, either by external provisioner \"ebs.csi.aws.com\" or manually created by system administrator",
                        200,
                        10,
                    ),
                    pod("coredns-5d8c6b9f7d-abcde").in_ns("kube-system").build(),
                ],
                logs: vec![],
                expect: Some(("ProvisionerMissing", Severity::Error, &["ebs.csi.aws.com", "EBS CSI driver", "1h"])),
            },
            Case {
                name: "just created claim is still provisioning",
                objects: vec![
                    storage_class("gp3", "ebs.csi.aws.com", true, "Immediate"),
                    pvc("prod", "data", Some("gp3"), "Pending", 20).build(),
                    event(
                        "prod",
                        "PersistentVolumeClaim",
                        "data",
                        "Normal",
                        "ExternalProvisioning",
                        "waiting for a volume to be created, either by external provisioner \"ebs.csi.aws.com\" or manually created by system administrator",
                        1,
                        10,
                    ),
                ],
                logs: vec![],
                expect: None,
            },
            Case {
                name: "wait for first consumer without a pod",
                objects: vec![gp3(), pvc("prod", "spare", Some("gp3"), "Pending", 7200).build()],
                logs: vec![],
                expect: Some(("PVCWaitingForConsumer", Severity::Info, &["WaitForFirstConsumer", "no pod uses it"])),
            },
            Case {
                name: "wait for first consumer with an unscheduled pod is the pod's finding",
                objects: vec![
                    gp3(),
                    pvc("prod", "data-db-0", Some("gp3"), "Pending", 7200).build(),
                    pod("db-0")
                        .in_ns("prod")
                        .mounts_claim("data-db-0", "/data")
                        .unschedulable("0/3 nodes are available: 3 Insufficient memory.")
                        .build(),
                ],
                logs: vec![],
                expect: None,
            },
            Case {
                name: "lost claim",
                objects: vec![
                    gp3(),
                    pvc("prod", "data-db-0", Some("gp3"), "Lost", 86_400).volume("pvc-123").build(),
                    db_pod(),
                ],
                logs: vec![],
                expect: Some(("PVCLost", Severity::Error, &["Lost", "pvc-123", "db-0"])),
            },
            Case {
                name: "volume full",
                objects: vec![
                    gp3(),
                    pvc("prod", "data-db-0", Some("gp3"), "Bound", 86_400).capacity("10Gi").build(),
                    db_pod(),
                ],
                logs: vec![(
                    "db-0",
                    "app",
                    true,
                    "2025-11-30T09:58:00.000Z LOG: checkpoint starting\n2025-11-30T09:58:01.000Z PANIC: could not write to file \"/var/lib/postgresql/data/pg_wal/xlogtemp.1\": No space left on device\n",
                )],
                expect: Some((
                    "VolumeFull",
                    Severity::Error,
                    &["data-db-0", "10Gi", "is full", "db-0", "/var/lib/postgresql/data"],
                )),
            },
            Case {
                name: "no space on another path is not the claim",
                objects: vec![
                    gp3(),
                    pvc("prod", "data-db-0", Some("gp3"), "Bound", 86_400).capacity("10Gi").build(),
                    db_pod(),
                ],
                logs: vec![(
                    "db-0",
                    "app",
                    false,
                    "write /tmp/upload-1: no space left on device\nwrite /tmp/upload-2: no space left on device\n",
                )],
                expect: None,
            },
        ];
        for case in cases {
            let mut st = state(case.objects);
            for (pod, container, previous, text) in &case.logs {
                st.logs.insert(
                    LogKey {
                        namespace: Some("prod".into()),
                        pod: pod.to_string(),
                        container: container.to_string(),
                        previous: *previous,
                    },
                    text.to_string(),
                );
            }
            let findings = analyze(&st);
            match case.expect {
                None => assert!(findings.is_empty(), "{}: expected nothing, got {findings:#?}", case.name),
                Some((reason, sev, texts)) => {
                    assert_eq!(findings.len(), 1, "{}: {findings:#?}", case.name);
                    let f = &findings[0];
                    assert_eq!(f.kind, "PersistentVolumeClaim", "{}", case.name);
                    assert_eq!(f.reason, reason, "{}: {}", case.name, f.message);
                    assert_eq!(f.severity, sev, "{}: {}", case.name, f.message);
                    for t in texts {
                        assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                    }
                }
            }
        }
    }

    #[test]
    fn unbound_claim_is_the_root_of_its_pending_pod() {
        let objs = vec![
            gp3(),
            pvc("prod", "data-db-0", Some("gp3-encrypted"), "Pending", 1800).build(),
            pod("db-0")
                .in_ns("prod")
                .mounts_claim("data-db-0", "/data")
                .unschedulable("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available.")
                .build(),
        ];
        let out = crate::analyze::analyze(&state(objs));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "StorageClassNotFound");
        assert_eq!(out[0].chain.len(), 1, "{out:#?}");
        assert_eq!(out[0].chain[0].name, "db-0");
    }

    #[test]
    fn failing_claim_is_the_root_of_a_pod_the_scheduler_message_does_not_link() {
        let objs = vec![
            gp3(),
            pvc("streaming", "data-kafka-0", Some("gp3"), "Pending", 1800).build(),
            event("streaming", "PersistentVolumeClaim", "data-kafka-0", "Warning", "ProvisioningFailed",
                "failed to provision volume with StorageClass \"gp3\": could not create volume in EC2: api error UnauthorizedOperation: You are not authorized to perform this operation.", 11, 110),
            pod("kafka-0")
                .in_ns("streaming")
                .owned_by("StatefulSet", "kafka")
                .mounts_claim("data-kafka-0", "/var/lib/kafka")
                .unschedulable("running PreBind plugin \"VolumeBinding\": binding volumes: provisioning failed for PVC \"data-kafka-0\"")
                .build(),
        ];
        let out = crate::analyze::analyze(&state(objs));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            (out[0].kind.as_str(), out[0].reason.as_str()),
            ("PersistentVolumeClaim", "ProvisioningFailed"),
            "{out:#?}"
        );
        assert!(out[0].chain.iter().any(|c| c.name == "kafka-0"), "{out:#?}");
        assert!(out[0].actions.iter().any(|a| a.summary.contains("AmazonEBSCSIDriverPolicy")), "{out:#?}");
    }

    #[test]
    fn full_volume_absorbs_the_crashing_pod_and_proposes_expansion() {
        let objs = vec![
            gp3(),
            pvc("prod", "data-db-0", Some("gp3"), "Bound", 86_400).capacity("10Gi").build(),
            pod("db-0")
                .in_ns("prod")
                .owned_by("StatefulSet", "db")
                .mounts_claim("data-db-0", "/var/lib/postgresql/data")
                .crashlooping(4)
                .build(),
        ];
        let mut st = state(objs);
        st.logs.insert(
            LogKey { namespace: Some("prod".into()), pod: "db-0".into(), container: "app".into(), previous: true },
            "FATAL: could not write to file \"/var/lib/postgresql/data/base/1/2\": No space left on device\n".into(),
        );
        let out = crate::analyze::analyze(&st);
        let root = out.iter().find(|f| f.reason == "VolumeFull").expect("a VolumeFull finding");
        assert!(root.chain.iter().any(|c| c.name == "db-0" && c.reason == "CrashLoopBackOff"), "{root:#?}");
        assert!(root.actions.iter().any(|a| a.summary.contains("from 10Gi to 20Gi")), "{root:#?}");
        assert!(root.warnings.iter().any(|w| w.contains("Restarting")), "{root:#?}");
    }
}
