//! The JSON documents SNS delivers: the Notification envelope (to SQS unless raw, and to
//! HTTP/S), SubscriptionConfirmation and UnsubscribeConfirmation, laid out as AWS writes them
//! ("HTTP/HTTPS notification JSON format" in the SNS developer guide).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::queue::message::MessageAttributes;

/// Signature fields every document carries.
#[derive(Debug, Clone)]
pub struct SignatureFields<'a> {
    /// "1" or "2".
    pub version: &'a str,
    /// Base64 signature over the document's string to sign.
    pub signature: &'a str,
    /// Where the signing certificate is served.
    pub signing_cert_url: &'a str,
}

/// A Notification's content.
#[derive(Debug, Clone)]
pub struct NotificationDoc<'a> {
    /// The publish's message id.
    pub message_id: &'a str,
    /// FIFO topics: the publish's sequence number.
    pub sequence_number: Option<&'a str>,
    /// The topic.
    pub topic_arn: &'a str,
    /// Subject, when the publisher gave one.
    pub subject: Option<&'a str>,
    /// The message for this subscription's protocol.
    pub message: &'a str,
    /// ISO 8601 publish time.
    pub timestamp: &'a str,
    /// Signature fields.
    pub signature: SignatureFields<'a>,
    /// GET here unsubscribes.
    pub unsubscribe_url: &'a str,
    /// The publish's message attributes.
    pub attributes: &'a MessageAttributes,
}

/// A SubscriptionConfirmation or UnsubscribeConfirmation's content.
#[derive(Debug, Clone)]
pub struct ConfirmationDoc<'a> {
    /// `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    pub kind: &'a str,
    /// A fresh id.
    pub message_id: &'a str,
    /// The confirmation token.
    pub token: &'a str,
    /// The topic.
    pub topic_arn: &'a str,
    /// The human-readable text.
    pub message: &'a str,
    /// GET here confirms.
    pub subscribe_url: &'a str,
    /// ISO 8601 time.
    pub timestamp: &'a str,
    /// Signature fields.
    pub signature: SignatureFields<'a>,
}

/// Writes `"name" : value` members the way SNS lays out its documents.
struct DocWriter {
    out: String,
    first: bool,
}

impl DocWriter {
    fn new() -> DocWriter {
        DocWriter {
            out: String::from("{\n"),
            first: true,
        }
    }

    fn raw(&mut self, name: &str, json: &str) {
        if !self.first {
            self.out.push_str(",\n");
        }
        self.first = false;
        self.out.push_str("  ");
        self.out.push_str(&json_string(name));
        self.out.push_str(" : ");
        self.out.push_str(json);
    }

    fn string(&mut self, name: &str, value: &str) {
        self.raw(name, &json_string(value));
    }

    fn finish(mut self) -> String {
        self.out.push_str("\n}");
        self.out
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The Notification document.
pub fn notification_json(doc: &NotificationDoc<'_>) -> String {
    let mut w = DocWriter::new();
    w.string("Type", "Notification");
    w.string("MessageId", doc.message_id);
    if let Some(seq) = doc.sequence_number {
        w.string("SequenceNumber", seq);
    }
    w.string("TopicArn", doc.topic_arn);
    if let Some(subject) = doc.subject {
        w.string("Subject", subject);
    }
    w.string("Message", doc.message);
    w.string("Timestamp", doc.timestamp);
    w.string("SignatureVersion", doc.signature.version);
    w.string("Signature", doc.signature.signature);
    w.string("SigningCertURL", doc.signature.signing_cert_url);
    w.string("UnsubscribeURL", doc.unsubscribe_url);
    if !doc.attributes.is_empty() {
        let mut map = serde_json::Map::new();
        for (name, attr) in doc.attributes {
            let value = match (&attr.string_value, &attr.binary_value) {
                (Some(s), _) => s.clone(),
                (None, Some(b)) => STANDARD.encode(b),
                (None, None) => String::new(),
            };
            // SNS reports the base type (a custom `.label` suffix is dropped).
            let base = attr.data_type.split('.').next().unwrap_or_default();
            let kind = if attr.data_type.starts_with("String.Array") {
                "String.Array"
            } else {
                base
            };
            map.insert(name.clone(), serde_json::json!({ "Type": kind, "Value": value }));
        }
        w.raw("MessageAttributes", &serde_json::Value::Object(map).to_string());
    }
    w.finish()
}

/// The event a Lambda function subscribed to a topic receives: the notification wrapped in
/// `{"Records": [{"EventSource": "aws:sns", "EventVersion", "EventSubscriptionArn", "Sns"}]}`,
/// with AWS's spelling inside `Sns` (`SigningCertUrl`, `UnsubscribeUrl`).
pub fn lambda_event(notification: &str, subscription_arn: &str) -> String {
    let mut sns: serde_json::Map<String, serde_json::Value> = serde_json::from_str(notification).unwrap_or_default();
    for (from, to) in [
        ("SigningCertURL", "SigningCertUrl"),
        ("UnsubscribeURL", "UnsubscribeUrl"),
    ] {
        if let Some(value) = sns.remove(from) {
            sns.insert(to.to_string(), value);
        }
    }
    sns.entry("MessageAttributes")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    sns.entry("Subject").or_insert(serde_json::Value::Null);
    serde_json::json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": sns,
    }]})
    .to_string()
}

