//! `POST /1/transformations/try` and `/1/transformations/{transformationID}/try`
//! (`docs/api.md` D5): a transformation run on one `sampleRecord`, nothing stored.
//!
//! `/try` runs the transformation the body gives (`type`, `input`, legacy `code`);
//! `/{transformationID}/try` runs the stored one with the body's fields over it
//! ([`TransformationTry::over`]). `helper.secrets.get` reads the inline `authentications` of type
//! `secrets` only (later ones win a name; the others are parsed and ignored): a stored
//! transformation's own secrets are never opened here, so a try cannot read them back.
//! `helper.getMetadata()` answers nulls.
//!
//! The answer is always a 200 once the body parses: `payloads` holds each output record as JSON
//! text; a dropped record gives no payload and no error; when the transformation does not
//! compile, `error.code` is 400, and when the record fails (an error thrown, a timeout, a return
//! value that is not records) it is 422, with the message (and its line).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use ingest_model::{
    AuthInput, TransformationError, TransformationInput, TransformationTry,
    TransformationTryResponse,
};
use ingest_transform::{CodeContext, Outcome, Program, Record, TransformError};

use crate::ApiState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{App, Ids};
use crate::transformations::{blocking, compile};

/// `POST /1/transformations/try`.
pub async fn try_inline(
    State(state): State<ApiState>,
    App(_app): App,
    JsonBody(body): JsonBody<TransformationTry>,
) -> Result<Json<TransformationTryResponse>, ApiError> {
    let (_, input) = body.inline()?;
    run(&state, input, body).await
}

/// `POST /1/transformations/{transformationID}/try`.
pub async fn try_stored(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(body): JsonBody<TransformationTry>,
) -> Result<Json<TransformationTryResponse>, ApiError> {
    let stored = state.store.get_transformation(&app, &id).await?;
    let (_, input) = body.over(&stored)?;
    run(&state, input, body).await
}

/// Compiles `input` with the body's inline secrets and transforms its sample record.
async fn run(
    state: &ApiState,
    input: TransformationInput,
    body: TransformationTry,
) -> Result<Json<TransformationTryResponse>, ApiError> {
    let context = CodeContext {
        secrets: inline_secrets(&body),
        ..CodeContext::default()
    };
    let record = body.sample_record;
    let answer = blocking(&state.transforms, move || {
        compile(&input, &context).map(|program| transform(&program, record))
    })
    .await?;
    match answer {
        Ok(outcome) => answer_of(outcome).map(Json),
        Err(error) => failed_to_compile(error).map(Json),
    }
}

/// The values of the body's `secrets` authentications, merged in order.
fn inline_secrets(body: &TransformationTry) -> HashMap<String, String> {
    let mut secrets = HashMap::new();
    for auth in &body.authentications {
        if let AuthInput::Secrets(values) = &auth.input {
            for (name, value) in values {
                secrets.insert(name.clone(), value.expose().clone());
            }
        }
    }
    secrets
}

/// One record through a compiled program, on the current thread.
fn transform(program: &Program, record: Record) -> Outcome {
    match program {
        Program::Code(code) => code.runner().transform(record),
        Program::NoCode(steps) => steps.apply(record),
    }
}

fn answer_of(outcome: Outcome) -> Result<TransformationTryResponse, ApiError> {
    Ok(match outcome {
        Outcome::Records(records) => TransformationTryResponse {
            payloads: records
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<_, _>>()
                .map_err(|_| ApiError::Internal)?,
            error: None,
        },
        Outcome::Dropped => TransformationTryResponse {
            payloads: Vec::new(),
            error: None,
        },
        Outcome::Failed { message, .. } => failure(TransformationError::FAILED, message),
    })
}

/// A transformation that does not compile: a 200 saying why; a runtime that could not start
/// is ours (500).
fn failed_to_compile(error: TransformError) -> Result<TransformationTryResponse, ApiError> {
    match error {
        TransformError::Runtime(_) | TransformError::WorkerPanicked => {
            tracing::error!(%error, "a transformation could not be tried");
            Err(ApiError::Internal)
        }
        TransformError::InvalidSteps { .. }
        | TransformError::CodeTooLarge { .. }
        | TransformError::InvalidCode(_)
        | TransformError::NoTransformFunction => {
            Ok(failure(TransformationError::INVALID, error.to_string()))
        }
    }
}

fn failure(code: u16, message: String) -> TransformationTryResponse {
    TransformationTryResponse {
        payloads: Vec::new(),
        error: Some(TransformationError { code, message }),
    }
}
