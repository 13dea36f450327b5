//! Query strings of the list endpoints: paging (`page`, `itemsPerPage`), `sort`, `order`, and
//! array filters given either comma-separated (`type=a,b`, OpenAPI `explode: false`) or repeated
//! (`type=a&type=b`, `explode: true`), or both (`docs/api.md` C2, C3).
//!
//! Unknown parameters are ignored: the JavaScript client adds `x-algolia-agent`.

use std::str::FromStr;

use ingest_model::{Order, Timestamp, ValidationError};

/// `itemsPerPage` when absent (`docs/api.md` C2).
pub const DEFAULT_ITEMS_PER_PAGE: u64 = 10;
/// The largest `itemsPerPage`.
pub const MAX_ITEMS_PER_PAGE: u64 = 100;

/// A parsed query string: its `key=value` pairs, decoded, in order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// Paging and order of a list, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging<S> {
    /// 1-based page.
    pub page: u64,
    /// Items per page (1 to 100).
    pub items_per_page: u64,
    /// Sort key, `None` when absent and the endpoint has no default.
    pub sort: Option<S>,
    /// Order, `desc` by default.
    pub order: Order,
}

impl Params {
    /// Parses a raw query string (`None` when the URI has none).
    pub fn parse(query: Option<&str>) -> Self {
        Self {
            pairs: form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Refuses a parameter whose name or value holds a NUL character.
    pub fn check_no_nul(&self) -> Result<(), ValidationError> {
        match self
            .pairs
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            Some((k, _)) => Err(ValidationError::new(
                crate::error::printable(k),
                "must not contain NUL characters",
            )),
            None => Ok(()),
        }
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The single value of `name`; given twice is an error.
    pub fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ValidationError> {
        let mut values = self.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(ValidationError::new(name, "must be given once"));
        }
        Ok(first)
    }

    /// `name` parsed as `T` (an enum, a number), with the parse error under `name`.
    pub fn parsed<T>(&self, name: &str) -> Result<Option<T>, ValidationError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.single(name)?
            .map(|v| {
                v.parse::<T>().map_err(|e| {
                    let e = e.to_string();
                    ValidationError::new(name, e.strip_prefix(": ").unwrap_or(&e).to_owned())
                })
            })
            .transpose()
    }

    /// A boolean filter (`true`/`false`).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ValidationError> {
        self.single(name)?
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(ValidationError::new(
                    name,
                    format!(
                        "must be `true` or `false`, got `{}`",
                        crate::error::printable(other)
                    ),
                )),
            })
            .transpose()
    }

    /// An RFC 3339 date-time parameter.
    pub fn timestamp(&self, name: &str) -> Result<Option<Timestamp>, ValidationError> {
        self.single(name)?
            .map(|v| Timestamp::parse(v).map_err(|e| ValidationError::new(name, e.to_string())))
            .transpose()
    }

    /// An array filter: every value of every occurrence of `name`, split at commas; empty items
    /// are skipped; `None` when the parameter is absent or holds nothing.
    pub fn list<T: FromStr<Err = ValidationError>>(
        &self,
        name: &str,
    ) -> Result<Option<Vec<T>>, ValidationError> {
        let mut out = Vec::new();
        for (index, item) in self
            .values(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let value = item
                .parse::<T>()
                .map_err(|e| e.prefixed(&format!("{name}[{index}]")))?;
            if out.len() >= 1000 {
                return Err(ValidationError::new(name, "at most 1000 values"));
            }
            out.push(value);
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// An array of IDs (`sourceID=a,b`), kept as strings.
    pub fn id_list(&self, name: &str) -> Result<Option<Vec<String>>, ValidationError> {
        self.list::<IdValue>(name)
            .map(|ids| ids.map(|ids| ids.into_iter().map(|id| id.0).collect()))
    }

    /// `page`, `itemsPerPage`, `sort` (with its default) and `order`.
    pub fn paging<S>(&self, default_sort: Option<S>) -> Result<Paging<S>, ValidationError>
    where
        S: FromStr<Err = ValidationError>,
    {
        let page = self.number("page")?.unwrap_or(1);
        if page < 1 {
            return Err(ValidationError::new("page", "must be at least 1"));
        }
        let items_per_page = self
            .number("itemsPerPage")?
            .unwrap_or(DEFAULT_ITEMS_PER_PAGE);
        if !(1..=MAX_ITEMS_PER_PAGE).contains(&items_per_page) {
            return Err(ValidationError::new(
                "itemsPerPage",
                format!("must be between 1 and {MAX_ITEMS_PER_PAGE}, got {items_per_page}"),
            ));
        }
        let sort = match self.single("sort")? {
            Some(v) => Some(v.parse::<S>().map_err(|e| e.prefixed("sort"))?),
            None => default_sort,
        };
        let order = match self.single("order")? {
            Some(v) => v.parse::<Order>().map_err(|e| e.prefixed("order"))?,
            None => Order::Desc,
        };
        Ok(Paging {
            page,
            items_per_page,
            sort,
            order,
        })
    }

    fn number(&self, name: &str) -> Result<Option<u64>, ValidationError> {
        self.single(name)?
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ValidationError::new(
                        name,
                        format!("must be an integer, got `{}`", crate::error::printable(v)),
                    )
                })
            })
            .transpose()
            .and_then(|n| match n {
                Some(n) if n < 0 => Err(ValidationError::new(
                    name,
                    format!("must be at least 1, got {n}"),
                )),
                other => Ok(other.map(|n| n as u64)),
            })
    }
}

