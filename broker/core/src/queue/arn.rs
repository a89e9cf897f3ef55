//! Queue ARNs: `arn:aws:sqs:{region}:{account}:{name}`.

/// Formats a queue ARN.
pub fn queue_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// Splits a queue ARN into (region, account, name).
pub fn parse_queue_arn(arn: &str) -> Option<(&str, &str, &str)> {
    crate::arn::split(arn, "sqs")
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
