//! A function's resource-based policy: AddPermission, RemovePermission, GetPolicy.
//!
//! AWS keeps a policy per function (and per version and alias, which Sluice does not have):
//! one statement per AddPermission, built from its parameters, and GetPolicy renders them as
//! an IAM policy document (Lambda developer guide, "Using resource-based policies for
//! Lambda"). Sluice keeps the grants in the function's record in `meta` and renders the
//! statements when asked, so a policy persists, replicates in cluster mode and goes away with
//! its function like every other setting, and is scoped to the function's account and region.
//!
//! Sluice does not evaluate these policies: SNS subscriptions and event-source mappings invoke
//! the local function regardless (docs/lambda.md). They are kept so that deployment tools
//! (the CLI tutorials, SAM, CDK, Terraform) that grant before they subscribe work unchanged.
//!
//! # Invariants
//! - Statement ids are unique within a function's policy; statements keep the order they were
//!   added in.
//! - The rendered document of a stored policy is at most [`MAX_POLICY_BYTES`] long.
//! - Every change goes through `Functions::change`, so it commits before it shows and draws a
//!   new revision id for the function: GetPolicy's `RevisionId` is the function's, as on AWS.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::invalid;
use super::{encode, FunctionError, FunctionKey, FunctionRecord, Functions, Result};

/// Largest policy document, bytes: the fixed Lambda quota on a function's resource-based
/// policy (Lambda quotas, "Function resource-based policy": 20 KB). AWS measures the document
/// it would store, so this measures the rendered JSON.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The IAM policy language version AWS writes into every function policy.
const POLICY_VERSION: &str = "2012-10-17";
/// The `Id` AWS gives every function policy.
const POLICY_ID: &str = "default";

/// Who a statement grants its action to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    /// `*`: anyone.
    Anyone,
    /// An AWS service, such as `sns.amazonaws.com`.
    Service(String),
    /// An account, as its root user's ARN, or an IAM user or role ARN.
    Aws(String),
}

impl Principal {
    /// Classifies AddPermission's `Principal` the way AWS writes it into the statement: `*`
    /// stays `*`, a service (`*.amazonaws.com`) becomes `{"Service": ...}`, a 12-digit
    /// account becomes `{"AWS": "arn:aws:iam::<account>:root"}` and an IAM ARN
    /// `{"AWS": <arn>}`. Anything else is refused with AWS's message.
    pub fn parse(text: &str) -> Result<Principal> {
        if text == "*" {
            return Ok(Principal::Anyone);
        }
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Principal::Aws(format!("arn:aws:iam::{text}:root")));
        }
        if text.strip_suffix(".amazonaws.com").is_some_and(|host| !host.is_empty()) {
            return Ok(Principal::Service(text.to_string()));
        }
        let mut parts = text.split(':');
        let iam_arn = parts.next() == Some("arn")
            && parts.next().is_some_and(|partition| partition.starts_with("aws"))
            && parts.next() == Some("iam");
        if iam_arn {
            return Ok(Principal::Aws(text.to_string()));
        }
        Err(invalid(
            "The provided principal was invalid. Please check the principal and try again.",
        ))
    }
}

/// One grant, as AddPermission made it; rendered as one statement of the function's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// The statement's `Sid`.
    pub sid: String,
    /// The action granted (`lambda:InvokeFunction`).
    pub action: String,
    /// Who it is granted to.
    pub principal: Principal,
    /// `ArnLike` `AWS:SourceArn`: the resource that may invoke (a topic, a bucket).
    pub source_arn: Option<String>,
    /// `StringEquals` `AWS:SourceAccount`: the account that owns that resource.
    pub source_account: Option<String>,
    /// `StringEquals` `aws:PrincipalOrgID`: an organization whose accounts are granted.
    pub principal_org_id: Option<String>,
    /// `StringEquals` `lambda:EventSourceToken`: Alexa Smart Home's token.
    pub event_source_token: Option<String>,
    /// `StringEquals` `lambda:FunctionUrlAuthType`: `NONE` or `AWS_IAM`.
    pub function_url_auth_type: Option<String>,
    /// `Bool` `lambda:InvokedViaFunctionUrl`.
    pub invoked_via_function_url: Option<bool>,
}

