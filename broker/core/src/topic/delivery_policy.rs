//! HTTP/S delivery policies: AWS's retry phases and backoff functions.
//!
//! A retry policy has four phases (AWS SNS developer guide, "Amazon SNS message delivery
//! retries"): `numNoDelayRetries` immediate retries, `numMinDelayRetries` at `minDelayTarget`,
//! a backoff phase from `minDelayTarget` to `maxDelayTarget` shaped by `backoffFunction`, and
//! `numMaxDelayRetries` at `maxDelayTarget`. `numRetries` counts all of them. A topic's
//! DeliveryPolicy holds defaults under `http.defaultHealthyRetryPolicy`; a subscription's
//! DeliveryPolicy overrides them under `healthyRetryPolicy` unless the topic sets
//! `disableSubscriptionOverrides`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{invalid, Result};

/// Upper bound of any delay and of the whole retry schedule, in seconds (AWS's limit).
const MAX_DELAY_SECONDS: u64 = 3600;
/// Most retries a policy may ask for.
const MAX_RETRIES: u64 = 100;

/// How delays grow in the backoff phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backoff {
    /// Equal steps.
    Linear,
    /// Steps growing by a constant difference.
    Arithmetic,
    /// Steps doubling.
    Geometric,
    /// Steps growing by a constant factor.
    Exponential,
}

/// A healthy retry policy, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Smallest delay, seconds.
    pub min_delay: u64,
    /// Largest delay, seconds.
    pub max_delay: u64,
    /// Total retries.
    pub num_retries: u64,
    /// Retries without delay, first.
    pub num_no_delay: u64,
    /// Retries at `min_delay`, next.
    pub num_min_delay: u64,
    /// Retries at `max_delay`, last.
    pub num_max_delay: u64,
    /// Shape of the backoff phase.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// AWS's default for HTTP/S: three retries 20 seconds apart.
    fn default() -> Self {
        RetryPolicy {
            min_delay: 20,
            max_delay: 20,
            num_retries: 3,
            num_no_delay: 0,
            num_min_delay: 0,
            num_max_delay: 0,
            backoff: Backoff::Linear,
        }
    }
}

impl RetryPolicy {
    /// AWS's fixed policy for AWS-managed endpoints (Lambda functions): 3 immediate retries,
    /// 2 after a second, 10 backing off from 1 to 20 seconds, then every 20 seconds, 100,015
    /// in all (23 days); a subscription's DeliveryPolicy does not change it.
    pub fn managed_endpoint() -> RetryPolicy {
        RetryPolicy {
            min_delay: 1,
            max_delay: 20,
            num_retries: 100_015,
            num_no_delay: 3,
            num_min_delay: 2,
            num_max_delay: 100_000,
            backoff: Backoff::Exponential,
        }
    }

    /// Seconds to wait before retry number `retry` (1-based); `None` once retries are exhausted.
    pub fn delay_before(&self, retry: u64) -> Option<u64> {
        if retry == 0 || retry > self.num_retries {
            return None;
        }
        if retry <= self.num_no_delay {
            return Some(0);
        }
        if retry <= self.num_no_delay + self.num_min_delay {
            return Some(self.min_delay);
        }
        let backoff_len = self
            .num_retries
            .saturating_sub(self.num_no_delay + self.num_min_delay + self.num_max_delay);
        let step = retry - self.num_no_delay - self.num_min_delay;
        if step > backoff_len {
            return Some(self.max_delay);
        }
        let (min, max) = (self.min_delay as f64, self.max_delay as f64);
        let i = step as f64;
        let n = backoff_len as f64;
        let delay = match self.backoff {
            Backoff::Linear => min + (max - min) * i / n,
            Backoff::Arithmetic => min + (max - min) * (i * (i + 1.0)) / (n * (n + 1.0)),
            Backoff::Geometric => min + (max - min) * (2f64.powf(i) - 1.0) / (2f64.powf(n) - 1.0),
            Backoff::Exponential => min * (max / min.max(1.0)).powf(i / n),
        };
        Some(delay.round().clamp(min, max) as u64)
    }

