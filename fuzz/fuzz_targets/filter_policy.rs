//! SNS filter policies: parsing a policy (either scope) never panics, and neither does
//! matching an accepted one against a message built from the same input.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The engine is self-contained (std and serde_json); compiling its file here keeps RocksDB,
// which the rest of sluice-broker needs, out of the fuzz build.
#[path = "../../broker/core/src/topic/filter.rs"]
#[allow(dead_code)]
mod filter;

use filter::{AttributeRef, FilterPolicy, FilterScope};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The policy and a message share the input: "policy\0message".
    let (policy, message) = text.split_once('\0').unwrap_or((&text, "{}"));
    for scope in [FilterScope::MessageAttributes, FilterScope::MessageBody] {
        let Ok(compiled) = FilterPolicy::parse(policy, scope) else {
            continue;
        };
        if let Ok(body) = serde_json::from_str::<serde_json::Value>(message) {
            let _ = compiled.matches_body(&body);
            if let serde_json::Value::Object(fields) = &body {
                let lookup = |name: &str| {
                    fields.get(name).map(|v| AttributeRef {
                        data_type: if v.is_number() { "Number" } else { "String" },
                        string_value: v.as_str(),
                    })
                };
                let _ = compiled.matches_attributes(&lookup);
            }
        }
    }
});
