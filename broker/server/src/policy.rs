//! IAM-style identity policies attached to access keys (`--credentials`): which actions on
//! which resources a key may call.
//!
//! Evaluation follows IAM for identity policies: an explicit `Deny` wins, otherwise an `Allow`
//! whose `Action` and `Resource` both match grants, and anything else is denied. `Action`
//! patterns are `service:Action` with `*` and `?` wildcards, matched case-insensitively
//! (`sqs:Send*`); `Resource` patterns are ARNs with wildcards, matched exactly otherwise. A key
//! without a policy may do everything in its own account.
//!
//! [`ResourcePolicy`] decides calls into another account's queue or stream: as on AWS, the
//! resource's own policy must allow the caller's account.

/// One parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
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
        let statements = match doc.get("Statement") {
            Some(serde_json::Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(single @ serde_json::Value::Object(_)) => vec![single],
            _ => return Err("policy needs a Statement (an object or a list of objects)".into()),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(n, s)| parse_statement(n, s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// Whether `action` (`sqs:SendMessage`) on `resource` (an ARN, or `*` for actions without
    /// a resource) is allowed.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        if self.statements.iter().any(|s| !s.allow && s.matches(action, resource)) {
            return false;
        }
        self.statements.iter().any(|s| s.allow && s.matches(action, resource))
    }
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions
            .iter()
            .any(|p| glob(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && self.resources.iter().any(|p| glob(p, resource))
    }
}

/// A resource's own policy (a queue's `Policy`, a stream's resource policy): statements that
/// also name principals. It decides calls from other accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePolicy {
    statements: Vec<(Statement, Vec<String>)>,
}

impl ResourcePolicy {
    /// Parses a stored policy document (JSON text).
    pub fn parse(text: &str) -> Result<ResourcePolicy, String> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("policy is not valid JSON: {e}"))?;
        let statements = match doc.get("Statement") {
            Some(serde_json::Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(single @ serde_json::Value::Object(_)) => vec![single],
            _ => Vec::new(),
        };
        let mut out = Vec::with_capacity(statements.len());
        for (n, s) in statements.into_iter().enumerate() {
            let principals = match s.get("Principal") {
                Some(serde_json::Value::String(p)) => vec![p.clone()],
                Some(serde_json::Value::Object(map)) => match map.get("AWS") {
                    Some(serde_json::Value::String(p)) => vec![p.clone()],
                    Some(serde_json::Value::Array(items)) => {
                        items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect()
                    }
                    // Service principals (sns.amazonaws.com, ...) never match an access key.
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            out.push((parse_statement(n, s)?, principals));
        }
        Ok(ResourcePolicy { statements: out })
    }

    /// The decision for a caller of `account`: `Some(false)` on an explicit deny, `Some(true)`
    /// on an allow, `None` when no statement applies (which denies a cross-account call).
    pub fn decide(&self, account: &str, action: &str, resource: &str) -> Option<bool> {
        let iam_prefix = format!("arn:aws:iam::{account}:");
        let applies = |principals: &[String]| {
            principals
                .iter()
                .any(|p| p == "*" || p == account || p.starts_with(&iam_prefix))
        };
        let mut decision = None;
        for (statement, principals) in &self.statements {
            if applies(principals) && statement.matches(action, resource) {
                if !statement.allow {
                    return Some(false);
                }
                decision = Some(true);
            }
        }
        decision
    }
}

/// Parses statement `n` of a policy (Effect, Action, Resource).
fn parse_statement(n: usize, s: &serde_json::Value) -> Result<Statement, String> {
    let allow = match s.get("Effect").and_then(|e| e.as_str()) {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err(format!("statement {n}: Effect must be Allow or Deny")),
    };
    let strings = |name: &str| -> Result<Vec<String>, String> {
        match s.get(name) {
            Some(serde_json::Value::String(one)) => Ok(vec![one.clone()]),
            Some(serde_json::Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("statement {n}: {name} entries must be strings"))
                })
                .collect(),
            _ => Err(format!("statement {n}: {name} must be a string or a non-empty list")),
        }
    };
    if s.get("NotAction").is_some() || s.get("NotResource").is_some() || s.get("Condition").is_some() {
        return Err(format!(
            "statement {n}: NotAction, NotResource and Condition are not supported"
        ));
    }
    Ok(Statement {
        allow,
        actions: strings("Action")?,
        resources: strings("Resource")?,
    })
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
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

    fn policy(json: &str) -> Policy {
        Policy::parse(&serde_json::from_str(json).expect("json")).expect("policy")
    }

    #[test]
    fn resource_policies_name_accounts() {
        let p = ResourcePolicy::parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"},
                {"Sid":"b","Effect":"Allow","Principal":{"AWS":["333333333333"]},"Action":"sqs:*","Resource":"*"},
                {"Sid":"c","Effect":"Deny","Principal":"*","Action":"sqs:DeleteQueue","Resource":"*"}
            ]}"#,
        )
        .expect("policy");
        let q = "arn:aws:sqs:us-east-1:111111111111:q";
        assert_eq!(p.decide("222222222222", "sqs:SendMessage", q), Some(true));
        assert_eq!(p.decide("222222222222", "sqs:ReceiveMessage", q), None);
        assert_eq!(p.decide("444444444444", "sqs:SendMessage", q), None);
        assert_eq!(p.decide("333333333333", "sqs:ReceiveMessage", q), Some(true));
        assert_eq!(p.decide("333333333333", "sqs:DeleteQueue", q), Some(false), "deny wins");
        assert!(ResourcePolicy::parse("not json").is_err());
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
    fn explicit_deny_wins_and_the_default_is_deny() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["sqs:Send*","sqs:Get*"],"Resource":"arn:aws:sqs:*:111111111111:orders*"},
                {"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:111111111111:scratch"},
                {"Effect":"Deny","Action":"sqs:DeleteQueue","Resource":"*"}
            ]}"#,
        );
        let orders = "arn:aws:sqs:us-east-1:111111111111:orders";
        assert!(p.allows("sqs:SendMessage", orders));
        assert!(p.allows("sqs:sendmessagebatch", orders), "actions are case-insensitive");
        assert!(!p.allows("sqs:ReceiveMessage", orders), "not allowed: implicit deny");
        assert!(!p.allows("sqs:SendMessage", "arn:aws:sqs:us-east-1:222222222222:orders"));
        assert!(p.allows("sqs:PurgeQueue", "arn:aws:sqs:us-east-1:111111111111:scratch"));
        assert!(
            !p.allows("sqs:DeleteQueue", "arn:aws:sqs:us-east-1:111111111111:scratch"),
            "deny wins"
        );
        assert!(!p.allows("sqs:ListQueues", "*"));
    }

    #[test]
    fn policies_as_strings_single_statements_and_errors() {
        let text =
            serde_json::Value::String(r#"{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}}"#.into());
        let p = Policy::parse(&text).expect("string policy");
        assert!(p.allows("kinesis:PutRecord", "arn:aws:kinesis:us-east-1:1:stream/s"));
        for bad in [
            r#"{}"#,
            r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}"#,
        ] {
            assert!(
                Policy::parse(&serde_json::from_str(bad).expect("json")).is_err(),
                "{bad}"
            );
        }
    }
}
