//! One action at a time per object: a lease in the state table taken with a conditional
//! write.

use std::collections::HashMap;

use aiops_core::{Error, ErrorClass, Result};
use jiff::Timestamp;

use super::{DynamoStore, Item, ddb_error, is_condition_failure, key, n, s};

fn lock_pk(object_key: &str) -> String {
    format!("LOCK#{object_key}")
}

impl DynamoStore {
    /// Takes the lock on `object_key` (e.g. `deployment/prod/web`) for `owner` (an
    /// investigation or action id) until `now + ttl_seconds`. Succeeds when nobody holds it,
    /// when the holder's lease ended (`expires_at <= now`), or when `owner` holds it already
    /// (the lease is renewed). Of concurrent contenders, exactly one wins (the conditional put
    /// decides).
    ///
    /// The lock is `pk = LOCK#<object_key>`, `sk = LOCK` with `owner`, `acquired_at` and
    /// `expires_at` (epoch seconds, also the table's TTL attribute, which removes abandoned
    /// locks eventually; the condition does not wait for it).
    ///
    /// # Errors
    /// `InvalidInput` when `ttl_seconds` is 0 or `owner` is empty; the SDK's classified error
    /// otherwise. Losing to another holder is `Ok(false)`, not an error.
    pub async fn try_lock(&self, object_key: &str, owner: &str, ttl_seconds: u64, now: Timestamp) -> Result<bool> {
        let operation = format!("lock {object_key}");
        if ttl_seconds == 0 || owner.is_empty() {
            return Err(Error::backend(
                ErrorClass::InvalidInput,
                operation,
                "a lock needs an owner and a lease of at least 1 s",
            ));
        }
        let table = self.state_table.as_str();
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX);
        let mut item: Item = key(&lock_pk(object_key), "LOCK");
        item.extend(HashMap::from([
            ("owner".to_string(), s(owner)),
            ("acquired_at".to_string(), s(now.to_string())),
            ("expires_at".to_string(), n(now.as_second().saturating_add(ttl))),
        ]));
        let put = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #expires <= :now OR #owner = :owner")
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now.as_second()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(ddb_error("dynamodb:PutItem", table, e)),
        }
    }

    /// Releases the lock on `object_key` if `owner` holds it; whether it did (`false` when
    /// another owner holds it or nobody does). Idempotent.
    ///
    /// # Errors
    /// The SDK's classified error.
    pub async fn unlock(&self, object_key: &str, owner: &str) -> Result<bool> {
        let table = self.state_table.as_str();
        let del = self
            .client
            .delete_item()
            .table_name(table)
            .set_key(Some(key(&lock_pk(object_key), "LOCK")))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match del {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(ddb_error("dynamodb:DeleteItem", table, e)),
        }
    }
}
