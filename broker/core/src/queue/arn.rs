//! Queue ARNs: `arn:aws:sqs:{region}:{account}:{name}`.

/// Formats a queue ARN.
pub fn queue_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// Splits a queue ARN into (region, account, name).
pub fn parse_queue_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_lit, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, name) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = arn_lit == "arn"
        && partition.starts_with("aws")
        && service == "sqs"
        && !region.is_empty()
        && !account.is_empty()
        && !name.is_empty();
    valid.then_some((region, account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let arn = queue_arn("eu-west-1", "123456789012", "q");
        assert_eq!(parse_queue_arn(&arn), Some(("eu-west-1", "123456789012", "q")));
        assert_eq!(parse_queue_arn("arn:aws:sns:eu-west-1:1:q"), None);
        assert_eq!(parse_queue_arn("nonsense"), None);
    }
}
