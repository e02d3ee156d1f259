//! Classification of AWS SDK errors, done once for the whole crate.
//!
//! Every SDK call in aiops-aws maps its failure with [`backend_error`] (or [`backend_error_as`]
//! when the caller knows better, e.g. a task token that timed out), which yields an
//! [`aiops_core::Error::Backend`] carrying:
//! - the [`ErrorClass`] from [`classify`] (what the workflow's `Retry`/`Catch` lists match on),
//! - the operation as an IAM action (`dynamodb:PutItem`, `states:SendTaskSuccess`, …),
//! - the service's error code and message (never the SDK's `Debug` output), naming the IAM
//!   action a forbidden caller lacks,
//! - the SDK error itself as the `source`.
//!
//! The rules, first match wins (error codes are the service's, e.g. `ThrottlingException`):
//!
//! | class | when |
//! |---|---|
//! | `Throttled` | `ThrottlingException`, `Throttling`, `TooManyRequestsException`, `ProvisionedThroughputExceededException`, `RequestLimitExceeded`, `SlowDown`, … or HTTP 429 |
//! | `Forbidden` | `AccessDenied*`, `UnauthorizedOperation`, `UnrecognizedClientException`, `ExpiredToken*`, `InvalidClientTokenId`, `AuthFailure`, `AuthorizationError`, … or HTTP 401/403 |
//! | `Conflict` | `ConditionalCheckFailedException`, `TransactionConflictException`, `TransactionCanceledException`, `TaskTimedOut`, `TaskDoesNotExist`, `InvalidToken`, `ExecutionAlreadyExists`, `ResourceInUseException`, `*AlreadyExists*`, `ConflictException`, … or HTTP 409 |
//! | `NotFound` | `ResourceNotFoundException`, `*NotFound*`, `*DoesNotExist*`, `NoSuch*` or HTTP 404 |
//! | `InvalidInput` | `ValidationException`, `InvalidParameter*`, `Invalid*` (other than the above), `MissingParameter`, `SerializationException`, … or a request the SDK could not build |
//! | `Transient` | timeouts, connection failures, unparseable responses, `ServiceUnavailable*`, `InternalServerError`, `InternalFailure`, … or HTTP 5xx |
//! | `Fatal` | anything else |

use std::error::Error as StdError;
use std::fmt::Debug;

use aiops_core::{Error, ErrorClass};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// A raw response whose HTTP status can be read. Implemented for the SDKs' `HttpResponse` (one
/// type shared by every `aws-sdk-*` crate), so [`classify`] accepts any SDK's errors.
pub trait HttpStatus {
    /// The HTTP status code.
    fn http_status(&self) -> u16;
}

impl HttpStatus for aws_sdk_dynamodb::config::http::HttpResponse {
    fn http_status(&self) -> u16 {
        self.status().as_u16()
    }
}

const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
    "PriorRequestNotComplete",
    "LimitExceededException",
];

const FORBIDDEN: &[&str] = &[
    "UnauthorizedOperation",
    "UnauthorizedException",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
    "AuthorizationError",
    "AuthorizationErrorException",
    "OptInRequired",
    "NotAuthorized",
];

const CONFLICT: &[&str] = &[
    "ConditionalCheckFailedException",
    "TransactionConflictException",
    "TransactionCanceledException",
    "TransactionInProgressException",
    "TaskTimedOut",
    "TaskDoesNotExist",
    "InvalidToken",
    "ResourceInUseException",
    "ConflictException",
    "ResourceConflictException",
    "IdempotentParameterMismatch",
    "IdempotentParameterMismatchException",
    "ConcurrentModificationException",
];

const INVALID_INPUT: &[&str] = &[
    "ValidationException",
    "ValidationError",
    "MissingParameter",
    "MissingAction",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
    "DuplicateItemException",
    "BadRequestException",
];

const TRANSIENT: &[&str] = &[
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalServerError",
    "InternalServerException",
    "InternalFailure",
    "InternalError",
    "InternalErrorException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "Unavailable",
];

/// The class of a service's error code alone; `None` when the code says nothing we know.
pub fn classify_code(code: &str) -> Option<ErrorClass> {
    let is = |list: &[&str]| list.contains(&code);
    if is(THROTTLED) {
        Some(ErrorClass::Throttled)
    } else if is(FORBIDDEN) || code.starts_with("AccessDenied") || code.starts_with("KMSAccessDenied") {
        Some(ErrorClass::Forbidden)
    } else if is(CONFLICT) || code.contains("AlreadyExists") {
        Some(ErrorClass::Conflict)
    } else if code == "ResourceNotFoundException"
        || code.contains("NotFound")
        || code.contains("DoesNotExist")
        || code.starts_with("NoSuch")
    {
        Some(ErrorClass::NotFound)
    } else if is(INVALID_INPUT) || code.starts_with("Invalid") || code.starts_with("Malformed") {
        Some(ErrorClass::InvalidInput)
    } else if is(TRANSIENT) {
        Some(ErrorClass::Transient)
    } else {
        None
    }
}

