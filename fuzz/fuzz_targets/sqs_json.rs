//! SQS over AWS JSON 1.0: the first byte picks the action, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_protocols::sqs::{decode_json, SqsAction};

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let action = SqsAction::ALL[*first as usize % SqsAction::ALL.len()];
    let _ = decode_json(action, body);
});
