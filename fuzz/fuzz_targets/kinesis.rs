//! Kinesis requests: the first byte picks the action and the encoding (JSON 1.1 or CBOR 1.1),
//! the rest is the body, decoded to a document and then to a typed request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_protocols::kinesis::{decode_request, Encoding, KinesisAction};

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let action = KinesisAction::ALL[(*first >> 1) as usize % KinesisAction::ALL.len()];
    let encoding = if first & 1 == 0 { Encoding::Json } else { Encoding::Cbor };
    if let Ok(value) = encoding.decode(body) {
        let _ = decode_request(action, value);
    }
});
