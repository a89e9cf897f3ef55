//! Calls into the API's own handlers on the session's behalf, so what the console changes is
//! validated, authorized and answered exactly as the same call from an SDK would be.

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::BodyExt;
use serde_json::Value;

use super::error::ConsoleError;
use crate::api::context::{ApiCall, ApiReply, RequestContext};
use crate::app::App;
use crate::wire::{Protocol, Service};

/// Runs the SQS action `action` with the JSON 1.0 input `input` as `ctx`'s caller; its output,
/// or its error with AWS's code, message and status.
pub async fn sqs(app: &App, ctx: &RequestContext, action: &str, input: Value) -> Result<Value, ConsoleError> {
    let headers = HeaderMap::new();
    let call = ApiCall {
        service: Service::Sqs,
        protocol: Protocol::Json10,
        action,
        method: &Method::POST,
        path: "/",
        headers: &headers,
        query: None,
        body: Bytes::from(input.to_string()),
    };
    let reply = crate::api::sqs::handle(app, ctx, call).await;
    json_answer(action, reply).await
}

/// Runs the Kinesis action `action` with the JSON 1.1 input `input` as `ctx`'s caller; its
/// output, or its error with AWS's code, message and status. The request looks like an SDK's
/// (`X-Amz-Target: Kinesis_20131202.<Action>`, JSON 1.1), so the handler decodes, validates
/// and authorizes it (`kinesis:<Action>` on the stream) as it would one from the wire.
pub async fn kinesis(app: &App, ctx: &RequestContext, action: &str, input: Value) -> Result<Value, ConsoleError> {
    let mut headers = HeaderMap::new();
    let target = http::HeaderValue::from_str(&format!("Kinesis_20131202.{action}"))
        .map_err(|e| ConsoleError::Internal(format!("{action}: not a header value: {e}")))?;
    headers.insert("x-amz-target", target);
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    let call = ApiCall {
        service: Service::Kinesis,
        protocol: Protocol::Json11,
        action,
        method: &Method::POST,
        path: "/",
        headers: &headers,
        query: None,
        body: Bytes::from(input.to_string()),
    };
    let reply = crate::api::kinesis::handle(app, ctx, call).await;
    json_answer(action, reply).await
}

/// A JSON protocol answer as the output's document, or as [`ConsoleError::Api`] with the
/// code AWS names in `__type` (JSON 1.0 as `namespace#Code`, JSON 1.1 as the bare code).
async fn json_answer(action: &str, reply: ApiReply) -> Result<Value, ConsoleError> {
    let status = reply.response.status();
    let body = reply
        .response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ConsoleError::Internal(format!("{action}: the answer could not be read: {e}")))?;
    let value: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ConsoleError::Internal(format!("{action}: the answer is not JSON: {e}")))?
    };
    if status.is_success() {
        return Ok(value);
    }
    let code = value
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| "InternalError".into());
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Err(ConsoleError::Api {
        status: status.as_u16(),
        code,
        message,
    })
}

/// Runs the SNS action `action` with the query parameters `params` as `ctx`'s caller; its XML
/// answer, or its error with AWS's code, message and status. SNS speaks only the query
/// protocol (form-encoded `Action=`, XML answers), so the request is the form an SDK sends
/// and the handler decodes, validates and authorizes it (`sns:<Action>` on the topic) as one
/// from the wire.
pub async fn sns(
    app: &App,
    ctx: &RequestContext,
    action: &str,
    params: &[(&str, &str)],
) -> Result<String, ConsoleError> {
    // Built in a block: the serializer is not `Send`, so it must be gone before the await.
    let form = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", "2010-03-31");
        for (name, value) in params {
            form.append_pair(name, value);
        }
        form.finish()
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let call = ApiCall {
        service: Service::Sns,
        protocol: Protocol::Query,
        action,
        method: &Method::POST,
        path: "/",
        headers: &headers,
        query: None,
        body: Bytes::from(form),
    };
    let reply = crate::api::sns::handle(app, ctx, call).await;
    let status = reply.response.status();
    let body = reply
        .response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ConsoleError::Internal(format!("{action}: the answer could not be read: {e}")))?;
    let xml = String::from_utf8(body.to_vec())
        .map_err(|e| ConsoleError::Internal(format!("{action}: the answer is not UTF-8: {e}")))?;
    if status.is_success() {
        return Ok(xml);
    }
    // Query errors: <ErrorResponse><Error><Type/><Code/><Message/></Error>...
    Err(ConsoleError::Api {
        status: status.as_u16(),
        code: xml_text(&xml, "Code").unwrap_or_else(|| "InternalError".into()),
        message: xml_text(&xml, "Message").unwrap_or_default(),
    })
}

/// The text of the first `<tag>…</tag>` in `xml`, unescaped. Enough for the documents the
/// SNS handler writes (protocols' `XmlWriter`: no attributes on inner elements, no CDATA,
/// text escaped), which is all it reads; `<tag/>` and a missing tag give `None`.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    Some(xml_unescape(&xml[start..start + len]))
}

/// The `<entry><key>K</key><value>V</value></entry>` pairs of a map in `xml` (GetTopicAttributes'
/// `Attributes`), in document order.
pub fn xml_entries(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<entry>") {
        let after = &rest[start + "<entry>".len()..];
        let Some(end) = after.find("</entry>") else {
            break;
        };
        let entry = &after[..end];
        if let (Some(key), Some(value)) = (xml_text(entry, "key"), xml_text(entry, "value")) {
            out.push((key, value));
        }
        rest = &after[end + "</entry>".len()..];
    }
    out
}

/// Replaces XML's five named entities and numeric character references (`&#xD;`, `&#10;`).
fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let name = &tail[1..semi];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .map_or_else(
                    || name.strip_prefix('#').and_then(|d| d.parse::<u32>().ok()),
                    |h| u32::from_str_radix(h, 16).ok(),
                )
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            // Not a reference: keep the ampersand as text.
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod xml_tests {
    use super::*;

    #[test]
    fn reads_what_the_sns_handler_writes() {
        let doc = "<?xml version=\"1.0\"?><GetTopicAttributesResponse xmlns=\"x\"><GetTopicAttributesResult>\
                   <Attributes><entry><key>Policy</key><value>{&quot;a&quot;:&quot;&lt;b&gt; &amp; c&quot;}</value></entry>\
                   <entry><key>DisplayName</key><value></value></entry></Attributes></GetTopicAttributesResult></GetTopicAttributesResponse>";
        assert_eq!(
            xml_entries(doc),
            vec![
                ("Policy".to_string(), r#"{"a":"<b> & c"}"#.to_string()),
                ("DisplayName".to_string(), String::new()),
            ]
        );
        let err = "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>";
        assert_eq!(xml_text(err, "Code").as_deref(), Some("NotFound"));
        assert_eq!(xml_text(err, "Message").as_deref(), Some("Topic does not exist"));
        assert_eq!(xml_text(err, "SequenceNumber"), None);
        assert_eq!(xml_unescape("a&#xD;b&#10;c &x; & d"), "a\rb\nc &x; & d");
    }
}