    /// The policy as AWS renders it in EffectiveDeliveryPolicy.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "minDelayTarget": self.min_delay,
            "maxDelayTarget": self.max_delay,
            "numRetries": self.num_retries,
            "numMaxDelayRetries": self.num_max_delay,
            "numNoDelayRetries": self.num_no_delay,
            "numMinDelayRetries": self.num_min_delay,
            "backoffFunction": match self.backoff {
                Backoff::Linear => "linear",
                Backoff::Arithmetic => "arithmetic",
                Backoff::Geometric => "geometric",
                Backoff::Exponential => "exponential",
            },
        })
    }

    /// Parses a `healthyRetryPolicy` object; absent fields take AWS's defaults.
    fn parse(value: &Value, attribute: &str) -> Result<RetryPolicy> {
        let bad = |reason: &str| invalid(format!("{attribute}: {reason}"));
        let Some(object) = value.as_object() else {
            return Err(bad("healthyRetryPolicy must be an object"));
        };
        let defaults = RetryPolicy::default();
        let number = |name: &str, default: u64| -> Result<u64> {
            match object.get(name) {
                None => Ok(default),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| bad(&format!("{name} must be a non-negative integer"))),
            }
        };
        let mut policy = RetryPolicy {
            min_delay: number("minDelayTarget", defaults.min_delay)?,
            max_delay: number("maxDelayTarget", defaults.max_delay)?,
            num_retries: number("numRetries", defaults.num_retries)?,
            num_no_delay: number("numNoDelayRetries", 0)?,
            num_min_delay: number("numMinDelayRetries", 0)?,
            num_max_delay: number("numMaxDelayRetries", 0)?,
            backoff: Backoff::Linear,
        };
        if let Some(function) = object.get("backoffFunction") {
            policy.backoff = match function.as_str() {
                Some("linear") => Backoff::Linear,
                Some("arithmetic") => Backoff::Arithmetic,
                Some("geometric") => Backoff::Geometric,
                Some("exponential") => Backoff::Exponential,
                _ => {
                    return Err(bad(
                        "backoffFunction must be linear, arithmetic, geometric or exponential",
                    ))
                }
            };
        }
        if policy.min_delay == 0 || policy.min_delay > policy.max_delay {
            return Err(bad("minDelayTarget must be between 1 and maxDelayTarget"));
        }
        if policy.max_delay > MAX_DELAY_SECONDS {
            return Err(bad("maxDelayTarget must be at most 3600"));
        }
        if policy.num_retries > MAX_RETRIES {
            return Err(bad("numRetries must be at most 100"));
        }
        if policy.num_no_delay + policy.num_min_delay + policy.num_max_delay > policy.num_retries {
            return Err(bad(
                "numNoDelayRetries, numMinDelayRetries and numMaxDelayRetries must add up to at most numRetries",
            ));
        }
        let total: u64 = (1..=policy.num_retries).filter_map(|r| policy.delay_before(r)).sum();
        if total > MAX_DELAY_SECONDS {
            return Err(bad("the retry schedule must not take more than 3600 seconds"));
        }
        Ok(policy)
    }
}

/// A topic's DeliveryPolicy: the HTTP defaults for its subscriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicDeliveryPolicy {
    /// Retry policy for subscriptions without their own.
    pub retry: RetryPolicy,
    /// Subscriptions' own policies are ignored.
    pub disable_overrides: bool,
    /// Content-Type of HTTP deliveries.
    pub content_type: Option<String>,
    /// `defaultThrottlePolicy.maxReceivesPerSecond`: deliveries per second per subscription.
    pub max_receives_per_second: Option<u32>,
}

impl TopicDeliveryPolicy {
    /// Parses a topic DeliveryPolicy attribute (`{"http": {...}}`); empty means the defaults.
    pub fn parse(text: &str) -> Result<TopicDeliveryPolicy> {
        if text.trim().is_empty() {
            return Ok(TopicDeliveryPolicy::default());
        }
        let value: Value =
            serde_json::from_str(text).map_err(|_| invalid("DeliveryPolicy: policy is not valid JSON"))?;
        let Some(http) = value.get("http") else {
            if value.is_object() {
                return Ok(TopicDeliveryPolicy::default());
            }
            return Err(invalid("DeliveryPolicy: policy must be a JSON object"));
        };
        let mut policy = TopicDeliveryPolicy::default();
        if let Some(retry) = http.get("defaultHealthyRetryPolicy") {
            policy.retry = RetryPolicy::parse(retry, "DeliveryPolicy")?;
        }
        policy.disable_overrides = http
            .get("disableSubscriptionOverrides")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        policy.content_type = content_type(http.get("defaultRequestPolicy"), "DeliveryPolicy")?;
        policy.max_receives_per_second = throttle(http.get("defaultThrottlePolicy"))?;
        Ok(policy)
    }

