//! The envelopes around resources: list pages ([`Pagination`], [`Window`]), the small create /
//! update / delete responses, and the bodies of the `POST /1/<resources>/search` endpoints.

use serde::{Deserialize, Serialize};

use crate::{Authentication, Destination, Event, Run, Source, Task, Transformation};

/// The `pagination` object of every list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// `nbPages`: at least 1, even for an empty list.
    #[serde(rename = "nbPages")]
    pub nb_pages: u64,
    /// `page`: 1-based.
    pub page: u64,
    /// `nbItems`: items across every page.
    #[serde(rename = "nbItems")]
    pub nb_items: u64,
    /// `itemsPerPage`.
    #[serde(rename = "itemsPerPage")]
    pub items_per_page: u64,
}

impl Pagination {
    /// The pagination of page `page` (1-based) of `nb_items` items shown `items_per_page` at a
    /// time; `nbPages` is at least 1 (`docs/api.md` C2). An `items_per_page` of 0 counts as 1.
    pub fn new(page: u64, items_per_page: u64, nb_items: u64) -> Self {
        let per = items_per_page.max(1);
        Self {
            nb_pages: nb_items.div_ceil(per).max(1),
            page,
            nb_items,
            items_per_page,
        }
    }
}

/// The `window` of run and event lists: the time range the list covers (`docs/api.md` C19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// `startDate` (RFC 3339).
    #[serde(rename = "startDate")]
    pub start_date: String,
    /// `endDate` (RFC 3339).
    #[serde(rename = "endDate")]
    pub end_date: String,
}

/// Declares a response or body struct whose fields all have an explicit JSON name.
macro_rules! api_struct {
    ($(#[$meta:meta])* $name:ident { $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, expecting = "an object")]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $json)]
                pub $field: $ty,
            )+
        }
    };
}

api_struct! {
    /// `GET /1/authentications`.
    ListAuthenticationsResponse {
        /// `authentications`.
        "authentications" => authentications: Vec<Authentication>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
    }
}

api_struct! {
    /// `GET /1/destinations`.
    ListDestinationsResponse {
        /// `destinations`.
        "destinations" => destinations: Vec<Destination>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
    }
}

api_struct! {
    /// `GET /1/sources`.
    ListSourcesResponse {
        /// `sources`.
        "sources" => sources: Vec<Source>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
    }
}

api_struct! {
    /// `GET /1/tasks`.
    ListTasksResponse {
        /// `tasks`.
        "tasks" => tasks: Vec<Task>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
    }
}

api_struct! {
    /// `GET /1/transformations`.
    ListTransformationsResponse {
        /// `transformations`.
        "transformations" => transformations: Vec<Transformation>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
    }
}

api_struct! {
    /// `GET /1/runs` (`RunListResponse` in the spec).
    RunListResponse {
        /// `runs`.
        "runs" => runs: Vec<Run>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
        /// `window`.
        "window" => window: Window,
    }
}

api_struct! {
    /// `GET /1/runs/{runID}/events`.
    ListEventsResponse {
        /// `events`.
        "events" => events: Vec<Event>,
        /// `pagination`.
        "pagination" => pagination: Pagination,
        /// `window`.
        "window" => window: Window,
    }
}

api_struct! {
    /// `POST /1/authentications`.
    AuthenticationCreateResponse {
        /// `authenticationID`.
        "authenticationID" => authentication_id: String,
        /// `name`.
        "name" => name: String,
        /// `createdAt` (RFC 3339).
        "createdAt" => created_at: String,
    }
}

api_struct! {
    /// `POST /1/destinations`.
    DestinationCreateResponse {
        /// `destinationID`.
        "destinationID" => destination_id: String,
        /// `name`.
        "name" => name: String,
        /// `createdAt` (RFC 3339).
        "createdAt" => created_at: String,
    }
}

