//! Kinesis tags and resource policies, on streams and on registered consumers.
//!
//! # Layout
//! - Stream tags by stream name or ARN: [`add_tags_to_stream`], [`remove_tags_from_stream`],
//!   [`list_tags_for_stream`].
//! - Tags and policies by resource ARN, a stream's or a consumer's: [`tag_resource`],
//!   [`untag_resource`], [`list_tags_for_resource`], [`put_resource_policy`],
//!   [`get_resource_policy`], [`delete_resource_policy`].
//! - [`resource_policy`]: the policy authorization reads beside the caller's own.

use sluice_broker::stream::{ConsumerName, StreamKey};
use sluice_protocols::kinesis::output::{
    EmptyOutput, GetResourcePolicyOutput, ListTagsForResourceOutput, ListTagsForStreamOutput, Tag,
};
use sluice_protocols::kinesis::types::parse_consumer_arn;

use super::error::Result;
use crate::api::kinesis_efo::resolve_consumer_arn;
use crate::api::kinesis_shapes::resolve_arn;
use crate::app::App;

/// AddTagsToStream.
pub fn add_tags_to_stream(app: &App, key: &StreamKey, tags: &[(String, String)]) -> Result<EmptyOutput> {
    app.broker.streams.add_tags(key, tags)?;
    Ok(EmptyOutput)
}

/// RemoveTagsFromStream.
pub fn remove_tags_from_stream(app: &App, key: &StreamKey, keys: &[String]) -> Result<EmptyOutput> {
    app.broker.streams.remove_tags(key, keys)?;
    Ok(EmptyOutput)
}

/// ListTagsForStream: a page of the stream's tags, by key.
pub fn list_tags_for_stream(
    app: &App,
    key: &StreamKey,
    exclusive_start_tag_key: Option<String>,
    limit: Option<i64>,
) -> Result<ListTagsForStreamOutput> {
    let tags = app.broker.streams.tags(key)?;
    let after: Vec<(String, String)> = tags
        .into_iter()
        .filter(|(k, _)| exclusive_start_tag_key.as_ref().is_none_or(|x| k > x))
        .collect();
    let limit = limit.unwrap_or(50) as usize;
    let has_more = after.len() > limit;
    Ok(ListTagsForStreamOutput {
        tags: tag_list(after.into_iter().take(limit)),
        has_more_tags: has_more,
    })
}

/// TagResource.
pub fn tag_resource(app: &App, arn: &str, tags: &[(String, String)]) -> Result<EmptyOutput> {
    let streams = &app.broker.streams;
    match resource_of(arn)? {
        Resource::Stream(key) => streams.add_tags(&key, tags),
        Resource::Consumer(key, consumer) => streams.tag_consumer(&key, &consumer, tags),
    }?;
    Ok(EmptyOutput)
}

/// UntagResource.
pub fn untag_resource(app: &App, arn: &str, keys: &[String]) -> Result<EmptyOutput> {
    let streams = &app.broker.streams;
    match resource_of(arn)? {
        Resource::Stream(key) => streams.remove_tags(&key, keys),
        Resource::Consumer(key, consumer) => streams.untag_consumer(&key, &consumer, keys),
    }?;
    Ok(EmptyOutput)
}

/// ListTagsForResource.
pub fn list_tags_for_resource(app: &App, arn: &str) -> Result<ListTagsForResourceOutput> {
    let streams = &app.broker.streams;
    let tags = match resource_of(arn)? {
        Resource::Stream(key) => streams.tags(&key),
        Resource::Consumer(key, consumer) => streams.consumer_tags(&key, &consumer),
    }?;
    Ok(ListTagsForResourceOutput {
        tags: Some(tag_list(tags)),
    })
}

/// PutResourcePolicy.
pub fn put_resource_policy(app: &App, arn: &str, policy: &str) -> Result<EmptyOutput> {
    let streams = &app.broker.streams;
    match resource_of(arn)? {
        Resource::Stream(key) => streams.put_policy(&key, policy),
        Resource::Consumer(key, consumer) => streams.put_consumer_policy(&key, &consumer, policy),
    }?;
    Ok(EmptyOutput)
}

/// GetResourcePolicy.
pub fn get_resource_policy(app: &App, arn: &str) -> Result<GetResourcePolicyOutput> {
    let policy = resource_policy(&app.broker.streams, arn)?;
    Ok(GetResourcePolicyOutput { policy })
}

/// DeleteResourcePolicy.
pub fn delete_resource_policy(app: &App, arn: &str) -> Result<EmptyOutput> {
    let streams = &app.broker.streams;
    match resource_of(arn)? {
        Resource::Stream(key) => streams.delete_policy(&key),
        Resource::Consumer(key, consumer) => streams.delete_consumer_policy(&key, &consumer),
    }?;
    Ok(EmptyOutput)
}

/// The resource policy of a stream or consumer ARN (`{}` when none is attached).
pub fn resource_policy(streams: &sluice_broker::Streams, arn: &str) -> Result<String> {
    let policy = match resource_of(arn)? {
        Resource::Stream(key) => streams.policy(&key),
        Resource::Consumer(key, consumer) => streams.consumer_policy(&key, &consumer),
    }?;
    Ok(policy)
}

/// What a resource ARN of the tagging and policy APIs names.
enum Resource {
    /// A stream.
    Stream(StreamKey),
    /// A registered consumer of a stream.
    Consumer(StreamKey, ConsumerName),
}

/// A consumer ARN (`.../stream/s/consumer/c:123`) names the consumer; any other stream ARN the
/// stream.
fn resource_of(arn: &str) -> Result<Resource> {
    if parse_consumer_arn(arn).is_some() {
        let (key, consumer) = resolve_consumer_arn(arn)?;
        return Ok(Resource::Consumer(key, consumer));
    }
    Ok(Resource::Stream(resolve_arn(arn)?))
}

fn tag_list(tags: impl IntoIterator<Item = (String, String)>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(key, value)| Tag {
            key,
            value: Some(value),
        })
        .collect()
}
