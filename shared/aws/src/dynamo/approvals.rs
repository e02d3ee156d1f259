//! [`ApprovalStore`] over the approvals table. Every state change is one conditional
//! `UpdateItem`, so of two deciders (or two consumers) exactly one wins; when a condition
//! fails, the item is read to say why.

use std::collections::HashMap;

use aiops_core::agent::approval::{ApprovalRequest, ApprovalStatus, Decision, consume_refusal, decided_state};
use aiops_core::ports::ApprovalStore;
use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_dynamodb::types::ReturnValue;
use jiff::Timestamp;

use super::{DynamoStore, Item, ddb_error, from_json, is_condition_failure, n, opt_s, req_s, s, sortable, to_json};

/// The partition of the `by_created` index that lists approvals.
const APPROVALS: &str = "APPROVALS";

/// Every attribute but the task token: what `get` and `list` read.
const PUBLIC_ATTRIBUTES: &[&str] = &[
    "pk",
    "request",
    "status",
    "decided_by",
    "decided_at",
    "reason",
    "comment",
    "used_at",
    "action_hash",
    "expires_at_ns",
];

fn apr_pk(id: &str) -> String {
    format!("APR#{id}")
}

fn pk_key(id: &str) -> Item {
    HashMap::from([("pk".to_string(), s(apr_pk(id)))])
}

fn status_partition(status: ApprovalStatus) -> String {
    format!("{APPROVALS}#{}", status.as_str())
}

fn parse_status(table: &str, v: &str) -> Result<ApprovalStatus> {
    serde_json::from_value(serde_json::Value::String(v.to_string()))
        .map_err(|_| super::corrupt(table, format_args!("unknown approval status {v:?}")))
}

fn parse_time(table: &str, v: &str) -> Result<Timestamp> {
    v.parse().map_err(|e: jiff::Error| super::corrupt(table, format_args!("bad time {v:?}: {e}")))
}

/// The request an item holds: the request as created, with its mutable fields as they are
/// now. Never the token.
fn from_item(table: &str, item: &Item) -> Result<ApprovalRequest> {
    let mut r: ApprovalRequest = from_json(table, "approval request", req_s(table, item, "request")?)?;
    r.status = parse_status(table, req_s(table, item, "status")?)?;
    r.decided_by = opt_s(item, "decided_by").map(str::to_string);
    r.decided_at = opt_s(item, "decided_at").map(|v| parse_time(table, v)).transpose()?;
    r.reason = opt_s(item, "reason").map(str::to_string);
    r.comment = opt_s(item, "comment").map(str::to_string);
    Ok(r)
}

fn conflict(operation: &str, message: String) -> Error {
    Error::backend(ErrorClass::Conflict, operation, message)
}

fn invalid(operation: &str, message: &str) -> Error {
    Error::backend(ErrorClass::InvalidInput, operation, message)
}

fn not_found(id: &str) -> Error {
    Error::NotFound { what: format!("approval {id}") }
}

/// Why a decision lost its condition, reading the item.
enum Lost {
    /// Not pending any more.
    Decided(ApprovalRequest),
    /// Pending, but past its expiry at the decision's `now`.
    Expired(ApprovalRequest),
    /// Pending and in time: it appeared after our update (retry).
    StillOpen,
}

impl DynamoStore {
    /// The item of a request, with or without its token (consistent read).
    async fn read_approval(&self, id: &str, with_token: bool) -> Result<Option<Item>> {
        let table = self.approvals_table.as_str();
        let mut get = self.client.get_item().table_name(table).set_key(Some(pk_key(id))).consistent_read(true);
        if !with_token {
            let mut projection = Vec::new();
            for (i, attr) in PUBLIC_ATTRIBUTES.iter().enumerate() {
                let name = format!("#a{i}");
                get = get.expression_attribute_names(&name, *attr);
                projection.push(name);
            }
            get = get.projection_expression(projection.join(", "));
        }
        let out = get.send().await.map_err(|e| ddb_error("dynamodb:GetItem", table, e))?;
        Ok(out.item)
    }

    async fn read_request(&self, id: &str) -> Result<ApprovalRequest> {
        let item = self.read_approval(id, false).await?.ok_or_else(|| not_found(id))?;
        from_item(&self.approvals_table, &item)
    }

