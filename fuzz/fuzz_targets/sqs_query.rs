//! SQS over the query protocol: form decoding, then the request decoder with and without a
//! queue URL from the path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_protocols::query::parse_form;
use sluice_protocols::sqs::decode_query;

fuzz_target!(|data: &[u8]| {
    let params = parse_form(data);
    let _ = decode_query(&params, Some("http://localhost/000000000000/q"));
    let _ = decode_query(&params, None);
});
