//! Framing tests: the known-good frames of botocore's own event-stream test suite
//! (tests/unit/test_eventstream.py, themselves from aws-c-event-stream), and a round trip
//! through the Rust SDK's independent codec (aws-smithy-eventstream).

use super::*;

fn s(name: &str, value: &str) -> (String, HeaderValue) {
    (name.to_string(), HeaderValue::String(value.to_string()))
}

fn msg(headers: Vec<(String, HeaderValue)>, payload: &[u8]) -> Message {
    Message {
        headers,
        payload: payload.to_vec(),
    }
}

/// (frame, the message it holds) as botocore's test suite lists them.
fn known_good() -> Vec<(&'static [u8], Message)> {
    vec![
        (b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff", msg(vec![], b"")),
        (
            b"\x00\x00\x00\x17\x00\x00\x00\x07)\x86\x01X\x04byte\x02\xff\xc2\xf8i\xdc",
            msg(vec![("byte".into(), HeaderValue::Byte(-1))], b""),
        ),
        (
            b"\x00\x00\x00\x19\x00\x00\x00\tq\x0e\x92>\x05short\x03\xff\xff\xb2|\xb6\xcc",
            msg(vec![("short".into(), HeaderValue::Short(-1))], b""),
        ),
        (
            b"\x00\x00\x00\x1d\x00\x00\x00\r\x83\xe3\xf0\xe7\x07integer\x04\xff\xff\xff\xff\x8b\x8e\x12\xeb",
            msg(vec![("integer".into(), HeaderValue::Int(-1))], b""),
        ),
        (
            b"\x00\x00\x00\x1e\x00\x00\x00\x0e]J\xdb\x8d\x04long\x05\xff\xff\xff\xff\xff\xff\xff\xffK\xc22\xda",
            msg(vec![("long".into(), HeaderValue::Long(-1))], b""),
        ),
        (
            b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3e96",
            msg(vec![], b"{'foo':'bar'}"),
        ),
        (
            b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}\x8d\x9c\x08\xb1",
            msg(vec![s("content-type", "application/json")], b"{'foo':'bar'}"),
        ),
        (
            b"\x00\x00\x00\x62\x00\x00\x00\x52\x03\xb5\xcb\x9c\
              \x010\x00\x011\x01\x012\x02\x02\x013\x03\x00\x03\
              \x014\x04\x00\x00\x00\x04\x015\x05\x00\x00\x00\x00\x00\x00\x00\x05\
              \x016\x06\x00\x05bytes\x017\x07\x00\x04utf8\
              \x018\x08\x00\x00\x00\x00\x00\x00\x00\x08\x019\x090123456789abcdef\
              \x63\x35\x36\x71",
            msg(
                vec![
                    ("0".into(), HeaderValue::Bool(true)),
                    ("1".into(), HeaderValue::Bool(false)),
                    ("2".into(), HeaderValue::Byte(2)),
                    ("3".into(), HeaderValue::Short(3)),
                    ("4".into(), HeaderValue::Int(4)),
                    ("5".into(), HeaderValue::Long(5)),
                    ("6".into(), HeaderValue::Bytes(b"bytes".to_vec())),
                    s("7", "utf8"),
                    ("8".into(), HeaderValue::Timestamp(8)),
                    ("9".into(), HeaderValue::Uuid(*b"0123456789abcdef")),
                ],
                b"",
            ),
        ),
        (
            b"\x00\x00\x00\x52\x00\x00\x00\x42\xbf\x23\x63\x7e\
              \x0d:message-type\x07\x00\x05error\
              \x0b:error-code\x07\x00\x04code\
              \x0e:error-message\x07\x00\x07message\
              \x6b\x6c\xea\x3d",
            msg(
                vec![
                    s(":message-type", "error"),
                    s(":error-code", "code"),
                    s(":error-message", "message"),
                ],
                b"",
            ),
        ),
        (
            b"\x00\x00\x00~\x00\x00\x00O\xc5\xa3\xdd\xc6\r:message-type\x07\x00\
              \x05event\x0b:event-type\x07\x00\x10initial-response\r:content-type\
              \x07\x00\ttext/json{\"InitialResponse\": \"sometext\"}\xf6\x98$\x83",
            msg(
                vec![
                    s(":message-type", "event"),
                    s(":event-type", "initial-response"),
                    s(":content-type", "text/json"),
                ],
                b"{\"InitialResponse\": \"sometext\"}",
            ),
        ),
    ]
}

#[test]
fn known_good_frames_decode_and_encode_byte_for_byte() {
    for (frame, want) in known_good() {
        let (got, used) = decode(frame).expect("valid frame").expect("complete frame");
        assert_eq!(got, want);
        assert_eq!(used, frame.len());
        assert_eq!(encode(&want).expect("encodable"), frame, "{want:?}");
    }
}

