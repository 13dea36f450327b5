//! Every enum of the API, with its exact string values.
//!
//! Each one serializes to the spec's string, has `as_str()`, `Display`, `ALL` (every value in spec
//! order) and a `FromStr` (for query filters) whose error lists the allowed values with the same
//! wording as serde: ``unknown variant `foo`, expected one of `a`, `b` ``.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The error of every enum's `FromStr`, with an empty path (the caller prefixes the parameter).
/// The wording is serde's, so a query filter and a body field read the same.
fn unknown_variant(value: &str, allowed: &[&str]) -> ValidationError {
    let quoted: Vec<String> = allowed.iter().map(|v| format!("`{v}`")).collect();
    let expected = match quoted.as_slice() {
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        many => format!("one of {}", many.join(", ")),
    };
    ValidationError::here(format!("unknown variant `{value}`, expected {expected}"))
}

macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $value $(, alias = $alias)*)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact string of this value in the API.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value $(| $alias)* => Ok($name::$variant),)+
                    other => Err(unknown_variant(other, &[$($value),+])),
                }
            }
        }
    };
}

api_enum! {
    /// The kind of credentials an authentication holds; chooses the [`crate::AuthInput`] variant.
    AuthenticationType {
        /// A Google service account (BigQuery).
        GoogleServiceAccount = "googleServiceAccount",
        /// HTTP basic authentication.
        Basic = "basic",
        /// An API key (BigCommerce access token, bearer key).
        ApiKey = "apiKey",
        /// OAuth client credentials (commercetools).
        OAuth = "oauth",
        /// Algolia credentials (app ID and API key).
        Algolia = "algolia",
        /// Algolia Insights credentials.
        AlgoliaInsights = "algoliaInsights",
        /// Named secrets for transformations, every value write-only.
        Secrets = "secrets",
    }
}

api_enum! {
    /// The e-commerce platform an authentication is for.
    Platform {
        /// BigCommerce.
        BigCommerce = "bigcommerce",
        /// commercetools.
        Commercetools = "commercetools",
        /// Shopify (accepted as a value; no Shopify source runs here).
        Shopify = "shopify",
    }
}

api_enum! {
    /// A platform filter value: a [`Platform`] or `none` (authentications without a platform).
    PlatformWithNone {
        /// BigCommerce.
        BigCommerce = "bigcommerce",
        /// commercetools.
        Commercetools = "commercetools",
        /// Shopify (accepted as a value; no Shopify source runs here).
        Shopify = "shopify",
        /// No platform set.
        None = "none",
    }
}

impl From<Platform> for PlatformWithNone {
    fn from(p: Platform) -> Self {
        match p {
            Platform::BigCommerce => Self::BigCommerce,
            Platform::Commercetools => Self::Commercetools,
            Platform::Shopify => Self::Shopify,
        }
    }
}

api_enum! {
    /// Where a destination sends records.
    DestinationType {
        /// Algolia Search indices.
        Search = "search",
        /// Algolia Insights events.
        Insights = "insights",
        /// Algolia Flow (accepted, not run by this engine).
        Flow = "flow",
        /// Algolia Predict (accepted, not run by this engine).
        Predict = "predict",
    }
}

api_enum! {
    /// The connector of a source; chooses the [`crate::SourceInput`] variant.
    SourceType {
        /// BigCommerce catalog.
        BigCommerce = "bigcommerce",
        /// commercetools product projections.
        Commercetools = "commercetools",
        /// A JSON document over HTTP.
        Json = "json",
        /// A CSV document over HTTP.
        Csv = "csv",
        /// A BigQuery table or query.
        BigQuery = "bigquery",
        /// A Google Analytics 4 export in BigQuery: accepted on create and stored as a
        /// `bigquery` source with `dataType: ga4` (`docs/api.md` D3).
        Ga4BigqueryExport = "ga4BigqueryExport",
        /// Records pushed through `POST /1/push/{indexName}`: nothing to fetch.
        Push = "push",
        /// Another Algolia index, browsed.
        AlgoliaIndex = "algoliaIndex",
        /// Shopify (refused: not supported by this engine).
        Shopify = "shopify",
        /// A Docker connector (refused: not supported by this engine).
        Docker = "docker",
    }
}

