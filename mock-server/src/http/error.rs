//! The admin surface's one error type, and its own JSON and query extractors so that even a
//! malformed body or query gets the admin form `{"error": "..."}` (400).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::db::StoreError;

/// Everything the admin surface answers with an error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdminError {
    #[error("missing or wrong admin token")]
    Unauthorized,
    #[error(
        "the admin API is reachable from loopback only (start with --admin-remote to allow {0})"
    )]
    NotLoopback(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// An institution token asked for another institution (or for the sandbox as a whole).
    #[error("{0}")]
    Forbidden(String),
    #[error("unknown institution `{0}`")]
    UnknownInstitution(String),
    #[error("no portal operator `{1}` of `{0}`")]
    UnknownOperator(String, String),
    #[error("no resident with NIK {0}")]
    UnknownResident(String),
    #[error("{0}")]
    Conflict(String),
    #[error("population lookup failed: {0}")]
    Population(String),
    #[error("no such admin endpoint")]
    NotFound,
    #[error("{}: {}", .0, .0.kind)]
    Store(#[from] StoreError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match &self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::NotLoopback(_) | AdminError::Forbidden(_) => StatusCode::FORBIDDEN,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::UnknownInstitution(_)
            | AdminError::UnknownResident(_)
            | AdminError::UnknownOperator(..)
            | AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Store(_) | AdminError::Population(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

impl From<crate::core::tokens::OutOfScope> for AdminError {
    fn from(e: crate::core::tokens::OutOfScope) -> Self {
        AdminError::Forbidden(e.to_string())
    }
}

impl From<JsonRejection> for AdminError {
    fn from(e: JsonRejection) -> Self {
        AdminError::BadRequest(e.body_text())
    }
}

impl From<QueryRejection> for AdminError {
    fn from(e: QueryRejection) -> Self {
        AdminError::BadRequest(e.body_text())
    }
}

/// `Json<T>` whose rejection is an [`AdminError::BadRequest`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AdminJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for AdminJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(AdminJson(value))
    }
}

/// `Query<T>` whose rejection is an [`AdminError::BadRequest`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AdminQuery<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for AdminQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(AdminQuery(value))
    }
}
