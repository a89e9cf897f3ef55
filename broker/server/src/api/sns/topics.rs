//! SNS topic operations: create, delete, attributes, list, permissions and tags.
//!
//! # Layout
//! One function per action, taking the [`Scope`] of the request and its decoded fields; core errors convert with `?` through
//! [`Failure`](super::shared::Failure).

use std::collections::BTreeMap;

use sluice_broker::topic::TopicKey;
use sluice_protocols::sns::{SnsAction, SnsResponse};

use super::shared::{topic_key, Result, Scope};

pub fn create(
    scope: &Scope<'_>,
    name: String,
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
) -> Result<SnsResponse> {
    let key = TopicKey::new(scope.ctx.account_id.clone(), scope.ctx.region.clone(), name);
    let topic_arn = scope.topics().create_topic(&key, &attributes, &tags)?;
    Ok(SnsResponse::CreateTopic { topic_arn })
}

pub fn delete(scope: &Scope<'_>, topic_arn: String) -> Result<SnsResponse> {
    scope.topics().delete_topic(&topic_key(&topic_arn, "TopicArn")?)?;
    Ok(SnsResponse::Empty(SnsAction::DeleteTopic))
}

pub fn get_attributes(scope: &Scope<'_>, topic_arn: String) -> Result<SnsResponse> {
    let attributes = scope
        .topics()
        .get_topic_attributes(&topic_key(&topic_arn, "TopicArn")?)?;
    Ok(SnsResponse::Attributes(SnsAction::GetTopicAttributes, attributes))
}

pub fn set_attribute(scope: &Scope<'_>, topic_arn: String, name: String, value: String) -> Result<SnsResponse> {
    scope
        .topics()
        .set_topic_attribute(&topic_key(&topic_arn, "TopicArn")?, &name, &value)?;
    Ok(SnsResponse::Empty(SnsAction::SetTopicAttributes))
}

pub fn list(scope: &Scope<'_>, next_token: Option<String>) -> Result<SnsResponse> {
    let page = scope
        .topics()
        .list_topics(&scope.ctx.account_id, &scope.ctx.region, next_token.as_deref())?;
    Ok(SnsResponse::ListTopics {
        topic_arns: page.items,
        next_token: page.next_token,
    })
}

pub fn add_permission(
    scope: &Scope<'_>,
    topic_arn: String,
    label: String,
    account_ids: Vec<String>,
    action_names: Vec<String>,
) -> Result<SnsResponse> {
    let key = topic_key(&topic_arn, "TopicArn")?;
    scope
        .topics()
        .add_permission(&key, &label, &account_ids, &action_names)?;
    Ok(SnsResponse::Empty(SnsAction::AddPermission))
}

pub fn remove_permission(scope: &Scope<'_>, topic_arn: String, label: String) -> Result<SnsResponse> {
    scope
        .topics()
        .remove_permission(&topic_key(&topic_arn, "TopicArn")?, &label)?;
    Ok(SnsResponse::Empty(SnsAction::RemovePermission))
}

pub fn list_tags(scope: &Scope<'_>, resource_arn: String) -> Result<SnsResponse> {
    let tags = scope.topics().list_tags(&topic_key(&resource_arn, "ResourceArn")?)?;
    Ok(SnsResponse::Tags(tags))
}

pub fn tag(scope: &Scope<'_>, resource_arn: String, tags: BTreeMap<String, String>) -> Result<SnsResponse> {
    scope.topics().tag(&topic_key(&resource_arn, "ResourceArn")?, &tags)?;
    Ok(SnsResponse::Empty(SnsAction::TagResource))
}

pub fn untag(scope: &Scope<'_>, resource_arn: String, tag_keys: Vec<String>) -> Result<SnsResponse> {
    scope
        .topics()
        .untag(&topic_key(&resource_arn, "ResourceArn")?, &tag_keys)?;
    Ok(SnsResponse::Empty(SnsAction::UntagResource))
}