#[test]
fn every_prefix_of_a_frame_asks_for_more_and_frames_decode_back_to_back() {
    let frames = known_good();
    let mut all = Vec::new();
    for (frame, _) in &frames {
        for cut in 0..frame.len() {
            assert_eq!(decode(&frame[..cut]), Ok(None), "prefix of {cut} bytes");
        }
        all.extend_from_slice(frame);
    }
    let mut at = 0;
    for (_, want) in &frames {
        let (got, used) = decode(&all[at..]).expect("valid").expect("complete");
        assert_eq!(&got, want);
        at += used;
    }
    assert_eq!(at, all.len());
}

#[test]
fn corrupted_frames_are_refused() {
    let cases: Vec<(&[u8], FrameError)> = vec![
        // Length changed: the prelude CRC no longer matches.
        (
            b"\x01\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3e96",
            FrameError::PreludeChecksum,
        ),
        // A payload byte changed.
        (
            b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'\x8d\xc3e96",
            FrameError::MessageChecksum,
        ),
        // A header byte changed.
        (
            b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent+type\x07\x00\x10application/json{'foo':'bar'}\x8d\x9c\x08\xb1",
            FrameError::MessageChecksum,
        ),
        // Checksums right, headers length beyond the message.
        (
            b"\x00\x00\x00\x3d\xff\x00\x01\x02\x15\x83\xf5\xc2\x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}\x2f\x37\x7f\x5d",
            FrameError::InvalidLength {
                total: 0x3d,
                headers: 0xff00_0102,
            },
        ),
        // Checksums right, the same header twice.
        (
            b"\x00\x00\x00\x24\x00\x00\x00\x14\x4b\xb9\x82\xd0\x04test\x04asdf\x04test\x04asdf\xf3\xf4\x75\x63",
            FrameError::DuplicateHeader("test".into()),
        ),
    ];
    for (frame, want) in cases {
        assert_eq!(decode(frame), Err(want));
    }
}

#[test]
fn oversized_payloads_are_refused_from_the_prelude() {
    // botocore's INVALID_PAYLOAD_LENGTH prelude: a 24 MiB payload is refused before it arrives.
    let prelude = b"\x01\x80\x00\x21\x00\x00\x00\x00\xdd\x3f\x33\xb1";
    assert!(matches!(decode(prelude), Err(FrameError::InvalidLength { .. })));
    let too_big = Message {
        headers: vec![],
        payload: vec![0; MAX_PAYLOAD_LEN + 1],
    };
    assert_eq!(encode(&too_big), Err(FrameError::TooLong("payload")));
    let long_name = Message {
        headers: vec![("n".repeat(256), HeaderValue::Bool(true))],
        payload: vec![],
    };
    assert_eq!(encode(&long_name), Err(FrameError::TooLong("header name")));
}

#[test]
fn the_sdk_codec_reads_our_frames_and_we_read_its_frames() {
    use aws_smithy_types::event_stream::{Header, HeaderValue as SdkValue, Message as SdkMessage};
    let ours = msg(
        vec![
            s(":event-type", "SubscribeToShardEvent"),
            s(":content-type", "application/x-amz-cbor-1.1"),
            s(":message-type", "event"),
        ],
        b"\xa1\x61a\x01",
    );
    let frame = encode(&ours).expect("encodable");
    let sdk = aws_smithy_eventstream::frame::read_message_from(&frame[..]).expect("the SDK decodes our frame");
    assert_eq!(sdk.payload().as_ref(), b"\xa1\x61a\x01");
    let names: Vec<(&str, &SdkValue)> = sdk.headers().iter().map(|h| (h.name().as_str(), h.value())).collect();
    assert_eq!(
        names,
        vec![
            (":event-type", &SdkValue::String("SubscribeToShardEvent".into())),
            (":content-type", &SdkValue::String("application/x-amz-cbor-1.1".into())),
            (":message-type", &SdkValue::String("event".into())),
        ]
    );

    let theirs = SdkMessage::new_from_parts(
        vec![
            Header::new(":message-type", SdkValue::String("exception".into())),
            Header::new(":exception-type", SdkValue::String("ResourceInUseException".into())),
            Header::new("n", SdkValue::Int64(-5)),
        ],
        &b"{\"message\":\"m\"}"[..],
    );
    let mut sdk_frame = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&theirs, &mut sdk_frame).expect("the SDK encodes");
    let (got, used) = decode(&sdk_frame).expect("valid").expect("complete");
    assert_eq!(used, sdk_frame.len());
    assert_eq!(got.header_str(":exception-type"), Some("ResourceInUseException"));
    assert_eq!(got.headers[2], ("n".to_string(), HeaderValue::Long(-5)));
    assert_eq!(got.payload, b"{\"message\":\"m\"}");
    assert_eq!(encode(&got).expect("encodable"), sdk_frame);
}
