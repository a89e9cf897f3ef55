//! Amazon SNS subscription filter policies, as the SNS developer guide describes them
//! ("Amazon SNS subscription filter policies", "Filter policy constraints").
//!
//! # Parts
//! - [`FilterPolicy::parse`]: policy text → a validated tree of ANDed leaf conditions and `$or`
//!   alternatives. Refusals carry AWS's own message ([`FilterPolicyError`]); after the syntax, SNS's
//!   limits apply: [`MAX_POLICY_BYTES`], [`MAX_KEYS`] top-level keys, [`MAX_COMBINATIONS`] combinations.
//! - [`FilterPolicy::matches_attributes`]: the MessageAttributes scope ([`AttributeRef`]).
//! - [`FilterPolicy::matches_body`]: the MessageBody scope.
//! - Unit tests, at the bottom.
//!
//! # Why it is built this way
//! SNS compiles policies with AWS's rule engine (github.com/aws/event-ruler), so the refusal texts
//! and a few corner cases follow that engine: field paths are joined with `.` on both sides (a
//! policy key `"a.b"` and a body `{"a": {"b": …}}` address the same property), an `"$or"` that
//! is not a well-formed OR (an array of at least two objects without reserved keywords) is
//! re-read as an ordinary field name, and numbers compare at six decimal places. Strings only
//! match strings, numbers only numbers: a `Number` attribute is a number, a `String` attribute
//! a string, and `String.Array` elements keep their JSON type. A key "exists" when at least one
//! value sits at its path; arrays anywhere on the path are searched element by element.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

/// Largest policy SNS accepts, in bytes (256 KB).
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Most top-level keys (property names) a policy may use.
pub const MAX_KEYS: usize = 5;
/// Most value combinations a policy may express.
pub const MAX_COMBINATIONS: u64 = 150;

// AWS bounds the numbers of `numeric` and `anything-but` conditions to ±10^9.
const NUMERIC_LIMIT: f64 = 1e9;
// AWS promises five decimal places; its engine keeps six, so values differing only past the
// sixth decimal compare equal.
const NUMERIC_SCALE: f64 = 1e6;

const OR_KEY: &str = "$or";
// Field names the engine refuses inside `$or` branches, which sends the policy down the path
// that reads `"$or"` as a plain field name.
#[rustfmt::skip]
const RESERVED_IN_OR: &[&str] = &[
    "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric", "cidr",
    "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
    "ip-address-not-in-range",
];

// AWS sends this one without the usual "FilterPolicy: " lead-in.
const NESTED_ATTRS: &str = "Filter policy scope MessageAttributes does not support nested filter policy";
const ONLY_ONE_KEY: &str = "Only one key allowed in match expression";
const TOO_MANY_ELEMENTS: &str = "Too many elements in numeric expression";
const MATCH_VALUE_TYPE: &str = "Match value must be String, number, true, false, or null";
const EMPTY_OBJECT: &str = "Empty objects are not allowed";
const OUT_OF_RANGE: &str = "Value must be between -1.0E9 and 1.0E9, inclusive";
const MIXED_ANYTHING_BUT: &str =
    "Inside anything but list, either all values are number or string, mixed type is not supported";

/// Which part of a message a policy filters on (the subscription's FilterPolicyScope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterScope {
    /// The message attributes (the default scope).
    MessageAttributes,
    /// The message body, parsed as a JSON object.
    MessageBody,
}

/// A parsed, validated filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    scope: FilterScope,
    root: Conj,
}

/// Why a policy was refused; Display gives AWS's message text (the part after "Invalid parameter: FilterPolicy: ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPolicyError(pub String);

impl FilterPolicyError {
    /// The whole text AWS puts after "Invalid parameter: " (most refusals sit under "FilterPolicy: ").
    pub fn parameter_message(&self) -> String {
        if self.0 == NESTED_ATTRS {
            self.0.clone()
        } else {
            format!("FilterPolicy: {}", self.0)
        }
    }
}

