//! Lambda's REST routes: method and path to an operation and the resource the path names.
//!
//! Lambda is REST-JSON: the operation is the method and path (`GET
//! /2015-03-31/functions/{FunctionName}`), path segments are percent-encoded (a function ARN's
//! colons arrive as `%3A`), and list filters come in the query string. Pure, so the table is
//! tested without a server.

use crate::action::action_enum;

action_enum! {
    /// Every Lambda operation Sluice serves.
    LambdaAction {
        CreateFunction,
        GetFunction,
        GetFunctionConfiguration,
        ListFunctions,
        UpdateFunctionConfiguration,
        UpdateFunctionCode,
        DeleteFunction,
        Invoke,
        CreateEventSourceMapping,
        GetEventSourceMapping,
        ListEventSourceMappings,
        UpdateEventSourceMapping,
        DeleteEventSourceMapping,
        TagResource,
        UntagResource,
        ListTags,
        AddPermission,
        RemovePermission,
        GetPolicy,
    }
}

impl LambdaAction {
    /// The HTTP status of a successful answer (the model's `responseCode`).
    pub fn success_status(self) -> u16 {
        match self {
            LambdaAction::CreateFunction | LambdaAction::AddPermission => 201,
            LambdaAction::CreateEventSourceMapping
            | LambdaAction::UpdateEventSourceMapping
            | LambdaAction::DeleteEventSourceMapping => 202,
            LambdaAction::DeleteFunction
            | LambdaAction::TagResource
            | LambdaAction::UntagResource
            | LambdaAction::RemovePermission => 204,
            _ => 200,
        }
    }
}

/// An operation and the resource its path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaRoute {
    /// The operation.
    pub action: LambdaAction,
    /// The path's resource, percent-decoded: a function name or ARN, a mapping UUID, or the
    /// ARN of a tagged resource. `None` for the collection routes (create, list).
    pub resource: Option<String>,
    /// The path's second resource, percent-decoded: RemovePermission's statement id. `None`
    /// for every route with one resource or none.
    pub sub_resource: Option<String>,
}

/// Version prefix of the function and mapping routes.
const API_2015: &str = "/2015-03-31/";
/// Version prefix of the tagging routes.
const API_2017_TAGS: &str = "/2017-03-31/tags/";

/// The version prefixes of every Lambda operation's path in the service model (2014-11-13 for
/// InvokeAsync through 2025-12-01), so a route Sluice does not serve is still Lambda's.
const API_VERSIONS: [&str; 16] = [
    "/2014-11-13/",
    "/2015-03-31/",
    "/2016-08-19/",
    "/2017-03-31/",
    "/2017-10-31/",
    "/2018-10-31/",
    "/2019-09-25/",
    "/2019-09-30/",
    "/2020-04-22/",
    "/2020-06-30/",
    "/2021-07-20/",
    "/2021-10-31/",
    "/2021-11-15/",
    "/2024-08-31/",
    "/2025-11-30/",
    "/2025-12-01/",
];

/// True when `path` belongs to the Lambda API (so the dispatcher sends it here even when the
/// route is unknown, and the client gets a Lambda-shaped error).
pub fn is_lambda_path(path: &str) -> bool {
    API_VERSIONS.iter().any(|prefix| path.starts_with(prefix))
}

