//! Subscription filter policies, as SNS evaluates them ("Amazon SNS message filtering" in the
//! SNS developer guide).
//!
//! # Layout
//! - [`FilterPolicy::parse`]: JSON → a validated [`Conjunction`] tree, refusing what AWS refuses
//!   (unknown operators, wrong operand types, bad numeric ranges and CIDRs, more than
//!   [`MAX_KEYS`] keys, more than [`MAX_COMBINATIONS`] value combinations, more than
//!   [`MAX_POLICY_BYTES`]).
//! - [`FilterPolicy::matches_attributes`] and [`FilterPolicy::matches_body`]: evaluation.
//!
//! # Semantics
//! Keys are ANDed; the values listed under a key are ORed; `$or` (at any object level) takes
//! a list of alternative objects. With the MessageAttributes scope a key names an attribute:
//! String attributes match string conditions, Number attributes numeric ones, `String.Array`
//! attributes match when any element does; Binary attributes exist but match no value. With the
//! MessageBody scope keys may nest objects to reach nested properties, and a path that crosses
//! arrays (an S3 event's `Records`) matches when any element does. `exists: false` matches an
//! absent key; every other condition needs the key present.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// Most keys (leaf properties) a policy may name.
pub const MAX_KEYS: usize = 5;
/// Most combinations of values (the product of the value counts of ANDed keys, summed over
/// `$or` alternatives).
pub const MAX_COMBINATIONS: usize = 150;
/// Largest policy text (256 KiB).
pub const MAX_POLICY_BYTES: usize = 262_144;
/// Numbers in numeric conditions lie within ±10^9 (AWS's bound).
const NUMERIC_BOUND: f64 = 1e9;

/// Which part of a message a policy filters on (the subscription's FilterPolicyScope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterScope {
    /// The message attributes.
    MessageAttributes,
    /// The message body, parsed as JSON.
    MessageBody,
}

/// Why a policy was refused; the text follows `Invalid parameter: FilterPolicy: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPolicyError(pub String);

impl std::fmt::Display for FilterPolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterPolicyError {}

fn refuse<T>(message: impl Into<String>) -> Result<T, FilterPolicyError> {
    Err(FilterPolicyError(message.into()))
}

/// One message attribute as the matcher sees it.
#[derive(Debug, Clone, Copy)]
pub struct AttributeRef<'a> {
    /// The attribute's data type (`String`, `Number.x`, `String.Array`, `Binary`).
    pub data_type: &'a str,
    /// Its string value (absent for Binary).
    pub string_value: Option<&'a str>,
}

/// A value a condition is tested against.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// Numeric comparison operators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
enum Excluded {
    Values(Vec<Scalar>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
}

/// One condition of the list under a key.
#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Scalar),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Excluded),
    Numeric(Vec<(Op, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

/// The conditions on one property (a path of keys in the MessageBody scope).
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    path: Vec<String>,
    matchers: Vec<Matcher>,
}

/// Leaves that must all match, and `$or` groups of which one alternative must match each.
#[derive(Debug, Clone, PartialEq, Default)]
struct Conjunction {
    leaves: Vec<Leaf>,
    ors: Vec<Vec<Conjunction>>,
}

impl Conjunction {
    /// Distinct leaf paths, for the key limit.
    fn key_paths<'a>(&'a self, out: &mut Vec<&'a [String]>) {
        for leaf in &self.leaves {
            if !out.contains(&leaf.path.as_slice()) {
                out.push(&leaf.path);
            }
        }
        for group in &self.ors {
            for alt in group {
                alt.key_paths(out);
            }
        }
    }

    /// Value combinations: the product over ANDed parts, sums over alternatives.
    fn combinations(&self) -> usize {
        let mut total: usize = 1;
        for leaf in &self.leaves {
            total = total.saturating_mul(leaf.matchers.len().max(1));
        }
        for group in &self.ors {
            let sum = group
                .iter()
                .map(Conjunction::combinations)
                .fold(0usize, usize::saturating_add);
            total = total.saturating_mul(sum.max(1));
        }
        total
    }
}

/// A parsed, validated filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    scope: FilterScope,
    root: Conjunction,
}

