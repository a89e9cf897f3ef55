//! Console sessions: who signed in, in which region, and the token that proves a request came
//! from the console's own page.
//!
//! A session is a random token in a cookie (`HttpOnly`, `SameSite=Strict`, `Path=/console`,
//! `Secure` on HTTPS) mapped here to the identity it acts as and a second random token, the
//! CSRF token, which the page sends back in `X-Sluice-Csrf` on every change. Sessions live in
//! memory: a restart signs everyone out, which is what a broker restart should do anyway.
//!
//! # Invariants
//! - Tokens come from the operating system's random source (UUID v4), 244 bits each.
//! - At most [`MAX_SESSIONS`] live sessions: the oldest goes first, so sign-ins cannot grow
//!   memory without bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::api::context::Principal;

/// Name of the session cookie.
pub const COOKIE: &str = "sluice_console";
/// How long a session lasts after sign-in.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most live sessions; signing in beyond drops the oldest.
pub const MAX_SESSIONS: usize = 10_000;

/// Who a session acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token the page must send in `X-Sluice-Csrf` with every change.
    pub csrf: String,
    /// The account everything is shown for.
    pub account_id: String,
    /// The region everything is shown for.
    pub region: String,
    /// The signed-in key (`--auth verify`); `None` when authentication is off.
    pub principal: Option<Principal>,
    started: Instant,
}

impl Session {
    /// A session for `account_id` in `region`, acting as `principal`.
    pub fn new(account_id: String, region: String, principal: Option<Principal>) -> Session {
        Session {
            csrf: random_token(),
            account_id,
            region,
            principal,
            started: Instant::now(),
        }
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.started) > LIFETIME
    }
}

/// The live sessions, by cookie token.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Stores `session` and returns its cookie token.
    pub fn start(&self, session: Session) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| !s.expired(now));
        }
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.started).map(|(t, _)| t.clone()) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(token.clone(), session);
        token
    }

    /// The live session of `token`.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut sessions = self.lock();
        match sessions.get(token) {
            Some(s) if s.expired(Instant::now()) => {
                sessions.remove(token);
                None
            }
            other => other.cloned(),
        }
    }

    /// Ends the session of `token`, if any.
    pub fn end(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_token.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// 244 random bits as 64 hex digits (two UUID v4s without their fixed bits' meaning).
fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The session token in a request's `Cookie` headers.
pub fn token_from_cookies(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that stores `token` (or, with `None`, clears the cookie).
pub fn set_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(token) => format!(
            "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            LIFETIME.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_find_and_end() {
        let sessions = Sessions::default();
        let token = sessions.start(Session::new("000000000000".into(), "us-east-1".into(), None));
        assert_eq!(token.len(), 64);
        let found = sessions.get(&token).expect("live session");
        assert_eq!(found.region, "us-east-1");
        assert_eq!(found.csrf.len(), 64);
        assert_ne!(found.csrf, token);
        assert!(sessions.get("not-a-token").is_none());
        sessions.end(&token);
        assert!(sessions.get(&token).is_none());
    }

    #[test]
    fn the_oldest_session_goes_when_the_table_is_full() {
        let sessions = Sessions::default();
        let first = sessions.start(Session::new("000000000000".into(), "us-east-1".into(), None));
        for _ in 1..MAX_SESSIONS {
            sessions.start(Session::new("000000000000".into(), "us-east-1".into(), None));
        }
        assert!(sessions.get(&first).is_some());
        sessions.start(Session::new("000000000000".into(), "us-east-1".into(), None));
        assert!(sessions.get(&first).is_none(), "the oldest made room");
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
    }

    #[test]
    fn cookies_are_read_and_written_with_their_flags() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; sluice_console=abc; b=2".parse().expect("header"),
        );
        assert_eq!(token_from_cookies(&headers).as_deref(), Some("abc"));
        headers.insert(http::header::COOKIE, "sluice_console=".parse().expect("header"));
        assert_eq!(token_from_cookies(&headers), None);
        let set = set_cookie(Some("abc"), true);
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
            assert!(set.contains(flag), "{set}");
        }
        assert!(!set_cookie(Some("abc"), false).contains("Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
    }
}