impl fmt::Display for FilterPolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    /// The attribute's data type: `String`, `String.Array`, `Number`, `Binary`, maybe with a custom suffix.
    pub data_type: &'a str,
    /// Its string value (absent for Binary).
    pub string_value: Option<&'a str>,
}

/// Conditions that must all hold, plus groups of alternatives of which one must hold.
#[derive(Debug, Clone, PartialEq, Default)]
struct Conj {
    leaves: Vec<Leaf>,
    ors: Vec<Vec<Conj>>,
}

/// The values listed under one property; any one of them matching is enough.
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    segments: Vec<String>,
    key: String,
    conds: Vec<Cond>,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Prefix(String),
    Suffix(String),
    // Lower-cased once here, so matching folds only the message side.
    EqualsIgnoreCase(String),
    AnythingBut(AnythingBut),
    Range(NumRange),
    Exists(bool),
    Cidr(Cidr),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Strs(Vec<String>),
    Nums(Vec<f64>),
    Prefix(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct NumRange {
    low: Option<Bound>,
    high: Option<Bound>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    v6: bool,
    low: u128,
    high: u128,
}

/// A message value at a property's path.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Null,
    // Present but of no comparable type (a Number attribute that is not a number).
    Opaque,
}

impl FilterPolicy {
    /// Parses and validates `policy` for `scope`, refusing what SNS refuses.
    pub fn parse(policy: &str, scope: FilterScope) -> Result<FilterPolicy, FilterPolicyError> {
        if policy.len() > MAX_POLICY_BYTES {
            return refuse("Filter policy can not be larger than 256 KB");
        }
        let Ok(value) = serde_json::from_str::<Value>(policy) else {
            return refuse("failed to parse JSON.");
        };
        let Value::Object(object) = &value else {
            return refuse("Filter is not an object");
        };
        // Like AWS's engine: when `$or` cannot be read as an OR, read it again as a field name and
        // report that reading's error.
        let root = Compiler { or_enabled: true }
            .root(object)
            .or_else(|_| Compiler { or_enabled: false }.root(object))?;
        if scope == FilterScope::MessageAttributes && root.has_nested() {
            return refuse(NESTED_ATTRS);
        }
        let mut names = BTreeSet::new();
        root.top_names(&mut names);
        if names.len() > MAX_KEYS {
            return refuse("Filter policy can not have more than 5 keys");
        }
        if root.complexity() > MAX_COMBINATIONS {
            return refuse("Filter policy is too complex");
        }
        Ok(FilterPolicy { scope, root })
    }

    /// The scope the policy was parsed for.
    pub fn scope(&self) -> FilterScope {
        self.scope
    }

    /// Whether the policy is `{}`, which lets every message through.
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// MessageAttributes scope: `attrs` gives an attribute by name.
    pub fn matches_attributes<'a>(&self, attrs: &dyn Fn(&str) -> Option<AttributeRef<'a>>) -> bool {
        self.root
            .matches(&|leaf: &Leaf| with_attribute_values(attrs(&leaf.key), |vals| leaf.matches(vals)))
    }

    /// MessageBody scope: the body parsed as JSON (a body that is not JSON never matches a non-empty policy; the caller handles that).
    pub fn matches_body(&self, body: &Value) -> bool {
        if self.root.is_empty() {
            return true;
        }
        // SNS assumes the payload is a JSON object; anything else has no properties to match.
        let Value::Object(top) = body else {
            return false;
        };
        let mut keys = Vec::new();
        self.root.collect_keys(&mut keys);
        let found = body_values(top, &keys);
        self.root
            .matches(&|leaf: &Leaf| leaf.matches(found.get(leaf.key.as_str()).map_or(&[], Vec::as_slice)))
    }
}

#[derive(Clone, Copy)]
struct Compiler {
    or_enabled: bool,
}

impl Compiler {
    fn root(self, object: &Map<String, Value>) -> Result<Conj, FilterPolicyError> {
        let mut conj = Conj::default();
        self.object(object, &[], false, &mut conj)?;
        Ok(conj)
    }