impl FilterPolicy {
    /// Parses and validates `policy` for `scope`.
    pub fn parse(policy: &str, scope: FilterScope) -> Result<FilterPolicy, FilterPolicyError> {
        if policy.len() > MAX_POLICY_BYTES {
            return refuse("Filter policy is too large");
        }
        let value: Value = match serde_json::from_str(policy) {
            Ok(v) => v,
            Err(e) => return refuse(format!("failed to parse JSON. {e}")),
        };
        let Value::Object(object) = value else {
            return refuse("Filter policy must be a JSON object");
        };
        let root = parse_object(&object, scope, &[], 0)?;
        let mut paths = Vec::new();
        root.key_paths(&mut paths);
        if paths.len() > MAX_KEYS {
            return refuse(format!("Filter policy can not have more than {MAX_KEYS} keys"));
        }
        if root.combinations() > MAX_COMBINATIONS {
            return refuse("Filter policy is too complex");
        }
        Ok(FilterPolicy { scope, root })
    }

    /// The scope the policy was parsed for.
    pub fn scope(&self) -> FilterScope {
        self.scope
    }

    /// MessageAttributes scope: whether the attributes `attrs` looks up match.
    pub fn matches_attributes<'a>(&self, attrs: &dyn Fn(&str) -> Option<AttributeRef<'a>>) -> bool {
        let values = |path: &[String]| -> Option<Vec<Scalar>> {
            let name = path.first()?;
            attrs(name).map(|a| attribute_values(&a))
        };
        eval(&self.root, &values)
    }

    /// MessageBody scope: whether the body (parsed as JSON) matches.
    pub fn matches_body(&self, body: &Value) -> bool {
        let values = |path: &[String]| -> Option<Vec<Scalar>> {
            let mut found = Vec::new();
            collect_body(body, path, &mut found).then_some(found)
        };
        eval(&self.root, &values)
    }
}

/// The scalars an attribute offers to conditions.
fn attribute_values(attr: &AttributeRef<'_>) -> Vec<Scalar> {
    let Some(text) = attr.string_value else {
        return Vec::new();
    };
    if attr.data_type.starts_with("Number") {
        return text.trim().parse::<f64>().map(Scalar::Num).into_iter().collect();
    }
    if attr.data_type == "String.Array" {
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        return items.iter().filter_map(scalar).collect();
    }
    if attr.data_type.starts_with("String") {
        return vec![Scalar::Str(text.to_string())];
    }
    Vec::new()
}

fn scalar(value: &Value) -> Option<Scalar> {
    match value {
        Value::String(s) => Some(Scalar::Str(s.clone())),
        Value::Number(n) => n.as_f64().map(Scalar::Num),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Null => Some(Scalar::Null),
        _ => None,
    }
}

/// Collects the scalars at `path` under `value`, walking through arrays; true when the path
/// exists at least once.
fn collect_body(value: &Value, path: &[String], out: &mut Vec<Scalar>) -> bool {
    match value {
        Value::Array(items) => {
            let mut found = false;
            for item in items {
                found |= collect_body(item, path, out);
            }
            found
        }
        _ => match path.split_first() {
            None => {
                out.extend(scalar(value));
                true
            }
            Some((key, rest)) => match value.get(key) {
                Some(child) => collect_body(child, rest, out),
                None => false,
            },
        },
    }
}

fn eval(conj: &Conjunction, values: &dyn Fn(&[String]) -> Option<Vec<Scalar>>) -> bool {
    conj.leaves.iter().all(|leaf| {
        let found = values(&leaf.path);
        leaf.matchers.iter().any(|m| matches(m, found.as_deref()))
    }) && conj.ors.iter().all(|group| group.iter().any(|alt| eval(alt, values)))
}

fn matches(matcher: &Matcher, found: Option<&[Scalar]>) -> bool {
    let values = match (matcher, found) {
        (Matcher::Exists(want), found) => return *want == found.is_some(),
        (_, None) => return false,
        (_, Some(values)) => values,
    };
    match matcher {
        Matcher::AnythingBut(excluded) => {
            // Every value must avoid the excluded set (a present key with no matchable value
            // does not match).
            !values.is_empty() && values.iter().all(|v| !is_excluded(excluded, v))
        }
        _ => values.iter().any(|v| matches_value(matcher, v)),
    }
}

