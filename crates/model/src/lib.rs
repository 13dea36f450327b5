//! The resources of the Algolia Ingestion API, with their exact JSON names and their validation.
//!
//! # The model
//!
//! The API manages five kinds of configuration and serves two kinds of observations:
//!
//! - an [`Authentication`] holds credentials ([`AuthInput`], chosen by [`AuthenticationType`]);
//! - a [`Source`] says where records come from ([`SourceInput`], chosen by [`SourceType`]:
//!   commercetools, BigCommerce, JSON, CSV, BigQuery), optionally with an authentication;
//! - a [`Destination`] says which Algolia index receives them ([`DestinationInput`]: an index
//!   name or an index prefix);
//! - a [`Task`] ties a source to a destination with a [`Trigger`] (on demand, cron schedule,
//!   subscription) and an [`ActionType`] (`replace` = full reindex, `save` = upsert);
//! - a [`Transformation`] (JavaScript code or no-code steps, [`TransformationInput`]) rewrites
//!   records on their way to a destination that names it;
//! - each execution of a task is a [`Run`], and what happens during it is a list of [`Event`]s.
//!
//! For each resource there is the shape the API returns (`Source`), the body that creates it
//! (`SourceCreate`), the body that updates it (`SourceUpdate`) and the small responses
//! (`SourceCreateResponse`, ...); list pages ([`ListSourcesResponse`] with [`Pagination`]) and
//! search bodies ([`SourceSearch`]) complete the set.
//!
//! JSON names are the spec's, byte for byte (`sourceID`, `uniqueIDColumn`, `client_id`,
//! `appID`): every field is renamed explicitly. Optional response fields are left out when unset,
//! except where today's official clients need them (`docs/api.md` C19: `updatedAt`,
//! an authentication's redacted `input`, an event's `batchSize`, the `indexName` echo of a prefix
//! destination, a task's `failureThreshold`).
//!
//! # Inputs chosen by `type`
//!
//! The spec's `input` oneOfs have no discriminator inside the input object: the variant follows
//! the sibling `type` field. [`AuthInput::parse`] and [`SourceInput::parse`] take the type and
//! the raw object; the create bodies ([`AuthenticationCreate`], [`SourceCreate`]) do this while
//! they are parsed. Updates may omit `type` (a source's type cannot change), so
//! [`SourceUpdate`] and [`AuthenticationUpdate`] keep the raw `input` and parse it against the
//! stored type ([`SourceUpdate::parse_input`], [`AuthenticationUpdate::resolve_input`]).
//!
//! # Validation
//!
//! Parsing is validation: unknown fields are refused everywhere, required fields enforced, and
//! each type checks its own rules while it is read (CSV delimiter, commercetools locales,
//! non-blank URLs and index names, `timeframe` 1–30, `startDate` < `endDate` in RFC 3339,
//! `failureThreshold` 0–100, a schedule trigger's `cron`). Use [`from_slice`] or [`from_value`]:
//! their [`ValidationError`] names the field path (`input.delimiter: must be one character`,
//! `input.locales[1]: ...`, `input.foo: unknown field`), ready for a 400 body.
//!
//! # Secrets
//!
//! Secret fields of [`AuthInput`] are [`ingest_core::Secret`]s: `Debug` prints `***`, responses
//! carry `null` ([`AuthInput::to_redacted_json`]), and [`AuthInput::to_secret_json`] is the only
//! way out, for the store to encrypt.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod auth;
pub mod cron;
mod destination;
mod enums;
mod error;
mod event;
mod list;
mod parse;
mod recorder;
mod run;
mod source;
mod source_input;
mod source_run;
mod strict;
mod task;
mod task_v2;
mod transformation;
mod transformation_try;
mod trigger_payload;

pub use auth::{
    AuthInput, Authentication, AuthenticationCreate, AuthenticationUpdate, RedactedAuthInput,
    SECRET_FIELDS,
};
pub use destination::{
    Destination, DestinationCreate, DestinationInput, DestinationUpdate, IndexTarget,
    MAX_ATTRIBUTES_TO_EXCLUDE,
};
pub use enums::{
    ActionType, AuthenticationSortKeys, AuthenticationType, BigQueryDataType, DestinationType,
    EventSortKeys, EventStatus, EventType, MappingTypeCsv, MethodType, Order, Platform,
    PlatformWithNone, RecordType, ResourceSortKeys, RunOutcome, RunReasonCode, RunSortKeys,
    RunStatus, RunType, SourceType, TaskSortKeys, TransformationSortKeys, TransformationType,
    TriggerType,
};
pub use error::{ErrorResponse, ValidationError};
pub use event::Event;
pub use ingest_core::{InvalidTimestamp, Timestamp};
pub use list::{
    AuthenticationCreateResponse, AuthenticationSearch, AuthenticationUpdateResponse,
    DeleteResponse, DestinationCreateResponse, DestinationSearch, DestinationUpdateResponse,
    ListAuthenticationsResponse, ListDestinationsResponse, ListEventsResponse, ListSourcesResponse,
    ListTasksResponse, ListTransformationsResponse, Pagination, RunListResponse,
    SourceCreateResponse, SourceSearch, SourceUpdateResponse, TaskCreateResponse, TaskSearch,
    TaskUpdateResponse, TransformationCreateResponse, TransformationSearch,
    TransformationUpdateResponse, Window,
};
pub use parse::{from_slice, from_value, is_app_id};
#[cfg(any(test, feature = "testkit"))]
pub use recorder::MemoryRecorder;
pub use recorder::{RunEvent, RunRecorder};
pub use run::{Run, RunProgress, RunResponse};
pub use source::{Source, SourceCreate, SourceUpdate};
pub use source_input::{
    BigCommerceChannel, SourceAlgoliaIndex, SourceBigCommerce, SourceBigQuery, SourceCommercetools,
    SourceCsv, SourceInput, SourceJson, SourceUpdateCommercetools, SourceUpdateInput,
    is_valid_locale, parse_delimiter,
};
pub use source_run::{EntityType, RunSourcePayload, RunSourceResponse};
pub use task::{Task, TaskCreate, TaskCreateTrigger, TaskInput, TaskUpdate, Trigger};
pub use task_v2::{
    DEFAULT_CRITICAL_THRESHOLD, EmailNotifications, ListTasksResponseV2, Notifications, Policies,
    RunTaskPayload, TaskCreateV2, TaskOptions, TaskOptionsUpdate, TaskReplace, TaskReplaceV2,
    TaskUpdateV2, TaskV2,
};
pub use transformation::{
    MAX_TRANSFORMATION_AUTHENTICATIONS, Transformation, TransformationCreate, TransformationInput,
};
pub use transformation_try::{TransformationError, TransformationTry, TransformationTryResponse};
pub use trigger_payload::{MAX_TRIGGER_OBJECT_IDS, TriggerPayload};
