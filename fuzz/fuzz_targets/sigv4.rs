//! SigV4: the Authorization header and presigned query parsers, and verification of a request
//! whose header, query and body come from the input.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use sluice_protocols::sigv4::{parse_authorization, parse_credential_param};
use sluice_protocols::sigv4_verify::{verify, KeySecret, SignedRequest};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_authorization(&text);
    let _ = parse_credential_param(&text);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.insert("authorization", value);
        headers.insert("x-amz-date", HeaderValue::from_static("20260101T000000Z"));
    }
    headers.insert("host", HeaderValue::from_static("localhost"));
    let request = SignedRequest {
        method: &Method::POST,
        path: "/000000000000/q",
        query: Some(&text),
        headers: &headers,
        authority: None,
        body: data,
    };
    let _ = verify(&request, "sqs", 1_767_225_600, |_| {
        Some(KeySecret {
            secret: "s".into(),
            session_token: None,
        })
    });
});
