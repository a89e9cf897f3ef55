//! Resource-policy handlers: AddPermission, RemovePermission, GetPolicy.
//!
//! The core keeps a function's policy and renders it as AWS does; Sluice never evaluates it
//! (docs/lambda.md). Sluice has no versions or aliases, so a qualifier other than `$LATEST`,
//! in the function reference or the `Qualifier` parameter, names a function Sluice does not
//! have, as everywhere else in this API. `$LATEST` has no policy of its own on AWS: adding one
//! is refused with AWS's message, and reading or removing one finds nothing.

use sluice_broker::function::{FunctionKey, Permission, PolicyError, Principal};
use sluice_protocols::lambda::types::{AddPermissionResponse, GetPolicyResponse};
use sluice_protocols::lambda::validate;
use sluice_protocols::lambda::{LambdaError, LambdaErrorCode};

use super::shared::{Failure, Result, Scope};
use super::Reply;

/// The function whose policy the call names; `adding` for AddPermission, which AWS answers
/// differently about `$LATEST`.
fn policy_function(s: &Scope<'_>, adding: bool) -> Result<FunctionKey> {
    match s.qualified_function()? {
        (key, None) => Ok(key),
        // The model's documentation of AddPermission: "Lambda does not support adding
        // policies to version $LATEST"; Terraform users know this message.
        (_, Some(_)) if adding => Err(Failure(LambdaError::invalid(
            "We currently do not support adding policies for $LATEST.",
        ))),
        (_, Some(_)) => Err(Failure(LambdaError::new(
            LambdaErrorCode::ResourceNotFound,
            "The resource you requested does not exist.",
        ))),
    }
}

/// AddPermission's failures: the function's through the one mapping of core errors
/// (`api/error.rs`), the policy quota as Lambda's own code.
fn policy_failure(err: PolicyError) -> Failure<LambdaError> {
    match err {
        PolicyError::Function(e) => Failure::from(e),
        PolicyError::TooLarge { .. } => {
            Failure(LambdaError::new(LambdaErrorCode::PolicyLengthExceeded, err.to_string()))
        }
    }
}

/// AddPermission: 201 with the statement added, as JSON text.
pub fn add(s: &Scope<'_>) -> Result<Reply> {
    // The model's constraints first, as AWS's front door checks them before any rule.
    let decoded = validate::decode_add_permission(&s.body)?;
    let key = policy_function(s, true)?;
    let r = decoded.request;
    let permission = Permission {
        sid: decoded.statement_id,
        action: decoded.action,
        principal: Principal::parse(&decoded.principal)?,
        source_arn: r.source_arn,
        source_account: r.source_account,
        principal_org_id: r.principal_org_id,
        event_source_token: r.event_source_token,
        function_url_auth_type: r.function_url_auth_type,
        invoked_via_function_url: r.invoked_via_function_url,
    };
    let statement = s
        .functions()
        .add_permission(&key, permission, r.revision_id.as_deref())
        .map_err(policy_failure)?;
    Reply::json(201, &AddPermissionResponse { statement })
}

/// RemovePermission: the statement id is the path's second label, the revision id a query
/// parameter.
pub fn remove(s: &Scope<'_>) -> Result<Reply> {
    let sid = s.sub_resource.as_deref().unwrap_or_default();
    validate::check_removed_statement_id(sid)?;
    let key = policy_function(s, false)?;
    s.functions().remove_permission(&key, sid, s.param("RevisionId"))?;
    Ok(Reply::empty(204))
}

/// GetPolicy: the document as JSON text, and the function's revision id.
pub fn get(s: &Scope<'_>) -> Result<Reply> {
    let key = policy_function(s, false)?;
    let policy = s.functions().get_policy(&key)?;
    let response = GetPolicyResponse {
        policy: policy.document,
        revision_id: policy.revision_id,
    };
    Reply::json(200, &response)
}
