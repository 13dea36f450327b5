//! `POST /1/tasks/{taskID}/webhook`: an event for a `subscription` task (400 for other
//! triggers) enqueues a run, with the same authentication and rate limits as the rest of the API.
//!
//! The body decides what the run does: empty, the task runs in full; `{"objectIDs": [...]}`
//! limits it to those objects (sent as partial updates, `save` semantics); any other JSON object
//! is the connector's own event payload (a BigCommerce webhook, ...), passed to the source as is.
//! The payload is stored with the run; the response is the one of `POST .../run`.
//!
//! With a webhook client secret configured (`[bigcommerce] webhook_client_secret`), a connector
//! event must also carry a valid Standard Webhooks signature of its raw body (`webhook-id`,
//! `webhook-timestamp` within five minutes, `webhook-signature`), as BigCommerce signs them;
//! otherwise 401, and no run. Empty bodies and `objectIDs` lists are not connector events.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Request, State};
use ingest_connectors::bigcommerce::webhook::verify_signature;
use ingest_model::{RunResponse, TriggerPayload, TriggerType};

use crate::ApiState;
use crate::body::{BodyLimit, read_limited};
use crate::error::ApiError;
use crate::extract::{App, Ids};

/// `now` as a [`SystemTime`], for the signature's age check (the epoch for a time before it).
fn system_time(now: ingest_model::Timestamp) -> SystemTime {
    u64::try_from(now.unix_seconds()).map_or(UNIX_EPOCH, |seconds| {
        UNIX_EPOCH + Duration::new(seconds, now.nanos())
    })
}

/// `POST /1/tasks/{taskID}/webhook`.
pub async fn webhook(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    req: Request,
) -> Result<Json<RunResponse>, ApiError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(crate::body::DEFAULT_MAX_BODY_BYTES, |l| l.0);
    let headers = req.headers().clone();
    let body = read_limited(req, limit).await?;
    let payload = TriggerPayload::parse(&body)?;
    let connector_event = payload
        .as_ref()
        .is_some_and(TriggerPayload::is_connector_event);
    if let Some(secret) = &state.webhook_secret
        && connector_event
    {
        let key = secret.expose().as_bytes();
        verify_signature(&headers, &body, key, system_time(state.clock.now()))
            .map_err(|error| ApiError::Unverified(error.to_string()))?;
    }
    let task = state.store.get_task(&app, &id).await?;
    let trigger = task.trigger.trigger_type();
    if trigger != TriggerType::Subscription {
        return Err(ApiError::invalid(
            "trigger.type",
            format!(
                "the task's trigger is `{}`: webhooks only run `subscription` tasks",
                trigger.as_str()
            ),
        ));
    }
    // A redelivered event (same `hash`, as BigCommerce sends) answers the run it created.
    let hash = payload
        .as_ref()
        .and_then(TriggerPayload::event_hash)
        .map(str::to_owned);
    if let Some(hash) = &hash
        && let Some(run) = state.deliveries.seen(&app, &id, hash, Instant::now())
    {
        tracing::info!(
            app,
            task_id = id,
            run_id = run.run_id,
            "webhook: redelivery of an event already run"
        );
        return Ok(Json(run));
    }
    let run = match &payload {
        None => state.store.create_run(&app, &id, state.clock.now()).await?,
        Some(payload) => {
            state
                .store
                .create_triggered_run(&app, &id, payload, state.clock.now())
                .await?
        }
    };
    if let Some(hash) = &hash {
        let response = RunResponse {
            run_id: run.run_id.clone(),
            created_at: run.created_at.clone(),
        };
        state
            .deliveries
            .remember(&app, &id, hash, response, Instant::now());
    }
    tracing::info!(
        app,
        task_id = id,
        run_id = run.run_id,
        "webhook: run requested"
    );
    Ok(Json(RunResponse {
        run_id: run.run_id,
        created_at: run.created_at,
    }))
}