/// The operation for `method` and `path`; `None` when no Lambda operation has that route.
pub fn route(method: &str, path: &str) -> Option<LambdaRoute> {
    if let Some(arn) = path.strip_prefix(API_2017_TAGS) {
        let action = match method {
            "POST" => LambdaAction::TagResource,
            "DELETE" => LambdaAction::UntagResource,
            "GET" => LambdaAction::ListTags,
            _ => return None,
        };
        return resource_route(action, arn);
    }
    let rest = path.strip_prefix(API_2015)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let collection = |action| {
        Some(LambdaRoute {
            action,
            resource: None,
            sub_resource: None,
        })
    };
    match (method, segments.as_slice()) {
        ("POST", ["functions"] | ["functions", ""]) => collection(LambdaAction::CreateFunction),
        ("GET", ["functions"] | ["functions", ""]) => collection(LambdaAction::ListFunctions),
        ("GET", ["functions", name]) => resource_route(LambdaAction::GetFunction, name),
        ("DELETE", ["functions", name]) => resource_route(LambdaAction::DeleteFunction, name),
        ("GET", ["functions", name, "configuration"]) => resource_route(LambdaAction::GetFunctionConfiguration, name),
        ("PUT", ["functions", name, "configuration"]) => {
            resource_route(LambdaAction::UpdateFunctionConfiguration, name)
        }
        ("PUT", ["functions", name, "code"]) => resource_route(LambdaAction::UpdateFunctionCode, name),
        ("POST", ["functions", name, "invocations"]) => resource_route(LambdaAction::Invoke, name),
        ("POST", ["functions", name, "policy"]) => resource_route(LambdaAction::AddPermission, name),
        ("GET", ["functions", name, "policy"]) => resource_route(LambdaAction::GetPolicy, name),
        ("DELETE", ["functions", name, "policy", sid]) => {
            let statement_id = percent_decode(sid).filter(|sid| !sid.is_empty())?;
            let mut route = resource_route(LambdaAction::RemovePermission, name)?;
            route.sub_resource = Some(statement_id);
            Some(route)
        }
        ("POST", ["event-source-mappings"] | ["event-source-mappings", ""]) => {
            collection(LambdaAction::CreateEventSourceMapping)
        }
        ("GET", ["event-source-mappings"] | ["event-source-mappings", ""]) => {
            collection(LambdaAction::ListEventSourceMappings)
        }
        ("GET", ["event-source-mappings", id]) => resource_route(LambdaAction::GetEventSourceMapping, id),
        ("PUT", ["event-source-mappings", id]) => resource_route(LambdaAction::UpdateEventSourceMapping, id),
        ("DELETE", ["event-source-mappings", id]) => resource_route(LambdaAction::DeleteEventSourceMapping, id),
        _ => None,
    }
}

fn resource_route(action: LambdaAction, segment: &str) -> Option<LambdaRoute> {
    let resource = percent_decode(segment)?;
    (!resource.is_empty()).then_some(LambdaRoute {
        action,
        resource: Some(resource),
        sub_resource: None,
    })
}

