//! IAM `Condition` blocks: `{"Operator": {"key": value or [values]}}`, evaluated against the
//! facts Sluice knows about a request ([`RequestFacts`]).
//!
//! Supported operators, each also with the `IfExists` suffix: `String{Equals,NotEquals,
//! EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike}`, `Arn{Equals,NotEquals,Like,NotLike}`,
//! `Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals}`, `Bool`,
//! `IpAddress`, `NotIpAddress` and `Null`; the `ForAnyValue:`/`ForAllValues:` prefixes are
//! accepted (every key Sluice knows is single-valued). Keys: `aws:PrincipalAccount`,
//! `aws:PrincipalArn`, `aws:PrincipalType`, `aws:username`, `aws:userid`,
//! `aws:SecureTransport`, `aws:SourceIp`, `aws:RequestedRegion`, `aws:EpochTime`, and for a
//! service acting on a resource's behalf (SNS delivering to a queue) `aws:SourceArn`,
//! `aws:SourceAccount` and `aws:SourceOwner`; any other key is absent from the request, as a
//! key that does not apply is on AWS.
//!
//! IAM's rules: several keys in one operator, and several operators, must all hold; several
//! values for one key match if any does; a negated operator (`...Not...`) holds when no value
//! matches, and also when the key is absent; `...IfExists` holds when the key is absent.

use std::net::IpAddr;

use super::glob;

/// What a condition can ask about a request.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// `arn:aws:iam::{account}:user/{access key id}`.
    pub principal_arn: &'a str,
    /// The access key id (Sluice's user name).
    pub user: &'a str,
    /// The request came over TLS.
    pub secure_transport: bool,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// The region of the request's credential scope.
    pub region: &'a str,
    /// Now, epoch seconds.
    pub epoch_secs: u64,
    /// Set when an AWS service acts (`sns.amazonaws.com` delivering to a queue): the policy's
    /// `Service` principals apply instead of account and user ones.
    pub service: Option<&'a str>,
    /// The resource on whose behalf a service acts (the topic of an SNS delivery).
    pub source_arn: Option<&'a str>,
    /// Its account.
    pub source_account: Option<&'a str>,
}