/// The class of an HTTP status alone; `None` for statuses that say nothing specific.
fn classify_status(status: u16) -> Option<ErrorClass> {
    match status {
        429 => Some(ErrorClass::Throttled),
        401 | 403 => Some(ErrorClass::Forbidden),
        404 => Some(ErrorClass::NotFound),
        409 => Some(ErrorClass::Conflict),
        500..=599 => Some(ErrorClass::Transient),
        _ => None,
    }
}

/// Classifies an SDK error of any AWS service (see the module docs for the rules).
pub fn classify<E, R>(err: &SdkError<E, R>) -> ErrorClass
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    match err {
        SdkError::ConstructionFailure(_) => ErrorClass::InvalidInput,
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => ErrorClass::Transient,
        SdkError::DispatchFailure(f) => {
            if f.is_user() {
                ErrorClass::Fatal
            } else {
                ErrorClass::Transient
            }
        }
        SdkError::ServiceError(ctx) => ctx
            .err()
            .code()
            .and_then(classify_code)
            .or_else(|| classify_status(ctx.raw().http_status()))
            .unwrap_or(ErrorClass::Fatal),
        // `SdkError` is non-exhaustive.
        _ => ErrorClass::Fatal,
    }
}

/// What a person needs to read about an SDK error: the service's code and message for a
/// service error, the `Display` of the error and its sources otherwise (never `Debug` output).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: HttpStatus + Debug + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) if !message.is_empty() => format!("{code}: {message}"),
                (Some(code), _) => code.to_string(),
                (None, Some(message)) => message.to_string(),
                (None, None) => format!("HTTP {}: {}", ctx.raw().http_status(), display_chain(e)),
            }
        }
        other => display_chain(other),
    }
}

/// An error's `Display` followed by its sources', `: `-separated (a source whose text the
/// message already holds is skipped).
fn display_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Builds the crate's error for a failed SDK call. `operation` is the IAM action of the call
/// (`dynamodb:PutItem`); a forbidden caller's message names it.
pub fn backend_error<E, R>(operation: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: HttpStatus + Debug + Send + Sync + 'static,
{
    let class = classify(&err);
    let mut message = describe(&err);
    if class == ErrorClass::Forbidden {
        message = format!("{message} (the caller needs IAM permission {operation})");
    }
    Error::Backend { class, operation: operation.to_string(), message, source: Some(Box::new(err)) }
}

/// Like [`backend_error`] with a class and message the caller chose (it knows what the
/// failure means, e.g. a lost condition), keeping the SDK error as the source.
pub fn backend_error_as<E, R>(
    class: ErrorClass,
    operation: &str,
    message: impl Into<String>,
    err: SdkError<E, R>,
) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    Error::Backend { class, operation: operation.to_string(), message: message.into(), source: Some(Box::new(err)) }
}

