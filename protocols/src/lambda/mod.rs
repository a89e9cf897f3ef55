//! Lambda's control-plane API over REST-JSON: routes, documents, validation, errors.
//!
//! # Layout
//! - [`route`]: method and path to a [`LambdaAction`] and the resource the path names.
//! - [`types`]: request and response documents (serde, the model's member names).
//! - [`validate`]: body decoding and the model's constraints, with AWS's codes and messages.
//! - [`arn`]: function references in their four forms, and Lambda ARNs.
//! - [`error`]: [`LambdaError`] and its renderer (`x-amzn-ErrorType` plus a JSON body).
//!
//! Sluice stores functions and runs event-source mappings, but never runs uploaded code:
//! handlers are processes the user starts against the function's Runtime API.

pub mod arn;
pub mod error;
pub mod route;
pub mod types;
pub mod validate;

pub use arn::FunctionRef;
pub use error::{render_error, LambdaError, LambdaErrorCode};
pub use route::{is_lambda_path, route, LambdaAction, LambdaRoute};
