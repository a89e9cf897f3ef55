//! Mutation fuzzing on the stable toolchain: every decoder (SQS JSON/query, SNS query, Kinesis
//! JSON/CBOR, SigV4, event-stream frames) is fed thousands of inputs derived from valid requests (bit flips, byte
//! insertions and deletions, truncations, splices, random bytes) and must answer `Ok` or an
//! error, never panic. Deterministic (seeded) and bounded in count, so it runs in every
//! `cargo test`; `SLUICE_FUZZ_ITERATIONS` raises the count for a longer local run.
//! (cargo-fuzz's coverage-guided engine needs a nightly toolchain; this catches the panics that
//! malformed input most often triggers.)

use std::panic::{catch_unwind, AssertUnwindSafe};

use http::{HeaderMap, HeaderValue, Method};
use sluice_protocols::eventstream::{self, HeaderValue as FrameHeader, Message as Frame};
use sluice_protocols::kinesis::{decode_request, Encoding, KinesisAction};
use sluice_protocols::query::parse_form;
use sluice_protocols::sigv4::{parse_authorization, parse_credential_param};
use sluice_protocols::sigv4_verify::{verify, KeySecret, SignedRequest};
use sluice_protocols::sns;
use sluice_protocols::sqs::{decode_json, decode_query, SqsAction};

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that tend to break parsers.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"%",
    b"%ZZ",
    b"&",
    b"=",
    b"\0",
    b"\xff\xfe",
    b"-1",
    b"99999999999999999999999",
    b"1e999",
    b"null",
    b"true",
    b"\xf0\x9f\x92\xa9",
    b"\xc3",
    b"\x9f",
    b"\xbf",
    b"\xa1",
    b"\x1b",
    b"/",
    b";",
    b" ",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(data.len() + 1);
                let chunk = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(i..i, chunk.iter().copied());
            }
            2 if !data.is_empty() => {
                let i = rng.below(data.len());
                let j = (i + 1 + rng.below(8)).min(data.len());
                data.drain(i..j);
            }
            3 => data.truncate(rng.below(data.len() + 1)),
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(other.len() + 1);
                data.extend_from_slice(&other[cut..]);
            }
            5 => data = (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
            _ => {
                let i = rng.below(data.len() + 1);
                data.insert(i, rng.next() as u8);
            }
        }
    }
    data
}