/// Decodes `%XX` escapes of a path segment; `None` when an escape is malformed or the result
/// is not UTF-8. `+` stays a plus sign (it means a space only in form bodies).
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(method: &str, path: &str) -> Option<(LambdaAction, Option<String>)> {
        route(method, path).map(|r| (r.action, r.resource))
    }

    #[test]
    fn routes_functions_and_mappings() {
        let table = [
            ("POST", "/2015-03-31/functions", LambdaAction::CreateFunction, None),
            ("GET", "/2015-03-31/functions/", LambdaAction::ListFunctions, None),
            ("GET", "/2015-03-31/functions/f1", LambdaAction::GetFunction, Some("f1")),
            (
                "DELETE",
                "/2015-03-31/functions/f1",
                LambdaAction::DeleteFunction,
                Some("f1"),
            ),
            (
                "GET",
                "/2015-03-31/functions/f1/configuration",
                LambdaAction::GetFunctionConfiguration,
                Some("f1"),
            ),
            (
                "PUT",
                "/2015-03-31/functions/f1/configuration",
                LambdaAction::UpdateFunctionConfiguration,
                Some("f1"),
            ),
            (
                "PUT",
                "/2015-03-31/functions/f1/code",
                LambdaAction::UpdateFunctionCode,
                Some("f1"),
            ),
            (
                "POST",
                "/2015-03-31/functions/f1/invocations",
                LambdaAction::Invoke,
                Some("f1"),
            ),
            (
                "POST",
                "/2015-03-31/functions/f1/policy",
                LambdaAction::AddPermission,
                Some("f1"),
            ),
            (
                "GET",
                "/2015-03-31/functions/f1/policy",
                LambdaAction::GetPolicy,
                Some("f1"),
            ),
            (
                "POST",
                "/2015-03-31/event-source-mappings/",
                LambdaAction::CreateEventSourceMapping,
                None,
            ),
            (
                "GET",
                "/2015-03-31/event-source-mappings/",
                LambdaAction::ListEventSourceMappings,
                None,
            ),
            (
                "GET",
                "/2015-03-31/event-source-mappings/u-1",
                LambdaAction::GetEventSourceMapping,
                Some("u-1"),
            ),
            (
                "PUT",
                "/2015-03-31/event-source-mappings/u-1",
                LambdaAction::UpdateEventSourceMapping,
                Some("u-1"),
            ),
            (
                "DELETE",
                "/2015-03-31/event-source-mappings/u-1",
                LambdaAction::DeleteEventSourceMapping,
                Some("u-1"),
            ),
        ];
        for (method, path, expected, resource) in table {
            assert_eq!(
                action(method, path),
                Some((expected, resource.map(String::from))),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn decodes_arns_in_paths() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f1";
        let path = format!("/2015-03-31/functions/{}", arn.replace(':', "%3A"));
        assert_eq!(
            action("GET", &path),
            Some((LambdaAction::GetFunction, Some(arn.into())))
        );
        let tags = format!("/2017-03-31/tags/{}", arn.replace(':', "%3a"));
        assert_eq!(action("GET", &tags), Some((LambdaAction::ListTags, Some(arn.into()))));
        assert_eq!(action("POST", &tags).map(|a| a.0), Some(LambdaAction::TagResource));
        assert_eq!(action("DELETE", &tags).map(|a| a.0), Some(LambdaAction::UntagResource));
    }

    #[test]
    fn remove_permission_names_the_function_and_the_statement() {
        // The AWS CLI's `remove-permission --function-name <arn> --statement-id sns.1` as the
        // SDK sends it: both path labels percent-encoded.
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f1";
        let path = format!("/2015-03-31/functions/{}/policy/sns.1", arn.replace(':', "%3A"));
        let r = route("DELETE", &path).expect("RemovePermission");
        assert_eq!(r.action, LambdaAction::RemovePermission);
        assert_eq!(r.resource.as_deref(), Some(arn));
        assert_eq!(r.sub_resource.as_deref(), Some("sns.1"));
        let r = route("DELETE", "/2015-03-31/functions/f1/policy/a%2Db").expect("RemovePermission");
        assert_eq!(r.sub_resource.as_deref(), Some("a-b"));
        // Only RemovePermission has a second resource.
        assert_eq!(
            route("GET", "/2015-03-31/functions/f1/policy").map(|r| r.sub_resource),
            Some(None)
        );
        // No statement id, a bad escape, or a method the route does not have: no operation.
        assert_eq!(action("DELETE", "/2015-03-31/functions/f1/policy/"), None);
        assert_eq!(action("DELETE", "/2015-03-31/functions/f1/policy/%zz"), None);
        assert_eq!(action("DELETE", "/2015-03-31/functions/f1/policy"), None);
        assert_eq!(action("PUT", "/2015-03-31/functions/f1/policy"), None);
        assert_eq!(action("GET", "/2015-03-31/functions/f1/policy/sid"), None);
    }

    #[test]
    fn refuses_unknown_routes_and_bad_escapes() {
        assert_eq!(action("PATCH", "/2015-03-31/functions/f1"), None);
        assert_eq!(action("GET", "/2015-03-31/functions/f1/nope"), None);
        assert_eq!(action("GET", "/2015-03-31/functions/%zz"), None);
        assert_eq!(action("GET", "/2015-03-31/functions/%e2%82"), None);
        assert_eq!(action("GET", "/2015-03-31/layers"), None);
        assert!(is_lambda_path("/2015-03-31/layers"));
        // Every API version of the model is Lambda's, routed or not.
        assert!(is_lambda_path("/2016-08-19/account-settings/"));
        assert!(is_lambda_path("/2017-10-31/functions/f1/concurrency"));
        assert_eq!(action("GET", "/2016-08-19/account-settings/"), None);
        assert!(!is_lambda_path("/000000000000/queue"));
        assert!(!is_lambda_path("/2099-01-01/functions"));
    }

    #[test]
    fn success_statuses_follow_the_model() {
        assert_eq!(LambdaAction::CreateFunction.success_status(), 201);
        assert_eq!(LambdaAction::CreateEventSourceMapping.success_status(), 202);
        assert_eq!(LambdaAction::DeleteFunction.success_status(), 204);
        assert_eq!(LambdaAction::GetFunction.success_status(), 200);
        assert_eq!(LambdaAction::AddPermission.success_status(), 201);
        assert_eq!(LambdaAction::RemovePermission.success_status(), 204);
        assert_eq!(LambdaAction::GetPolicy.success_status(), 200);
    }
}