    /// Pending → `to` with `decided_at = now` (and the decision's fields), under `condition`.
    /// Returns the item after the update, or `None` when the condition did not hold.
    async fn transition(
        &self,
        id: &str,
        to: ApprovalStatus,
        set: &[(&str, String)],
        condition: &str,
        values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
    ) -> Result<Option<Item>> {
        let table = self.approvals_table.as_str();
        let mut update = String::from("SET #status = :to, #gsi2pk = :to_partition");
        let mut req = self
            .client
            .update_item()
            .table_name(table)
            .set_key(Some(pk_key(id)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#gsi2pk", "gsi2pk")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":to_partition", s(status_partition(to)))
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew);
        for (attr, value) in set {
            update.push_str(&format!(", #{attr} = :{attr}"));
            req = req
                .expression_attribute_names(format!("#{attr}"), *attr)
                .expression_attribute_values(format!(":{attr}"), s(value));
        }
        for (name, value) in values {
            req = req.expression_attribute_values(*name, value.clone());
        }
        match req.update_expression(update).send().await {
            Ok(out) => Ok(out.attributes),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(ddb_error("dynamodb:UpdateItem", table, e)),
        }
    }

    /// Pending → Expired (`decided_at = now`) if still pending; the item after, or `None`.
    async fn mark_expired(&self, id: &str, now: Timestamp) -> Result<Option<Item>> {
        self.transition(
            id,
            ApprovalStatus::Expired,
            &[("decided_at", now.to_string())],
            "#status = :pending",
            &[(":pending", s(ApprovalStatus::Pending.as_str()))],
        )
        .await
    }

    /// Why a decision at `now` lost its condition.
    async fn why_lost(&self, id: &str, now: Timestamp) -> Result<Lost> {
        let r = self.read_request(id).await?;
        Ok(if r.status != ApprovalStatus::Pending {
            Lost::Decided(r)
        } else if now > r.expires_at {
            Lost::Expired(r)
        } else {
            Lost::StillOpen
        })
    }
}

#[async_trait::async_trait]
impl ApprovalStore for DynamoStore {
    /// Puts `APR#<id>` with its token only if it does not exist.
    ///
    /// # Errors
    /// `Conflict` when the id exists; `InvalidInput` when the request is not pending.
    async fn create(&self, request: &ApprovalRequest, task_token: &str) -> Result<()> {
        let operation = format!("create approval {}", request.id);
        if request.status != ApprovalStatus::Pending {
            return Err(invalid(
                &operation,
                &format!("a new request must be pending, not {}", request.status.as_str()),
            ));
        }
        let table = self.approvals_table.as_str();
        let status = ApprovalStatus::Pending;
        let item: Item = HashMap::from([
            ("pk".to_string(), s(apr_pk(&request.id))),
            ("request".to_string(), s(to_json("an approval request", request)?)),
            ("status".to_string(), s(status.as_str())),
            ("gsi1pk".to_string(), s(APPROVALS)),
            ("gsi1sk".to_string(), s(format!("{}#{}", sortable(request.requested_at), request.id))),
            ("gsi2pk".to_string(), s(status_partition(status))),
            ("action_hash".to_string(), s(&request.action_hash)),
            ("expires_at_ns".to_string(), n(request.expires_at.as_nanosecond())),
            ("task_token".to_string(), s(task_token)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(crate::error::backend_error_as(
                ErrorClass::Conflict,
                &operation,
                format!("approval {} exists already", request.id),
                e,
            )),
            Err(e) => Err(ddb_error("dynamodb:PutItem", table, e)),
        }
    }

    /// The request, without its task token.
    async fn get(&self, id: &str) -> Result<Option<ApprovalRequest>> {
        match self.read_approval(id, false).await? {
            Some(item) => Ok(Some(from_item(&self.approvals_table, &item)?)),
            None => Ok(None),
        }
    }

    /// Newest first (by `requested_at`, then id), from the `by_created` or `by_status` index
    /// (eventually consistent), without task tokens.
    async fn list(&self, status: Option<ApprovalStatus>) -> Result<Vec<ApprovalRequest>> {
        let table = self.approvals_table.as_str();
        let (index, partition_attr, partition) = match status {
            None => ("by_created", "gsi1pk", APPROVALS.to_string()),
            Some(st) => ("by_status", "gsi2pk", status_partition(st)),
        };
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", partition_attr)
            .expression_attribute_values(":p", s(partition))
            .scan_index_forward(false)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
        items.iter().map(|item| from_item(table, item)).collect()
    }

    /// One conditional `UpdateItem`: `status = pending AND expires_at_ns >= now` → approved
    /// or rejected, with `decided_by`, `decided_at = now`, reason and comment. When the
    /// condition fails, reads the item: a pending request past its expiry is marked Expired
    /// (an expired approval is a rejection) and refused; a decided one is refused naming who
    /// decided and when.
    ///
    /// # Errors
    /// `NotFound`; `InvalidInput` when the decider is empty or a rejection has no reason;
    /// `Conflict` "approval X expired at T", or "approval X was already approved by Y at T"
    /// (or rejected, or used).
    async fn decide(&self, id: &str, decision: &Decision, now: Timestamp) -> Result<(ApprovalRequest, String)> {
        let operation = format!("decide approval {id}");
        if decision.by.trim().is_empty() {
            return Err(invalid(&operation, "a decision must name who decided"));
        }
        let reason = decision.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        if !decision.approve && reason.is_none() {
            return Err(invalid(&operation, &format!("rejecting approval {id} needs a reason")));
        }
        let to = if decision.approve { ApprovalStatus::Approved } else { ApprovalStatus::Rejected };
        let mut set = vec![("decided_by", decision.by.clone()), ("decided_at", now.to_string())];
        if let Some(reason) = &reason {
            set.push(("reason", reason.clone()));
        }
        if let Some(comment) = &decision.comment {
            set.push(("comment", comment.clone()));
        }
        let table = self.approvals_table.as_str();
        // A second round only when the request appeared between our update and our read.
        for _ in 0..3 {
            let updated = self
                .transition(
                    id,
                    to,
                    &set,
                    "#status = :pending AND expires_at_ns >= :now",
                    &[(":pending", s(ApprovalStatus::Pending.as_str())), (":now", n(now.as_nanosecond()))],
                )
                .await?;
            if let Some(item) = updated {
                let token = req_s(table, &item, "task_token")?.to_string();
                return Ok((from_item(table, &item)?, token));
            }
            match self.why_lost(id, now).await? {
                Lost::Decided(r) => return Err(conflict(&operation, format!("approval {id} {}", decided_state(&r)))),
                Lost::Expired(r) => {
                    if self.mark_expired(id, now).await?.is_some() {
                        return Err(conflict(&operation, format!("approval {id} expired at {}", r.expires_at)));
                    }
                    // Decided (or expired) by someone else in between: report that.
                    let current = self.read_request(id).await?;
                    return Err(conflict(&operation, format!("approval {id} {}", decided_state(&current))));
                }
                Lost::StillOpen => continue,
            }
        }
        Err(Error::backend(ErrorClass::Transient, operation, format!("approval {id} kept changing; try again")))
    }

    /// Pending → Expired (`decided_at = now`) with a conditional update. Idempotent: a
    /// request that is not pending (expired, or decided meanwhile) is returned unchanged.
    ///
    /// # Errors
    /// `NotFound`.
    async fn expire(&self, id: &str, now: Timestamp) -> Result<ApprovalRequest> {
        match self.mark_expired(id, now).await? {
            Some(item) => from_item(&self.approvals_table, &item),
            None => self.read_request(id).await,
        }
    }

    /// Approved → Used (`used_at = now`) with one conditional update on status and action
    /// hash. Expiry bounds the decision, not the write that follows an approval made in time.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` "approval X is not approved: …", "approval X was already used",
    /// or "approval X is bound to a different action".
    async fn consume(&self, id: &str, action_hash: &str, now: Timestamp) -> Result<ApprovalRequest> {
        let operation = format!("consume approval {id}");
        let updated = self
            .transition(
                id,
                ApprovalStatus::Used,
                &[("used_at", now.to_string())],
                "#status = :approved AND action_hash = :hash",
                &[(":approved", s(ApprovalStatus::Approved.as_str())), (":hash", s(action_hash))],
            )
            .await?;
        if let Some(item) = updated {
            return from_item(&self.approvals_table, &item);
        }
        let current = self.read_request(id).await?;
        let refusal = consume_refusal(&current, action_hash)
            .unwrap_or_else(|| format!("approval {id} changed while it was being consumed; try again"));
        Err(conflict(&operation, refusal))
    }
}
