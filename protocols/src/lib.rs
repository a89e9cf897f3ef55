//! Sans-IO AWS wire codecs for Sluice.
//!
//! Pure functions over bytes and strings: nothing here knows tokio, hyper or
//! RocksDB, so every codec is unit-tested without a server.
//!
//! # Layout
//! - [`sqs`]: the SQS action enum, typed requests/responses, the AWS JSON 1.0 and
//!   query/XML codecs, validation, and the SQS error renderers.
//! - [`kinesis`]: the Kinesis action enum, typed requests, the JSON 1.1 and CBOR codecs and
//!   the Kinesis error renderer.
//! - [`lambda`]: Lambda's REST-JSON control plane: routes, documents, validation, errors.
//! - [`sns`]: the SNS action enum, typed requests/responses, the query/XML codec, SNS's
//!   validation rules with AWS's messages, and the SNS error document.
//! - `action`: the macro that defines each service's action enum.
//! - [`query`]: query-protocol pieces shared by services (form decoding, the parameter index
//!   with its list and map layouts, XML escaping and writing).
//! - [`eventstream`]: AWS event-stream framing (SubscribeToShard's push responses).
//! - [`number`]: the Number type of SQS and SNS message attributes.
//! - [`checksum`]: MD5 of message bodies and AWS's message-attribute digest.
//! - [`sigv4`]: SigV4 credential scope parsing.
//! - [`sigv4_verify`]: SigV4 signature verification (header and presigned).
//!
//! # Invariants
//! - Decoders never panic on client input; every failure is an AWS-shaped error.
//! - A decoded request has passed its service's validation.

mod action;
pub mod checksum;
pub mod eventstream;
pub mod kinesis;
pub mod lambda;
pub mod number;
pub mod query;
pub mod sigv4;
pub mod sigv4_verify;
pub mod sns;
pub mod sqs;
