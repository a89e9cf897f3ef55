//! IAM-style policies: identity policies attached to access keys (`--credentials`) and
//! resource policies (a queue's `Policy`, a topic's `Policy`, a stream's resource policy).
//!
//! # Evaluation (IAM's logic, see [`combine`])
//! - An explicit `Deny` in either policy wins.
//! - Within the resource's own account, an `Allow` in either the identity policy or the
//!   resource policy grants; a key without an identity policy may do everything there.
//! - Across accounts, both must allow: the caller's identity policy (or none) and the
//!   resource's policy naming the caller.
//!
//! A statement applies when its `Action` (or `NotAction`), `Resource` (or `NotResource`),
//! for resource policies its `Principal` (or `NotPrincipal`), and every `Condition`
//! ([`condition`]) match. `Action` patterns are `service:Action` with `*` and `?` wildcards,
//! matched case-insensitively (`sqs:Send*`); `Resource` patterns are ARNs with wildcards.

pub mod condition;

pub use condition::RequestFacts;

/// What one policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A statement explicitly denies it.
    Deny,
    /// No statement applies.
    NotApplicable,
}

/// Patterns with their polarity (`Action` or `NotAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patterns {
    negated: bool,
    patterns: Vec<String>,
}

impl Patterns {
    fn matches(&self, value: &str, case_insensitive: bool) -> bool {
        let hit = self.patterns.iter().any(|p| {
            if case_insensitive {
                glob(&p.to_ascii_lowercase(), &value.to_ascii_lowercase())
            } else {
                glob(p, value)
            }
        });
        hit != self.negated
    }
}

/// Who a resource-policy statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Principals {
    negated: bool,
    /// `Principal: "*"`: everyone, services included.
    anyone: bool,
    /// `*`, account ids, `arn:aws:iam::{account}:root` or principal ARNs.
    aws: Vec<String>,
    /// Service principals (`sns.amazonaws.com`).
    services: Vec<String>,
}

impl Principals {
    fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        let hit = self.anyone
            || match facts.service {
                Some(service) => self.services.iter().any(|s| s == service),
                None => {
                    let root = format!("arn:aws:iam::{}:root", facts.account);
                    self.aws
                        .iter()
                        .any(|p| p == "*" || p == facts.account || *p == root || glob(p, facts.principal_arn))
                }
            };
        hit != self.negated
    }
}

/// One parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    actions: Patterns,
    /// `None` in a resource policy without `Resource`: the resource the policy is attached to.
    resources: Option<Patterns>,
    /// Resource policies only.
    principals: Option<Principals>,
    conditions: Vec<condition::Condition>,
}

impl Statement {
    fn applies(&self, action: &str, resource: &str, facts: &RequestFacts<'_>) -> bool {
        self.actions.matches(action, true)
            && self.resources.as_ref().is_none_or(|r| r.matches(resource, false))
            && self.principals.as_ref().is_none_or(|p| p.matches(facts))
            && self.conditions.iter().all(|c| c.holds(facts))
    }
}

fn decide(statements: &[Statement], action: &str, resource: &str, facts: &RequestFacts<'_>) -> Decision {
    let mut decision = Decision::NotApplicable;
    for s in statements.iter().filter(|s| s.applies(action, resource, facts)) {
        if !s.allow {
            return Decision::Deny;
        }
        decision = Decision::Allow;
    }
    decision
}

/// The statements of a policy document given as JSON text or as a structure (from YAML/TOML).
fn statements_of(doc: &serde_json::Value) -> Result<Vec<&serde_json::Value>, String> {
    match doc.get("Statement") {
        Some(serde_json::Value::Array(items)) => Ok(items.iter().collect()),
        Some(single @ serde_json::Value::Object(_)) => Ok(vec![single]),
        _ => Err("policy needs a Statement (an object or a list of objects)".into()),
    }
}

/// A parsed identity policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

impl Policy {
    /// Parses a policy document given as a JSON string or as a structure (from YAML/TOML).
    pub fn parse(doc: &serde_json::Value) -> Result<Policy, String> {
        let parsed;
        let doc = match doc {
            serde_json::Value::String(text) => {
                parsed = serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| format!("policy is not valid JSON: {e}"))?;
                &parsed
            }
            other => other,
        };
        let statements = statements_of(doc)?
            .into_iter()
            .enumerate()
            .map(|(n, s)| parse_statement(n, s, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// What the policy says about `action` (`sqs:SendMessage`) on `resource` (an ARN, or `*`
    /// for actions without a resource).
    pub fn decide(&self, action: &str, resource: &str, facts: &RequestFacts<'_>) -> Decision {
        decide(&self.statements, action, resource, facts)
    }
}

/// A resource's own policy: statements that also name principals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePolicy {
    statements: Vec<Statement>,
}

impl ResourcePolicy {
    /// Parses a stored policy document (JSON text); `{}` is an empty policy.
    pub fn parse(text: &str) -> Result<ResourcePolicy, String> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("policy is not valid JSON: {e}"))?;
        let statements = match doc.get("Statement") {
            None => Vec::new(),
            Some(_) => statements_of(&doc)?,
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(n, s)| parse_statement(n, s, true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResourcePolicy { statements })
    }

