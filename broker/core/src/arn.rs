//! Resource ARNs, `arn:{partition}:{service}:{region}:{account}:{resource}`: one parser for the
//! queue and topic ARNs the core reads (stream ARNs are parsed where Kinesis requests are
//! decoded, in the protocols crate).

/// Splits an ARN of `service` into (region, account, resource); `None` unless it is one, with
/// every part present and an `aws*` partition.
pub fn split<'a>(arn: &'a str, service: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut parts = arn.splitn(6, ':');
    let (literal, partition, named_service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = literal == "arn"
        && partition.starts_with("aws")
        && named_service == service
        && !region.is_empty()
        && !account.is_empty()
        && !resource.is_empty();
    valid.then_some((region, account, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_the_named_service() {
        let arn = "arn:aws:sqs:eu-west-1:123456789012:q";
        assert_eq!(split(arn, "sqs"), Some(("eu-west-1", "123456789012", "q")));
        assert_eq!(split(arn, "sns"), None);
        assert_eq!(split("arn:aws-cn:sns:r:1:t:x", "sns"), Some(("r", "1", "t:x")));
        for bad in [
            "nonsense",
            "arn:aws:sqs::1:q",
            "arn:aws:sqs:r::q",
            "arn:aws:sqs:r:1:",
            "xrn:aws:sqs:r:1:q",
        ] {
            assert_eq!(split(bad, "sqs"), None, "{bad}");
        }
    }
}