    fn object(
        self,
        object: &Map<String, Value>,
        path: &[String],
        in_or: bool,
        conj: &mut Conj,
    ) -> Result<(), FilterPolicyError> {
        for (key, value) in object {
            if self.or_enabled && key == OR_KEY {
                conj.ors.push(self.alternatives(value, path)?);
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
                return refuse(format!(
                    "{key} is Ruler reserved fieldName which cannot be used inside $or."
                ));
            }
            let mut child = path.to_vec();
            child.push(key.clone());
            match value {
                Value::Object(inner) if inner.is_empty() => return refuse(EMPTY_OBJECT),
                Value::Object(inner) => self.object(inner, &child, in_or, conj)?,
                Value::Array(items) => conj.leaves.push(Leaf::new(child, values(items)?)),
                _ => return refuse(format!("\"{key}\" must be an object or an array")),
            }
        }
        Ok(())
    }

    fn alternatives(self, value: &Value, path: &[String]) -> Result<Vec<Conj>, FilterPolicyError> {
        let Value::Array(items) = value else {
            return refuse("It must be an Array followed with $or.");
        };
        let mut branches = Vec::new();
        for item in items {
            let Value::Object(object) = item else {
                return refuse("Only JSON object is allowed in array of $or relationship.");
            };
            if object.is_empty() {
                return refuse(EMPTY_OBJECT);
            }
            let mut branch = Conj::default();
            self.object(object, path, true, &mut branch)?;
            branches.push(branch);
        }
        if branches.len() < 2 {
            return refuse("There must have at least 2 Objects in $or relationship.");
        }
        Ok(branches)
    }
}

fn values(items: &[Value]) -> Result<Vec<Cond>, FilterPolicyError> {
    let mut conds = Vec::with_capacity(items.len());
    for item in items {
        conds.push(match item {
            Value::Object(expression) => match_expression(expression)?,
            Value::String(text) => Cond::Str(text.clone()),
            Value::Number(number) => match number.as_f64() {
                Some(x) => Cond::Num(x),
                None => return refuse(MATCH_VALUE_TYPE),
            },
            Value::Bool(b) => Cond::Bool(*b),
            Value::Null => Cond::Null,
            Value::Array(_) => return refuse(MATCH_VALUE_TYPE),
        });
    }
    if conds.is_empty() {
        return refuse("Empty arrays are not allowed");
    }
    Ok(conds)
}

fn match_expression(expression: &Map<String, Value>) -> Result<Cond, FilterPolicyError> {
    // serde_json keeps keys sorted, so with several keys the first one read is the smallest; AWS
    // reads them in document order, which only changes which of two errors is reported.
    let Some((name, value)) = expression.iter().next() else {
        return refuse("Match expression name not found");
    };
    let extra_keys = expression.len() > 1;
    let single = |cond: Cond| {
        if extra_keys {
            refuse(ONLY_ONE_KEY)
        } else {
            Ok(cond)
        }
    };
    let text = |what: &str| match value {
        Value::String(s) => Ok(s.clone()),
        _ => refuse(format!("{what} match pattern must be a string")),
    };
    match name.as_str() {
        "prefix" => single(Cond::Prefix(text("prefix")?)),
        "suffix" => single(Cond::Suffix(text("suffix")?)),
        "equals-ignore-case" => single(Cond::EqualsIgnoreCase(text("equals-ignore-case")?.to_lowercase())),
        "numeric" => {
            let Value::Array(items) = value else {
                return refuse("Value of numeric must be an array.");
            };
            let range = numeric(items)?;
            if extra_keys {
                return refuse(TOO_MANY_ELEMENTS);
            }
            Ok(Cond::Range(range))
        }
        "anything-but" => {
            let (anything_but, extra_key_refusal) = anything_but(value)?;
            if extra_keys {
                return refuse(extra_key_refusal);
            }
            Ok(Cond::AnythingBut(anything_but))
        }
        "exists" => match value {
            Value::Bool(b) => single(Cond::Exists(*b)),
            _ => refuse("exists match pattern must be either true or false."),
        },
        // AWS's engine really does call the CIDR operand a prefix here.
        "cidr" => single(Cond::Cidr(parse_cidr(&text("prefix")?)?)),
        other => refuse(format!("Unrecognized match type {other}")),
    }
}

