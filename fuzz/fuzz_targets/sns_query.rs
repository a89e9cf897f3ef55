//! SNS over the query protocol, including the per-entry checks of PublishBatch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_protocols::query::parse_form;
use sluice_protocols::sns;

fuzz_target!(|data: &[u8]| {
    let params = parse_form(data);
    if let Ok((_, sns::SnsRequest::PublishBatch { entries, .. })) = sns::decode_query(&params) {
        for entry in &entries {
            let _ = sns::check_publish(&entry.fields);
        }
    }
});