    /// The policy as EffectiveDeliveryPolicy renders it.
    pub fn to_json(&self) -> String {
        let mut http = serde_json::json!({
            "defaultHealthyRetryPolicy": self.retry.to_json(),
            "disableSubscriptionOverrides": self.disable_overrides,
            "defaultRequestPolicy": {
                "headerContentType": self.content_type.as_deref().unwrap_or(DEFAULT_CONTENT_TYPE)
            },
        });
        if let (Some(rate), Some(object)) = (self.max_receives_per_second, http.as_object_mut()) {
            object.insert(
                "defaultThrottlePolicy".into(),
                serde_json::json!({ "maxReceivesPerSecond": rate }),
            );
        }
        serde_json::json!({ "http": http }).to_string()
    }
}

/// Content-Type of HTTP deliveries unless a request policy says otherwise.
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

/// A subscription's DeliveryPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionDeliveryPolicy {
    /// Its own retry policy.
    pub retry: Option<RetryPolicy>,
    /// Its own Content-Type.
    pub content_type: Option<String>,
    /// Its own `throttlePolicy.maxReceivesPerSecond`.
    pub max_receives_per_second: Option<u32>,
}

/// What governs a subscription's HTTP deliveries, its own policy over the topic's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDelivery {
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// Content-Type header.
    pub content_type: String,
    /// Deliveries per second to the endpoint, when throttled.
    pub max_receives_per_second: Option<u32>,
}

impl SubscriptionDeliveryPolicy {
    /// Parses a subscription DeliveryPolicy attribute; empty means none.
    pub fn parse(text: &str) -> Result<SubscriptionDeliveryPolicy> {
        if text.trim().is_empty() {
            return Ok(SubscriptionDeliveryPolicy::default());
        }
        let value: Value =
            serde_json::from_str(text).map_err(|_| invalid("DeliveryPolicy: policy is not valid JSON"))?;
        if !value.is_object() {
            return Err(invalid("DeliveryPolicy: policy must be a JSON object"));
        }
        let retry = match value.get("healthyRetryPolicy") {
            Some(retry) => Some(RetryPolicy::parse(retry, "DeliveryPolicy")?),
            None => None,
        };
        Ok(SubscriptionDeliveryPolicy {
            retry,
            content_type: content_type(value.get("requestPolicy"), "DeliveryPolicy")?,
            max_receives_per_second: throttle(value.get("throttlePolicy"))?,
        })
    }

    /// The policy in effect for a subscription of a topic with `topic` policy.
    pub fn effective(&self, topic: &TopicDeliveryPolicy) -> EffectiveDelivery {
        let retry = match (&self.retry, topic.disable_overrides) {
            (Some(own), false) => own.clone(),
            _ => topic.retry.clone(),
        };
        let content_type = self
            .content_type
            .clone()
            .or_else(|| topic.content_type.clone())
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string());
        let max_receives_per_second = match topic.disable_overrides {
            false => self.max_receives_per_second.or(topic.max_receives_per_second),
            true => topic.max_receives_per_second,
        };
        EffectiveDelivery {
            retry,
            content_type,
            max_receives_per_second,
        }
    }
}

/// `{"maxReceivesPerSecond": n}` with n ≥ 1.
fn throttle(policy: Option<&Value>) -> Result<Option<u32>> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    match policy.get("maxReceivesPerSecond") {
        None => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n >= 1) {
            Some(n) => Ok(Some(n)),
            None => Err(invalid(
                "DeliveryPolicy: maxReceivesPerSecond must be a positive integer",
            )),
        },
    }
}