// Also returns the refusal for a match expression with keys besides "anything-but", which
// differs between the object form and the others in AWS's engine.
fn anything_but(value: &Value) -> Result<(AnythingBut, &'static str), FilterPolicyError> {
    match value {
        Value::Object(inner) => {
            let Some((op, operand)) = inner.iter().next() else {
                return refuse("Anything-But expression name not found");
            };
            // SNS accepts only `prefix` here (suffix and equals-ignore-case are refused).
            if op != "prefix" {
                return refuse(format!("Unsupported anything-but pattern: {op}"));
            }
            let Value::String(prefix) = operand else {
                return refuse("prefix match pattern must be a string");
            };
            if inner.len() > 1 {
                return refuse(ONLY_ONE_KEY);
            }
            Ok((AnythingBut::Prefix(prefix.clone()), ONLY_ONE_KEY))
        }
        Value::Array(items) => {
            let (mut strs, mut nums) = (Vec::new(), Vec::new());
            for item in items {
                match item {
                    Value::String(s) => strs.push(s.clone()),
                    Value::Number(n) => nums.push(bounded(n.as_f64())?),
                    _ => return refuse("Inside anything but list, start|null|boolean is not supported."),
                }
            }
            match (strs.is_empty(), nums.is_empty()) {
                (false, true) => Ok((AnythingBut::Strs(strs), TOO_MANY_ELEMENTS)),
                (true, false) => Ok((AnythingBut::Nums(nums), TOO_MANY_ELEMENTS)),
                _ => refuse(MIXED_ANYTHING_BUT),
            }
        }
        Value::String(s) => Ok((AnythingBut::Strs(vec![s.clone()]), TOO_MANY_ELEMENTS)),
        Value::Number(n) => Ok((AnythingBut::Nums(vec![bounded(n.as_f64())?]), TOO_MANY_ELEMENTS)),
        _ => refuse("Value of anything-but must be an array or single string/number value."),
    }
}

fn bounded(x: Option<f64>) -> Result<f64, FilterPolicyError> {
    match x {
        Some(x) if (-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&x) => Ok(x),
        _ => refuse(OUT_OF_RANGE),
    }
}

