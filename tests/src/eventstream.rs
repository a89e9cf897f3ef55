//! A raw SubscribeToShard client for wire-level tests: sends one request over HTTP/1.1 or h2c
//! and reads the `application/vnd.amazon.eventstream` body frame by frame with Sluice's own
//! framing code (which is tested against AWS's known-good frames), so a test sees exactly what
//! a Java or JavaScript SDK would.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use sluice_protocols::eventstream::{self, Message};

/// An open event-stream response.
pub struct EventStreamReader {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// HTTP version the broker answered with.
    pub version: Version,
    body: Incoming,
    buf: Vec<u8>,
    /// Keeps an HTTP/2 connection's request side open while the body is read.
    _h2: Option<hyper::client::conn::http2::SendRequest<Full<Bytes>>>,
}

/// Sends `req` (absolute URI) over a fresh connection, HTTP/2 with prior knowledge when `h2`,
/// and returns once the response head arrived (within 10 s).
pub async fn open(req: Request<Vec<u8>>, h2: bool) -> Result<EventStreamReader, String> {
    let open = tokio::time::timeout(Duration::from_secs(10), crate::raw::open(req, h2))
        .await
        .map_err(|_| "no response head within 10 s".to_string())??;
    let (parts, body) = open.response.into_parts();
    Ok(EventStreamReader {
        status: parts.status.as_u16(),
        headers: parts.headers,
        version: parts.version,
        body,
        buf: Vec::new(),
        _h2: open.h2,
    })
}

impl EventStreamReader {
    /// The next message, `Ok(None)` when the stream ended cleanly, `Err` on a framing error, a
    /// transport error or no message within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<Option<Message>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some((message, used)) = eventstream::decode(&self.buf).map_err(|e| format!("bad frame: {e}"))? {
                self.buf.drain(..used);
                return Ok(Some(message));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .map_err(|_| format!("no event within {timeout:?}"))?;
            match frame {
                None if self.buf.is_empty() => return Ok(None),
                None => return Err(format!("stream ended inside a frame ({} bytes left)", self.buf.len())),
                Some(Err(e)) => return Err(format!("body: {e}")),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The whole body when it is not an event stream (an error response).
    pub async fn rest(mut self) -> Vec<u8> {
        let rest = self.body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        self.buf.extend_from_slice(&rest);
        self.buf
    }
}