    /// What the policy says about the caller in `facts` calling `action` on `resource`.
    pub fn decide(&self, action: &str, resource: &str, facts: &RequestFacts<'_>) -> Decision {
        decide(&self.statements, action, resource, facts)
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The caller's identity policy denies it.
    IdentityDeny,
    /// The resource's policy denies it.
    ResourceDeny,
    /// Nothing in the identity policy allows it (nor, at home, in the resource's).
    NoIdentityAllow,
    /// Across accounts, the resource's policy does not allow the caller.
    NoResourceAllow,
}

impl Refusal {
    /// AWS's explanation, as it ends an `AccessDenied` message.
    pub fn explain(self, action: &str) -> String {
        match self {
            Refusal::IdentityDeny => "with an explicit deny in an identity-based policy".to_string(),
            Refusal::ResourceDeny => "with an explicit deny in a resource-based policy".to_string(),
            Refusal::NoIdentityAllow => format!("because no identity-based policy allows the {action} action"),
            Refusal::NoResourceAllow => format!("because no resource-based policy allows the {action} action"),
        }
    }
}

/// IAM's combination of an identity decision (`None`: the key has no policy, so it may do
/// everything in its own account) and a resource decision, for a caller in the resource's
/// account (`same_account`) or another.
pub fn combine(identity: Option<Decision>, resource: Decision, same_account: bool) -> Result<(), Refusal> {
    let identity = identity.unwrap_or(Decision::Allow);
    if identity == Decision::Deny {
        return Err(Refusal::IdentityDeny);
    }
    if resource == Decision::Deny {
        return Err(Refusal::ResourceDeny);
    }
    let identity_allows = identity == Decision::Allow;
    let resource_allows = resource == Decision::Allow;
    match (same_account, identity_allows, resource_allows) {
        (true, true, _) | (true, _, true) | (false, true, true) => Ok(()),
        (false, true, false) => Err(Refusal::NoResourceAllow),
        _ => Err(Refusal::NoIdentityAllow),
    }
}

fn strings(s: &serde_json::Value, n: usize, name: &str) -> Result<Option<Vec<String>>, String> {
    match s.get(name) {
        None => Ok(None),
        Some(serde_json::Value::String(one)) => Ok(Some(vec![one.clone()])),
        Some(serde_json::Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("statement {n}: {name} entries must be strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("statement {n}: {name} must be a string or a non-empty list")),
    }
}

/// `X` or `NotX` (exactly one); `None` when neither is present.
fn patterns(s: &serde_json::Value, n: usize, name: &str) -> Result<Option<Patterns>, String> {
    let not = format!("Not{name}");
    match (strings(s, n, name)?, strings(s, n, &not)?) {
        (Some(_), Some(_)) => Err(format!("statement {n}: {name} and {not} cannot both be given")),
        (Some(patterns), None) => Ok(Some(Patterns {
            negated: false,
            patterns,
        })),
        (None, Some(patterns)) => Ok(Some(Patterns {
            negated: true,
            patterns,
        })),
        (None, None) => Ok(None),
    }
}

/// `Principal` (or `NotPrincipal`): `"*"`, or `{"AWS": ..., "Service": ...}` with a string or
/// a list each.
fn principals(value: &serde_json::Value, negated: bool) -> Principals {
    let list = |key: &str| match value.get(key) {
        Some(serde_json::Value::String(p)) => vec![p.clone()],
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    Principals {
        negated,
        anyone: value.as_str() == Some("*"),
        aws: match value {
            serde_json::Value::String(p) => vec![p.clone()],
            _ => list("AWS"),
        },
        services: list("Service"),
    }
}

/// Parses statement `n` (Effect, Action/NotAction, Resource/NotResource, Condition, and in a
/// resource policy Principal/NotPrincipal).
fn parse_statement(n: usize, s: &serde_json::Value, resource_policy: bool) -> Result<Statement, String> {
    let allow = match s.get("Effect").and_then(|e| e.as_str()) {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err(format!("statement {n}: Effect must be Allow or Deny")),
    };
    let actions = patterns(s, n, "Action")?.ok_or_else(|| format!("statement {n}: Action or NotAction is required"))?;
    let resources = patterns(s, n, "Resource")?;
    if resources.is_none() && !resource_policy {
        return Err(format!("statement {n}: Resource or NotResource is required"));
    }
    let principals = if resource_policy {
        match (s.get("Principal"), s.get("NotPrincipal")) {
            (Some(p), None) => Some(principals(p, false)),
            (None, Some(p)) => Some(principals(p, true)),
            _ => {
                return Err(format!(
                    "statement {n}: exactly one of Principal and NotPrincipal is required"
                ))
            }
        }
    } else {
        if s.get("Principal").is_some() || s.get("NotPrincipal").is_some() {
            return Err(format!("statement {n}: an identity policy names no Principal"));
        }
        None
    };
    let conditions = match s.get("Condition") {
        Some(block) => condition::parse(block).map_err(|e| format!("statement {n}: {e}"))?,
        None => Vec::new(),
    };
    Ok(Statement {
        allow,
        actions,
        resources,
        principals,
        conditions,
    })
}

/// `*` matches any run of characters, `?` one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(account: &'static str) -> RequestFacts<'static> {
        let principal_arn: &'static str =
            Box::leak(format!("arn:aws:iam::{account}:user/AKID{account}").into_boxed_str());
        RequestFacts {
            account,
            principal_arn,
            user: "AKID",
            secure_transport: false,
            source_ip: "127.0.0.1".parse().ok(),
            region: "us-east-1",
            epoch_secs: 1_800_000_000,
            service: None,
            source_arn: None,
            source_account: None,
        }
    }

    fn policy(json: &str) -> Policy {
        Policy::parse(&serde_json::from_str(json).expect("json")).expect("policy")
    }

    #[test]
    fn resource_policies_name_principals_and_deny_wins() {
        let p = ResourcePolicy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
                {"Sid":"b","Effect":"Allow","Principal":{"AWS":["333333333333"]},"Action":"sqs:*","Resource":"*"},
                {"Sid":"c","Effect":"Deny","Principal":"*","Action":"sqs:DeleteQueue","Resource":"*"},
                {"Sid":"d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::555555555555:user/AKID555555555555"},"Action":"sqs:ReceiveMessage"}
            ]}"#,
        )
        .expect("policy");
        let q = "arn:aws:sqs:us-east-1:111111111111:q";
        use Decision::*;
        assert_eq!(p.decide("sqs:SendMessage", q, &facts("222222222222")), Allow);
        assert_eq!(p.decide("sqs:ReceiveMessage", q, &facts("222222222222")), NotApplicable);
        assert_eq!(p.decide("sqs:SendMessage", q, &facts("444444444444")), NotApplicable);
        assert_eq!(p.decide("sqs:ReceiveMessage", q, &facts("333333333333")), Allow);
        assert_eq!(
            p.decide("sqs:DeleteQueue", q, &facts("333333333333")),
            Deny,
            "deny wins"
        );
        assert_eq!(
            p.decide("sqs:ReceiveMessage", q, &facts("555555555555")),
            Allow,
            "a user ARN names that user; no Resource means the policy's own resource"
        );
        assert!(ResourcePolicy::parse("not json").is_err());
        assert_eq!(
            ResourcePolicy::parse("{}")
                .expect("empty")
                .decide("sqs:SendMessage", q, &facts("1")),
            NotApplicable
        );
    }

    #[test]
    fn the_usual_sns_to_sqs_queue_policy_parses_and_applies_only_to_its_source() {
        // What the AWS console and Terraform modules write on a queue subscribed to a topic.
        let p = ResourcePolicy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},
                "Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q",
                "Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111111111111:t"}}}]}"#,
        )
        .expect("policy with a Condition");
        assert_eq!(
            p.decide(
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:111111111111:q",
                &facts("222222222222")
            ),
            Decision::NotApplicable,
            "a service principal never matches an access key"
        );
        let q = "arn:aws:sqs:us-east-1:111111111111:q";
        let mut sns = facts("111111111111");
        sns.service = Some("sns.amazonaws.com");
        sns.source_arn = Some("arn:aws:sns:us-east-1:111111111111:t");
        sns.source_account = Some("111111111111");
        assert_eq!(
            p.decide("sqs:SendMessage", q, &sns),
            Decision::Allow,
            "SNS delivering for topic t"
        );
        sns.source_arn = Some("arn:aws:sns:us-east-1:111111111111:other");
        assert_eq!(
            p.decide("sqs:SendMessage", q, &sns),
            Decision::NotApplicable,
            "another topic"
        );
    }

    #[test]
    fn not_action_not_resource_not_principal_and_conditions() {
        let p = ResourcePolicy::parse(
            r#"{"Statement":[
                {"Effect":"Deny","NotPrincipal":{"AWS":"111111111111"},"NotAction":"sqs:Get*","Resource":"*"},
                {"Effect":"Allow","Principal":"*","Action":"sqs:*","NotResource":"arn:aws:sqs:*:*:secret*",
                 "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}
            ]}"#,
        )
        .expect("policy");
        use Decision::*;
        let q = "arn:aws:sqs:us-east-1:111111111111:q";
        assert_eq!(p.decide("sqs:SendMessage", q, &facts("111111111111")), Allow);
        assert_eq!(
            p.decide("sqs:SendMessage", q, &facts("222222222222")),
            Deny,
            "not the named principal"
        );
        assert_eq!(
            p.decide("sqs:GetQueueUrl", q, &facts("222222222222")),
            Allow,
            "NotAction spares Get*"
        );
        assert_eq!(
            p.decide(
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:111111111111:secret-1",
                &facts("111111111111")
            ),
            NotApplicable
        );
        let mut eu = facts("111111111111");
        eu.region = "eu-west-1";
        assert_eq!(
            p.decide("sqs:SendMessage", q, &eu),
            NotApplicable,
            "the condition does not hold"
        );
    }

    #[test]
    fn globs() {
        assert!(glob("sqs:send*", "sqs:sendmessage"));
        assert!(glob("*", ""));
        assert!(glob(
            "arn:aws:sqs:*:111111111111:orders-?",
            "arn:aws:sqs:us-east-1:111111111111:orders-1"
        ));
        assert!(!glob(
            "arn:aws:sqs:*:111111111111:orders-?",
            "arn:aws:sqs:us-east-1:111111111111:orders-12"
        ));
        assert!(!glob("sqs:send*", "sqs:receivemessage"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn identity_policies_deny_explicitly_or_by_default() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["sqs:Send*","sqs:Get*"],"Resource":"arn:aws:sqs:*:111111111111:orders*"},
                {"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:111111111111:scratch"},
                {"Effect":"Deny","Action":"sqs:DeleteQueue","Resource":"*"},
                {"Effect":"Deny","Action":"sqs:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"aws:RequestedRegion":"eu-north-1"}}}
            ]}"#,
        );
        use Decision::*;
        let f = facts("111111111111");
        let orders = "arn:aws:sqs:us-east-1:111111111111:orders";
        assert_eq!(p.decide("sqs:SendMessage", orders, &f), Allow);
        assert_eq!(
            p.decide("sqs:sendmessagebatch", orders, &f),
            Allow,
            "actions are case-insensitive"
        );
        assert_eq!(p.decide("sqs:ReceiveMessage", orders, &f), NotApplicable);
        assert_eq!(
            p.decide("sqs:PurgeQueue", "arn:aws:sqs:us-east-1:111111111111:scratch", &f),
            Allow
        );
        assert_eq!(
            p.decide("sqs:DeleteQueue", "arn:aws:sqs:us-east-1:111111111111:scratch", &f),
            Deny
        );
        let mut north = f.clone();
        north.region = "eu-north-1";
        assert_eq!(
            p.decide("sqs:SendMessage", orders, &north),
            Deny,
            "plain HTTP in eu-north-1"
        );
    }

    #[test]
    fn combining_follows_iam_within_and_across_accounts() {
        use Decision::*;
        assert!(
            combine(None, NotApplicable, true).is_ok(),
            "no identity policy: own account"
        );
        assert!(
            combine(Some(NotApplicable), Allow, true).is_ok(),
            "a resource grant suffices at home"
        );
        assert!(combine(Some(Allow), Deny, true).is_err(), "resource deny wins");
        assert!(combine(Some(Deny), Allow, true).is_err(), "identity deny wins");
        assert!(combine(Some(NotApplicable), NotApplicable, true).is_err());
        assert!(
            combine(None, Allow, false).is_ok(),
            "cross-account: the resource must allow"
        );
        assert!(combine(None, NotApplicable, false).is_err());
        assert!(
            combine(Some(NotApplicable), Allow, false).is_err(),
            "cross-account: identity must allow too"
        );
    }

    #[test]
    fn policies_as_strings_single_statements_and_errors() {
        let text =
            serde_json::Value::String(r#"{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}}"#.into());
        let p = Policy::parse(&text).expect("string policy");
        assert_eq!(
            p.decide("kinesis:PutRecord", "arn:aws:kinesis:us-east-1:1:stream/s", &facts("1")),
            Decision::Allow
        );
        for bad in [
            r#"{}"#,
            r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}]}"#,
        ] {
            assert!(
                Policy::parse(&serde_json::from_str(bad).expect("json")).is_err(),
                "{bad}"
            );
        }
    }
}