fn content_type(request_policy: Option<&Value>, attribute: &str) -> Result<Option<String>> {
    let Some(policy) = request_policy else {
        return Ok(None);
    };
    match policy.get("headerContentType") {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 && !s.contains(['\r', '\n']) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!(
            "{attribute}: headerContentType must be a content type string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_retries_three_times_every_twenty_seconds() {
        let p = RetryPolicy::default();
        assert_eq!(
            (1..=4).map(|r| p.delay_before(r)).collect::<Vec<_>>(),
            vec![Some(20), Some(20), Some(20), None]
        );
    }

    #[test]
    fn phases_follow_in_order() {
        let p = SubscriptionDeliveryPolicy::parse(
            r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":8,"numRetries":7,
                "numNoDelayRetries":1,"numMinDelayRetries":1,"numMaxDelayRetries":1,"backoffFunction":"linear"}}"#,
        )
        .unwrap()
        .retry
        .unwrap();
        let delays: Vec<_> = (1..=8).map(|r| p.delay_before(r)).collect();
        assert_eq!(
            delays,
            vec![Some(0), Some(1), Some(3), Some(5), Some(6), Some(8), Some(8), None]
        );
    }

    #[test]
    fn backoff_functions_stay_within_bounds_and_grow() {
        for f in ["linear", "arithmetic", "geometric", "exponential"] {
            let text = format!(
                r#"{{"healthyRetryPolicy":{{"minDelayTarget":2,"maxDelayTarget":60,"numRetries":6,"backoffFunction":"{f}"}}}}"#
            );
            let p = SubscriptionDeliveryPolicy::parse(&text).unwrap().retry.unwrap();
            let delays: Vec<u64> = (1..=6).map(|r| p.delay_before(r).unwrap()).collect();
            assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{f}: {delays:?}");
            assert_eq!(*delays.last().unwrap(), 60, "{f}");
            assert!(delays.iter().all(|d| (2..=60).contains(d)), "{f}: {delays:?}");
        }
    }

    #[test]
    fn invalid_policies_are_refused() {
        for bad in [
            "[1]",
            "not json",
            r#"{"healthyRetryPolicy":{"minDelayTarget":0}}"#,
            r#"{"healthyRetryPolicy":{"minDelayTarget":30,"maxDelayTarget":20}}"#,
            r#"{"healthyRetryPolicy":{"maxDelayTarget":3601,"minDelayTarget":1}}"#,
            r#"{"healthyRetryPolicy":{"numRetries":101}}"#,
            r#"{"healthyRetryPolicy":{"numRetries":2,"numNoDelayRetries":3}}"#,
            r#"{"healthyRetryPolicy":{"minDelayTarget":3600,"maxDelayTarget":3600,"numRetries":2}}"#,
            r#"{"healthyRetryPolicy":{"backoffFunction":"cubic"}}"#,
            r#"{"healthyRetryPolicy":{"numRetries":-1}}"#,
            r#"{"requestPolicy":{"headerContentType":7}}"#,
        ] {
            assert!(SubscriptionDeliveryPolicy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_policy_defaults_and_overrides() {
        let topic = TopicDeliveryPolicy::parse(
            r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":5,"numRetries":1},
                "disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"application/json"}}}"#,
        )
        .unwrap();
        let none = SubscriptionDeliveryPolicy::default();
        assert_eq!(none.effective(&topic).retry.num_retries, 1);
        assert_eq!(none.effective(&topic).content_type, "application/json");
        let own = SubscriptionDeliveryPolicy::parse(r#"{"healthyRetryPolicy":{"numRetries":0}}"#).unwrap();
        assert_eq!(own.effective(&topic).retry.num_retries, 0);
        let locked = TopicDeliveryPolicy {
            disable_overrides: true,
            ..topic
        };
        assert_eq!(own.effective(&locked).retry.num_retries, 1);
        let throttled = SubscriptionDeliveryPolicy::parse(r#"{"throttlePolicy":{"maxReceivesPerSecond":5}}"#).unwrap();
        assert_eq!(
            throttled
                .effective(&TopicDeliveryPolicy::default())
                .max_receives_per_second,
            Some(5)
        );
        assert!(SubscriptionDeliveryPolicy::parse(r#"{"throttlePolicy":{"maxReceivesPerSecond":0}}"#).is_err());
        assert!(TopicDeliveryPolicy::parse("").unwrap() == TopicDeliveryPolicy::default());
    }
}