fn iterations() -> usize {
    std::env::var("SLUICE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

/// Runs `target` on mutated inputs; a panic fails the test with the input that caused it.
fn fuzz(name: &str, seed: u64, seeds: &[Vec<u8>], target: impl Fn(&[u8])) {
    let mut rng = Rng(seed);
    for i in 0..iterations() {
        let input = mutate(&mut rng, seeds);
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            panic!(
                "{name}: iteration {i} panicked on input {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

fn seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

#[test]
fn sqs_json_decoder_never_panics() {
    let seeds = seeds(&[
        r#"{"QueueUrl":"http://h/000000000000/q","MessageBody":"hi","DelaySeconds":5,"MessageAttributes":{"a":{"DataType":"String","StringValue":"v"},"b":{"DataType":"Binary","BinaryValue":"AAE="}}}"#,
        r#"{"QueueUrl":"http://h/000000000000/q","Entries":[{"Id":"1","MessageBody":"x","MessageGroupId":"g"}]}"#,
        r#"{"QueueName":"q.fifo","Attributes":{"FifoQueue":"true"},"tags":{"k":"v"}}"#,
        r#"{"QueueUrl":"q","MaxNumberOfMessages":10,"WaitTimeSeconds":20,"MessageSystemAttributeNames":["All"]}"#,
    ]);
    for (n, action) in SqsAction::ALL.iter().enumerate() {
        fuzz(action.name(), 1 + n as u64, &seeds, |input| {
            let _ = decode_json(*action, input);
        });
    }
}

#[test]
fn sqs_query_decoder_never_panics() {
    let seeds = seeds(&[
        "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fh%2F0%2Fq&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v",
        "Action=SendMessageBatch&QueueUrl=q&SendMessageBatchRequestEntry.1.Id=1&SendMessageBatchRequestEntry.1.MessageBody=x",
        "Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v",
        "Action=ReceiveMessage&AttributeName.1=All&MaxNumberOfMessages=10",
    ]);
    fuzz("query", 77, &seeds, |input| {
        let params = parse_form(input);
        let _ = decode_query(&params, Some("http://h/000000000000/q"));
        let _ = decode_query(&params, None);
    });
}

#[test]
fn sns_query_decoder_never_panics() {
    let seeds = seeds(&[
        "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi&Subject=s&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=1.5e3&MessageAttributes.entry.2.Name=b&MessageAttributes.entry.2.Value.DataType=Binary&MessageAttributes.entry.2.Value.BinaryValue=AQI%3D&MessageAttributes.entry.3.Name=l&MessageAttributes.entry.3.Value.DataType=String.Array&MessageAttributes.entry.3.Value.StringValue=%5B%22a%22%2C1%5D",
        "Action=PublishBatch&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=one&PublishBatchRequestEntries.member.1.MessageGroupId=g&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message=two&PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Name=n&PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Value.DataType=String&PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Value.StringValue=v",
        "Action=CreateTopic&Name=orders.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true&Tags.member.1.Key=k&Tags.member.1.Value=v",
        "Action=Subscribe&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aq&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true&ReturnSubscriptionArn=true",
        "Action=AddPermission&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Label=l&AWSAccountId.member.1=1&ActionName.member.1=Publish",
        "Action=UntagResource&ResourceArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&TagKeys.member.1=a&TagKeys.member.2=b",
    ]);
    fuzz("sns-query", 400, &seeds, |input| {
        let params = parse_form(input);
        // The server checks each PublishBatch entry after decoding; that must not panic either.
        if let Ok((_, sns::SnsRequest::PublishBatch { entries, .. })) = sns::decode_query(&params) {
            for entry in &entries {
                let _ = sns::check_publish(&entry.fields);
            }
        }
    });
}

#[test]
fn kinesis_json_and_cbor_decoders_never_panic() {
    let json_seeds = seeds(&[
        r#"{"StreamName":"s","Records":[{"Data":"eA==","PartitionKey":"k","ExplicitHashKey":"123"}]}"#,
        r#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.5e9}"#,
        r#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":1}}"#,
        r#"{"ShardIterator":"AAAA","Limit":10000}"#,
    ]);
    let cbor_seeds: Vec<Vec<u8>> = json_seeds
        .iter()
        .filter_map(|j| {
            let value: serde_json::Value = serde_json::from_slice(j).ok()?;
            let mut out = Vec::new();
            ciborium::into_writer(&value, &mut out).ok()?;
            Some(out)
        })
        .collect();
    for (n, action) in KinesisAction::ALL.iter().enumerate() {
        fuzz(action.name(), 100 + n as u64, &json_seeds, |input| {
            if let Ok(value) = Encoding::Json.decode(input) {
                let _ = decode_request(*action, value);
            }
        });
        fuzz(action.name(), 200 + n as u64, &cbor_seeds, |input| {
            if let Ok(value) = Encoding::Cbor.decode(input) {
                let _ = decode_request(*action, value);
            }
        });
    }
}

/// Recomputes both CRCs of a frame whose bytes were mutated, so that the decoder gets past
/// its checksums and into the lengths and headers.
fn with_fixed_checksums(input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    if out.len() >= 12 {
        let crc = crc32fast::hash(&out[..8]);
        out[8..12].copy_from_slice(&crc.to_be_bytes());
        let total = u32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
        if total >= 16 && total <= out.len() {
            let crc = crc32fast::hash(&out[..total - 4]);
            out[total - 4..total].copy_from_slice(&crc.to_be_bytes());
        }
    }
    out
}

#[test]
fn event_stream_decoder_never_panics_and_reencodes_what_it_accepts() {
    let frame = |headers: Vec<(&str, FrameHeader)>, payload: &[u8]| {
        eventstream::encode(&Frame {
            headers: headers.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            payload: payload.to_vec(),
        })
        .expect("seed frame")
    };
    let seeds = vec![
        frame(vec![], b""),
        frame(
            vec![
                (":message-type", FrameHeader::String("event".into())),
                (":event-type", FrameHeader::String("SubscribeToShardEvent".into())),
                (
                    ":content-type",
                    FrameHeader::String("application/x-amz-json-1.1".into()),
                ),
            ],
            br#"{"Records":[],"ContinuationSequenceNumber":"1","MillisBehindLatest":0}"#,
        ),
        frame(
            vec![
                ("b", FrameHeader::Bool(false)),
                ("i", FrameHeader::Int(-4)),
                ("l", FrameHeader::Long(7)),
                ("x", FrameHeader::Bytes(vec![1, 2, 3])),
                ("t", FrameHeader::Timestamp(1_700_000_000_000)),
                ("u", FrameHeader::Uuid([7; 16])),
            ],
            b"\xa0",
        ),
    ];
    fuzz("event-stream", 0xE7E7, &seeds, |input| {
        let _ = eventstream::decode(input);
        let repaired = with_fixed_checksums(input);
        if let Ok(Some((message, used))) = eventstream::decode(&repaired) {
            let again = eventstream::encode(&message).expect("a decoded frame encodes");
            assert_eq!(again, &repaired[..used], "decode then encode must give the same bytes");
        }
    });
}

#[test]
fn sigv4_parsing_and_verification_never_panic() {
    let seeds = seeds(&[
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AKID/20260101/us-east-1/kinesis/aws4_request",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
    ]);
    fuzz("sigv4", 300, &seeds, |input| {
        let text = String::from_utf8_lossy(input);
        let _ = parse_authorization(&text);
        let _ = parse_credential_param(&text);
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(input) {
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
            body: input,
        };
        let _ = verify(&request, "sqs", 1_767_225_600, |_| {
            Some(KeySecret {
                secret: "s".into(),
                session_token: None,
            })
        });
    });
}

#[test]
#[should_panic(expected = "panicked on input")]
fn the_harness_reports_a_panicking_decoder() {
    let seeds = seeds(&["abcdef"]);
    fuzz("self-check", 1, &seeds, |input| {
        if input.len() > 3 {
            panic!("planted failure");
        }
    });
}