api_struct! {
    /// `POST /1/sources`.
    SourceCreateResponse {
        /// `sourceID`.
        "sourceID" => source_id: String,
        /// `name`.
        "name" => name: String,
        /// `createdAt` (RFC 3339).
        "createdAt" => created_at: String,
    }
}

api_struct! {
    /// `POST /1/tasks`.
    TaskCreateResponse {
        /// `taskID`.
        "taskID" => task_id: String,
        /// `createdAt` (RFC 3339).
        "createdAt" => created_at: String,
    }
}

api_struct! {
    /// `POST /1/transformations`.
    TransformationCreateResponse {
        /// `transformationID`.
        "transformationID" => transformation_id: String,
        /// `createdAt` (RFC 3339).
        "createdAt" => created_at: String,
    }
}

api_struct! {
    /// `PATCH /1/authentications/{authenticationID}`.
    AuthenticationUpdateResponse {
        /// `authenticationID`.
        "authenticationID" => authentication_id: String,
        /// `name`.
        "name" => name: String,
        /// `updatedAt` (RFC 3339).
        "updatedAt" => updated_at: String,
    }
}

api_struct! {
    /// `PATCH /1/destinations/{destinationID}`.
    DestinationUpdateResponse {
        /// `destinationID`.
        "destinationID" => destination_id: String,
        /// `name`.
        "name" => name: String,
        /// `updatedAt` (RFC 3339).
        "updatedAt" => updated_at: String,
    }
}

api_struct! {
    /// `PATCH /1/sources/{sourceID}`.
    SourceUpdateResponse {
        /// `sourceID`.
        "sourceID" => source_id: String,
        /// `name`.
        "name" => name: String,
        /// `updatedAt` (RFC 3339).
        "updatedAt" => updated_at: String,
    }
}

api_struct! {
    /// `PATCH /1/tasks/{taskID}`, and `PUT /1/tasks/{taskID}/enable` / `disable`.
    TaskUpdateResponse {
        /// `taskID`.
        "taskID" => task_id: String,
        /// `updatedAt` (RFC 3339).
        "updatedAt" => updated_at: String,
    }
}

api_struct! {
    /// `PUT /1/transformations/{transformationID}`.
    TransformationUpdateResponse {
        /// `transformationID`.
        "transformationID" => transformation_id: String,
        /// `updatedAt` (RFC 3339).
        "updatedAt" => updated_at: String,
    }
}

api_struct! {
    /// Every `DELETE` (a soft delete).
    DeleteResponse {
        /// `deletedAt` (RFC 3339).
        "deletedAt" => deleted_at: String,
    }
}

api_struct! {
    /// The body of `POST /1/authentications/search`.
    AuthenticationSearch {
        /// `authenticationIDs`.
        "authenticationIDs" => authentication_ids: Vec<String>,
    }
}

api_struct! {
    /// The body of `POST /1/destinations/search`.
    DestinationSearch {
        /// `destinationIDs`.
        "destinationIDs" => destination_ids: Vec<String>,
    }
}

api_struct! {
    /// The body of `POST /1/sources/search`.
    SourceSearch {
        /// `sourceIDs`.
        "sourceIDs" => source_ids: Vec<String>,
    }
}

api_struct! {
    /// The body of `POST /1/tasks/search`.
    TaskSearch {
        /// `taskIDs`.
        "taskIDs" => task_ids: Vec<String>,
    }
}

api_struct! {
    /// The body of `POST /1/transformations/search`.
    TransformationSearch {
        /// `transformationIDs`.
        "transformationIDs" => transformation_ids: Vec<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_counts_pages() {
        assert_eq!(Pagination::new(1, 10, 0).nb_pages, 1);
        assert_eq!(Pagination::new(1, 10, 10).nb_pages, 1);
        assert_eq!(Pagination::new(2, 10, 11).nb_pages, 2);
        assert_eq!(Pagination::new(1, 0, 3).nb_pages, 3);
    }
}