fn matches_value(matcher: &Matcher, value: &Scalar) -> bool {
    match (matcher, value) {
        (Matcher::Exact(Scalar::Num(want)), Scalar::Num(got)) => want == got,
        (Matcher::Exact(want), got) => want == got,
        (Matcher::Prefix(p), Scalar::Str(s)) => s.starts_with(p.as_str()),
        (Matcher::Suffix(p), Scalar::Str(s)) => s.ends_with(p.as_str()),
        (Matcher::EqualsIgnoreCase(p), Scalar::Str(s)) => s.to_lowercase() == p.to_lowercase(),
        (Matcher::Numeric(conditions), Scalar::Num(n)) => conditions.iter().all(|(op, bound)| match op {
            Op::Eq => n == bound,
            Op::Lt => n < bound,
            Op::Le => n <= bound,
            Op::Gt => n > bound,
            Op::Ge => n >= bound,
        }),
        (Matcher::Cidr(net, bits), Scalar::Str(s)) => s.parse::<IpAddr>().is_ok_and(|ip| in_network(ip, *net, *bits)),
        _ => false,
    }
}

fn is_excluded(excluded: &Excluded, value: &Scalar) -> bool {
    match (excluded, value) {
        (Excluded::Values(list), v) => list.iter().any(|x| x == v),
        (Excluded::Prefix(p), Scalar::Str(s)) => s.starts_with(p.as_str()),
        (Excluded::Suffix(p), Scalar::Str(s)) => s.ends_with(p.as_str()),
        (Excluded::IgnoreCase(list), Scalar::Str(s)) => list.iter().any(|x| x.to_lowercase() == s.to_lowercase()),
        _ => false,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Deepest nesting of MessageBody keys (AWS allows five levels below the root).
const MAX_DEPTH: usize = 5;

fn parse_object(
    object: &Map<String, Value>,
    scope: FilterScope,
    path: &[String],
    depth: usize,
) -> Result<Conjunction, FilterPolicyError> {
    if depth > MAX_DEPTH {
        return refuse("Filter policy is too deeply nested");
    }
    let mut conj = Conjunction::default();
    for (key, value) in object {
        if key == "$or" {
            let Value::Array(alternatives) = value else {
                return refuse("$or must be an array of objects");
            };
            if alternatives.len() < 2 {
                return refuse("$or must have at least two alternatives");
            }
            let mut group = Vec::with_capacity(alternatives.len());
            for alt in alternatives {
                let Value::Object(alt) = alt else {
                    return refuse("$or must be an array of objects");
                };
                group.push(parse_object(alt, scope, path, depth)?);
            }
            conj.ors.push(group);
            continue;
        }
        let mut child_path = path.to_vec();
        child_path.push(key.clone());
        match value {
            Value::Array(conditions) => {
                if conditions.is_empty() {
                    return refuse(format!("Empty arrays are not allowed (key {key})"));
                }
                let mut matchers = Vec::with_capacity(conditions.len());
                for condition in conditions {
                    matchers.push(parse_condition(condition, scope)?);
                }
                conj.leaves.push(Leaf {
                    path: child_path,
                    matchers,
                });
            }
            Value::Object(nested) if scope == FilterScope::MessageBody => {
                let inner = parse_object(nested, scope, &child_path, depth + 1)?;
                conj.leaves.extend(inner.leaves);
                conj.ors.extend(inner.ors);
            }
            Value::Object(_) => {
                return refuse(format!(
                    "Filter policy scope MessageAttributes does not support nested filter policy (key {key})"
                ))
            }
            _ => return refuse(format!("Match value of key {key} must be an array or an object")),
        }
    }
    Ok(conj)
}

fn parse_condition(condition: &Value, scope: FilterScope) -> Result<Matcher, FilterPolicyError> {
    match condition {
        Value::String(s) => Ok(Matcher::Exact(Scalar::Str(s.clone()))),
        Value::Number(_) => Ok(Matcher::Exact(Scalar::Num(number(condition)?))),
        Value::Bool(b) if scope == FilterScope::MessageBody => Ok(Matcher::Exact(Scalar::Bool(*b))),
        Value::Null if scope == FilterScope::MessageBody => Ok(Matcher::Exact(Scalar::Null)),
        Value::Bool(_) | Value::Null => refuse("Match value must be String, number, true, false, or null"),
        Value::Array(_) => refuse("Match value must be String, number, true, false, or null"),
        Value::Object(op) => {
            let mut entries = op.iter();
            let (Some((name, operand)), None) = (entries.next(), entries.next()) else {
                return refuse("An operator object must have exactly one key");
            };
            match name.as_str() {
                "prefix" => Ok(Matcher::Prefix(non_empty_string(operand, "prefix")?)),
                "suffix" => Ok(Matcher::Suffix(non_empty_string(operand, "suffix")?)),
                "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(non_empty_string(
                    operand,
                    "equals-ignore-case",
                )?)),
                "exists" => match operand {
                    Value::Bool(b) => Ok(Matcher::Exists(*b)),
                    _ => refuse("exists match pattern must be either true or false."),
                },
                "anything-but" => Ok(Matcher::AnythingBut(parse_anything_but(operand)?)),
                "numeric" => Ok(Matcher::Numeric(parse_numeric(operand)?)),
                "cidr" => parse_cidr(operand),
                other => refuse(format!("Unrecognized match type {other}")),
            }
        }
    }
}

