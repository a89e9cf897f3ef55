//! Signing in and out, and the gate every other console request passes: a live session, and
//! for a change the session's CSRF token, turned into the [`RequestContext`] the API's own
//! authorization reads.

use http::{HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::error::{json_response, ConsoleError};
use super::session::{self, Session};
use super::ConsoleRequest;
use crate::api::context::{Principal, RequestContext};
use crate::app::App;
use crate::wire::ResponseBody;

/// The header carrying the session's CSRF token on every change.
pub const CSRF_HEADER: &str = "x-sluice-csrf";

/// A sign-in's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    region: Option<String>,
}

/// `GET /console/api/session`: who the session acts as. With `--auth off`, a page without a
/// session gets one at once.
pub fn session_info(app: &App, req: &ConsoleRequest<'_>) -> Result<Response<ResponseBody>, ConsoleError> {
    if let Some(session) = current(app, req) {
        return Ok(describe(app, &session, None, req.secure()));
    }
    if app.keys.is_some() {
        return Ok(json_response(
            StatusCode::OK,
            &json!({
                "auth": "verify",
                "signedIn": false,
                "accessKeyId": null,
                "account": null,
                "region": app.settings.region,
                "csrf": null,
            }),
        ));
    }
    let session = Session::new(app.settings.account_id.clone(), app.settings.region.clone(), None);
    let token = app.console.start(session.clone());
    Ok(describe(app, &session, Some(&token), req.secure()))
}

/// `POST /console/api/session`: signs in with an access key and its secret (`--auth verify`),
/// or, with authentication off, starts a session in the region asked for.
pub fn sign_in(app: &App, req: &ConsoleRequest<'_>) -> Result<Response<ResponseBody>, ConsoleError> {
    let body: SignIn = req.json()?;
    let region = match body.region.as_deref().filter(|r| !r.is_empty()) {
        Some(region) if valid_region(region) => region.to_string(),
        Some(region) => {
            return Err(ConsoleError::BadRequest(format!(
                "{region} is not a region name (like us-east-1)."
            )))
        }
        None => app.settings.region.clone(),
    };
    let session = match &app.keys {
        Some(keys) => {
            let (Some(key), Some(secret)) = (body.access_key_id.as_deref(), body.secret_access_key.as_deref()) else {
                return Err(ConsoleError::InvalidCredentials);
            };
            let Some(identity) = keys.sign_in(key, secret, &region) else {
                // One line per refused sign-in, for audit; never the secret.
                tracing::info!(access_key = %key, "console sign-in refused");
                return Err(ConsoleError::InvalidCredentials);
            };
            Session::new(
                identity.account_id,
                identity.region,
                Some(Principal {
                    access_key_id: identity.access_key_id,
                    policy: identity.policy,
                }),
            )
        }
        None => Session::new(app.settings.account_id.clone(), region, None),
    };
    if let Some(old) = session::token_from_cookies(&req.parts.headers) {
        app.console.end(&old);
    }
    let token = app.console.start(session.clone());
    Ok(describe(app, &session, Some(&token), req.secure()))
}

/// `DELETE /console/api/session`: ends the session and clears its cookie.
pub fn sign_out(app: &App, req: &ConsoleRequest<'_>) -> Result<Response<ResponseBody>, ConsoleError> {
    if let Some(session) = current(app, req) {
        check_csrf(&session, req)?;
    }
    if let Some(token) = session::token_from_cookies(&req.parts.headers) {
        app.console.end(&token);
    }
    let mut response = Response::new(ResponseBody::full(""));
    *response.status_mut() = StatusCode::NO_CONTENT;
    set_cookie(&mut response, None, req.secure());
    Ok(response)
}

/// The session of a request that needs one, and the context its calls run in; a change must
/// also carry the session's CSRF token.
pub fn gate(app: &App, req: &ConsoleRequest<'_>) -> Result<RequestContext, ConsoleError> {
    let session = current(app, req).ok_or(ConsoleError::SignInRequired)?;
    if req.parts.method != http::Method::GET && req.parts.method != http::Method::HEAD {
        check_csrf(&session, req)?;
    }
    let mut ctx = req.base_context(app);
    ctx.account_id = session.account_id;
    ctx.region = session.region;
    ctx.principal = session.principal;
    Ok(ctx)
}

fn current(app: &App, req: &ConsoleRequest<'_>) -> Option<Session> {
    session::token_from_cookies(&req.parts.headers).and_then(|token| app.console.get(&token))
}

fn check_csrf(session: &Session, req: &ConsoleRequest<'_>) -> Result<(), ConsoleError> {
    let sent = req
        .parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Both are random hex of one length; equality is all that matters here.
    if sent.is_empty() || sent != session.csrf {
        return Err(ConsoleError::Csrf);
    }
    Ok(())
}

fn describe(app: &App, session: &Session, new_token: Option<&str>, secure: bool) -> Response<ResponseBody> {
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "auth": if app.keys.is_some() { "verify" } else { "off" },
            "signedIn": true,
            "accessKeyId": session.principal.as_ref().map(|p| p.access_key_id.clone()),
            "account": session.account_id,
            "region": session.region,
            "csrf": session.csrf,
        }),
    );
    if let Some(token) = new_token {
        set_cookie(&mut response, Some(token), secure);
    }
    response
}

fn set_cookie(response: &mut Response<ResponseBody>, token: Option<&str>, secure: bool) {
    if let Ok(value) = HeaderValue::from_str(&session::set_cookie(token, secure)) {
        response.headers_mut().insert(http::header::SET_COOKIE, value);
    }
}

/// A region name as AWS spells them (`us-east-1`, `us-gov-west-1`).
fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_checked() {
        for ok in ["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in ["", "us", "US-EAST-1", "us-east", "us-east-x", "../x", "u-east-1"] {
            assert!(!valid_region(bad), "{bad}");
        }
    }
}
