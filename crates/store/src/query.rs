//! What every list shares: the page asked for ([`PageRequest`]) and the page returned
//! ([`Page`]). Each resource module defines its own query (filters and sort) around them.
//!
//! Every query has a `Default` with the API's defaults (`docs/api.md` C2): page 1, 10 items per page,
//! sort by `createdAt` (events: `publishedAt`), order `desc`, no filter. An empty filter list
//! means "no filter"; a non-empty one keeps the items matching **any** of its values.

use ingest_model::{Pagination, ValidationError};

/// The largest `itemsPerPage` (`docs/api.md` C2).
pub const MAX_ITEMS_PER_PAGE: u64 = 100;

/// The default `itemsPerPage`.
pub const DEFAULT_ITEMS_PER_PAGE: u64 = 10;

/// The value of an `authenticationID` filter that selects resources without an authentication.
pub const NO_AUTHENTICATION: &str = "none";

/// Which page to return: `page` is 1-based, `items_per_page` from 1 to [`MAX_ITEMS_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// The page, from 1. A page past the end gives an empty list.
    pub page: u64,
    /// Items per page, 1 to 100.
    pub items_per_page: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            items_per_page: DEFAULT_ITEMS_PER_PAGE,
        }
    }
}

impl PageRequest {
    /// Checks the ranges; the error names the query parameter (`page`, `itemsPerPage`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.page < 1 {
            return Err(ValidationError::new("page", "must be at least 1"));
        }
        if !(1..=MAX_ITEMS_PER_PAGE).contains(&self.items_per_page) {
            return Err(ValidationError::new(
                "itemsPerPage",
                format!("must be between 1 and {MAX_ITEMS_PER_PAGE}"),
            ));
        }
        Ok(())
    }

    /// The SQL `OFFSET` of this page (saturating: a huge page is simply past the end).
    pub(crate) fn offset(&self) -> i64 {
        let offset = (self.page - 1).saturating_mul(self.items_per_page);
        i64::try_from(offset).unwrap_or(i64::MAX)
    }

    /// The SQL `LIMIT` of this page.
    pub(crate) fn limit(&self) -> i64 {
        i64::try_from(self.items_per_page).unwrap_or(i64::MAX)
    }
}

/// One page of a list and its [`Pagination`] (computed by [`Pagination::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of the page, in the requested order.
    pub items: Vec<T>,
    /// `nbPages`, `page`, `nbItems`, `itemsPerPage`.
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_is_validated_and_offsets_saturate() {
        assert!(PageRequest::default().validate().is_ok());
        let bad = PageRequest {
            page: 0,
            items_per_page: 10,
        };
        assert_eq!(bad.validate().unwrap_err().path, "page");
        let bad = PageRequest {
            page: 1,
            items_per_page: 101,
        };
        assert_eq!(bad.validate().unwrap_err().path, "itemsPerPage");
        let far = PageRequest {
            page: u64::MAX,
            items_per_page: 100,
        };
        assert_eq!(far.offset(), i64::MAX);
        let p = PageRequest {
            page: 3,
            items_per_page: 7,
        };
        assert_eq!((p.offset(), p.limit()), (14, 7));
    }
}