fn non_empty_string(operand: &Value, operator: &str) -> Result<String, FilterPolicyError> {
    match operand {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        _ => refuse(format!("{operator} match pattern must be a non-empty string")),
    }
}

fn number(value: &Value) -> Result<f64, FilterPolicyError> {
    let Some(n) = value.as_f64() else {
        return refuse("Value must be numeric");
    };
    if !(-NUMERIC_BOUND..=NUMERIC_BOUND).contains(&n) {
        return refuse("Numeric values must be between -1.0E9 and 1.0E9");
    }
    Ok(n)
}

fn parse_anything_but(operand: &Value) -> Result<Excluded, FilterPolicyError> {
    let value_of = |v: &Value| -> Result<Scalar, FilterPolicyError> {
        match v {
            Value::String(s) => Ok(Scalar::Str(s.clone())),
            Value::Number(_) => Ok(Scalar::Num(number(v)?)),
            _ => refuse("anything-but values must be strings or numbers"),
        }
    };
    match operand {
        Value::String(_) | Value::Number(_) => Ok(Excluded::Values(vec![value_of(operand)?])),
        Value::Array(items) => {
            if items.is_empty() {
                return refuse("Empty arrays are not allowed (anything-but)");
            }
            let values = items.iter().map(value_of).collect::<Result<Vec<_>, _>>()?;
            Ok(Excluded::Values(values))
        }
        Value::Object(op) => {
            let mut entries = op.iter();
            let (Some((name, inner)), None) = (entries.next(), entries.next()) else {
                return refuse("anything-but accepts one of prefix, suffix or equals-ignore-case");
            };
            match name.as_str() {
                "prefix" => Ok(Excluded::Prefix(non_empty_string(inner, "prefix")?)),
                "suffix" => Ok(Excluded::Suffix(non_empty_string(inner, "suffix")?)),
                "equals-ignore-case" => match inner {
                    Value::String(s) => Ok(Excluded::IgnoreCase(vec![s.clone()])),
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|i| non_empty_string(i, "equals-ignore-case"))
                        .collect::<Result<Vec<_>, _>>()
                        .map(Excluded::IgnoreCase),
                    _ => refuse("equals-ignore-case match pattern must be a string or an array of strings"),
                },
                other => refuse(format!("Unsupported anything-but pattern: {other}")),
            }
        }
        _ => refuse("anything-but must be a string, a number, an array or an object"),
    }
}

fn parse_op(value: &Value) -> Result<Op, FilterPolicyError> {
    match value.as_str() {
        Some("=") => Ok(Op::Eq),
        Some("<") => Ok(Op::Lt),
        Some("<=") => Ok(Op::Le),
        Some(">") => Ok(Op::Gt),
        Some(">=") => Ok(Op::Ge),
        _ => refuse("Unrecognized numeric range operator"),
    }
}

