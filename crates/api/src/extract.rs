//! Small extractors shared by the resource modules: path IDs with JSON errors, the parsed query
//! string and the authenticated application.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::AppId;
use crate::error::ApiError;
use crate::query::Params;

/// Path parameters (`{taskID}`, `({runID}, {eventID})`), refused with a 400 JSON body when they
/// do not decode.
#[derive(Debug)]
pub struct Ids<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No stored ID holds a NUL character (and PostgreSQL refuses them in queries).
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(ApiError::NotFound(format!(
                "no resource at {}",
                crate::error::printable(parts.uri.path())
            )));
        }
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(ids)| Self(ids))
            .map_err(|_| ApiError::invalid("path", "an ID in the path is not valid UTF-8"))
    }
}

/// The query string, parsed ([`Params`]).
#[derive(Debug)]
pub struct QueryParams(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let params = Params::parse(parts.uri.query());
        params.check_no_nul()?;
        Ok(Self(params))
    }
}

/// The application the request was authenticated as (set by [`crate::auth::require_app`]).
#[derive(Debug)]
pub struct App(pub String);

impl<S: Send + Sync> FromRequestParts<S> for App {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AppId>()
            .map(|app| Self(app.0.clone()))
            .ok_or(ApiError::Forbidden)
    }
}
