//! The `algoliaIndex` source (`docs/api.md` D3, D5): an index of the destination's own
//! application, browsed page by page (1,000 records, `filters` passed through, the cursor to the
//! next page) and fed through the destination's transformation back into an index: the same one
//! (a `replace` rewrites it through its temporary index) or another.
//!
//! It lives in the engine rather than with the other connectors because it reads through the
//! Algolia transport, with the destination's credentials.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, stream};
use ingest_algolia::{AlgoliaCredentials, HttpIndexingApi, TransportSettings};
use ingest_connectors::Source;
use ingest_core::{
    Position, Record, RecordRejection, RecordStream, SourceError, SourceItemError, SourceResult,
};
use ingest_model::{EventStatus, EventType, RunEvent, RunRecorder, SourceAlgoliaIndex};
use serde_json::{Map, Value, json};

/// An index browsed as a source.
pub struct AlgoliaIndexSource {
    api: Arc<HttpIndexingApi>,
    index: String,
    filters: Option<String>,
    events: Option<Arc<dyn RunRecorder>>,
}

impl std::fmt::Debug for AlgoliaIndexSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlgoliaIndexSource")
            .field("index", &self.index)
            .field("filters", &self.filters)
            .finish_non_exhaustive()
    }
}

impl AlgoliaIndexSource {
    /// Browses `input.indexName` of the application `credentials` open, through a transport
    /// with `settings`; `events` gets a `fetch` event per page.
    pub fn new(
        input: &SourceAlgoliaIndex,
        credentials: &AlgoliaCredentials,
        settings: TransportSettings,
        events: Option<Arc<dyn RunRecorder>>,
    ) -> Result<Self, String> {
        let transport = credentials
            .transport(settings)
            .map_err(|error| format!("cannot reach Algolia to browse the index: {error}"))?;
        Ok(Self {
            api: Arc::new(HttpIndexingApi::new(transport)),
            index: input.index_name.clone(),
            filters: input.filters.clone(),
            events,
        })
    }
}

/// Where the browse is.
enum Cursor {
    First,
    Next(String),
    Done,
}

impl Source for AlgoliaIndexSource {
    fn records(&self) -> RecordStream {
        let api = self.api.clone();
        let index = self.index.clone();
        let filters = self.filters.clone();
        let events = self.events.clone();
        let pages = stream::unfold((Cursor::First, 0u64), move |(cursor, page_number)| {
            let api = api.clone();
            let index = index.clone();
            let filters = filters.clone();
            let events = events.clone();
            async move {
                let cursor = match cursor {
                    Cursor::Done => return None,
                    Cursor::First => None,
                    Cursor::Next(cursor) => Some(cursor),
                };
                let page_number = page_number + 1;
                match api
                    .browse(&index, cursor.as_deref(), filters.as_deref())
                    .await
                {
                    Ok(page) => {
                        if let Some(events) = &events {
                            events.event(RunEvent::new(
                                EventType::Fetch,
                                EventStatus::Succeeded,
                                page.hits.len() as u64,
                                json!({"index": index, "page": page_number}),
                            ));
                        }
                        let items: Vec<SourceResult> = page
                            .hits
                            .into_iter()
                            .enumerate()
                            .map(|(offset, hit)| record(hit, page_number, offset as u64))
                            .collect();
                        let next = page.cursor.map_or(Cursor::Done, Cursor::Next);
                        Some((items, (next, page_number)))
                    }
                    Err(error) => {
                        let failed = SourceError::new(format!(
                            "browsing the Algolia index `{index}` failed: {error}"
                        ));
                        Some((
                            vec![Err(SourceItemError::Fatal(failed))],
                            (Cursor::Done, page_number),
                        ))
                    }
                }
            }
        });
        pages.flat_map(stream::iter).boxed()
    }

    fn describe(&self) -> String {
        format!("the Algolia index `{}`", self.index)
    }
}

/// A browsed hit as a record: it must carry its `objectID`.
fn record(hit: Map<String, Value>, page: u64, offset: u64) -> SourceResult {
    let position = Position::Page { page, offset };
    let object_id: Option<Arc<str>> = match hit.get("objectID") {
        Some(Value::String(id)) => Some(Arc::from(id.as_str())),
        _ => None,
    };
    let Some(object_id) = object_id else {
        return Err(SourceItemError::Rejected(RecordRejection {
            position,
            object_id: None,
            reason: "the browsed record has no string `objectID`".into(),
        }));
    };
    match serde_json::to_vec(&Value::Object(hit)) {
        Ok(json) => Ok(Record::new(Some(object_id), Bytes::from(json))),
        Err(error) => Err(SourceItemError::Rejected(RecordRejection {
            position,
            object_id: Some(object_id),
            reason: format!("the browsed record cannot be serialized: {error}"),
        })),
    }
}

/// The one pass of a run reading an `algoliaIndex` source into `plan`'s index.
pub fn pass(
    input: &SourceAlgoliaIndex,
    credentials: &AlgoliaCredentials,
    settings: TransportSettings,
    destination: &ingest_model::DestinationInput,
    plan: ingest_algolia::PushPlan,
    events: Option<Arc<dyn RunRecorder>>,
) -> Result<crate::Pass, String> {
    Ok(crate::Pass {
        source: Box::new(AlgoliaIndexSource::new(
            input,
            credentials,
            settings,
            events,
        )?),
        plan,
        exclusions: ingest_core::exclude::Exclusions::new(&destination.attributes_to_exclude),
        transformation: None,
    })
}
