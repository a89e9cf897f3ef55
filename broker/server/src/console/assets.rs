//! The console's page and assets, compiled into the binary from `broker/server/console/`, so
//! the console needs no build step and fetches nothing from elsewhere.

use http::{HeaderValue, Response, StatusCode};

use crate::wire::ResponseBody;

/// One file the console serves.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    /// Its content type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static str,
}

/// The page itself, at `/console` and `/console/`.
pub const PAGE: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_str!("../../console/index.html"),
};

const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("../../console/console.js"),
};

const STYLE: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    body: include_str!("../../console/console.css"),
};

const ICON: Asset = Asset {
    content_type: "image/svg+xml",
    body: include_str!("../../console/favicon.svg"),
};

/// The asset under `/console/assets/<name>`.
pub fn asset(name: &str) -> Option<&'static Asset> {
    match name {
        "console.js" => Some(&SCRIPT),
        "console.css" => Some(&STYLE),
        "favicon.svg" => Some(&ICON),
        _ => None,
    }
}

/// Only the broker's own scripts, styles and API: no inline script, nothing from elsewhere,
/// and no framing by another page.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The answer carrying `asset`, with the console's security headers.
pub fn response(asset: &Asset) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(asset.body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Small files: revalidated each time, so an upgraded broker's page is never stale.
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_assets() {
        for name in ["console.js", "console.css", "favicon.svg"] {
            assert!(asset(name).is_some(), "{name}");
            assert!(PAGE.body.contains(&format!("/console/assets/{name}")), "{name} linked");
        }
        assert!(asset("../Cargo.toml").is_none());
        assert!(!PAGE.body.contains("<script>"), "no inline script");
        assert!(
            !PAGE.body.contains("http://") && !PAGE.body.contains("https://"),
            "nothing from elsewhere"
        );
        let r = response(&PAGE);
        assert!(r.headers().contains_key(http::header::CONTENT_SECURITY_POLICY));
    }
}