impl Permission {
    /// The statement AWS writes for this grant on the function `resource` (its ARN):
    /// `Sid`, `Effect`, `Principal`, `Action`, `Resource` and, when any was given,
    /// `Condition`, in the order AWS's documents list them.
    fn statement<'a>(&'a self, resource: &'a str) -> StatementDoc<'a> {
        let mut condition: BTreeMap<&'static str, BTreeMap<&'static str, &'a str>> = BTreeMap::new();
        if let Some(arn) = &self.source_arn {
            condition.entry("ArnLike").or_default().insert("AWS:SourceArn", arn);
        }
        let equals = [
            ("AWS:SourceAccount", &self.source_account),
            ("aws:PrincipalOrgID", &self.principal_org_id),
            ("lambda:EventSourceToken", &self.event_source_token),
            ("lambda:FunctionUrlAuthType", &self.function_url_auth_type),
        ];
        for (key, value) in equals {
            if let Some(value) = value {
                condition.entry("StringEquals").or_default().insert(key, value);
            }
        }
        if let Some(via_url) = self.invoked_via_function_url {
            // IAM's Bool operator compares the strings "true" and "false".
            let value = if via_url { "true" } else { "false" };
            condition
                .entry("Bool")
                .or_default()
                .insert("lambda:InvokedViaFunctionUrl", value);
        }
        let principal = match &self.principal {
            Principal::Anyone => PrincipalDoc::Anyone("*"),
            Principal::Service(service) => PrincipalDoc::Service { service },
            Principal::Aws(aws) => PrincipalDoc::Aws { aws },
        };
        StatementDoc {
            sid: &self.sid,
            effect: "Allow",
            principal,
            action: &self.action,
            resource,
            condition,
        }
    }
}

/// A statement as AWS renders it.
#[derive(Serialize)]
struct StatementDoc<'a> {
    #[serde(rename = "Sid")]
    sid: &'a str,
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Principal")]
    principal: PrincipalDoc<'a>,
    #[serde(rename = "Action")]
    action: &'a str,
    #[serde(rename = "Resource")]
    resource: &'a str,
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    condition: BTreeMap<&'static str, BTreeMap<&'static str, &'a str>>,
}

/// A principal as IAM's policy language spells it.
#[derive(Serialize)]
#[serde(untagged)]
enum PrincipalDoc<'a> {
    /// `"*"`.
    Anyone(&'static str),
    /// `{"Service": ...}`.
    Service {
        #[serde(rename = "Service")]
        service: &'a str,
    },
    /// `{"AWS": ...}`.
    Aws {
        #[serde(rename = "AWS")]
        aws: &'a str,
    },
}

/// A policy document as AWS renders it.
#[derive(Serialize)]
struct PolicyDoc<'a> {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Id")]
    id: &'static str,
    #[serde(rename = "Statement")]
    statement: Vec<StatementDoc<'a>>,
}

/// The policy document of the function `key` with `permissions`, as JSON text.
fn render(key: &FunctionKey, permissions: &[Permission]) -> Result<String> {
    let resource = key.arn();
    let document = PolicyDoc {
        version: POLICY_VERSION,
        id: POLICY_ID,
        statement: permissions.iter().map(|p| p.statement(&resource)).collect(),
    };
    json_text(&document)
}

/// `value` as compact JSON text: the form AWS answers statements and policies in.
fn json_text<T: Serialize>(value: &T) -> Result<String> {
    let bytes = encode(value)?;
    String::from_utf8(bytes).map_err(|e| FunctionError::Internal(format!("policy text: {e}")))
}

/// A function's policy as GetPolicy answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The document, as JSON text.
    pub document: String,
    /// The function's revision id.
    pub revision_id: String,
}

