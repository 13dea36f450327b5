//! Events of a run: appended by workers (or tools), read and listed by the API.

use ingest_model::Event;

use crate::backend::Inner;
use crate::db::{Tx, args, new_id};
use crate::filter::{Where, order_by, page};
use crate::rows::{EVENT_COLUMNS, event};
use crate::{EventQuery, NewEvent, Page, Resource, StoreError, StoreResult, run};

/// Appends `events` to run `run_id` of `app` (the run is known to exist).
pub(crate) async fn insert_in(
    tx: &mut Tx,
    app: &str,
    run_id: &str,
    events: &[NewEvent],
) -> StoreResult<Vec<Event>> {
    let mut out = Vec::with_capacity(events.len());
    for new in events {
        let id = new_id();
        let data = new
            .data
            .as_ref()
            .map(|d| {
                serde_json::to_string(d)
                    .map_err(|_| StoreError::internal("cannot serialize event data"))
            })
            .transpose()?;
        tx.execute(
            "INSERT INTO events \
             (id, app_id, run_id, parent_id, status, type, data, batch_size, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                &id,
                app,
                run_id,
                new.parent_id.clone(),
                new.status.as_str(),
                new.event_type.as_str(),
                data,
                i64::try_from(new.batch_size).unwrap_or(i64::MAX),
                new.published_at
            ],
        )
        .await?;
        out.push(Event {
            event_id: id,
            run_id: run_id.to_owned(),
            parent_id: new.parent_id.clone(),
            status: new.status,
            event_type: new.event_type,
            data: new.data.clone(),
            batch_size: new.batch_size,
            published_at: new.published_at.to_rfc3339(),
        });
    }
    Ok(out)
}

pub(crate) async fn insert(
    inner: &Inner,
    app: &str,
    run_id: &str,
    events: &[NewEvent],
) -> StoreResult<Vec<Event>> {
    let mut tx = inner.pools.write().await?;
    run::fetch(&mut tx, app, run_id).await?;
    let out = insert_in(&mut tx, app, run_id, events).await?;
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn get(inner: &Inner, app: &str, run_id: &str, id: &str) -> StoreResult<Event> {
    let mut tx = inner.pools.read().await?;
    run::fetch(&mut tx, app, run_id).await?;
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM events \
                 WHERE app_id = $1 AND run_id = $2 AND id = $3"
            ),
            args![app, run_id, id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(Resource::Event, id))?;
    event(&row)
}

pub(crate) async fn list(
    inner: &Inner,
    app: &str,
    run_id: &str,
    query: &EventQuery,
) -> StoreResult<Page<Event>> {
    use ingest_model::EventSortKeys as K;
    let mut tx = inner.pools.read().await?;
    run::fetch(&mut tx, app, run_id).await?;
    let mut filter = Where::app(app, false);
    filter.eq("run_id", run_id);
    filter.any_of("status", query.statuses.iter().map(|s| s.as_str()));
    filter.any_of("type", query.types.iter().map(|t| t.as_str()));
    if let Some(start) = query.start_date {
        filter.cmp("published_at", ">=", start);
    }
    if let Some(end) = query.end_date {
        filter.cmp("published_at", "<=", end);
    }
    let sort = match query.sort {
        K::Status => "status",
        K::Type => "type",
        K::PublishedAt => "published_at",
    };
    let (rows, pagination) = page(
        &mut tx,
        "events",
        EVENT_COLUMNS,
        filter,
        &order_by(sort, query.order),
        &query.page,
    )
    .await?;
    let items = rows.iter().map(event).collect::<StoreResult<_>>()?;
    Ok(Page { items, pagination })
}
