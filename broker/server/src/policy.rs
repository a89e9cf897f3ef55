//! IAM-style identity policies attached to access keys (`--credentials`): which actions on
//! which resources a key may call.
//!
//! Evaluation follows IAM for identity policies: an explicit `Deny` wins, otherwise an `Allow`
//! whose `Action` and `Resource` both match grants, and anything else is denied. `Action`
//! patterns are `service:Action` with `*` and `?` wildcards, matched case-insensitively
//! (`sqs:Send*`); `Resource` patterns are ARNs with wildcards, matched exactly otherwise. A key
//! without a policy may do everything in its own account.

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
        let mut out = Vec::with_capacity(statements.len());
        for (n, s) in statements.into_iter().enumerate() {
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
            out.push(Statement {
                allow,
                actions: strings("Action")?,
                resources: strings("Resource")?,
            });
        }
        Ok(Policy { statements: out })
    }

    /// Whether `action` (`sqs:SendMessage`) on `resource` (an ARN, or `*` for actions without
    /// a resource) is allowed.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let matches = |s: &Statement| {
            s.actions
                .iter()
                .any(|p| glob(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && s.resources.iter().any(|p| glob(p, resource))
        };
        if self.statements.iter().any(|s| !s.allow && matches(s)) {
            return false;
        }
        self.statements.iter().any(|s| s.allow && matches(s))
    }
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
