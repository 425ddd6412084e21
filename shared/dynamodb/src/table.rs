//! The table's definition, for tests and local use; production creates it
//! from `infra/` (with point-in-time recovery, encryption and deletion
//! protection, which this does not set).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use seatflow_domain::StoreError;

use crate::keys;
use crate::store::{DynamoEntitlementStore, unavailable};

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

impl DynamoEntitlementStore {
    /// Creates the table unless it exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when DynamoDB cannot be reached.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        match self
            .client()
            .describe_table()
            .table_name(self.table())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                self.create_table().await
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Creates the table (on-demand billing, with `GSI1` and `GSI2`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when DynamoDB refuses or cannot be reached.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(keys::GSI1)
            .key_schema(key(keys::GSI1PK, KeyType::Hash)?)
            .key_schema(key(keys::GSI1SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let admins = GlobalSecondaryIndex::builder()
            .index_name(keys::GSI2)
            .key_schema(key(keys::GSI2PK, KeyType::Hash)?)
            .key_schema(key(keys::GSI2SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client()
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(keys::PK)?)
            .attribute_definitions(attribute(keys::SK)?)
            .attribute_definitions(attribute(keys::GSI1PK)?)
            .attribute_definitions(attribute(keys::GSI1SK)?)
            .attribute_definitions(attribute(keys::GSI2PK)?)
            .attribute_definitions(attribute(keys::GSI2SK)?)
            .key_schema(key(keys::PK, KeyType::Hash)?)
            .key_schema(key(keys::SK, KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .global_secondary_indexes(admins)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
