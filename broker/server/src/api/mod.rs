//! AWS API handlers: decoded request → authorization → core call → encoded response
//! (docs/design.md, "One request, end to end").
//!
//! # Layout
//! - [`RequestContext`]: who and where a request is for: request id, the caller's account and
//!   region, the verified [`Principal`] (`--auth verify`), the client's address, and the host
//!   and scheme that queue URLs echo (docs/design.md, "Identity").
//! - [`RequestContext::authorize`]: the one authorization check every handler calls with the
//!   IAM action and resource ARN of its call, deciding from the key's identity policy and the
//!   resource's own policy as IAM does ([`crate::policy`]).
//! - [`sqs`]: SQS (JSON 1.0 and query); [`sns`]: SNS (query); [`kinesis`]: Kinesis (JSON 1.1
//!   and CBOR), [`kinesis_efo`]: its enhanced fan-out (consumers, and SubscribeToShard's
//!   event stream, a streamed response body fed by a task);
//!   [`lambda`]: Lambda's control plane (REST-JSON: functions, event-source mappings,
//!   Invoke);
//!   [`error`]: the one mapping from core errors to AWS error codes, and the
//!   rendering of errors raised before a service codec is involved.
//! - [`query_params`]: a query-protocol request's parameters (URL query, then form body).
//! - [`context`] holds those shared pieces, so the service modules import it and not this
//!   module. The dispatcher calls each service's `handle` itself, one arm per service.
//!
//! Handlers see no hyper types and no connection: the dispatcher hands them an [`ApiCall`] and
//! the [`RequestContext`], the listener having already terminated TLS (`--tls-cert`) and
//! negotiated HTTP/1.1 or HTTP/2. Handlers translate only: shape validation is the protocol
//! crate's, state rules are the core's.

pub mod context;
pub mod error;
pub mod kinesis;
pub mod kinesis_efo;
pub mod kinesis_shapes;
pub mod lambda;
pub mod sns;
pub mod sqs;

pub use context::{query_params, ApiCall, ApiReply, Principal, RequestContext};