// How AWS's JSON parser names a token in its messages.
fn token_text(token: Option<&Value>) -> String {
    match token {
        None => "]".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(_)) => "[".to_owned(),
        Some(Value::Object(_)) => "{".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn operand(token: Option<&Value>, message: String) -> Result<f64, FilterPolicyError> {
    match token {
        Some(Value::Number(n)) => n.as_f64().map_or_else(|| refuse(message), Ok),
        _ => refuse(message),
    }
}

// Reads the tokens in the order AWS's engine does, so the first problem found is the one reported.
fn numeric(items: &[Value]) -> Result<NumRange, FilterPolicyError> {
    let mut tokens = items.iter();
    let first = tokens.next();
    let Some(Value::String(op)) = first else {
        return refuse(format!("Invalid member in numeric match: {}", token_text(first)));
    };
    match op.as_str() {
        "=" => {
            let value = operand(tokens.next(), "Value of equals must be numeric".to_owned())?;
            if tokens.next().is_some() {
                return refuse(TOO_MANY_ELEMENTS);
            }
            let value = bounded(Some(value))?;
            Ok(NumRange::new(Bound::new(value, true), Bound::new(value, true)))
        }
        ">" | ">=" => {
            let bottom = operand(tokens.next(), format!("Value of {op} must be numeric"))?;
            let low = Bound::new(bottom, op == ">=");
            let Some(token) = tokens.next() else {
                bounded(Some(bottom))?;
                return Ok(NumRange::new(low, None));
            };
            let Value::String(top_op) = token else {
                return refuse(format!("Bad value in numeric range: {}", token_text(Some(token))));
            };
            if top_op != "<" && top_op != "<=" {
                return refuse(format!("Bad numeric range operator: {top_op}"));
            }
            let top = operand(tokens.next(), format!("Value of {top_op} must be numeric"))?;
            if tokens.next().is_some() {
                return refuse("Too many terms in numeric range expression");
            }
            if num_cmp(top, bottom) != Ordering::Greater {
                return refuse("Bottom must be less than top");
            }
            bounded(Some(bottom))?;
            bounded(Some(top))?;
            Ok(NumRange::new(low, Bound::new(top, top_op == "<=")))
        }
        "<" | "<=" => {
            let top = operand(tokens.next(), format!("Value of {op} must be numeric"))?;
            if tokens.next().is_some() {
                return refuse(TOO_MANY_ELEMENTS);
            }
            let top = bounded(Some(top))?;
            Ok(NumRange::new(None, Bound::new(top, op == "<=")))
        }
        _ => refuse(format!("Unrecognized numeric range operator: {op}")),
    }
}

// The engine's CIDR rules: Java `split("/")` (trailing empty parts dropped), `Integer.parseInt`
// mask bits, /32 and /128 refused, and a range from the address as written to its last host.
fn parse_cidr(text: &str) -> Result<Cidr, FilterPolicyError> {
    let mut parts: Vec<&str> = text.split('/').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    let [address, mask] = parts.as_slice() else {
        return refuse("Malformed CIDR, one '/' required");
    };
    let Ok(mask) = mask.parse::<i32>() else {
        return refuse("Malformed CIDR, mask bits must be an integer");
    };
    let Ok(mask) = u32::try_from(mask) else {
        return refuse("Malformed CIDR, mask bits must not be negative");
    };
    let (v6, low) = match parse_ip(address) {
        IpText::V4(ip) => (false, u128::from(u32::from(ip))),
        IpText::V6(ip) => (true, u128::from(ip)),
        IpText::Invalid => return refuse(format!("Invalid IP address: {address}")),
        IpText::NotIp => return refuse(format!("Nonstandard IP address: {address}")),
    };
    let bits = if v6 { 128 } else { 32 };
    if mask >= bits {
        return refuse(if v6 {
            "IPv6 mask bits must be < 128"
        } else {
            "IPv4 mask bits must be < 32"
        });
    }
    let host_mask = u128::MAX.checked_shr(128 - (bits - mask)).unwrap_or(0);
    Ok(Cidr {
        v6,
        low,
        high: low | host_mask,
    })
}

enum IpText {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    // Shaped like an address but not one.
    Invalid,
    NotIp,
}

// The engine only treats text as an address when it has the shape of one (digits and dots, or
// hex digits and colons), so "::ffff:1.2.3.4" and host names are not addresses.
fn parse_ip(text: &str) -> IpText {
    let v4_shape = text.split('.').count() == 4
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let v6_shape = text.contains(':') && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    if v4_shape {
        text.parse().map_or(IpText::Invalid, IpText::V4)
    } else if v6_shape {
        text.parse().map_or(IpText::Invalid, IpText::V6)
    } else {
        IpText::NotIp
    }
}

impl Cidr {
    fn contains(&self, text: &str) -> bool {
        let (v6, ip) = match parse_ip(text) {
            IpText::V4(ip) => (false, u128::from(u32::from(ip))),
            IpText::V6(ip) => (true, u128::from(ip)),
            IpText::Invalid | IpText::NotIp => return false,
        };
        v6 == self.v6 && self.low <= ip && ip <= self.high
    }
}

fn num_cmp(a: f64, b: f64) -> Ordering {
    let (sa, sb) = ((a * NUMERIC_SCALE).round(), (b * NUMERIC_SCALE).round());
    match sa.partial_cmp(&sb) {
        Some(order) if sa.is_finite() && sb.is_finite() => order,
        _ => a.total_cmp(&b),
    }
}

impl Bound {
    fn new(value: f64, inclusive: bool) -> Option<Bound> {
        Some(Bound { value, inclusive })
    }
}

impl NumRange {
    fn new(low: Option<Bound>, high: Option<Bound>) -> NumRange {
        NumRange { low, high }
    }

    fn contains(&self, x: f64) -> bool {
        let above = self.low.is_none_or(|b| match num_cmp(x, b.value) {
            Ordering::Greater => true,
            Ordering::Equal => b.inclusive,
            Ordering::Less => false,
        });
        let below = self.high.is_none_or(|b| match num_cmp(x, b.value) {
            Ordering::Less => true,
            Ordering::Equal => b.inclusive,
            Ordering::Greater => false,
        });
        above && below
    }
}

impl AnythingBut {
    fn excludes(&self, value: Val<'_>) -> bool {
        match (self, value) {
            (AnythingBut::Strs(list), Val::Str(s)) => list.iter().any(|x| x == s),
            (AnythingBut::Nums(list), Val::Num(n)) => list.iter().any(|x| num_cmp(n, *x) == Ordering::Equal),
            (AnythingBut::Prefix(p), Val::Str(s)) => s.starts_with(p.as_str()),
            _ => false,
        }
    }
}

impl Cond {
    fn accepts(&self, value: Val<'_>) -> bool {
        match (self, value) {
            (Cond::Str(s), Val::Str(v)) => s == v,
            (Cond::Num(n), Val::Num(v)) => num_cmp(v, *n) == Ordering::Equal,
            (Cond::Bool(b), Val::Bool(v)) => *b == v,
            (Cond::Null, Val::Null) => true,
            (Cond::Prefix(p), Val::Str(v)) => v.starts_with(p.as_str()),
            (Cond::Suffix(p), Val::Str(v)) => v.ends_with(p.as_str()),
            (Cond::EqualsIgnoreCase(p), Val::Str(v)) => v.to_lowercase() == *p,
            (Cond::AnythingBut(a), v) => !a.excludes(v),
            (Cond::Range(r), Val::Num(v)) => r.contains(v),
            (Cond::Cidr(c), Val::Str(v)) => c.contains(v),
            _ => false,
        }
    }
}

impl Leaf {
    fn new(segments: Vec<String>, conds: Vec<Cond>) -> Leaf {
        let key = segments.join(".");
        Leaf { segments, key, conds }
    }

    fn matches(&self, values: &[Val<'_>]) -> bool {
        self.conds.iter().any(|cond| match cond {
            Cond::Exists(wanted) => values.is_empty() != *wanted,
            cond => values.iter().any(|v| cond.accepts(*v)),
        })
    }
}

impl Conj {
    fn is_empty(&self) -> bool {
        self.leaves.is_empty() && self.ors.is_empty()
    }

    fn matches(&self, leaf_matches: &dyn Fn(&Leaf) -> bool) -> bool {
        self.leaves.iter().all(leaf_matches)
            && self
                .ors
                .iter()
                .all(|branches| branches.iter().any(|b| b.matches(leaf_matches)))
    }

    fn has_nested(&self) -> bool {
        self.leaves.iter().any(|l| l.segments.len() > 1) || self.ors.iter().flatten().any(Conj::has_nested)
    }

    fn top_names<'p>(&'p self, names: &mut BTreeSet<&'p str>) {
        names.extend(
            self.leaves
                .iter()
                .filter_map(|l| l.segments.first())
                .map(String::as_str),
        );
        for branch in self.ors.iter().flatten() {
            branch.top_names(names);
        }
    }

    fn collect_keys<'p>(&'p self, keys: &mut Vec<&'p str>) {
        keys.extend(self.leaves.iter().map(|l| l.key.as_str()));
        for branch in self.ors.iter().flatten() {
            branch.collect_keys(keys);
        }
    }

    // AWS's count: each ANDed array contributes (values × nesting depth), the products of `$or`
    // branches add up. Multiplying out sums this way never expands the branches themselves.
    fn complexity(&self) -> u64 {
        let mut total = 1u64;
        for leaf in &self.leaves {
            let depth = u64::try_from(leaf.segments.len()).unwrap_or(u64::MAX);
            let count = u64::try_from(leaf.conds.len()).unwrap_or(u64::MAX);
            total = total.saturating_mul(count.saturating_mul(depth));
        }
        for branches in &self.ors {
            let mut alternatives = 0u64;
            for branch in branches {
                alternatives = alternatives.saturating_add(branch.complexity());
            }
            total = total.saturating_mul(alternatives);
        }
        total
    }
}

