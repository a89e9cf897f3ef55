//! The body of every response: a whole buffer (almost every call), or a stream of chunks fed
//! by a task (SubscribeToShard's event stream).
//!
//! A streamed body ends when its sender is dropped; dropping the body (the client went away)
//! closes the channel, which ends the feeding task at its next send.

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// A response body.
pub struct ResponseBody {
    kind: Kind,
}

enum Kind {
    /// The whole body; `None` once sent.
    Full(Option<Bytes>),
    /// Chunks as they are produced, and what must live as long as the stream (the
    /// connection's in-progress mark, so an open event stream never counts as idle).
    Stream {
        chunks: mpsc::Receiver<Bytes>,
        _keep: Option<Box<dyn Any + Send + Sync>>,
    },
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Full(b) => write!(f, "ResponseBody::Full({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            Kind::Stream { .. } => f.write_str("ResponseBody::Stream"),
        }
    }
}

impl ResponseBody {
    /// A body of these bytes.
    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        ResponseBody {
            kind: Kind::Full(Some(bytes.into())),
        }
    }

    /// A body of the chunks sent on `chunks`, until its sender is dropped.
    pub fn stream(chunks: mpsc::Receiver<Bytes>) -> ResponseBody {
        ResponseBody {
            kind: Kind::Stream { chunks, _keep: None },
        }
    }

    /// Keeps `guard` alive while a streamed body is being sent (a whole body drops it at once).
    pub fn keep_while_streaming(mut self, guard: impl Any + Send + Sync) -> ResponseBody {
        if let Kind::Stream { _keep, .. } = &mut self.kind {
            *_keep = Some(Box::new(guard));
        }
        self
    }

    /// True for a streamed body.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, Kind::Stream { .. })
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b)))),
            Kind::Stream { chunks, .. } => chunks.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(Frame::data(c)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.as_ref().is_none_or(Bytes::is_empty),
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn a_full_body_is_sent_once_with_its_exact_length() {
        let body = ResponseBody::full("hello");
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert!(ResponseBody::full(Bytes::new()).is_end_stream());
    }

    #[tokio::test]
    async fn a_streamed_body_yields_chunks_until_the_sender_is_dropped() {
        let (tx, rx) = mpsc::channel(4);
        let body = ResponseBody::stream(rx).keep_while_streaming(());
        assert!(body.is_stream());
        assert_eq!(body.size_hint().exact(), None);
        tx.send(Bytes::from_static(b"a")).await.expect("open");
        tx.send(Bytes::from_static(b"bc")).await.expect("open");
        drop(tx);
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"abc");
    }
}