impl RequestFacts<'_> {
    fn get(&self, key: &str) -> Option<String> {
        Some(match key.to_ascii_lowercase().as_str() {
            "aws:principalaccount" => self.account.to_string(),
            "aws:principalarn" => self.principal_arn.to_string(),
            "aws:principaltype" => "User".to_string(),
            "aws:username" | "aws:userid" => self.user.to_string(),
            "aws:securetransport" => self.secure_transport.to_string(),
            "aws:sourceip" => self.source_ip?.to_string(),
            "aws:requestedregion" => self.region.to_string(),
            "aws:epochtime" => self.epoch_secs.to_string(),
            "aws:sourcearn" => self.source_arn?.to_string(),
            "aws:sourceaccount" | "aws:sourceowner" => self.source_account?.to_string(),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    StringEquals { ignore_case: bool },
    Like,
    Numeric(NumericCmp),
    Bool,
    Ip,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumericCmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One `operator: {key: values}` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    test: Test,
    negate: bool,
    if_exists: bool,
    key: String,
    values: Vec<String>,
}

/// Parses a statement's `Condition` block.
pub fn parse(block: &serde_json::Value) -> Result<Vec<Condition>, String> {
    let serde_json::Value::Object(operators) = block else {
        return Err("Condition must be an object".into());
    };
    let mut out = Vec::new();
    for (operator, keys) in operators {
        let (test, negate, if_exists) = operator_of(operator)?;
        let serde_json::Value::Object(keys) = keys else {
            return Err(format!("Condition operator {operator} must map keys to values"));
        };
        for (key, values) in keys {
            let values = match values {
                serde_json::Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                one => vec![scalar(one)?],
            };
            if test == Test::Ip {
                for v in &values {
                    cidr(v).ok_or_else(|| format!("Condition {operator}: {v} is not an IP address or CIDR range"))?;
                }
            }
            out.push(Condition {
                test,
                negate,
                if_exists,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn scalar(v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "Condition values must be strings, numbers or booleans, not {other}"
        )),
    }
}

fn operator_of(name: &str) -> Result<(Test, bool, bool), String> {
    let base = name
        .strip_prefix("ForAnyValue:")
        .or_else(|| name.strip_prefix("ForAllValues:"))
        .unwrap_or(name);
    let (base, if_exists) = match base.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (base, false),
    };
    let (test, negate) = match base {
        "StringEquals" => (Test::StringEquals { ignore_case: false }, false),
        "StringNotEquals" => (Test::StringEquals { ignore_case: false }, true),
        "StringEqualsIgnoreCase" => (Test::StringEquals { ignore_case: true }, false),
        "StringNotEqualsIgnoreCase" => (Test::StringEquals { ignore_case: true }, true),
        "StringLike" | "ArnEquals" | "ArnLike" => (Test::Like, false),
        "StringNotLike" | "ArnNotEquals" | "ArnNotLike" => (Test::Like, true),
        "NumericEquals" => (Test::Numeric(NumericCmp::Eq), false),
        "NumericNotEquals" => (Test::Numeric(NumericCmp::Eq), true),
        "NumericLessThan" => (Test::Numeric(NumericCmp::Lt), false),
        "NumericLessThanEquals" => (Test::Numeric(NumericCmp::Le), false),
        "NumericGreaterThan" => (Test::Numeric(NumericCmp::Gt), false),
        "NumericGreaterThanEquals" => (Test::Numeric(NumericCmp::Ge), false),
        "Bool" => (Test::Bool, false),
        "IpAddress" => (Test::Ip, false),
        "NotIpAddress" => (Test::Ip, true),
        "Null" => (Test::Null, false),
        _ => return Err(format!("Condition operator {name} is not supported")),
    };
    Ok((test, negate, if_exists))
}

impl Condition {
    /// Whether the condition holds for `facts`.
    pub fn holds(&self, facts: &RequestFacts<'_>) -> bool {
        let actual = facts.get(&self.key);
        if self.test == Test::Null {
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return actual.is_none() == want_absent;
        }
        let Some(actual) = actual else {
            return self.if_exists || self.negate;
        };
        let matched = self.values.iter().any(|want| self.test.matches(want, &actual));
        matched != self.negate
    }
}

impl Test {
    fn matches(self, want: &str, actual: &str) -> bool {
        match self {
            Test::StringEquals { ignore_case: false } => want == actual,
            Test::StringEquals { ignore_case: true } => want.eq_ignore_ascii_case(actual),
            Test::Like => glob(want, actual),
            Test::Numeric(cmp) => match (want.parse::<f64>(), actual.parse::<f64>()) {
                (Ok(w), Ok(a)) => match cmp {
                    NumericCmp::Eq => a == w,
                    NumericCmp::Lt => a < w,
                    NumericCmp::Le => a <= w,
                    NumericCmp::Gt => a > w,
                    NumericCmp::Ge => a >= w,
                },
                _ => false,
            },
            Test::Bool => want.eq_ignore_ascii_case(actual),
            Test::Ip => match (cidr(want), actual.parse::<IpAddr>()) {
                (Some((net, bits)), Ok(ip)) => in_range(net, bits, ip),
                _ => false,
            },
            Test::Null => false,
        }
    }
}

/// `a.b.c.d/n`, an IPv6 range, or a single address.
fn cidr(text: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn in_range(net: IpAddr, bits: u32, ip: IpAddr) -> bool {
    let (net, ip, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        (IpAddr::V6(n), IpAddr::V4(i)) => (u128::from(n), u128::from(i.to_ipv6_mapped()), 128),
        (IpAddr::V4(n), IpAddr::V6(i)) => match i.to_ipv4_mapped() {
            Some(i) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            None => return false,
        },
    };
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (net >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ip: &str, tls: bool) -> RequestFacts<'static> {
        RequestFacts {
            account: "111111111111",
            principal_arn: "arn:aws:iam::111111111111:user/AKIDALICE",
            user: "AKIDALICE",
            secure_transport: tls,
            source_ip: ip.parse().ok(),
            region: "eu-west-1",
            epoch_secs: 1_800_000_000,
            service: None,
            source_arn: None,
            source_account: None,
        }
    }

    fn holds(block: &str, facts: &RequestFacts<'_>) -> bool {
        let conditions = parse(&serde_json::from_str(block).expect("json")).expect("condition");
        conditions.iter().all(|c| c.holds(facts))
    }

    #[test]
    fn operators_keys_and_absent_keys_follow_iam() {
        let f = facts("10.1.2.3", true);
        let table: &[(&str, bool)] = &[
            (r#"{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}"#, true),
            (
                r#"{"StringEquals":{"aws:PrincipalAccount":["2","111111111111"]}}"#,
                true,
            ),
            (r#"{"StringNotEquals":{"aws:PrincipalAccount":"111111111111"}}"#, false),
            (r#"{"StringEqualsIgnoreCase":{"aws:username":"akidalice"}}"#, true),
            (
                r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/AKID*"}}"#,
                true,
            ),
            (
                r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::222222222222:*"}}"#,
                false,
            ),
            (
                r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::222222222222:*"}}"#,
                true,
            ),
            (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, true),
            (r#"{"Bool":{"aws:SecureTransport":false}}"#, false),
            (r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, true),
            (r#"{"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.3"]}}"#, true),
            (r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, false),
            (r#"{"NumericLessThan":{"aws:EpochTime":1900000000}}"#, true),
            (r#"{"NumericGreaterThanEquals":{"aws:EpochTime":"1900000000"}}"#, false),
            (r#"{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#, true),
            // aws:SourceArn does not apply to a direct call: absent.
            (
                r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:eu-west-1:111111111111:t"}}"#,
                false,
            ),
            (
                r#"{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:eu-west-1:111111111111:t"}}"#,
                true,
            ),
            (r#"{"StringEqualsIfExists":{"aws:SourceAccount":"2"}}"#, true),
            (r#"{"Null":{"aws:SourceArn":"true"}}"#, true),
            (r#"{"Null":{"aws:SourceIp":"true"}}"#, false),
            // Every operator and every key must hold.
            (
                r#"{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:username":"someone-else"}}"#,
                false,
            ),
            (r#"{"ForAnyValue:StringLike":{"aws:username":"AKID*"}}"#, true),
        ];
        for (block, want) in table {
            assert_eq!(holds(block, &f), *want, "{block}");
        }
        assert!(!holds(
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            &facts("none", true)
        ));
        assert!(
            holds(r#"{"IpAddress":{"aws:SourceIp":"::ffff:10.0.0.0/104"}}"#, &f),
            "v4 in a mapped v6 range"
        );
    }

    #[test]
    fn unknown_operators_and_bad_values_are_refused() {
        for bad in [
            r#"{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
            r#"{"StringEquals":"x"}"#,
            r#"{"StringEquals":{"k":{"nested":1}}}"#,
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#,
            r#"[]"#,
        ] {
            assert!(parse(&serde_json::from_str(bad).expect("json")).is_err(), "{bad}");
        }
    }
}