enum AttributeKind {
    String,
    Number,
    Array,
    Binary,
}

impl AttributeKind {
    fn of(data_type: &str) -> AttributeKind {
        let base = data_type.split('.').next().unwrap_or(data_type);
        // "Number.Array" appears in AWS's numeric anything-but example.
        if data_type == "String.Array" || data_type == "Number.Array" {
            AttributeKind::Array
        } else if base == "Number" {
            AttributeKind::Number
        } else if base == "Binary" {
            AttributeKind::Binary
        } else {
            AttributeKind::String
        }
    }
}

fn with_attribute_values(attr: Option<AttributeRef<'_>>, then: impl FnOnce(&[Val<'_>]) -> bool) -> bool {
    let Some(AttributeRef {
        data_type,
        string_value: Some(text),
    }) = attr
    else {
        return then(&[]);
    };
    match AttributeKind::of(data_type) {
        // SNS ignores Binary attributes: they match nothing and do not count as present.
        AttributeKind::Binary => then(&[]),
        AttributeKind::String => then(&[Val::Str(text)]),
        AttributeKind::Number => match text.parse::<f64>() {
            Ok(x) if x.is_finite() => then(&[Val::Num(x)]),
            _ => then(&[Val::Opaque]),
        },
        AttributeKind::Array => {
            let parsed = serde_json::from_str::<Value>(text).ok();
            let mut vals = Vec::new();
            if let Some(Value::Array(items)) = &parsed {
                for item in items {
                    push_scalars(item, &mut vals);
                }
            }
            then(&vals)
        }
    }
}