fn parse_numeric(operand: &Value) -> Result<Vec<(Op, f64)>, FilterPolicyError> {
    let Value::Array(items) = operand else {
        return refuse("Value of numeric must be an array.");
    };
    match items.as_slice() {
        [op, n] => Ok(vec![(parse_op(op)?, number(n)?)]),
        [op1, n1, op2, n2] => {
            let (low_op, low) = (parse_op(op1)?, number(n1)?);
            let (high_op, high) = (parse_op(op2)?, number(n2)?);
            if !matches!(low_op, Op::Gt | Op::Ge) || !matches!(high_op, Op::Lt | Op::Le) {
                return refuse(
                    "Bad numeric range operator: a range is a lower bound (> or >=) then an upper bound (< or <=)",
                );
            }
            if low >= high {
                return refuse("Bottom must be less than top");
            }
            Ok(vec![(low_op, low), (high_op, high)])
        }
        [] => refuse("Value of numeric must be a non-empty array."),
        _ => refuse("Too many elements in numeric expression"),
    }
}

fn parse_cidr(operand: &Value) -> Result<Matcher, FilterPolicyError> {
    let bad = || refuse(format!("Malformed CIDR, one '/' required: {operand}"));
    let Some(text) = operand.as_str() else {
        return bad();
    };
    let Some((addr, bits)) = text.split_once('/') else {
        return bad();
    };
    let (Ok(addr), Ok(bits)) = (addr.parse::<IpAddr>(), bits.parse::<u8>()) else {
        return refuse(format!("Nonstandard IP address: {text}"));
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return refuse(format!("Nonstandard IP address: {text}"));
    }
    Ok(Matcher::Cidr(addr, bits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn attrs(
        pairs: &[(&'static str, &'static str, &'static str)],
    ) -> HashMap<&'static str, (&'static str, &'static str)> {
        pairs.iter().map(|(n, t, v)| (*n, (*t, *v))).collect()
    }

    fn attr_match(policy: &str, message: &[(&'static str, &'static str, &'static str)]) -> bool {
        let policy = FilterPolicy::parse(policy, FilterScope::MessageAttributes).expect("valid policy");
        let map = attrs(message);
        let lookup = |name: &str| {
            map.get(name).map(|(t, v)| AttributeRef {
                data_type: t,
                string_value: if t.starts_with("Binary") { None } else { Some(v) },
            })
        };
        policy.matches_attributes(&lookup)
    }

    fn body_match(policy: &str, body: &str) -> bool {
        let policy = FilterPolicy::parse(policy, FilterScope::MessageBody).expect("valid policy");
        policy.matches_body(&serde_json::from_str(body).expect("json body"))
    }

    #[test]
    fn attribute_table() {
        const RED: &[(&str, &str, &str)] = &[("color", "String", "red"), ("size", "Number", "5")];
        let red = RED;
        type Message<'a> = &'a [(&'static str, &'static str, &'static str)];
        let table: &[(&str, Message<'_>, bool)] = &[
            ("{}", &[], true),
            (r#"{"color":["red"]}"#, red, true),
            (r#"{"color":["blue","red"]}"#, red, true),
            (r#"{"color":["Red"]}"#, red, false),
            (r#"{"color":["red"],"size":[5]}"#, red, true),
            (r#"{"color":["red"],"size":[6]}"#, red, false),
            (r#"{"size":[5.0]}"#, red, true),
            (r#"{"size":["5"]}"#, red, false),
            (r#"{"color":[{"prefix":"re"}]}"#, red, true),
            (r#"{"color":[{"prefix":"ed"}]}"#, red, false),
            (r#"{"color":[{"suffix":"ed"}]}"#, red, true),
            (r#"{"color":[{"equals-ignore-case":"RED"}]}"#, red, true),
            (r#"{"color":[{"anything-but":"blue"}]}"#, red, true),
            (r#"{"color":[{"anything-but":["red","blue"]}]}"#, red, false),
            (r#"{"color":[{"anything-but":{"prefix":"r"}}]}"#, red, false),
            (r#"{"color":[{"anything-but":{"suffix":"x"}}]}"#, red, true),
            (
                r#"{"color":[{"anything-but":{"equals-ignore-case":["RED"]}}]}"#,
                red,
                false,
            ),
            (r#"{"missing":[{"anything-but":"x"}]}"#, red, false),
            (r#"{"size":[{"anything-but":[1,2]}]}"#, red, true),
            (r#"{"size":[{"numeric":[">",4,"<=",5]}]}"#, red, true),
            (r#"{"size":[{"numeric":[">",5]}]}"#, red, false),
            (r#"{"size":[{"numeric":["=",5]}]}"#, red, true),
            (r#"{"color":[{"numeric":[">",0]}]}"#, red, false),
            (r#"{"color":[{"exists":true}]}"#, red, true),
            (r#"{"color":[{"exists":false}]}"#, red, false),
            (r#"{"other":[{"exists":false}]}"#, red, true),
            (r#"{"other":[{"exists":true}]}"#, red, false),
            (r#"{"$or":[{"color":["blue"]},{"size":[5]}]}"#, red, true),
            (r#"{"$or":[{"color":["blue"]},{"size":[6]}]}"#, red, false),
            (r#"{"tags":["b"]}"#, &[("tags", "String.Array", r#"["a","b"]"#)], true),
            (r#"{"tags":["c"]}"#, &[("tags", "String.Array", r#"["a","b"]"#)], false),
            (r#"{"tags":[2]}"#, &[("tags", "String.Array", "[1,2]")], true),
            (
                r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#,
                &[("ip", "String", "10.0.0.255")],
                true,
            ),
            (
                r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#,
                &[("ip", "String", "10.0.1.0")],
                false,
            ),
            (
                r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#,
                &[("ip", "String", "2001:db8::1")],
                true,
            ),
            (
                r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#,
                &[("ip", "String", "2001:db9::1")],
                false,
            ),
            (r#"{"blob":[{"exists":true}]}"#, &[("blob", "Binary", "")], true),
            (r#"{"blob":["x"]}"#, &[("blob", "Binary", "")], false),
            (r#"{"n":[100]}"#, &[("n", "Number.custom", "1e2")], true),
        ];
        for (policy, message, want) in table {
            assert_eq!(attr_match(policy, message), *want, "{policy} against {message:?}");
        }
    }

    #[test]
    fn body_table() {
        let s3 =
            r#"{"Records":[{"s3":{"bucket":{"name":"logs"}}},{"s3":{"bucket":{"name":"img"}}}],"n":null,"ok":true}"#;
        let order = r#"{"order":{"total":120,"status":"paid","tags":["a","b"]}}"#;
        let table: &[(&str, &str, bool)] = &[
            (r#"{"order":{"status":["paid"]}}"#, order, true),
            (r#"{"order":{"status":["refunded"]}}"#, order, false),
            (r#"{"order":{"total":[{"numeric":[">=",120]}]}}"#, order, true),
            (r#"{"order":{"tags":["b"]}}"#, order, true),
            (r#"{"order":{"missing":[{"exists":false}]}}"#, order, true),
            (r#"{"order":{"status":[{"exists":true}]}}"#, order, true),
            (r#"{"Records":{"s3":{"bucket":{"name":["img"]}}}}"#, s3, true),
            (r#"{"Records":{"s3":{"bucket":{"name":["pdf"]}}}}"#, s3, false),
            (r#"{"n":[null]}"#, s3, true),
            (r#"{"ok":[true]}"#, s3, true),
            (r#"{"ok":[false]}"#, s3, false),
            (
                r#"{"$or":[{"order":{"status":["x"]}},{"order":{"total":[120]}}]}"#,
                order,
                true,
            ),
            (r#"{"order":{"$or":[{"status":["x"]},{"total":[1]}]}}"#, order, false),
        ];
        for (policy, body, want) in table {
            assert_eq!(body_match(policy, body), *want, "{policy} against {body}");
        }
    }

    #[test]
    fn invalid_policies_are_refused_with_reasons() {
        let table: &[(&str, FilterScope, &str)] = &[
            ("[]", FilterScope::MessageAttributes, "must be a JSON object"),
            ("{", FilterScope::MessageAttributes, "failed to parse JSON"),
            (
                r#"{"a":"x"}"#,
                FilterScope::MessageAttributes,
                "must be an array or an object",
            ),
            (r#"{"a":[]}"#, FilterScope::MessageAttributes, "Empty arrays"),
            (
                r#"{"a":{"b":["x"]}}"#,
                FilterScope::MessageAttributes,
                "does not support nested",
            ),
            (
                r#"{"a":[{"nope":1}]}"#,
                FilterScope::MessageAttributes,
                "Unrecognized match type nope",
            ),
            (
                r#"{"a":[{"prefix":1}]}"#,
                FilterScope::MessageAttributes,
                "prefix match pattern",
            ),
            (
                r#"{"a":[{"exists":"yes"}]}"#,
                FilterScope::MessageAttributes,
                "either true or false",
            ),
            (
                r#"{"a":[{"numeric":[">"]}]}"#,
                FilterScope::MessageAttributes,
                "Too many elements",
            ),
            (
                r#"{"a":[{"numeric":["<",1,">",0]}]}"#,
                FilterScope::MessageAttributes,
                "Bad numeric range",
            ),
            (
                r#"{"a":[{"numeric":[">",5,"<",1]}]}"#,
                FilterScope::MessageAttributes,
                "Bottom must be less than top",
            ),
            (
                r#"{"a":[{"numeric":["~",1]}]}"#,
                FilterScope::MessageAttributes,
                "Unrecognized numeric range operator",
            ),
            (
                r#"{"a":[{"numeric":[">",1e10]}]}"#,
                FilterScope::MessageAttributes,
                "between -1.0E9 and 1.0E9",
            ),
            (
                r#"{"a":[{"cidr":"10.0.0.0"}]}"#,
                FilterScope::MessageAttributes,
                "Malformed CIDR",
            ),
            (
                r#"{"a":[{"cidr":"10.0.0.0/33"}]}"#,
                FilterScope::MessageAttributes,
                "Nonstandard IP",
            ),
            (
                r#"{"a":[{"anything-but":[]}]}"#,
                FilterScope::MessageAttributes,
                "Empty arrays",
            ),
            (
                r#"{"a":[{"anything-but":{"wildcard":"x"}}]}"#,
                FilterScope::MessageAttributes,
                "Unsupported anything-but",
            ),
            (r#"{"a":[true]}"#, FilterScope::MessageAttributes, "Match value must be"),
            (
                r#"{"$or":[{"a":["x"]}]}"#,
                FilterScope::MessageAttributes,
                "at least two",
            ),
            (
                r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#,
                FilterScope::MessageAttributes,
                "more than 5 keys",
            ),
            (
                r#"{"a":[1,2,3,4,5,6],"b":[1,2,3,4,5,6],"c":[1,2,3,4,5]}"#,
                FilterScope::MessageAttributes,
                "too complex",
            ),
            (
                r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":["x"]}}}}}}}"#,
                FilterScope::MessageBody,
                "too deeply nested",
            ),
        ];
        for (policy, scope, reason) in table {
            let err = FilterPolicy::parse(policy, *scope).expect_err(policy);
            assert!(err.0.contains(reason), "{policy}: {err}");
        }
        let big = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES));
        assert!(FilterPolicy::parse(&big, FilterScope::MessageAttributes).is_err());
        // At the limits.
        assert!(FilterPolicy::parse(
            r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"]}"#,
            FilterScope::MessageAttributes
        )
        .is_ok());
        assert!(FilterPolicy::parse(
            r#"{"a":[1,2,3,4,5,6],"b":[1,2,3,4,5],"c":[1,2,3,4,5]}"#,
            FilterScope::MessageAttributes
        )
        .is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic generator of JSON-ish text from policy fragments.
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"a\"",
            "\"$or\"",
            "\"numeric\"",
            "\"anything-but\"",
            "\"cidr\"",
            "\"exists\"",
            "\"prefix\"",
            "1",
            "-1e99",
            "true",
            "null",
            "\"10.0.0.0/8\"",
            "\">\"",
            "\"x\"",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            for scope in [FilterScope::MessageAttributes, FilterScope::MessageBody] {
                if let Ok(policy) = FilterPolicy::parse(&text, scope) {
                    let _ = policy.matches_body(&serde_json::json!({"a": [1, "x", {"a": null}]}));
                    let _ = policy.matches_attributes(&|_: &str| None);
                }
            }
        }
    }
}
