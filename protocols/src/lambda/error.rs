//! Lambda error codes and the one renderer of Lambda error responses.
//!
//! Lambda speaks REST-JSON: the code travels in the `x-amzn-ErrorType` header (which the SDKs
//! read first) and in the body as `{"Type": "User", "message": "..."}`. The service model
//! spells the message member `message` for some exceptions and `Message` for others; the
//! body uses the model's spelling of each, so a client reading the modelled member finds it.

/// Every error code Sluice's Lambda API answers with. Append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaErrorCode {
    /// The function, mapping or resource does not exist (404).
    ResourceNotFound,
    /// The resource already exists, or another operation is in progress (409).
    ResourceConflict,
    /// The resource is being changed and cannot take this request yet (400).
    ResourceInUse,
    /// A parameter is invalid (400).
    InvalidParameterValue,
    /// A member breaks the model's constraints (length, pattern, range; 400).
    Validation,
    /// The revision id does not match the function's (412).
    PreconditionFailed,
    /// The request body is not valid JSON or a member has the wrong type (400).
    InvalidRequestContent,
    /// The payload is larger than Invoke accepts (413).
    RequestTooLarge,
    /// The function's handler returned more than Lambda accepts (502).
    InvalidRuntime,
    /// Too many requests, or no handler took the invocation in time (429).
    TooManyRequests,
    /// The method and path name no Lambda operation (404 on AWS's front door).
    UnknownOperation,
    /// The caller may not do this (403).
    AccessDenied,
    /// Sluice failed; the request may be retried (500).
    Service,
    /// The request carries no signature (`--auth verify`, 403).
    MissingAuthenticationToken,
    /// The signature is incomplete or malformed (400).
    IncompleteSignature,
    /// The access key is unknown (403).
    UnrecognizedClient,
    /// The signature does not match, has the wrong scope or expired (403).
    InvalidSignature,
    /// A function's resource-based policy would grow past 20 KB (400).
    PolicyLengthExceeded,
}

impl LambdaErrorCode {
    /// The code on the wire (`x-amzn-ErrorType`).
    pub fn as_str(self) -> &'static str {
        match self {
            LambdaErrorCode::ResourceNotFound => "ResourceNotFoundException",
            LambdaErrorCode::ResourceConflict => "ResourceConflictException",
            LambdaErrorCode::ResourceInUse => "ResourceInUseException",
            LambdaErrorCode::InvalidParameterValue => "InvalidParameterValueException",
            LambdaErrorCode::Validation => "ValidationException",
            LambdaErrorCode::InvalidRequestContent => "InvalidRequestContentException",
            LambdaErrorCode::PreconditionFailed => "PreconditionFailedException",
            LambdaErrorCode::RequestTooLarge => "RequestTooLargeException",
            LambdaErrorCode::InvalidRuntime => "InvalidRuntimeException",
            LambdaErrorCode::TooManyRequests => "TooManyRequestsException",
            LambdaErrorCode::UnknownOperation => "UnknownOperationException",
            LambdaErrorCode::AccessDenied => "AccessDeniedException",
            LambdaErrorCode::Service => "ServiceException",
            LambdaErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            LambdaErrorCode::IncompleteSignature => "IncompleteSignatureException",
            LambdaErrorCode::UnrecognizedClient => "UnrecognizedClientException",
            LambdaErrorCode::InvalidSignature => "InvalidSignatureException",
            LambdaErrorCode::PolicyLengthExceeded => "PolicyLengthExceededException",
        }
    }

    /// The HTTP status AWS answers this code with.
    pub fn status(self) -> u16 {
        match self {
            LambdaErrorCode::ResourceNotFound | LambdaErrorCode::UnknownOperation => 404,
            LambdaErrorCode::ResourceConflict => 409,
            LambdaErrorCode::RequestTooLarge => 413,
            LambdaErrorCode::PreconditionFailed => 412,
            LambdaErrorCode::TooManyRequests => 429,
            LambdaErrorCode::InvalidRuntime => 502,
            LambdaErrorCode::Service => 500,
            LambdaErrorCode::AccessDenied
            | LambdaErrorCode::MissingAuthenticationToken
            | LambdaErrorCode::UnrecognizedClient
            | LambdaErrorCode::InvalidSignature => 403,
            LambdaErrorCode::ResourceInUse
            | LambdaErrorCode::InvalidParameterValue
            | LambdaErrorCode::Validation
            | LambdaErrorCode::InvalidRequestContent
            | LambdaErrorCode::IncompleteSignature
            | LambdaErrorCode::PolicyLengthExceeded => 400,
        }
    }

    /// The model's spelling of the message member of this exception.
    fn message_member(self) -> &'static str {
        match self {
            LambdaErrorCode::ResourceNotFound
            | LambdaErrorCode::ResourceInUse
            | LambdaErrorCode::Service
            | LambdaErrorCode::InvalidRuntime => "Message",
            _ => "message",
        }
    }

    /// `Type` in the body: `User` for the caller's mistakes, `Service` for Sluice's.
    fn fault(self) -> &'static str {
        match self {
            LambdaErrorCode::Service | LambdaErrorCode::InvalidRuntime => "Service",
            _ => "User",
        }
    }
}

/// A Lambda error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaError {
    /// The code.
    pub code: LambdaErrorCode,
    /// The message.
    pub message: String,
}

impl LambdaError {
    /// An error with `code` and `message`.
    pub fn new(code: LambdaErrorCode, message: impl Into<String>) -> LambdaError {
        LambdaError {
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameterValueException` with `message`.
    pub fn invalid(message: impl Into<String>) -> LambdaError {
        LambdaError::new(LambdaErrorCode::InvalidParameterValue, message)
    }

    /// `ValidationException` in AWS's words: `Value '{value}' at '{member}' failed to satisfy
    /// constraint: {constraint}`.
    pub fn validation(value: impl std::fmt::Display, member: &str, constraint: &str) -> LambdaError {
        LambdaError::new(
            LambdaErrorCode::Validation,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    /// The opaque answer to a failure of Sluice itself.
    pub fn internal() -> LambdaError {
        LambdaError::new(LambdaErrorCode::Service, "An internal error occurred; please retry.")
    }
}

impl std::fmt::Display for LambdaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// Renders `err`: status, the `x-amzn-ErrorType` header value, and the JSON body.
pub fn render_error(err: &LambdaError) -> (u16, &'static str, Vec<u8>) {
    let mut body = serde_json::Map::new();
    body.insert("Type".into(), err.code.fault().into());
    body.insert(err.code.message_member().into(), err.message.clone().into());
    let body = serde_json::to_vec(&serde_json::Value::Object(body)).unwrap_or_default();
    (err.code.status(), err.code.as_str(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_404_with_capitalised_message() {
        let err = LambdaError::new(LambdaErrorCode::ResourceNotFound, "Function not found: x");
        let (status, code, body) = render_error(&err);
        assert_eq!((status, code), (404, "ResourceNotFoundException"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Type": "User", "Message": "Function not found: x"})
        );
    }

    #[test]
    fn policy_length_exceeded_is_400_with_lower_case_message() {
        let err = LambdaError::new(LambdaErrorCode::PolicyLengthExceeded, "too big");
        let (status, code, body) = render_error(&err);
        assert_eq!((status, code), (400, "PolicyLengthExceededException"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, serde_json::json!({"Type": "User", "message": "too big"}));
    }

    #[test]
    fn invalid_parameter_uses_lower_case_message() {
        let (status, code, body) = render_error(&LambdaError::invalid("bad"));
        assert_eq!((status, code), (400, "InvalidParameterValueException"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["message"], "bad");
    }
}
