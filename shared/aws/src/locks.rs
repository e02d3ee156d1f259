//! [`LockStore`] over the DynamoDB state table's conditional-write locks.

use aiops_core::ports::LockStore;
use jiff::Timestamp;

use crate::dynamo::DynamoStore;

#[async_trait::async_trait]
impl LockStore for DynamoStore {
    async fn try_lock(&self, key: &str, owner: &str, ttl_seconds: i64, now: Timestamp) -> aiops_core::Result<bool> {
        DynamoStore::try_lock(self, key, owner, u64::try_from(ttl_seconds.max(1)).unwrap_or(1), now).await
    }

    async fn unlock(&self, key: &str, owner: &str) -> aiops_core::Result<()> {
        DynamoStore::unlock(self, key, owner).await.map(|_| ())
    }
}

/// The Step Functions console link of an execution ARN (the region is read from the ARN).
pub fn execution_link(execution_arn: &str) -> String {
    let region = execution_arn.split(':').nth(3).filter(|r| !r.is_empty()).unwrap_or("us-east-1");
    crate::sfn::console_link(region, execution_arn)
}