/// Why AddPermission failed: a function error, or a policy that would outgrow its quota
/// (which Lambda answers with its own code, `PolicyLengthExceededException`).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not found, a duplicate statement id, a stale revision id, storage.
    #[error(transparent)]
    Function(#[from] FunctionError),
    /// The document with the new statement would be `size` bytes, over [`MAX_POLICY_BYTES`].
    #[error("The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES}).")]
    TooLarge {
        /// The size the document would have had.
        size: usize,
    },
}

/// Refuses a change when the client read another revision. AddPermission and RemovePermission
/// point at GetPolicy, where the client reads the revision a policy change needs (the model's
/// `PreconditionFailedException` documentation).
fn check_revision(record: &FunctionRecord, expected: Option<&str>) -> Result<()> {
    match expected {
        Some(expected) if expected != record.revision_id => Err(FunctionError::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id".into(),
        )),
        _ => Ok(()),
    }
}

impl Functions {
    /// AddPermission: adds `permission` to the policy of the function `key`, if the function
    /// is at `revision_id` (when given); answers the statement added, as JSON text.
    pub fn add_permission(
        &self,
        key: &FunctionKey,
        permission: Permission,
        revision_id: Option<&str>,
    ) -> Result<String, PolicyError> {
        let statement = json_text(&permission.statement(&key.arn()))?;
        self.change(key, None, |record| {
            check_revision(record, revision_id)?;
            if record.permissions.iter().any(|p| p.sid == permission.sid) {
                return Err(FunctionError::Conflict(format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    permission.sid
                ))
                .into());
            }
            record.permissions.push(permission);
            let size = render(key, &record.permissions)?.len();
            if size > MAX_POLICY_BYTES {
                return Err(PolicyError::TooLarge { size });
            }
            Ok(())
        })?;
        Ok(statement)
    }

    /// RemovePermission: removes the statement `sid` from the policy of the function `key`,
    /// if the function is at `revision_id` (when given).
    pub fn remove_permission(&self, key: &FunctionKey, sid: &str, revision_id: Option<&str>) -> Result<()> {
        self.change(key, None, |record| {
            // AWS tells a function without a policy from a policy without the statement.
            if record.permissions.is_empty() {
                return Err(FunctionError::NotFound(
                    "No policy is associated with the given resource.".into(),
                ));
            }
            let Some(index) = record.permissions.iter().position(|p| p.sid == sid) else {
                return Err(FunctionError::NotFound(format!(
                    "Statement {sid} is not found in resource policy."
                )));
            };
            check_revision(record, revision_id)?;
            record.permissions.remove(index);
            Ok(())
        })
        .map(|_| ())
    }

    /// GetPolicy: the policy of the function `key` and the function's revision id; not found
    /// when no statement was added or all were removed, as on AWS.
    pub fn get_policy(&self, key: &FunctionKey) -> Result<Policy> {
        let view = self.get_function(key)?;
        if view.record.permissions.is_empty() {
            return Err(FunctionError::NotFound(
                "The resource you requested does not exist.".into(),
            ));
        }
        Ok(Policy {
            document: render(key, &view.record.permissions)?,
            revision_id: view.record.revision_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::function::Code;

    /// The registry of the function tests, without its queues.
    fn open(dir: &std::path::Path) -> Functions {
        crate::function::tests::open(dir).0
    }

    fn key(name: &str) -> FunctionKey {
        FunctionKey::new("000000000000", "us-east-1", name)
    }

    fn create(functions: &Functions, name: &str) -> String {
        let settings = crate::function::tests::settings();
        let code = Code::Zip(b"zip".to_vec());
        let view = functions
            .create_function(&key(name), settings, &code, BTreeMap::new(), 0)
            .unwrap();
        view.record.revision_id
    }

    fn grant(sid: &str, principal: &str) -> Permission {
        Permission {
            sid: sid.into(),
            action: "lambda:InvokeFunction".into(),
            principal: Principal::parse(principal).unwrap(),
            source_arn: None,
            source_account: None,
            principal_org_id: None,
            event_source_token: None,
            function_url_auth_type: None,
            invoked_via_function_url: None,
        }
    }

    fn json_of(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn principals_take_awss_four_shapes() {
        let cases = [
            ("*", json!("*")),
            ("sns.amazonaws.com", json!({"Service": "sns.amazonaws.com"})),
            ("123456789012", json!({"AWS": "arn:aws:iam::123456789012:root"})),
            (
                "arn:aws:iam::123456789012:role/deployer",
                json!({"AWS": "arn:aws:iam::123456789012:role/deployer"}),
            ),
        ];
        let arn = key("f").arn();
        for (given, expected) in cases {
            let permission = grant("s", given);
            let statement = serde_json::to_value(permission.statement(&arn)).unwrap();
            assert_eq!(statement["Principal"], expected, "{given}");
        }
        for bad in [
            "sns",
            ".amazonaws.com",
            "12345",
            "arn:aws:sns:us-east-1:123456789012:t",
            "user@example.com",
        ] {
            let err = Principal::parse(bad).unwrap_err();
            assert!(matches!(err, FunctionError::InvalidParameter(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn statements_carry_every_condition_in_awss_shape() {
        let arn = key("f").arn();
        let mut sns = grant("sns", "sns.amazonaws.com");
        sns.source_arn = Some("arn:aws:sns:us-east-1:000000000000:orders".into());
        assert_eq!(
            serde_json::to_value(sns.statement(&arn)).unwrap(),
            json!({
                "Sid": "sns",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
                "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:sns:us-east-1:000000000000:orders"}},
            })
        );
        // The members in AWS's order, which readers of the raw text see.
        let text = serde_json::to_string(&sns.statement(&arn)).unwrap();
        assert!(
            text.starts_with(r#"{"Sid":"sns","Effect":"Allow","Principal":"#),
            "{text}"
        );

        let mut every = grant("all", "*");
        every.source_account = Some("123456789012".into());
        every.principal_org_id = Some("o-a1b2c3d4e5".into());
        every.event_source_token = Some("token".into());
        every.function_url_auth_type = Some("NONE".into());
        every.invoked_via_function_url = Some(true);
        let statement = serde_json::to_value(every.statement(&arn)).unwrap();
        assert_eq!(
            statement["Condition"],
            json!({
                "StringEquals": {
                    "AWS:SourceAccount": "123456789012",
                    "aws:PrincipalOrgID": "o-a1b2c3d4e5",
                    "lambda:EventSourceToken": "token",
                    "lambda:FunctionUrlAuthType": "NONE",
                },
                "Bool": {"lambda:InvokedViaFunctionUrl": "true"},
            })
        );
        let bare = serde_json::to_value(grant("bare", "*").statement(&arn)).unwrap();
        assert!(bare.get("Condition").is_none(), "{bare}");
    }

    #[test]
    fn add_get_remove_with_revisions_and_awss_errors() {
        let dir = tempfile::tempdir().unwrap();
        let functions = open(dir.path());
        let created = create(&functions, "f");
        let not_found = |r: Result<Policy>| match r {
            Err(FunctionError::NotFound(m)) => m,
            other => panic!("expected not found: {other:?}"),
        };
        assert_eq!(
            not_found(functions.get_policy(&key("f"))),
            "The resource you requested does not exist."
        );
        assert!(matches!(
            functions.remove_permission(&key("f"), "sns", None),
            Err(FunctionError::NotFound(m)) if m == "No policy is associated with the given resource."
        ));
        assert!(matches!(
            functions.add_permission(&key("nope"), grant("s", "*"), None),
            Err(PolicyError::Function(FunctionError::NotFound(_)))
        ));

        let statement = functions
            .add_permission(&key("f"), grant("sns", "sns.amazonaws.com"), Some(&created))
            .unwrap();
        assert_eq!(json_of(&statement)["Sid"], "sns");
        let first = functions.get_policy(&key("f")).unwrap();
        assert_ne!(first.revision_id, created, "a new statement is a new revision");
        assert_eq!(
            first.revision_id,
            functions.get_function(&key("f")).unwrap().record.revision_id
        );
        // A stale revision, then a duplicate id: nothing changes.
        assert!(matches!(
            functions.add_permission(&key("f"), grant("acct", "123456789012"), Some(&created)),
            Err(PolicyError::Function(FunctionError::PreconditionFailed(_)))
        ));
        match functions.add_permission(&key("f"), grant("sns", "*"), None) {
            Err(PolicyError::Function(FunctionError::Conflict(m))) => assert_eq!(
                m,
                "The statement id (sns) provided already exists. Please provide a new statement id, or remove the existing statement."
            ),
            other => panic!("expected a conflict: {other:?}"),
        }
        functions
            .add_permission(&key("f"), grant("acct", "123456789012"), Some(&first.revision_id))
            .unwrap();
        let both = functions.get_policy(&key("f")).unwrap();
        let document = json_of(&both.document);
        assert_eq!(document["Version"], "2012-10-17");
        assert_eq!(document["Id"], "default");
        let sids: Vec<&str> = document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect();
        assert_eq!(sids, ["sns", "acct"], "in the order they were added");

        // Remove: an unknown id, a stale revision, then both.
        assert!(matches!(
            functions.remove_permission(&key("f"), "other", None),
            Err(FunctionError::NotFound(m)) if m == "Statement other is not found in resource policy."
        ));
        assert!(matches!(
            functions.remove_permission(&key("f"), "sns", Some(&first.revision_id)),
            Err(FunctionError::PreconditionFailed(_))
        ));
        functions
            .remove_permission(&key("f"), "sns", Some(&both.revision_id))
            .unwrap();
        functions.remove_permission(&key("f"), "acct", None).unwrap();
        assert_eq!(
            not_found(functions.get_policy(&key("f"))),
            "The resource you requested does not exist."
        );
    }

    #[test]
    fn policies_survive_a_restart_and_go_with_their_function() {
        let dir = tempfile::tempdir().unwrap();
        {
            let functions = open(dir.path());
            create(&functions, "f");
            create(&functions, "g");
            functions
                .add_permission(&key("f"), grant("sns", "sns.amazonaws.com"), None)
                .unwrap();
        }
        let functions = open(dir.path());
        let policy = functions.get_policy(&key("f")).unwrap();
        assert_eq!(json_of(&policy.document)["Statement"][0]["Sid"], "sns");
        // Each function has its own policy.
        assert!(functions.get_policy(&key("g")).is_err());
        functions.delete_function(&key("f")).unwrap();
        create(&functions, "f");
        assert!(matches!(
            functions.get_policy(&key("f")),
            Err(FunctionError::NotFound(_))
        ));
    }

    #[test]
    fn a_policy_stops_at_20_kb() {
        let dir = tempfile::tempdir().unwrap();
        let functions = open(dir.path());
        create(&functions, "f");
        let mut added = 0;
        let size = loop {
            let mut permission = grant(&format!("s{added:03}"), "sns.amazonaws.com");
            permission.source_arn = Some(format!("arn:aws:sns:us-east-1:000000000000:{}", "t".repeat(200)));
            match functions.add_permission(&key("f"), permission, None) {
                Ok(_) => added += 1,
                Err(PolicyError::TooLarge { size }) => break size,
                Err(e) => panic!("{e}"),
            }
            assert!(added < 1000, "no limit reached");
        };
        assert!(size > MAX_POLICY_BYTES);
        let kept = functions.get_policy(&key("f")).unwrap();
        assert!(kept.document.len() <= MAX_POLICY_BYTES);
        assert_eq!(
            json_of(&kept.document)["Statement"].as_array().map(Vec::len),
            Some(added),
            "the refused statement is not kept"
        );
        let message = PolicyError::TooLarge { size }.to_string();
        assert_eq!(
            message,
            format!("The final policy size ({size}) is bigger than the limit (20480).")
        );
    }
}