/// The service's error code of an SDK error, if it is a service error.
pub fn error_code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_types::body::SdkBody;

    fn service(code: &str, message: &str, status: u16) -> SdkError<PutItemError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = HttpResponse::new(status.try_into().expect("valid status"), SdkBody::empty());
        SdkError::service_error(PutItemError::generic(meta), raw)
    }

    #[test]
    fn service_codes_map_to_classes() {
        struct Case {
            code: &'static str,
            status: u16,
            expect: ErrorClass,
        }
        let cases = [
            Case { code: "ThrottlingException", status: 400, expect: ErrorClass::Throttled },
            Case { code: "ProvisionedThroughputExceededException", status: 400, expect: ErrorClass::Throttled },
            Case { code: "RequestLimitExceeded", status: 503, expect: ErrorClass::Throttled },
            Case { code: "SlowDown", status: 503, expect: ErrorClass::Throttled },
            Case { code: "TooManyRequestsException", status: 429, expect: ErrorClass::Throttled },
            Case { code: "AccessDeniedException", status: 400, expect: ErrorClass::Forbidden },
            Case { code: "AccessDenied", status: 403, expect: ErrorClass::Forbidden },
            Case { code: "UnauthorizedOperation", status: 403, expect: ErrorClass::Forbidden },
            Case { code: "UnrecognizedClientException", status: 400, expect: ErrorClass::Forbidden },
            Case { code: "ExpiredTokenException", status: 400, expect: ErrorClass::Forbidden },
            Case { code: "InvalidClientTokenId", status: 403, expect: ErrorClass::Forbidden },
            Case { code: "ConditionalCheckFailedException", status: 400, expect: ErrorClass::Conflict },
            Case { code: "TransactionConflictException", status: 400, expect: ErrorClass::Conflict },
            Case { code: "TaskTimedOut", status: 400, expect: ErrorClass::Conflict },
            Case { code: "TaskDoesNotExist", status: 400, expect: ErrorClass::Conflict },
            Case { code: "InvalidToken", status: 400, expect: ErrorClass::Conflict },
            Case { code: "ExecutionAlreadyExists", status: 400, expect: ErrorClass::Conflict },
            Case { code: "ResourceNotFoundException", status: 400, expect: ErrorClass::NotFound },
            Case { code: "InvalidInstanceID.NotFound", status: 400, expect: ErrorClass::NotFound },
            Case { code: "ExecutionDoesNotExist", status: 400, expect: ErrorClass::NotFound },
            Case { code: "NotFound", status: 404, expect: ErrorClass::NotFound },
            Case { code: "ValidationException", status: 400, expect: ErrorClass::InvalidInput },
            Case { code: "InvalidParameterValue", status: 400, expect: ErrorClass::InvalidInput },
            Case { code: "InvalidParameterException", status: 400, expect: ErrorClass::InvalidInput },
            Case { code: "InvalidArn", status: 400, expect: ErrorClass::InvalidInput },
            Case { code: "InternalServerError", status: 500, expect: ErrorClass::Transient },
            Case { code: "ServiceUnavailable", status: 503, expect: ErrorClass::Transient },
            Case { code: "SomethingNew", status: 502, expect: ErrorClass::Transient },
            Case { code: "SomethingNew", status: 429, expect: ErrorClass::Throttled },
            Case { code: "SomethingNew", status: 403, expect: ErrorClass::Forbidden },
            Case { code: "SomethingNew", status: 400, expect: ErrorClass::Fatal },
        ];
        for c in cases {
            assert_eq!(classify(&service(c.code, "m", c.status)), c.expect, "{} ({})", c.code, c.status);
        }
    }

    #[test]
    fn non_service_failures_are_transient_or_invalid_input() {
        let timeout: SdkError<PutItemError, HttpResponse> = SdkError::timeout_error("read timed out");
        assert_eq!(classify(&timeout), ErrorClass::Transient);
        let io: SdkError<PutItemError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_dynamodb::error::ConnectorError::io("connection reset".into()));
        assert_eq!(classify(&io), ErrorClass::Transient);
        let built: SdkError<PutItemError, HttpResponse> = SdkError::construction_failure("missing TableName");
        assert_eq!(classify(&built), ErrorClass::InvalidInput);
    }

    #[test]
    fn failures_without_a_service_code_read_as_their_chain_not_debug() {
        let io: SdkError<PutItemError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_dynamodb::error::ConnectorError::io("connection refused".into()));
        let text = describe(&io);
        assert!(text.contains("connection refused"), "{text}");
        assert!(!text.contains("ConnectorError") && !text.contains('{'), "{text}");
        let unhandled = service("", "", 502);
        let meta = ErrorMetadata::builder().build();
        let unhandled = match unhandled {
            SdkError::ServiceError(ctx) => SdkError::service_error(PutItemError::generic(meta), ctx.into_raw()),
            other => other,
        };
        let text = describe(&unhandled);
        assert!(text.starts_with("HTTP 502: "), "{text}");
        assert_eq!(classify(&unhandled), ErrorClass::Transient);
    }

    #[test]
    fn backend_error_carries_code_message_and_iam_action() {
        let e =
            backend_error("dynamodb:PutItem", service("AccessDeniedException", "User arn:x is not authorized", 400));
        assert_eq!(e.class(), ErrorClass::Forbidden);
        let text = e.to_string();
        assert!(
            text.starts_with("dynamodb:PutItem failed: AccessDeniedException: User arn:x is not authorized"),
            "{text}"
        );
        assert!(text.contains("needs IAM permission dynamodb:PutItem"), "{text}");
        assert!(StdError::source(&e).is_some());
        assert!(!text.contains("ErrorMetadata"), "no Debug output: {text}");

        let e = backend_error("dynamodb:PutItem", service("ThrottlingException", "slow down", 400));
        assert_eq!(e.to_string(), "dynamodb:PutItem failed: ThrottlingException: slow down");
        assert!(e.class().is_retryable());
    }
}
