//! Event-stream frames (SubscribeToShard): decoding never panics, and a frame that decodes
//! re-encodes to the same bytes. Each input is also tried with its two CRC-32s recomputed, so
//! the fuzzer reaches the lengths and headers behind the checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_protocols::eventstream;

fn check(data: &[u8]) {
    if let Ok(Some((message, used))) = eventstream::decode(data) {
        let again = eventstream::encode(&message).expect("a decoded frame encodes");
        assert_eq!(again, &data[..used]);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut fixed = data.to_vec();
    if fixed.len() >= 12 {
        let crc = crc32fast::hash(&fixed[..8]);
        fixed[8..12].copy_from_slice(&crc.to_be_bytes());
        let total = u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]) as usize;
        if (16..=fixed.len()).contains(&total) {
            let crc = crc32fast::hash(&fixed[..total - 4]);
            fixed[total - 4..total].copy_from_slice(&crc.to_be_bytes());
        }
        check(&fixed);
    }
});