api_enum! {
    /// What the records of a destination are (`docs/api.md` D3; stored and returned).
    RecordType {
        /// Products.
        Product = "product",
        /// Product variants.
        Variant = "variant",
        /// Collections.
        Collection = "collection",
    }
}

api_enum! {
    /// The HTTP method a JSON or CSV source uses.
    MethodType {
        /// `GET` (the default).
        Get = "GET",
        /// `POST` with an empty body.
        Post = "POST",
    }
}

api_enum! {
    /// How a CSV column is converted to JSON.
    MappingTypeCsv {
        /// The text as is.
        String = "string",
        /// A signed 64-bit integer.
        Integer = "integer",
        /// A finite number.
        Float = "float",
        /// `true`/`false`/`1`/`0`.
        Boolean = "boolean",
        /// Any JSON value.
        Json = "json",
    }
}

api_enum! {
    /// The Google Analytics export a BigQuery source reads.
    BigQueryDataType {
        /// Google Analytics 4.
        Ga4 = "ga4",
        /// Google Analytics 360.
        Ga360 = "ga360",
    }
}

api_enum! {
    /// The kind of a transformation (`docs/api.md` D5); chooses its
    /// [`crate::TransformationInput`] variant.
    TransformationType {
        /// JavaScript code: `input.code`.
        Code = "code",
        /// No-code steps: `input.steps`.
        NoCode = "noCode",
    }
}

api_enum! {
    /// What a task does with the destination index.
    ActionType {
        /// Full reindex through a temporary index.
        Replace = "replace",
        /// Upsert each record by objectID (`partialUpdateObject`).
        Save = "save",
        /// Partial update of each record by objectID, creating missing ones (as `save`).
        Partial = "partial",
        /// Partial update of each record by objectID; missing records are not created.
        PartialNoCreate = "partialNoCreate",
        /// Add each record to the live index (`addObject`), no temporary index.
        Append = "append",
    }
}

api_enum! {
    /// What starts a task's runs.
    TriggerType {
        /// Only `POST /1/tasks/{taskID}/run`.
        OnDemand = "onDemand",
        /// A cron schedule.
        Schedule = "schedule",
        /// An integration event (webhook).
        Subscription = "subscription",
        /// A stream (accepted as a filter value; refused on tasks: `docs/api.md` D2).
        Streaming = "streaming",
    }
}

api_enum! {
    /// Where a run is in its lifecycle.
    RunStatus {
        /// Queued, not picked up yet.
        Created = "created",
        /// A worker is executing it.
        Started = "started",
        /// Idle (never emitted by this engine; accepted as a filter).
        Idled = "idled",
        /// Done, with an outcome.
        Finished = "finished",
        /// Not executed (the previous run was still active).
        Skipped = "skipped",
    }
}

api_enum! {
    /// How a finished run ended.
    RunOutcome {
        /// The run succeeded.
        Success = "success",
        /// The run failed.
        Failure = "failure",
    }
}

api_enum! {
    /// The kind of run, from the task's action.
    RunType {
        /// A `replace` run.
        Reindex = "reindex",
        /// A `save`, `partial`, `partialNoCreate` or `append` run.
        Update = "update",
        /// A discovery (docker sources; never run by this engine, accepted as a filter).
        Discover = "discover",
        /// A source validation (`POST /1/sources/validate`).
        Validate = "validate",
        /// Records pushed through `POST /1/push/{indexName}`.
        Push = "push",
    }
}

api_enum! {
    /// The machine code that goes with a run's `reason`.
    RunReasonCode {
        /// A bug of ours.
        Internal = "internal",
        /// A fatal source or destination error.
        Critical = "critical",
        /// The source yielded nothing.
        NoEvents = "no_events",
        /// Rejected records exceeded the failure threshold.
        TooManyErrors = "too_many_errors",
        /// Success.
        Ok = "ok",
        /// Discarded (never emitted by this engine; accepted as a filter).
        Discarded = "discarded",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Too few events (accepted as a filter).
        LackingEvents = "lacking_events",
        /// The task was disabled after too many failed runs in a row.
        Blocking = "blocking",
        /// Idle (accepted as a filter).
        Idle = "idle",
    }
}

