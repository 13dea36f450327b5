//! Destinations: their fields ([`resource`] serves the pages): the index, record type,
//! attributes to exclude, the Algolia authentication and the transformation.

use crate::forms::{Kind, field};
use crate::layout::Section;
use crate::pages::resource::{self, Spec, TypeSpec};

const SEARCH_FIELDS: &[crate::forms::Field] = &[
    field(
        "input.indexName",
        "Index name",
        Kind::Text,
        "The Algolia index the records go to.",
    ),
    field(
        "input.recordType",
        "Record type",
        Kind::Select(&["product", "variant", "collection"]),
        "For commerce sources (optional).",
    ),
    field(
        "input.attributesToExclude",
        "Attributes to exclude",
        Kind::Lines,
        "One per line: removed from every record before it is sent.",
    ),
];

/// Destinations and their fields.
pub static SPEC: Spec = Spec {
    section: Section::Destinations,
    title: "Destinations",
    noun: "destination",
    base: "/console/destinations",
    api: "/1/destinations",
    list_key: "destinations",
    id_key: "destinationID",
    intro: "Where records go: an Algolia index, reached with an algolia authentication, through a transformation if one is set.",
    uses_authentication: true,
    uses_transformation: true,
    validates: false,
    detail_actions: resource::no_actions,
    types: &[TypeSpec {
        name: "search",
        label: "Algolia index",
        fields: SEARCH_FIELDS,
        edit_fields: None,
    }],
};
