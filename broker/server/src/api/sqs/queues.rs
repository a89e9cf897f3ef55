//! SQS queue operations: create, delete, get-url, list, attributes, tags, purge, permissions
//! and dead-letter sources.
//!
//! # Layout
//! One function per action, each taking the decoded input (and the key of the queue the request
//! names, resolved by `execute` in `mod.rs`) and answering the typed output; core errors convert
//! with `?` through [`Failure`](super::shared::Failure).

use sluice_broker::queue::QueueKey;
use sluice_broker::Queues;
use sluice_protocols::sqs::types::*;
use sluice_protocols::sqs::{SqsAction, SqsResponse};

use super::shared::{positive, queue_url, Result};
use crate::api::context::RequestContext;

pub fn create(ctx: &RequestContext, queues: &Queues, input: CreateQueueInput) -> Result<SqsResponse> {
    let key = QueueKey::new(ctx.account_id.clone(), ctx.region.clone(), input.queue_name);
    queues.create_queue(&key, &input.attributes, &input.tags)?;
    let queue_url = Some(queue_url(ctx, &key.account, &key.name));
    Ok(SqsResponse::CreateQueue(CreateQueueOutput { queue_url }))
}

pub fn get_url(ctx: &RequestContext, queues: &Queues, input: GetQueueUrlInput) -> Result<SqsResponse> {
    let account = input
        .queue_owner_aws_account_id
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| ctx.account_id.clone());
    let key = QueueKey::new(account, ctx.region.clone(), input.queue_name);
    queues.ensure_exists(&key)?;
    Ok(SqsResponse::GetQueueUrl(GetQueueUrlOutput {
        queue_url: Some(queue_url(ctx, &key.account, &key.name)),
    }))
}

pub fn delete(queues: &Queues, key: &QueueKey) -> Result<SqsResponse> {
    queues.delete_queue(key)?;
    Ok(SqsResponse::Empty(SqsAction::DeleteQueue))
}

pub fn list(ctx: &RequestContext, queues: &Queues, input: ListQueuesInput) -> Result<SqsResponse> {
    let page = queues.list_queues(
        &ctx.account_id,
        &ctx.region,
        input.queue_name_prefix.as_deref().filter(|p| !p.is_empty()),
        positive(input.max_results),
        input.next_token.as_deref().filter(|t| !t.is_empty()),
    )?;
    let queue_urls = queue_urls(ctx, &ctx.account_id, &page.names);
    Ok(SqsResponse::ListQueues(ListQueuesOutput {
        queue_urls,
        next_token: page.next_token,
    }))
}

pub fn list_dead_letter_sources(
    ctx: &RequestContext,
    queues: &Queues,
    key: &QueueKey,
    input: ListDeadLetterSourceQueuesInput,
) -> Result<SqsResponse> {
    let page = queues.dead_letter_sources(
        key,
        positive(input.max_results),
        input.next_token.as_deref().filter(|t| !t.is_empty()),
    )?;
    let queue_urls = queue_urls(ctx, &key.account, &page.names);
    Ok(SqsResponse::ListDeadLetterSourceQueues(
        ListDeadLetterSourceQueuesOutput {
            queue_urls,
            next_token: page.next_token,
        },
    ))
}

pub fn get_attributes(queues: &Queues, key: &QueueKey, input: GetQueueAttributesInput) -> Result<SqsResponse> {
    let attributes = queues.get_attributes(key, &input.attribute_names)?;
    Ok(SqsResponse::GetQueueAttributes(GetQueueAttributesOutput {
        attributes: attributes.into_iter().collect(),
    }))
}

pub fn set_attributes(queues: &Queues, key: &QueueKey, input: SetQueueAttributesInput) -> Result<SqsResponse> {
    queues.set_attributes(key, &input.attributes)?;
    Ok(SqsResponse::Empty(SqsAction::SetQueueAttributes))
}

pub fn tag(queues: &Queues, key: &QueueKey, input: TagQueueInput) -> Result<SqsResponse> {
    queues.tag(key, &input.tags)?;
    Ok(SqsResponse::Empty(SqsAction::TagQueue))
}

pub fn untag(queues: &Queues, key: &QueueKey, input: UntagQueueInput) -> Result<SqsResponse> {
    queues.untag(key, &input.tag_keys)?;
    Ok(SqsResponse::Empty(SqsAction::UntagQueue))
}

pub fn list_tags(queues: &Queues, key: &QueueKey) -> Result<SqsResponse> {
    let tags = queues.list_tags(key)?;
    Ok(SqsResponse::ListQueueTags(ListQueueTagsOutput { tags }))
}

pub fn add_permission(queues: &Queues, key: &QueueKey, input: AddPermissionInput) -> Result<SqsResponse> {
    queues.add_permission(key, &input.label, &input.aws_account_ids, &input.actions)?;
    Ok(SqsResponse::Empty(SqsAction::AddPermission))
}

pub fn remove_permission(queues: &Queues, key: &QueueKey, input: RemovePermissionInput) -> Result<SqsResponse> {
    queues.remove_permission(key, &input.label)?;
    Ok(SqsResponse::Empty(SqsAction::RemovePermission))
}

pub fn purge(queues: &Queues, key: &QueueKey) -> Result<SqsResponse> {
    queues.purge(key)?;
    Ok(SqsResponse::Empty(SqsAction::PurgeQueue))
}

/// The URLs of the queues `names` of `account`, for the list answers.
fn queue_urls(ctx: &RequestContext, account: &str, names: &[String]) -> Vec<String> {
    names.iter().map(|name| queue_url(ctx, account, name)).collect()
}