api_enum! {
    /// The state of an event.
    EventStatus {
        /// Created.
        Created = "created",
        /// In progress.
        Started = "started",
        /// Retried after a transient error.
        Retried = "retried",
        /// Failed.
        Failed = "failed",
        /// Succeeded.
        Succeeded = "succeeded",
        /// Failed in a way that ends the run.
        Critical = "critical",
    }
}

api_enum! {
    /// What an event is about.
    EventType {
        /// A source request or page.
        Fetch = "fetch",
        /// A pushed batch or a rejected record.
        Record = "record",
        /// A notable decision.
        Log = "log",
        /// A transformation.
        Transform = "transform",
    }
}

api_enum! {
    /// Sort order of a list.
    Order {
        /// Ascending.
        Asc = "asc",
        /// Descending.
        Desc = "desc",
    }
}

api_enum! {
    /// Sort keys of `GET /1/authentications` (`type` is accepted for `auth_type`, its later name).
    AuthenticationSortKeys {
        /// By name.
        Name = "name",
        /// By authentication type.
        AuthType = "auth_type" | "type",
        /// By platform.
        Platform = "platform",
        /// By last update.
        UpdatedAt = "updatedAt",
        /// By creation.
        CreatedAt = "createdAt",
    }
}

api_enum! {
    /// Sort keys of `GET /1/destinations` and `GET /1/sources`.
    ResourceSortKeys {
        /// By name.
        Name = "name",
        /// By type.
        Type = "type",
        /// By last update.
        UpdatedAt = "updatedAt",
        /// By creation.
        CreatedAt = "createdAt",
    }
}

api_enum! {
    /// Sort keys of `GET /1/transformations`.
    TransformationSortKeys {
        /// By name.
        Name = "name",
        /// By last update.
        UpdatedAt = "updatedAt",
        /// By creation.
        CreatedAt = "createdAt",
    }
}

api_enum! {
    /// Sort keys of `GET /1/tasks`.
    TaskSortKeys {
        /// By enabled flag.
        Enabled = "enabled",
        /// By trigger type.
        TriggerType = "triggerType",
        /// By action.
        Action = "action",
        /// By last update.
        UpdatedAt = "updatedAt",
        /// By creation.
        CreatedAt = "createdAt",
    }
}

api_enum! {
    /// Sort keys of `GET /1/runs`.
    RunSortKeys {
        /// By status.
        Status = "status",
        /// By last update.
        UpdatedAt = "updatedAt",
        /// By creation.
        CreatedAt = "createdAt",
    }
}

api_enum! {
    /// Sort keys of `GET /1/runs/{runID}/events`.
    EventSortKeys {
        /// By status.
        Status = "status",
        /// By type.
        Type = "type",
        /// By publication time.
        PublishedAt = "publishedAt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_serde_and_from_str() {
        for v in RunReasonCode::ALL {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(v.as_str().parse::<RunReasonCode>().unwrap(), *v);
            assert_eq!(serde_json::from_str::<RunReasonCode>(&json).unwrap(), *v);
        }
        assert_eq!(AuthenticationType::OAuth.as_str(), "oauth");
        assert_eq!(
            AuthenticationType::GoogleServiceAccount.to_string(),
            "googleServiceAccount"
        );
        assert_eq!(TriggerType::OnDemand.as_str(), "onDemand");
        assert_eq!(MethodType::Post.as_str(), "POST");
        assert_eq!(
            "type".parse::<AuthenticationSortKeys>().unwrap(),
            AuthenticationSortKeys::AuthType
        );
        assert_eq!(
            PlatformWithNone::from(Platform::BigCommerce).as_str(),
            "bigcommerce"
        );
    }

    #[test]
    fn from_str_lists_allowed_values() {
        assert_eq!(
            "sideways".parse::<Order>().unwrap_err().to_string(),
            "unknown variant `sideways`, expected `asc` or `desc`"
        );
        assert_eq!(
            "get".parse::<MethodType>().unwrap_err().message,
            "unknown variant `get`, expected `GET` or `POST`"
        );
        assert_eq!(
            "x".parse::<RunStatus>().unwrap_err().message,
            "unknown variant `x`, expected one of `created`, `started`, `idled`, `finished`, \
             `skipped`"
        );
    }
}