fn scalar(value: &Value) -> Val<'_> {
    match value {
        Value::String(s) => Val::Str(s),
        Value::Number(n) => n.as_f64().map_or(Val::Opaque, Val::Num),
        Value::Bool(b) => Val::Bool(*b),
        Value::Null => Val::Null,
        Value::Array(_) | Value::Object(_) => Val::Opaque,
    }
}

// Nested arrays stay at the same path; objects inside an attribute array have no path a
// policy can name.
fn push_scalars<'v>(root: &'v Value, out: &mut Vec<Val<'v>>) {
    let mut stack = vec![root];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(_) => {}
            other => out.push(scalar(other)),
        }
    }
}

// Every scalar in `top` whose `.`-joined path is one of `keys`; arrays on the way are entered
// element by element, and branches no key can lie under are skipped.
fn body_values<'p, 'v>(top: &'v Map<String, Value>, keys: &[&'p str]) -> HashMap<&'p str, Vec<Val<'v>>> {
    let relevant = |path: &str| {
        keys.iter().any(|k| {
            k.strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    };
    let mut found: HashMap<&'p str, Vec<Val<'v>>> = HashMap::new();
    let mut stack: Vec<(String, &'v Value)> = top
        .iter()
        .filter(|(k, _)| relevant(k))
        .map(|(k, v)| (k.clone(), v))
        .collect();
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(children) => {
                for (k, child) in children {
                    let child_path = format!("{path}.{k}");
                    if relevant(&child_path) {
                        stack.push((child_path, child));
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|item| (path.clone(), item))),
            other => {
                if let Some(key) = keys.iter().find(|k| **k == path) {
                    found.entry(*key).or_default().push(scalar(other));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests;