/// An ID value of an array filter (any string; `none` is kept as is).
struct IdValue(String);

impl FromStr for IdValue {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest_model::{RunStatus, TaskSortKeys};

    #[test]
    fn both_array_forms_and_mixes() {
        let p = Params::parse(Some(
            "status=created,started&status=finished&x-algolia-agent=js",
        ));
        let got = p.list::<RunStatus>("status").unwrap().unwrap();
        assert_eq!(
            got,
            vec![RunStatus::Created, RunStatus::Started, RunStatus::Finished]
        );
        let p = Params::parse(Some("status=created%2Cstarted"));
        assert_eq!(p.list::<RunStatus>("status").unwrap().unwrap().len(), 2);
        assert_eq!(
            Params::parse(None).list::<RunStatus>("status").unwrap(),
            None
        );
        let err = Params::parse(Some("status=created,nope"))
            .list::<RunStatus>("status")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("status[1]: unknown variant `nope`"),
            "{err}"
        );
    }

    #[test]
    fn paging_defaults_and_limits() {
        let p = Params::parse(None)
            .paging(Some(TaskSortKeys::CreatedAt))
            .unwrap();
        assert_eq!((p.page, p.items_per_page, p.order), (1, 10, Order::Desc));
        assert_eq!(p.sort, Some(TaskSortKeys::CreatedAt));
        for bad in [
            "itemsPerPage=0",
            "itemsPerPage=101",
            "page=0",
            "page=-1",
            "page=x",
        ] {
            let e = Params::parse(Some(bad))
                .paging::<TaskSortKeys>(None)
                .unwrap_err();
            assert!(bad.starts_with(&e.path), "{bad}: {e}");
        }
        let e = Params::parse(Some("sort=name"))
            .paging::<TaskSortKeys>(None)
            .unwrap_err();
        assert!(
            e.to_string().starts_with("sort: unknown variant `name`"),
            "{e}"
        );
        let e = Params::parse(Some("order=up"))
            .paging::<TaskSortKeys>(None)
            .unwrap_err();
        assert!(e.to_string().starts_with("order: unknown variant"), "{e}");
    }

    #[test]
    fn booleans() {
        assert_eq!(
            Params::parse(Some("enabled=true"))
                .boolean("enabled")
                .unwrap(),
            Some(true)
        );
        assert!(
            Params::parse(Some("enabled=yes"))
                .boolean("enabled")
                .is_err()
        );
        assert!(
            Params::parse(Some("enabled=true&enabled=false"))
                .boolean("enabled")
                .is_err()
        );
    }
}