/// A SubscriptionConfirmation or UnsubscribeConfirmation document.
pub fn confirmation_json(doc: &ConfirmationDoc<'_>) -> String {
    let mut w = DocWriter::new();
    w.string("Type", doc.kind);
    w.string("MessageId", doc.message_id);
    w.string("Token", doc.token);
    w.string("TopicArn", doc.topic_arn);
    w.string("Message", doc.message);
    w.string("SubscribeURL", doc.subscribe_url);
    w.string("Timestamp", doc.timestamp);
    w.string("SignatureVersion", doc.signature.version);
    w.string("Signature", doc.signature.signature);
    w.string("SigningCertURL", doc.signature.signing_cert_url);
    w.finish()
}

/// `2012-05-02T00:54:06.655Z` for epoch milliseconds.
pub fn iso8601_ms(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        epoch_ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::message::MessageAttribute;

    #[test]
    fn timestamps() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_335_920_046_655), "2012-05-02T00:54:06.655Z");
        assert_eq!(iso8601_ms(951_782_400_001), "2000-02-29T00:00:00.001Z");
        assert_eq!(iso8601_ms(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    fn sig() -> SignatureFields<'static> {
        SignatureFields {
            version: "1",
            signature: "c2ln",
            signing_cert_url: "http://h/cert.pem",
        }
    }

    #[test]
    fn notification_has_aws_fields_in_order() {
        let mut attributes = MessageAttributes::new();
        attributes.insert(
            "color".into(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("red".into()),
                binary_value: None,
            },
        );
        attributes.insert(
            "blob".into(),
            MessageAttribute {
                data_type: "Binary.gz".into(),
                string_value: None,
                binary_value: Some(vec![1, 2]),
            },
        );
        let doc = NotificationDoc {
            message_id: "m1",
            sequence_number: None,
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t",
            subject: Some("hi \"there\""),
            message: "line1\nline2",
            timestamp: "2012-05-02T00:54:06.655Z",
            signature: sig(),
            unsubscribe_url: "http://h/?Action=Unsubscribe",
            attributes: &attributes,
        };
        let text = notification_json(&doc);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Type"], "Notification");
        assert_eq!(v["Subject"], "hi \"there\"");
        assert_eq!(v["Message"], "line1\nline2");
        assert_eq!(v["MessageAttributes"]["color"]["Type"], "String");
        assert_eq!(v["MessageAttributes"]["blob"]["Type"], "Binary");
        assert_eq!(v["MessageAttributes"]["blob"]["Value"], "AQI=");
        let order = [
            "\"Type\"",
            "\"MessageId\"",
            "\"TopicArn\"",
            "\"Subject\"",
            "\"Message\"",
            "\"Timestamp\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.starts_with("{\n  \"Type\" : \"Notification\",\n"));

        let plain = NotificationDoc {
            subject: None,
            attributes: &MessageAttributes::new(),
            ..doc
        };
        let v: serde_json::Value = serde_json::from_str(&notification_json(&plain)).unwrap();
        assert!(v.get("Subject").is_none() && v.get("MessageAttributes").is_none());
    }

    #[test]
    fn confirmation_document() {
        let text = confirmation_json(&ConfirmationDoc {
            kind: "SubscriptionConfirmation",
            message_id: "m",
            token: "tok",
            topic_arn: "arn:t",
            message: "You have chosen...",
            subscribe_url: "http://h/?Action=ConfirmSubscription",
            timestamp: "2012-05-02T00:54:06.655Z",
            signature: sig(),
        });
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Type"], "SubscriptionConfirmation");
        assert_eq!(v["Token"], "tok");
        assert_eq!(v["SigningCertURL"], "http://h/cert.pem");
    }
}
