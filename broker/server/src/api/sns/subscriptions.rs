//! SNS subscription operations: subscribe, confirm, unsubscribe, attributes and lists.
//!
//! # Layout
//! One function per action, taking the [`Scope`] of the request and its decoded fields; core
//! errors convert with `?` through [`Failure`](super::shared::Failure).

use std::collections::BTreeMap;

use sluice_broker::topic::SubscriptionSummary;
use sluice_protocols::sns::{SnsAction, SnsResponse, SubscriptionEntry};

use super::shared::{counts_as_authenticated, topic_key, Result, Scope};

pub fn subscribe(
    scope: &Scope<'_>,
    topic_arn: String,
    protocol: String,
    endpoint: String,
    attributes: BTreeMap<String, String>,
    return_subscription_arn: bool,
) -> Result<SnsResponse> {
    let key = topic_key(&topic_arn, "TopicArn")?;
    let outcome = scope.topics().subscribe(
        &key,
        &protocol,
        &endpoint,
        &attributes,
        &scope.ctx.account_id,
        &scope.publish,
    )?;
    let arn = if outcome.pending && !return_subscription_arn {
        "pending confirmation".to_string()
    } else {
        outcome.arn
    };
    Ok(SnsResponse::SubscriptionArn(SnsAction::Subscribe, arn))
}

pub fn confirm(
    scope: &Scope<'_>,
    topic_arn: String,
    token: String,
    authenticate_on_unsubscribe: bool,
) -> Result<SnsResponse> {
    let key = topic_key(&topic_arn, "TopicArn")?;
    // AWS: the flag counts only on a request with an AWS signature; an unsigned GET of
    // the SubscribeURL leaves the subscription open to unsigned unsubscribes.
    let authenticated = authenticate_on_unsubscribe && counts_as_authenticated(scope.app, scope.ctx);
    let arn = scope.topics().confirm_subscription(&key, &token, authenticated)?;
    Ok(SnsResponse::SubscriptionArn(SnsAction::ConfirmSubscription, arn))
}

pub fn unsubscribe(scope: &Scope<'_>, subscription_arn: String) -> Result<SnsResponse> {
    scope.topics().unsubscribe(&subscription_arn, &scope.publish)?;
    Ok(SnsResponse::Empty(SnsAction::Unsubscribe))
}

pub fn get_attributes(scope: &Scope<'_>, subscription_arn: String) -> Result<SnsResponse> {
    let attributes = scope.topics().get_subscription_attributes(&subscription_arn)?;
    Ok(SnsResponse::Attributes(
        SnsAction::GetSubscriptionAttributes,
        attributes,
    ))
}

pub fn set_attribute(scope: &Scope<'_>, subscription_arn: String, name: String, value: String) -> Result<SnsResponse> {
    scope
        .topics()
        .set_subscription_attribute(&subscription_arn, &name, &value)?;
    Ok(SnsResponse::Empty(SnsAction::SetSubscriptionAttributes))
}

pub fn list(scope: &Scope<'_>, next_token: Option<String>) -> Result<SnsResponse> {
    let page = scope
        .topics()
        .list_subscriptions(&scope.ctx.account_id, &scope.ctx.region, next_token.as_deref())?;
    Ok(SnsResponse::Subscriptions(
        SnsAction::ListSubscriptions,
        entries(page.items),
        page.next_token,
    ))
}

pub fn list_by_topic(scope: &Scope<'_>, topic_arn: String, next_token: Option<String>) -> Result<SnsResponse> {
    let page = scope
        .topics()
        .list_subscriptions_by_topic(&topic_key(&topic_arn, "TopicArn")?, next_token.as_deref())?;
    Ok(SnsResponse::Subscriptions(
        SnsAction::ListSubscriptionsByTopic,
        entries(page.items),
        page.next_token,
    ))
}

fn entries(subs: Vec<SubscriptionSummary>) -> Vec<SubscriptionEntry> {
    subs.into_iter()
        .map(|s| SubscriptionEntry {
            subscription_arn: s.subscription_arn,
            owner: s.owner,
            protocol: s.protocol,
            endpoint: s.endpoint,
            topic_arn: s.topic_arn,
        })
        .collect()
}
