//! The client's address through a forwarding standby.
//!
//! A standby forwards a call to the writer on a connection of its own, so the writer would see
//! the standby's address, and policies with `aws:SourceIp` would judge the standby. The standby
//! names the client's address in [`FORWARDED_FOR`] and vouches for it in [`FORWARDED_PROOF`]: an
//! HMAC-SHA256, under a key every node derives from the broker's replicated secret
//! (`sluice_broker::stream::forwarding_key`), of the address and the request's `Authorization`
//! and `X-Amz-Date` headers. The writer takes the address only when the proof verifies, so a
//! client cannot claim another address by sending the header itself, and a proof seen on the
//! wire is good for that very signed request only.

use std::net::IpAddr;

use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

/// The client's address, as the forwarding standby saw it.
pub const FORWARDED_FOR: &str = "x-sluice-forwarded-for";
/// The standby's proof of [`FORWARDED_FOR`].
pub const FORWARDED_PROOF: &str = "x-sluice-forwarded-proof";

/// The proof of `ip` for a request with these headers, under `key`.
pub fn proof(key: &[u8; 32], ip: IpAddr, headers: &HeaderMap) -> Option<String> {
    let mac = keyed(key, ip, headers)?;
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// The client address a standby vouched for in `headers`, when its proof verifies under `key`.
pub fn client_ip(key: Option<&[u8; 32]>, headers: &HeaderMap) -> Option<IpAddr> {
    let ip: IpAddr = headers.get(FORWARDED_FOR)?.to_str().ok()?.trim().parse().ok()?;
    let claimed = headers.get(FORWARDED_PROOF)?.to_str().ok()?;
    let claimed = base64::engine::general_purpose::STANDARD.decode(claimed).ok()?;
    // Constant time: `verify_slice` compares without an early exit.
    keyed(key?, ip, headers)?.verify_slice(&claimed).ok().map(|()| ip)
}

/// The HMAC over the address and the request's signature headers.
fn keyed(key: &[u8; 32], ip: IpAddr, headers: &HeaderMap) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(ip.to_string().as_bytes());
    for name in ["authorization", "x-amz-date"] {
        mac.update(b"\n");
        if let Some(value) = headers.get(name) {
            mac.update(value.as_bytes());
        }
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(ip: &str, proof: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKID/..."),
        );
        h.insert("x-amz-date", HeaderValue::from_static("20261206T220000Z"));
        h.insert(FORWARDED_FOR, HeaderValue::from_str(ip).expect("value"));
        h.insert(FORWARDED_PROOF, HeaderValue::from_str(proof).expect("value"));
        h
    }

    #[test]
    fn only_a_proof_under_the_key_for_that_address_and_request_counts() {
        let key = [7u8; 32];
        let ip: IpAddr = "10.1.2.3".parse().expect("ip");
        let signed = headers("10.1.2.3", "");
        let good = proof(&key, ip, &signed).expect("proof");
        assert_eq!(client_ip(Some(&key), &headers("10.1.2.3", &good)), Some(ip));
        // Another key, another address, another request, no key, garbage: not believed.
        assert_eq!(client_ip(Some(&[8u8; 32]), &headers("10.1.2.3", &good)), None);
        assert_eq!(client_ip(Some(&key), &headers("10.9.9.9", &good)), None);
        let mut other_request = headers("10.1.2.3", &good);
        other_request.insert("x-amz-date", HeaderValue::from_static("20261206T220001Z"));
        assert_eq!(client_ip(Some(&key), &other_request), None);
        assert_eq!(client_ip(None, &headers("10.1.2.3", &good)), None);
        assert_eq!(client_ip(Some(&key), &headers("10.1.2.3", "bm90IGEgcHJvb2Y=")), None);
        assert_eq!(client_ip(Some(&key), &headers("not an ip", &good)), None);
    }
}
