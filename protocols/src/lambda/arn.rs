//! Function references and Lambda ARNs.
//!
//! Lambda accepts a function as a name (`my-function`), a name with a qualifier
//! (`my-function:$LATEST`), a partial ARN (`123456789012:function:my-function`) or a full ARN
//! (`arn:aws:lambda:us-east-1:123456789012:function:my-function`). [`FunctionRef::parse`] takes
//! all four apart; the server fills the account and region the reference leaves out from the
//! request, as AWS does.

use super::error::LambdaError;

/// A function as a request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name.
    pub name: String,
    /// The account, when the reference is an ARN.
    pub account: Option<String>,
    /// The region, when the reference is a full ARN.
    pub region: Option<String>,
    /// A version or alias (`$LATEST`, `1`, `live`).
    pub qualifier: Option<String>,
}

/// Longest function name.
const MAX_NAME: usize = 64;

impl FunctionRef {
    /// Parses a function reference; `member` names the field in the error (`functionName`).
    pub fn parse(text: &str, member: &str) -> Result<FunctionRef, LambdaError> {
        let bad = || {
            LambdaError::validation(
                text,
                member,
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
            )
        };
        if text.is_empty() || text.len() > 256 {
            return Err(bad());
        }
        let parts: Vec<&str> = text.split(':').collect();
        let (account, region, rest): (Option<&str>, Option<&str>, &[&str]) = match parts.as_slice() {
            ["arn", partition, "lambda", region, account, "function", rest @ ..] if partition.starts_with("aws") => {
                (Some(*account), Some(*region), rest)
            }
            [account, "function", rest @ ..] => (Some(*account), None, rest),
            rest => (None, None, rest),
        };
        let (name, qualifier) = match rest {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => return Err(bad()),
        };
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let account_ok = account.is_none_or(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        let region_ok =
            region.is_none_or(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        let qualifier_ok = qualifier.is_none_or(|q| {
            q == "$LATEST" || (!q.is_empty() && q.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        });
        if !(name_ok && account_ok && region_ok && qualifier_ok) {
            return Err(bad());
        }
        Ok(FunctionRef {
            name: name.to_string(),
            account: account.map(str::to_string),
            region: region.map(str::to_string),
            qualifier: qualifier.map(str::to_string),
        })
    }
}

/// `arn:aws:lambda:{region}:{account}:function:{name}`.
pub fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// `arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}`.
pub fn mapping_arn(region: &str, account: &str, uuid: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}")
}

/// What a taggable Lambda ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaggedResource {
    /// A function (the qualifier, if any, dropped: tags belong to the function).
    Function(FunctionRef),
    /// An event-source mapping by UUID.
    Mapping {
        /// The mapping's UUID.
        uuid: String,
        /// Its account.
        account: String,
        /// Its region.
        region: String,
    },
}

/// Parses the ARN of a taggable resource (TagResource, UntagResource, ListTags).
pub fn tagged_resource(arn: &str) -> Result<TaggedResource, LambdaError> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "lambda", region, account, "event-source-mapping", uuid]
            if partition.starts_with("aws") && uuid::is_uuid(uuid) =>
        {
            Ok(TaggedResource::Mapping {
                uuid: uuid.to_ascii_lowercase(),
                account: account.to_string(),
                region: region.to_string(),
            })
        }
        ["arn", _, "lambda", _, _, "function", ..] => FunctionRef::parse(arn, "resource").map(TaggedResource::Function),
        _ => Err(LambdaError::validation(
            arn,
            "resource",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})",
        )),
    }
}

mod uuid {
    /// True for `8-4-4-4-12` hexadecimal groups.
    pub fn is_uuid(text: &str) -> bool {
        let groups: Vec<&str> = text.split('-').collect();
        groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
    }
}

pub use uuid::is_uuid;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_reference_form() {
        let r = FunctionRef::parse("f-1_x", "functionName").unwrap();
        assert_eq!(
            (r.name.as_str(), r.account, r.region, r.qualifier),
            ("f-1_x", None, None, None)
        );
        let r = FunctionRef::parse("f:$LATEST", "functionName").unwrap();
        assert_eq!(r.qualifier.as_deref(), Some("$LATEST"));
        let r = FunctionRef::parse("123456789012:function:f", "functionName").unwrap();
        assert_eq!(r.account.as_deref(), Some("123456789012"));
        let r = FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:f:live", "functionName").unwrap();
        assert_eq!(
            (r.name.as_str(), r.region.as_deref(), r.qualifier.as_deref()),
            ("f", Some("eu-west-1"), Some("live"))
        );
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "",
            "a b",
            "f:x:y",
            "12:function:f",
            "arn:aws:sqs:us-east-1:123456789012:q",
            &"x".repeat(65),
        ] {
            let err = FunctionRef::parse(bad, "functionName").unwrap_err();
            assert_eq!(err.code, super::super::error::LambdaErrorCode::Validation, "{bad}");
        }
    }

    #[test]
    fn tagged_resources() {
        let uuid = "14e0db71-5d35-4eb5-b481-8945cf9d10c2";
        let arn = mapping_arn("us-east-1", "123456789012", uuid);
        assert!(matches!(tagged_resource(&arn), Ok(TaggedResource::Mapping { .. })));
        let arn = function_arn("us-east-1", "123456789012", "f");
        assert!(matches!(tagged_resource(&arn), Ok(TaggedResource::Function(r)) if r.name == "f"));
        assert!(tagged_resource("arn:aws:sqs:us-east-1:123456789012:q").is_err());
        assert!(is_uuid(uuid) && !is_uuid("nope"));
    }
}
