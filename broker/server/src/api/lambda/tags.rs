//! Tagging handlers for functions and mappings: TagResource, UntagResource, ListTags.

use sluice_protocols::lambda::arn::{tagged_resource, TaggedResource};
use sluice_protocols::lambda::types::Tags;
use sluice_protocols::lambda::validate;
use sluice_protocols::lambda::LambdaError;

use super::shared::{Failure, Result, Scope};
use super::Reply;

/// What a tagged ARN names, in the core's terms.
enum Target {
    Function(sluice_broker::function::FunctionKey),
    Mapping(String),
}

fn target(s: &Scope<'_>) -> Result<Target> {
    match tagged_resource(s.resource())? {
        TaggedResource::Function(r) if r.qualifier.is_some() => Err(Failure(LambdaError::invalid(
            "Tags on function aliases and versions are not supported. Please specify a function ARN.",
        ))),
        TaggedResource::Function(_) => Ok(Target::Function(s.function_key(s.resource(), "resource")?)),
        TaggedResource::Mapping { uuid, .. } => Ok(Target::Mapping(uuid)),
    }
}

/// TagResource.
pub fn tag(s: &Scope<'_>) -> Result<Reply> {
    let tags = validate::decode_tags(&s.body)?;
    match target(s)? {
        Target::Function(key) => s.functions().tag_function(&key, &tags)?,
        Target::Mapping(uuid) => s.functions().tag_mapping(&s.owner(), &uuid, &tags)?,
    }
    Ok(Reply::empty(204))
}

/// UntagResource (`tagKeys` repeated in the query string).
pub fn untag(s: &Scope<'_>) -> Result<Reply> {
    let keys: Vec<String> = s
        .query
        .iter()
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v.clone())
        .collect();
    if keys.is_empty() {
        return Err(Failure(LambdaError::validation(
            "null",
            "tagKeys",
            "Member must not be null",
        )));
    }
    match target(s)? {
        Target::Function(key) => s.functions().untag_function(&key, &keys)?,
        Target::Mapping(uuid) => s.functions().untag_mapping(&s.owner(), &uuid, &keys)?,
    }
    Ok(Reply::empty(204))
}

/// ListTags.
pub fn list(s: &Scope<'_>) -> Result<Reply> {
    let tags = match target(s)? {
        Target::Function(key) => s.functions().get_function(&key)?.record.tags,
        Target::Mapping(uuid) => {
            s.functions()
                .get_mapping(&s.owner(), &uuid)
                .map_err(|_| {
                    Failure(LambdaError::new(
                        sluice_protocols::lambda::LambdaErrorCode::ResourceNotFound,
                        format!("Event source mapping not found: {}", s.resource()),
                    ))
                })?
                .record
                .tags
        }
    };
    Reply::json(200, &Tags { tags })
}
