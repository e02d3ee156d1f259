//! Creating the three tables (tests, local bootstrapping; the deployed stack declares the same
//! tables in template.yaml).

use std::time::Duration;

use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};

use super::{DynamoStore, build_error, ddb_error};

/// The attributes besides the task token that the approvals indexes carry.
const APPROVAL_INDEX_ATTRIBUTES: &[&str] =
    &["request", "status", "decided_by", "decided_at", "reason", "comment", "used_at", "action_hash", "expires_at_ns"];

/// A global secondary index to create.
struct Index {
    name: &'static str,
    hash: &'static str,
    range: &'static str,
    /// `None`: all attributes; else these non-key attributes.
    include: Option<&'static [&'static str]>,
}

/// A table to create.
struct Spec<'a> {
    name: &'a str,
    hash: &'static str,
    range: Option<&'static str>,
    indexes: Vec<Index>,
    ttl_attribute: Option<&'static str>,
    point_in_time_recovery: bool,
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| build_error("create table", e))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| build_error("create table", e))
}

impl DynamoStore {
    /// Creates the state, audit and approvals tables (on-demand, with their indexes, TTL on
    /// the state table, point-in-time recovery on the audit table) and waits until they are
    /// active. A table that exists already is left as it is, so this is idempotent.
    ///
    /// # Errors
    /// The SDK's classified error (`Forbidden` names the missing IAM action); `Transient`
    /// when a table is not active after two minutes.
    pub async fn create_tables(&self) -> Result<()> {
        let specs = [
            Spec {
                name: &self.state_table,
                hash: "pk",
                range: Some("sk"),
                indexes: vec![
                    Index { name: "by_created", hash: "gsi1pk", range: "gsi1sk", include: None },
                    Index { name: "by_status", hash: "gsi2pk", range: "gsi1sk", include: None },
                ],
                ttl_attribute: Some("expires_at"),
                point_in_time_recovery: false,
            },
            Spec {
                name: &self.audit_table,
                hash: "pk",
                range: Some("sk"),
                indexes: vec![Index { name: "by_day", hash: "day", range: "at_key", include: None }],
                ttl_attribute: None,
                point_in_time_recovery: true,
            },
            Spec {
                name: &self.approvals_table,
                hash: "pk",
                range: None,
                indexes: vec![
                    Index {
                        name: "by_created",
                        hash: "gsi1pk",
                        range: "gsi1sk",
                        include: Some(APPROVAL_INDEX_ATTRIBUTES),
                    },
                    Index {
                        name: "by_status",
                        hash: "gsi2pk",
                        range: "gsi1sk",
                        include: Some(APPROVAL_INDEX_ATTRIBUTES),
                    },
                ],
                ttl_attribute: None,
                point_in_time_recovery: false,
            },
        ];
        for spec in &specs {
            self.create_table(spec).await?;
        }
        Ok(())
    }

    async fn create_table(&self, spec: &Spec<'_>) -> Result<()> {
        let table = spec.name;
        let mut attributes = vec![spec.hash];
        attributes.extend(spec.range);
        for index in &spec.indexes {
            attributes.extend([index.hash, index.range]);
        }
        attributes.sort_unstable();
        attributes.dedup();
        let mut create = self
            .client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key_element(spec.hash, KeyType::Hash)?);
        if let Some(range) = spec.range {
            create = create.key_schema(key_element(range, KeyType::Range)?);
        }
        for attribute in attributes {
            create = create.attribute_definitions(string_attribute(attribute)?);
        }
        for index in &spec.indexes {
            let projection = match index.include {
                None => Projection::builder().projection_type(ProjectionType::All).build(),
                Some(attrs) => Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(attrs.iter().map(|a| (*a).to_string()).collect()))
                    .build(),
            };
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key_element(index.hash, KeyType::Hash)?)
                .key_schema(key_element(index.range, KeyType::Range)?)
                .projection(projection)
                .build()
                .map_err(|e| build_error("create table", e))?;
            create = create.global_secondary_indexes(gsi);
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if crate::error::error_code(&e) == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(ddb_error("dynamodb:CreateTable", table, e)),
        }
        self.wait_active(table).await?;
        if let Some(attribute) = spec.ttl_attribute {
            let ttl = TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(attribute)
                .build()
                .map_err(|e| build_error("create table", e))?;
            self.client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(ttl)
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:UpdateTimeToLive", table, e))?;
        }
        if spec.point_in_time_recovery {
            let pitr = PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .map_err(|e| build_error("create table", e))?;
            self.client
                .update_continuous_backups()
                .table_name(table)
                .point_in_time_recovery_specification(pitr)
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:UpdateContinuousBackups", table, e))?;
        }
        Ok(())
    }

    /// Polls until the table is active (immediately on an emulator, seconds on AWS).
    async fn wait_active(&self, table: &str) -> Result<()> {
        for _ in 0..240 {
            let out = self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:DescribeTable", table, e))?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(Error::backend(
            ErrorClass::Transient,
            format!("create table {table}"),
            "the table is not active after two minutes",
        ))
    }
}
