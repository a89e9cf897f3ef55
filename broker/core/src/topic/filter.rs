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
mod tests {
    use super::*;

    use FilterScope::{MessageAttributes as Attrs, MessageBody as Body};

    type Attr<'a> = (&'a str, &'a str, &'a str);

    fn matches_attrs(policy: &str, attrs: &[Attr<'_>]) -> bool {
        let parsed = FilterPolicy::parse(policy, Attrs).unwrap_or_else(|e| panic!("{policy}: {e}"));
        let lookup = |name: &str| {
            attrs
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, t, v)| attr_ref(t, v))
        };
        parsed.matches_attributes(&lookup)
    }

    // Binary attributes carry no string value.
    fn attr_ref<'a>(data_type: &'a str, value: &'a str) -> AttributeRef<'a> {
        let string_value = (!data_type.starts_with("Binary")).then_some(value);
        AttributeRef {
            data_type,
            string_value,
        }
    }

    fn matches_body(policy: &str, body: &str) -> bool {
        let parsed = FilterPolicy::parse(policy, Body).unwrap_or_else(|e| panic!("{policy}: {e}"));
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        parsed.matches_body(&body)
    }

    const S: &str = "String";
    const N: &str = "Number";
    const SA: &str = "String.Array";

    #[rustfmt::skip]
    const ATTRIBUTE_CASES: &[(&str, &[Attr<'static>], bool)] = &[
        // exact strings; OR within a key, case-sensitive
        (r#"{"a":["x","y"]}"#, &[("a", S, "x")], true),
        (r#"{"a":["x","y"]}"#, &[("a", S, "y")], true),
        (r#"{"a":["x","y"]}"#, &[("a", S, "z")], false),
        (r#"{"a":["x","y"]}"#, &[], false),
        (r#"{"a":["x","y"]}"#, &[("b", S, "x")], false),
        (r#"{"a":["Rugby"]}"#, &[("a", S, "rugby")], false),
        (r#"{"a":[""]}"#, &[("a", S, "")], true),
        (r#"{"a":["x"]}"#, &[("a", "String.custom", "x")], true),
        // String.Array: any element
        (r#"{"a":["rugby","tennis"]}"#, &[("a", SA, r#"["rugby","hockey"]"#)], true),
        (r#"{"a":["rugby","tennis"]}"#, &[("a", SA, r#"["baseball"]"#)], false),
        (r#"{"a":["rugby"]}"#, &[("a", SA, "[]")], false),
        (r#"{"a":["rugby"]}"#, &[("a", SA, "not json")], false),
        (r#"{"a":[5]}"#, &[("a", SA, "[5, 6]")], true),
        (r#"{"a":["5"]}"#, &[("a", SA, "[5]")], false),
        (r#"{"a":[true]}"#, &[("a", SA, "[true]")], true),
        (r#"{"a":[false]}"#, &[("a", SA, "[true]")], false),
        (r#"{"a":[null]}"#, &[("a", SA, "[null]")], true),
        (r#"{"a":["x"]}"#, &[("a", SA, r#"[["x"]]"#)], true),
        // numbers: Number attributes compare numerically, never with strings
        (r#"{"a":[5]}"#, &[("a", N, "5")], true),
        (r#"{"a":[300]}"#, &[("a", N, "3e2")], true),
        (r#"{"a":[300]}"#, &[("a", N, "300.0")], true),
        (r#"{"a":[300]}"#, &[("a", "Number.int", "300")], true),
        (r#"{"a":[300]}"#, &[("a", N, "300.1")], false),
        (r#"{"a":[300]}"#, &[("a", S, "300")], false),
        (r#"{"a":["300"]}"#, &[("a", N, "300")], false),
        (r#"{"a":[0.3]}"#, &[("a", N, "0.30000000000000004")], true),
        (r#"{"a":[10000000000]}"#, &[("a", N, "1e10")], true),
        // null and booleans
        (r#"{"a":[null]}"#, &[], false),
        (r#"{"a":[null, {"anything-but":"whatever"}]}"#, &[], false),
        (r#"{"a":[true]}"#, &[("a", S, "true")], false),
        // prefix / suffix / equals-ignore-case
        (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "baseball")], true),
        (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "basketball")], true),
        (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "rugby")], false),
        (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "ba")], false),
        (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", SA, r#"["rugby","basketball"]"#)], true),
        (r#"{"a":[{"prefix":"1"}]}"#, &[("a", N, "123")], false),
        (r#"{"a":[{"prefix":"bas"}]}"#, &[], false),
        (r#"{"a":[{"suffix":".png"}]}"#, &[("a", S, "image.png")], true),
        (r#"{"a":[{"suffix":".png"}]}"#, &[("a", S, "image.jpg")], false),
        (r#"{"a":[{"suffix":".png"}]}"#, &[("a", S, ".PNG")], false),
        (r#"{"a":[{"equals-ignore-case":"RuGbY"}]}"#, &[("a", S, "rugby")], true),
        (r#"{"a":[{"equals-ignore-case":"RuGbY"}]}"#, &[("a", S, "RUGBY")], true),
        (r#"{"a":[{"equals-ignore-case":"RuGbY"}]}"#, &[("a", S, "rugbyx")], false),
        (r#"{"a":[{"equals-ignore-case":"ÉTÉ"}]}"#, &[("a", S, "été")], true),
        // anything-but: strings, numbers, prefix; absent keys never match it
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", S, "baseball")], true),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", S, "rugby")], false),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[], false),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", SA, r#"["rugby","baseball"]"#)], true),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", SA, r#"["rugby","tennis"]"#)], false),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", N, "5")], true),
        (r#"{"a":[{"anything-but":"rugby"}]}"#, &[("a", S, "rugby")], false),
        (r#"{"a":[{"anything-but":"rugby"}]}"#, &[("a", S, "football")], true),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "101")], true),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "100.1")], true),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "100")], false),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "1e2")], false),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", "Number.Array", "[100, 50]")], true),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", "Number.Array", "[100, 500]")], false),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", S, "100")], true),
        (r#"{"a":[{"anything-but":100}]}"#, &[("a", N, "100")], false),
        (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[("event", S, "data-entry")], true),
        (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[("event", S, "order_number")], true),
        (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[("event", S, "order-cancelled")], false),
        (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[], false),
        (r#"{"a":[{"anything-but":["x"]},{"exists":false}]}"#, &[], true),
        (r#"{"a":[{"anything-but":["x"]},{"exists":false}]}"#, &[("a", S, "x")], false),
        (r#"{"a":[{"anything-but":["x"]},{"exists":false}]}"#, &[("a", S, "y")], true),
        // numeric
        (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", N, "301.5")], true),
        (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", N, "3.015e2")], true),
        (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", N, "301.4")], false),
        (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", S, "301.5")], false),
        (r#"{"p":[{"numeric":["<",0]}]}"#, &[("p", N, "-1")], true),
        (r#"{"p":[{"numeric":["<",0]}]}"#, &[("p", N, "0")], false),
        (r#"{"p":[{"numeric":["<",0]}]}"#, &[("p", N, "-0.0000001")], false),
        (r#"{"p":[{"numeric":["<=",0]}]}"#, &[("p", N, "0")], true),
        (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "0")], false),
        (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "0.000001")], true),
        (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "75")], true),
        (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "150")], true),
        (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "150.000001")], false),
        (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "10")], true),
        (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "19.999")], true),
        (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "20")], false),
        (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "9.99999")], false),
        (r#"{"p":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, &[("p", N, "-1000000000")], true),
        (r#"{"p":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, &[("p", N, "1e9")], true),
        (r#"{"p":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, &[("p", N, "1000000000.5")], false),
        (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", SA, "[1, 200]")], true),
        (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", SA, r#"["200"]"#)], false),
        (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", N, "not-a-number")], false),
        (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", N, "inf")], false),
        // exists; Binary attributes are ignored altogether
        (r#"{"store":[{"exists":true}]}"#, &[("store", S, "fans")], true),
        (r#"{"store":[{"exists":true}]}"#, &[("store", N, "99"), ("def", N, "99")], true),
        (r#"{"store":[{"exists":true}]}"#, &[("customer_interests", SA, r#"["baseball"]"#)], false),
        (r#"{"store":[{"exists":true}]}"#, &[("store", "Binary", "")], false),
        (r#"{"store":[{"exists":true}]}"#, &[("store", N, "not-a-number")], true),
        (r#"{"store":[{"exists":false}]}"#, &[("def", N, "99")], true),
        (r#"{"store":[{"exists":false}]}"#, &[("store", N, "99")], false),
        (r#"{"store":[{"exists":false}]}"#, &[("store", "Binary.x", "")], true),
        (r#"{"store":["fans"]}"#, &[("store", "Binary", "fans")], false),
        // cidr, IPv4 and IPv6
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "10.0.0.0")], true),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "10.0.0.255")], true),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "10.1.1.0")], false),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "not-an-ip")], false),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "::ffff:10.0.0.1")], false),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", SA, r#"["1.1.1.1","10.0.0.7"]"#)], true),
        (r#"{"ip":[{"cidr":"0.0.0.0/0"}]}"#, &[("ip", S, "255.255.255.255")], true),
        // the engine's range starts at the address as written
        (r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, &[("ip", S, "10.0.0.4")], false),
        (r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, &[("ip", S, "10.0.0.9")], true),
        (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "2001:db8::1")], true),
        (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "2001:DB8:ffff:0:0:0:0:ff")], true),
        (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "2001:db9::1")], false),
        (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "10.0.0.1")], false),
        (r#"{"ip":[{"cidr":"::/0"}]}"#, &[("ip", S, "ffff::1")], true),
        // AND across keys
        (r#"{"a":["x"],"b":[{"numeric":[">",100]}]}"#, &[("a", S, "x"), ("b", N, "101")], true),
        (r#"{"a":["x"],"b":[{"numeric":[">",100]}]}"#, &[("a", S, "x"), ("b", N, "100")], false),
        (r#"{"a":["x"],"b":[{"numeric":[">",100]}]}"#, &[("a", S, "x")], false),
        (r#"{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}"#, &[("a", S, "yes")], true),
        (r#"{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}"#, &[("a", N, "6")], true),
        (r#"{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}"#, &[("a", S, "z")], false),
        // $or
        (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
            &[("source", S, "cw"), ("metricName", S, "CPU")], true),
        (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
            &[("source", S, "cw"), ("namespace", S, "EC2")], true),
        (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
            &[("source", S, "cw")], false),
        (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
            &[("metricName", S, "CPU")], false),
        (r#"{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}"#, &[("c", S, "3")], true),
        (r#"{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}"#, &[("c", S, "4")], false),
        (r#"{"$or":[{"a":["1"],"b":["2"]},{"c":[{"exists":false}]}]}"#, &[("a", S, "1"), ("c", S, "x")], false),
        (r#"{"$or":[{"a":["1"],"b":["2"]},{"c":[{"exists":false}]}]}"#, &[("d", S, "1")], true),
        // an "$or" that is not a valid OR is an attribute name
        (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, &[("$or", S, "abcd")], true),
        (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, &[("$or", N, "2")], true),
        (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, &[("$or", S, "x")], false),
        (r#"{"$or":["a","b"]}"#, &[("$or", S, "a")], true),
        // the empty policy lets everything through
        ("{}", &[], true),
        ("{}", &[("a", S, "x")], true),
    ];

    const S3_POLICY: &str = r#"{"Records":{"s3":{"object":{"key":[{"prefix":"auto-"}]}},
        "eventName":[{"prefix":"ObjectCreated:"}]}}"#;
    const OBJECT_POLICY: &str = r#"{"object":{"key":[{"prefix":"auto-"},"hardcodedvalue"],
        "nested_key":[{"exists":false}]},"test":[{"exists":false}]}"#;
    const OR_POLICY: &str = r#"{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},
        {"namespace":["AWS/EC2","AWS/ES"]}],"detail":{"scope":["Service"],
        "$or":[{"source":["aws.cloudwatch"]},{"type":["CloudWatch Alarm State Change"]}]}}"#;

    #[rustfmt::skip]
    const BODY_CASES: &[(&str, &str, bool)] = &[
        (r#"{"a":["x"]}"#, r#"{"a":"x"}"#, true),
        (r#"{"a":["x"]}"#, r#"{"a":"y"}"#, false),
        (r#"{"a":["x"]}"#, r#"{}"#, false),
        (r#"{"a":["x"]}"#, r#"{"a":["y","x"]}"#, true),
        (r#"{"a":["x"]}"#, r#"{"a":{"x":1}}"#, false),
        (r#"{"a":["x"]}"#, r#"{"b":{"a":"x"}}"#, false),
        // nested keys and exists (the AWS payload-filtering example)
        (OBJECT_POLICY, r#"{"object":{"key":"auto-test"}}"#, true),
        (OBJECT_POLICY, r#"{"object":{"key":"hardcodedvalue"}}"#, true),
        (OBJECT_POLICY, r#"{"object":{"key":"test-auto"}}"#, false),
        (OBJECT_POLICY, r#"{"object":{"key":"auto-test"},"test":"just-exists"}"#, false),
        (OBJECT_POLICY, r#"{"object":{"key":"auto-test","nested_key":"just-exists"}}"#, false),
        (OBJECT_POLICY, r#"{"object":{"test":"auto-test"}}"#, false),
        (OBJECT_POLICY, r#"{"test":"auto-test"}"#, false),
        // dotted names address the same property as nesting
        (r#"{"object.nested":["string.value"]}"#, r#"{"object":{"nested":"string.value"}}"#, true),
        (r#"{"object.nested":["string.value"]}"#, r#"{"object.nested":"string.value"}"#, true),
        (r#"{"object.nested":["string.value"]}"#, r#"{"object":{"nested":"test-auto"}}"#, false),
        (r#"{"object.nested.test":["v"]}"#, r#"{"object":{"nested":{"test":"v"}}}"#, true),
        (r#"{"object.nested.test":["v"]}"#, r#"{"object.nested.test":"v"}"#, true),
        (r#"{"object.nested.test":["v"]}"#, r#"{"object.nested":{"test":"v"}}"#, true),
        (r#"{"object.nested.test":["v"]}"#, r#"{"object":{"nested.test":"v"}}"#, true),
        (r#"{"object.nested.test":["v"]}"#, r#"{"object":{"nested":{"test":"w"}}}"#, false),
        (r#"{"object":{"nested":["v"]}}"#, r#"{"object.nested":"v"}"#, true),
        // arrays on the path
        (r#"{"headers":{"route-to":["queue1"]}}"#, r#"{"headers":{"route-to":["queue3"]}}"#, false),
        (r#"{"headers":{"route-to":["queue1"]}}"#, r#"{"headers":{"route-to":["queue1"]}}"#, true),
        (r#"{"headers":{"route-to":["queue1"]}}"#, r#"{"headers":{"route-to":["queue1","queue2"]}}"#, true),
        (r#"{"a":{"b":["x"]}}"#, r#"{"a":[{"b":"y"},{"b":[["x"]]}]}"#, true),
        (S3_POLICY, r#"{"Records":[{"eventName":"ObjectCreated:Put",
            "s3":{"object":{"key":"auto-insurance-2314.xml","size":17}}}]}"#, true),
        (S3_POLICY, r#"{"Records":[{"eventName":"ObjectRemoved:Delete",
            "s3":{"object":{"key":"auto-insurance-2314.xml","size":17}}}]}"#, false),
        (S3_POLICY, r#"{"Records":[{"eventName":"ObjectCreated:Put",
            "s3":{"object":{"key":"home-insurance-2314.xml","size":17}}}]}"#, false),
        (S3_POLICY, r#"{"Records":[{"eventName":"ObjectCreated:Put",
            "s3":{"object":[[{"key":"auto-insurance-2314.xml","size":17}]]}},
            {"eventName":"ObjectRemoved:Delete","s3":{"object":{"key":"home-insurance-2314.xml"}}}]}"#, true),
        // numbers, null, booleans keep their JSON type
        (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":101}"#, true),
        (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":"101"}"#, false),
        (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":[50,150]}"#, true),
        (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":[50,60]}"#, false),
        (r#"{"price":[300]}"#, r#"{"price":300.0}"#, true),
        (r#"{"price":[300]}"#, r#"{"price":3e2}"#, true),
        (r#"{"price":[300]}"#, r#"{"price":"300"}"#, false),
        (r#"{"price_usd":[{"numeric":["=",301.5]}]}"#, r#"{"price_usd":3.015e2}"#, true),
        (r#"{"a":[null]}"#, r#"{"a":null}"#, true),
        (r#"{"a":[null]}"#, r#"{}"#, false),
        (r#"{"a":[null]}"#, r#"{"a":"null"}"#, false),
        (r#"{"a":[true]}"#, r#"{"a":true}"#, true),
        (r#"{"a":[true]}"#, r#"{"a":"true"}"#, false),
        (r#"{"a":[{"prefix":"1"}]}"#, r#"{"a":123}"#, false),
        // exists needs a value at the path itself
        (r#"{"a":[{"exists":true}]}"#, r#"{"a":null}"#, true),
        (r#"{"a":[{"exists":true}]}"#, r#"{"a":[1]}"#, true),
        (r#"{"a":[{"exists":true}]}"#, r#"{"a":[]}"#, false),
        (r#"{"a":[{"exists":true}]}"#, r#"{"a":{"b":1}}"#, false),
        (r#"{"a":[{"exists":false}]}"#, r#"{"b":1}"#, true),
        (r#"{"a":[{"exists":false}]}"#, r#"{"a":{}}"#, true),
        (r#"{"a":[{"exists":false}]}"#, r#"{"a":0}"#, false),
        (r#"{"a":{"b":[{"exists":true}]}}"#, r#"{"a":[{"c":1},{"b":2}]}"#, true),
        (r#"{"a":{"b":[{"exists":true}]}}"#, r#"{"a":[{"c":1}]}"#, false),
        // anything-but and other operators on body values
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{"a":["rugby","baseball"]}"#, true),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{"a":"rugby"}"#, false),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{}"#, false),
        (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{"a":5}"#, true),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, r#"{"a":[100,50]}"#, true),
        (r#"{"a":[{"anything-but":[100,500]}]}"#, r#"{"a":100}"#, false),
        (r#"{"a":[{"anything-but":{"prefix":"x"}}]}"#, r#"{"a":"xy"}"#, false),
        (r#"{"a":[{"suffix":"fix"}]}"#, r#"{"a":"postfix"}"#, true),
        (r#"{"a":[{"equals-ignore-case":"abc"}]}"#, r#"{"a":"ABC"}"#, true),
        (r#"{"ip":[{"cidr":"192.168.0.0/16"}]}"#, r#"{"ip":"192.168.3.4"}"#, true),
        (r#"{"ip":[{"cidr":"192.168.0.0/16"}]}"#, r#"{"ip":"192.169.3.4"}"#, false),
        // $or at the top and nested
        (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
        (OR_POLICY, r#"{"metricName":"ReadLatency","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
        (OR_POLICY, r#"{"namespace":"AWS/EC2","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
        (OR_POLICY, r#"{"namespace":"AWS/ES","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
        (OR_POLICY, r#"{"metricName":"CPUUtilization",
            "detail":{"scope":"Service","type":"CloudWatch Alarm State Change"}}"#, true),
        (OR_POLICY, r#"{"metricName":"AWS/EC2","detail":{"scope":"Service","type":"CloudWatch Alarm State Change"}}"#, false),
        (OR_POLICY, r#"{"metricName":"CPUUtilization",
            "detail":{"scope":"aws.cloudwatch","type":"CloudWatch Alarm State Change"}}"#, false),
        (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"scope":"Service","type":"CPUUtilization"}}"#, false),
        (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"type":"CloudWatch Alarm State Change"}}"#, false),
        (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"scope":"Service"}}"#, false),
        (OR_POLICY, r#"{"metricName":"CPUUtilization","scope":"Service"}"#, false),
        // bodies that are not objects have no properties
        (r#"{"a":[{"exists":false}]}"#, r#""a string""#, false),
        (r#"{"a":[{"exists":false}]}"#, r#"[{"a":1}]"#, false),
        ("{}", r#""a string""#, true),
        ("{}", r#"{"a":1}"#, true),
    ];

    #[test]
    fn attribute_table() {
        for (i, (policy, attrs, expected)) in ATTRIBUTE_CASES.iter().enumerate() {
            let got = matches_attrs(policy, attrs);
            assert_eq!(got, *expected, "row {i}: {policy} with {attrs:?}");
        }
    }

    #[test]
    fn body_table() {
        for (i, (policy, body, expected)) in BODY_CASES.iter().enumerate() {
            let got = matches_body(policy, body);
            assert_eq!(got, *expected, "row {i}: {policy} with {body}");
        }
    }

    const TOO_COMPLEX: &str = "Filter policy is too complex";
    const TOO_MANY_KEYS: &str = "Filter policy can not have more than 5 keys";
    const CIDR_TYPE: &str = "prefix match pattern must be a string";

    #[rustfmt::skip]
    const INVALID_CASES: &[(&str, FilterScope, &str)] = &[
        ("not json", Attrs, "failed to parse JSON."),
        (r#"{"a":["x"]} trailing"#, Attrs, "failed to parse JSON."),
        ("", Attrs, "failed to parse JSON."),
        ("[1]", Attrs, "Filter is not an object"),
        (r#""x""#, Body, "Filter is not an object"),
        ("null", Attrs, "Filter is not an object"),
        // structure
        (r#"{"key":[["value"]]}"#, Attrs, MATCH_VALUE_TYPE),
        (r#"{"key":[]}"#, Attrs, "Empty arrays are not allowed"),
        (r#"{"key":{}}"#, Body, EMPTY_OBJECT),
        (r#"{"key_a":"value_one"}"#, Body, r#""key_a" must be an object or an array"#),
        (r#"{"key":5}"#, Attrs, r#""key" must be an object or an array"#),
        (r#"{"key":{"suffix":"value"}}"#, Attrs, r#""suffix" must be an object or an array"#),
        (r#"{"key":{"not-an-operator":"value"}}"#, Attrs, r#""not-an-operator" must be an object or an array"#),
        (r#"{"object":{"key":[{"prefix":"auto-"}]}}"#, Attrs, NESTED_ATTRS),
        (r#"{"$or":[{"a":["1"]},{"b":{"c":["2"]}}]}"#, Attrs, NESTED_ATTRS),
        // match expressions
        (r#"{"key":[{}]}"#, Attrs, "Match expression name not found"),
        (r#"{"key":[{"wrong-operator":true}]}"#, Attrs, "Unrecognized match type wrong-operator"),
        (r#"{"key":[{"wildcard":"a*"}]}"#, Attrs, "Unrecognized match type wildcard"),
        (r#"{"key":[{"suffix":"value","prefix":"value2"}]}"#, Attrs, ONLY_ONE_KEY),
        (r#"{"key":[{"exists":true,"prefix":"a"}]}"#, Attrs, ONLY_ONE_KEY),
        (r#"{"key":[{"suffix":100}]}"#, Attrs, "suffix match pattern must be a string"),
        (r#"{"key":[{"suffix":null}]}"#, Attrs, "suffix match pattern must be a string"),
        (r#"{"key":[{"suffix":[]}]}"#, Attrs, "suffix match pattern must be a string"),
        (r#"{"key":[{"suffix":["test","test2"]}]}"#, Attrs, "suffix match pattern must be a string"),
        (r#"{"key":[{"prefix":1}]}"#, Attrs, "prefix match pattern must be a string"),
        (r#"{"key":[{"equals-ignore-case":5}]}"#, Attrs, "equals-ignore-case match pattern must be a string"),
        (r#"{"key":[{"exists":null}]}"#, Attrs, "exists match pattern must be either true or false."),
        (r#"{"key":[{"exists":"no"}]}"#, Attrs, "exists match pattern must be either true or false."),
        // numeric (AWS's recorded refusals)
        (r#"{"key":[{"numeric":5}]}"#, Attrs, "Value of numeric must be an array."),
        (r#"{"key":[{"numeric":[]}]}"#, Attrs, "Invalid member in numeric match: ]"),
        (r#"{"key":[{"numeric":["operator"]}]}"#, Attrs, "Unrecognized numeric range operator: operator"),
        (r#"{"key":[{"numeric":[1,"<="]}]}"#, Attrs, "Invalid member in numeric match: 1"),
        (r#"{"key":[{"numeric":["=","000"]}]}"#, Attrs, "Value of equals must be numeric"),
        (r#"{"key":[{"numeric":[">="]}]}"#, Attrs, "Value of >= must be numeric"),
        (r#"{"key":[{"numeric":["<",100,">",10]}]}"#, Attrs, TOO_MANY_ELEMENTS),
        (r#"{"key":[{"numeric":["=",1,"<",10]}]}"#, Attrs, TOO_MANY_ELEMENTS),
        (r#"{"key":[{"numeric":[">=",1,">",2]}]}"#, Attrs, "Bad numeric range operator: >"),
        (r#"{"key":[{"numeric":[">",3,"<",1]}]}"#, Attrs, "Bottom must be less than top"),
        (r#"{"key":[{"numeric":[">=",1,"<=",1]}]}"#, Attrs, "Bottom must be less than top"),
        (r#"{"key":[{"numeric":[">",20,"<="]}]}"#, Attrs, "Value of <= must be numeric"),
        (r#"{"key":[{"numeric":[">",20,30]}]}"#, Attrs, "Bad value in numeric range: 30"),
        (r#"{"key":[{"numeric":[">",20,"test"]}]}"#, Attrs, "Bad numeric range operator: test"),
        (r#"{"key":[{"numeric":[">","20","<","30"]}]}"#, Attrs, "Value of > must be numeric"),
        (r#"{"key":[{"numeric":[">",20,"<","30"]}]}"#, Attrs, "Value of < must be numeric"),
        (r#"{"key":[{"numeric":[">",20,"<",30,"<",50]}]}"#, Attrs, "Too many terms in numeric range expression"),
        (r#"{"key":[{"numeric":[">",0],"prefix":"a"}]}"#, Attrs, TOO_MANY_ELEMENTS),
        (r#"{"key":[{"numeric":["=",1e10]}]}"#, Attrs, OUT_OF_RANGE),
        (r#"{"key":[{"numeric":[">",-1000000001]}]}"#, Attrs, OUT_OF_RANGE),
        (r#"{"key":[{"numeric":[">",0,"<",1000000000.5]}]}"#, Attrs, OUT_OF_RANGE),
        // anything-but
        (r#"{"key":[{"anything-but":{"wrong-operator":null}}]}"#, Attrs, "Unsupported anything-but pattern: wrong-operator"),
        (r#"{"key":[{"anything-but":{"suffix":"test"}}]}"#, Attrs, "Unsupported anything-but pattern: suffix"),
        (r#"{"key":[{"anything-but":{"exists":false}}]}"#, Attrs, "Unsupported anything-but pattern: exists"),
        (r#"{"key":[{"anything-but":{"equals-ignore-case":"x"}}]}"#, Attrs,
            "Unsupported anything-but pattern: equals-ignore-case"),
        (r#"{"key":[{"anything-but":{"prefix":false}}]}"#, Attrs, "prefix match pattern must be a string"),
        (r#"{"key":[{"anything-but":{"prefix":"a","suffix":"b"}}]}"#, Attrs, ONLY_ONE_KEY),
        (r#"{"key":[{"anything-but":{}}]}"#, Attrs, "Anything-But expression name not found"),
        (r#"{"key":[{"anything-but":true}]}"#, Attrs,
            "Value of anything-but must be an array or single string/number value."),
        (r#"{"key":[{"anything-but":[null]}]}"#, Attrs, "Inside anything but list, start|null|boolean is not supported."),
        (r#"{"key":[{"anything-but":["a",1]}]}"#, Attrs, MIXED_ANYTHING_BUT),
        (r#"{"key":[{"anything-but":[]}]}"#, Attrs, MIXED_ANYTHING_BUT),
        (r#"{"key":[{"anything-but":[1e10]}]}"#, Attrs, OUT_OF_RANGE),
        (r#"{"key":[{"anything-but":-2e9}]}"#, Attrs, OUT_OF_RANGE),
        (r#"{"key":[{"anything-but":"x","exists":true}]}"#, Attrs, TOO_MANY_ELEMENTS),
        // cidr
        (r#"{"ip":[{"cidr":5}]}"#, Attrs, CIDR_TYPE),
        (r#"{"ip":[{"cidr":"10.0.0.0"}]}"#, Attrs, "Malformed CIDR, one '/' required"),
        (r#"{"ip":[{"cidr":"10.0.0.0/"}]}"#, Attrs, "Malformed CIDR, one '/' required"),
        (r#"{"ip":[{"cidr":"1.2.3.4/8/9"}]}"#, Attrs, "Malformed CIDR, one '/' required"),
        (r#"{"ip":[{"cidr":"10.0.0.0/a"}]}"#, Attrs, "Malformed CIDR, mask bits must be an integer"),
        (r#"{"ip":[{"cidr":"10.0.0.0/-1"}]}"#, Attrs, "Malformed CIDR, mask bits must not be negative"),
        (r#"{"ip":[{"cidr":"10.0.0.0/32"}]}"#, Attrs, "IPv4 mask bits must be < 32"),
        (r#"{"ip":[{"cidr":"::/128"}]}"#, Attrs, "IPv6 mask bits must be < 128"),
        (r#"{"ip":[{"cidr":"bad/24"}]}"#, Attrs, "Nonstandard IP address: bad"),
        (r#"{"ip":[{"cidr":"/24"}]}"#, Attrs, "Nonstandard IP address: "),
        (r#"{"ip":[{"cidr":"300.0.0.1/8"}]}"#, Attrs, "Invalid IP address: 300.0.0.1"),
        (r#"{"ip":[{"cidr":"1:::2/8"}]}"#, Attrs, "Invalid IP address: 1:::2"),
        // an "$or" that is no OR is a field name, so its objects are match expressions
        (r#"{"$or":[{"a":["1"]}]}"#, Attrs, "Unrecognized match type a"),
        (r#"{"$or":[{"exists":true},{"a":["1"]}]}"#, Attrs, "Unrecognized match type a"),
        (r#"{"$or":"x"}"#, Attrs, r#""$or" must be an object or an array"#),
        // limits (AWS's recorded refusals)
        (r#"{"k1":["1"],"k2":["2"],"k3":["3"],"k4":["4"],"k5":["5"],"k6":["6"]}"#, Attrs, TOO_MANY_KEYS),
        (r#"{"k1":["1"],"k2":["2"],"k3":["3"],"k4":["4"],"k5":["5"],"k6":{"x":["6"]}}"#, Body, TOO_MANY_KEYS),
        (r#"{"$or":[{"a":[1]},{"b":[1]}],"c":[1],"d":[1],"e":[1],"f":[1]}"#, Attrs, TOO_MANY_KEYS),
        // 3 × (6 + 4 × (4 + 4)) = 152
        (r#"{"source":["a","b","c","d"],"$or":[{"metricName":["1","2","3","4","5","6"]},
            {"metricType":["1","2","3","4"],"$or":[{"metricId":[1,2,3,4]},{"spaceId":[1,2,3,4]}]}]}"#,
            Attrs, TOO_COMPLEX),
        // (3 + 2) × (2·2 × (1·2 + 3·2)) = 160: nested arrays count once per nesting level
        (r#"{"$or":[{"metricName":["a","b","c"]},{"namespace":["d","e"]}],"detail":{"scope":["s","t"],
            "$or":[{"source":["x"]},{"type":["y","z","w"]}]}}"#, Body, TOO_COMPLEX),
        // 4·3 × 3·2 × 3·1 = 216
        (r#"{"key_a":{"key_b":{"key_c":["1","2","3","4"]}},"key_d":{"key_e":["1","2","3"]},
            "key_f":["1","2","3"]}"#, Body, TOO_COMPLEX),
    ];

    #[test]
    fn invalid_table() {
        for (i, (policy, scope, expected)) in INVALID_CASES.iter().enumerate() {
            match FilterPolicy::parse(policy, *scope) {
                Ok(_) => panic!("row {i}: {policy} was accepted"),
                Err(e) => assert_eq!(e.to_string(), *expected, "row {i}: {policy}"),
            }
        }
    }

    #[test]
    fn value_count_limits() {
        let values = |n: usize| (0..n).map(|i| format!("\"v{i}\"")).collect::<Vec<_>>().join(",");
        for scope in [Attrs, Body] {
            let at_limit = format!(r#"{{"key":[{}]}}"#, values(150));
            assert!(FilterPolicy::parse(&at_limit, scope).is_ok());
            let over = format!(r#"{{"key":[{}]}}"#, values(151));
            assert_eq!(
                FilterPolicy::parse(&over, scope),
                Err(FilterPolicyError(TOO_COMPLEX.into()))
            );
            let two = format!(r#"{{"key1":[{}],"key2":[{}]}}"#, values(100), values(51));
            assert_eq!(
                FilterPolicy::parse(&two, scope),
                Err(FilterPolicyError(TOO_COMPLEX.into()))
            );
        }
    }

    #[rustfmt::skip]
    const VALID_CASES: &[(&str, FilterScope)] = &[
        ("{}", Attrs),
        (r#"{"a":["x"],"b":["x"],"c":["x"],"d":["x"],"e":["x"]}"#, Attrs),
        // 3 × (6 + 4 × (4 + 7)) = 150, AWS's own boundary example
        (r#"{"source":["a","b","c"],"$or":[{"metricName":["1","2","3","4","5","6"]},
            {"metricType":["1","2","3","4"],"$or":[{"metricId":[1,2,3,4]},{"spaceId":[1,2,3,4,5,6,7]}]}]}"#, Attrs),
        // payload filtering counts only top-level keys
        (r#"{"a":{"b":[1],"c":[1],"d":[1],"e":[1],"f":[1],"g":[1]}}"#, Body),
        (r#"{"state":["SUCCESS"],"severity":[{"exists":true}],"message":[{"exists":true}],
            "finding":{"standard_control":[{"exists":true}],"region":[{"exists":true}],"account":[{"exists":true}]}}"#,
            Body),
        (r#"{"object":{"key":[{"prefix":"auto-"}]}}"#, Body),
        (r#"{"a":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, Attrs),
        (r#"{"a":[123456789012]}"#, Attrs),
        (r#"{"a":[{"anything-but":{"prefix":""}}]}"#, Attrs),
        (r#"{"a":[{"prefix":""}]}"#, Attrs),
        (r#"{"ip":[{"cidr":"10.0.0.0/+8"}]}"#, Attrs),
        (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, Attrs),
        (r#"{"a":[{"exists":true},{"exists":false}]}"#, Attrs),
    ];

    #[test]
    fn valid_table() {
        for (i, (policy, scope)) in VALID_CASES.iter().enumerate() {
            let parsed = FilterPolicy::parse(policy, *scope);
            assert!(parsed.is_ok(), "row {i}: {policy}: {parsed:?}");
        }
    }

    #[test]
    fn size_limit() {
        let filler = "x".repeat(MAX_POLICY_BYTES);
        let policy = format!(r#"{{"a":["{filler}"]}}"#);
        let err = FilterPolicy::parse(&policy, Attrs).err();
        assert_eq!(
            err.map(|e| e.0),
            Some("Filter policy can not be larger than 256 KB".to_owned())
        );
        let fits = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES - 10));
        assert!(FilterPolicy::parse(&fits, Attrs).is_ok());
    }

    #[test]
    fn error_texts_and_accessors() {
        let text = |policy: &str| match FilterPolicy::parse(policy, Attrs) {
            Ok(_) => None,
            Err(e) => Some(e.parameter_message()),
        };
        assert_eq!(text(r#"{"a":{"b":["c"]}}"#), Some(NESTED_ATTRS.to_owned()));
        assert_eq!(
            text(r#"{"a":[[1]]}"#),
            Some(format!("FilterPolicy: {MATCH_VALUE_TYPE}"))
        );
        let parsed = FilterPolicy::parse(r#"{"a":{"b":["c"]}}"#, Body);
        assert_eq!(parsed.as_ref().map(FilterPolicy::scope), Ok(Body));
        assert_eq!(parsed.map(|p| p.is_empty()), Ok(false));
        assert_eq!(FilterPolicy::parse("{}", Attrs).map(|p| p.is_empty()), Ok(true));
    }

    #[test]
    fn or_branches_are_not_expanded() {
        // A chain of 40 ORs: 81 combinations, fine.
        let chain = (0..40).fold(String::from(r#"{"k":["a"]}"#), |inner, i| {
            format!(r#"{{"$or":[{inner},{{"$or":[{{"k":["b{i}"]}},{{"k":["c{i}"]}}]}}]}}"#)
        });
        let parsed = FilterPolicy::parse(&chain, Attrs);
        assert!(parsed.is_ok(), "{parsed:?}");
        let lookup = |_: &str| {
            Some(AttributeRef {
                data_type: "String",
                string_value: Some("c39"),
            })
        };
        assert_eq!(parsed.map(|p| p.matches_attributes(&lookup)), Ok(true));
        // 40 nested levels of two-way ORs: 2^40 alternatives if multiplied out, refused at once.
        let nested = (0..40).fold(String::from(r#"{"k":["a"]}"#), |inner, _| {
            format!(r#"{{"$or":[{{"k":["x"]}},{{"j":["y"]}}],"n":{inner}}}"#)
        });
        assert_eq!(
            FilterPolicy::parse(&nested, Body),
            Err(FilterPolicyError(TOO_COMPLEX.into()))
        );
    }

    /// xorshift64*: deterministic, dependency-free randomness.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items.get(self.below(items.len())).copied().unwrap_or("")
        }
    }

    const WORDS: &[&str] = &[
        "a",
        "b",
        "a.b",
        "$or",
        "prefix",
        "suffix",
        "equals-ignore-case",
        "anything-but",
        "exists",
        "numeric",
        "cidr",
        "wildcard",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "10.0.0.0/8",
        "::/0",
        "2001:db8::/33",
        "1.2.3.4/40",
        "",
        "x",
        "é",
        "/",
        "10.0.0.1",
        "::1",
    ];

    fn random_value(rng: &mut Rng, depth: usize) -> Value {
        let choice = if depth > 4 { rng.below(5) } else { rng.below(8) };
        match choice {
            0 => Value::String(rng.pick(WORDS).to_owned()),
            1 => random_number(rng),
            2 => Value::Bool(rng.below(2) == 0),
            3 => Value::Null,
            4 => Value::from(rng.below(1000)),
            5 | 6 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
            _ => Value::Object(
                (0..rng.below(4))
                    .map(|_| (rng.pick(WORDS).to_owned(), random_value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    fn random_number(rng: &mut Rng) -> Value {
        let choices = [0.0, 1.0, -1.0, 0.5, 100.0, 1e9, -1e9, 1e10, 3e2, 1e-7, 1e300];
        let x = choices.get(rng.below(choices.len())).copied().unwrap_or(0.0);
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }

    // Mostly well-formed conditions, so that matching gets exercised as much as validation.
    fn random_condition(rng: &mut Rng) -> Value {
        let word = Value::String(rng.pick(WORDS).to_owned());
        let op = |rng: &mut Rng| Value::String(rng.pick(&["=", "<", "<=", ">", ">=", "!"]).to_owned());
        let cidrs = ["10.0.0.0/8", "::/0", "2001:db8::/33", "0.0.0.0/0", "1.2.3.4/31"];
        match rng.below(12) {
            0 => word,
            1 => random_number(rng),
            2 => Value::Bool(rng.below(2) == 0),
            3 => Value::Null,
            4 => serde_json::json!({ ["prefix", "suffix", "equals-ignore-case"][rng.below(3)]: word }),
            5 => serde_json::json!({ "anything-but": word }),
            6 => serde_json::json!({ "anything-but": [random_number(rng), random_number(rng)] }),
            7 => serde_json::json!({ "anything-but": { "prefix": word } }),
            8 => serde_json::json!({ "numeric": [op(rng), random_number(rng)] }),
            9 => serde_json::json!({ "numeric": [">", random_number(rng), "<=", random_number(rng)] }),
            10 => serde_json::json!({ "exists": rng.below(2) == 0 }),
            _ => serde_json::json!({ "cidr": cidrs.get(rng.below(cidrs.len())).copied().unwrap_or("") }),
        }
    }

    fn random_policy(rng: &mut Rng, depth: usize) -> Value {
        let mut object = Map::new();
        for _ in 0..1 + rng.below(3) {
            let value = match rng.below(if depth > 2 { 1 } else { 4 }) {
                0 | 1 => Value::Array((0..1 + rng.below(3)).map(|_| random_condition(rng)).collect()),
                2 => random_policy(rng, depth + 1),
                _ => Value::Array(vec![random_policy(rng, depth + 1), random_policy(rng, depth + 1)]),
            };
            let key = if matches!(&value, Value::Array(items) if items.first().is_some_and(Value::is_object)
                && items.iter().all(|i| i.as_object().is_some_and(|o| !o.contains_key("numeric"))))
                && rng.below(2) == 0
            {
                "$or"
            } else {
                ["a", "b", "a.b", "c"][rng.below(4)]
            };
            object.insert(key.to_owned(), value);
        }
        Value::Object(object)
    }

    #[test]
    fn random_policies_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let types = [
            "String",
            "Number",
            "Number.int",
            "String.Array",
            "Binary",
            "Number.Array",
            "Other",
        ];
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..30_000 {
            let mut text = if round % 2 == 0 {
                random_policy(&mut rng, 0).to_string()
            } else {
                random_value(&mut rng, 0).to_string()
            };
            if round % 3 == 0 {
                // Wrap a random value in a policy shape so that deeper rules get exercised.
                let key = rng.pick(WORDS).to_owned();
                text = format!(
                    r#"{{"{}":[{}],"b":{}}}"#,
                    key.replace('"', ""),
                    text,
                    random_value(&mut rng, 2)
                );
            }
            if round % 5 == 0 && !text.is_empty() {
                // Corrupt a character to reach the JSON errors too.
                let at = rng.below(text.len());
                text = text
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i == at { '{' } else { c })
                    .collect();
            }
            let message = random_value(&mut rng, 1);
            let attr_value = message.to_string();
            let data_type = rng.pick(&types);
            for scope in [Attrs, Body] {
                match FilterPolicy::parse(&text, scope) {
                    Ok(policy) => {
                        accepted += 1;
                        let lookup = |_: &str| {
                            Some(AttributeRef {
                                data_type,
                                string_value: Some(&attr_value),
                            })
                        };
                        let _ = policy.matches_attributes(&lookup);
                        let _ = policy.matches_body(&message);
                        let _ = policy.matches_body(&serde_json::json!({"a": message, "b": message}));
                    }
                    Err(e) => {
                        refused += 1;
                        assert!(!e.0.is_empty());
                    }
                }
            }
        }
        assert!(
            accepted > 2_000 && refused > 2_000,
            "accepted {accepted}, refused {refused}"
        );
    }
}
