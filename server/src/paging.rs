//! Paging of lists: the `?page=&per_page=` parameters and the page envelope. Plain types,
//! below the services; the web layer deserialises [`Pagination`] from the query string.

use crate::error::AppError;
use serde::Deserialize;

/// `?page=&per_page=` on every list; the OpenAPI document states the bounds `validate` checks.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// Page number, from 1.
    #[serde(default = "one")]
    #[param(minimum = 1, default = 1)]
    pub page: u32,
    /// Items per page, 1 to 100.
    #[serde(default = "fifty")]
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub per_page: u32,
}

fn one() -> u32 {
    1
}
fn fifty() -> u32 {
    50
}

impl Pagination {
    /// Largest page size accepted.
    pub const MAX: u32 = 100;

    /// Checks the bounds.
    pub fn validate(self) -> Result<Self, AppError> {
        if self.page == 0 {
            return Err(AppError::field("page", "must be 1 or more"));
        }
        if self.per_page == 0 || self.per_page > Self::MAX {
            return Err(AppError::field("per_page", "must be between 1 and 100"));
        }
        Ok(self)
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

/// Total and one page of a query's results.
pub fn paged<T>(items: Vec<T>, page: Pagination, total: i64) -> cirhub_shared::api::Paged<T> {
    cirhub_shared::api::Paged {
        items,
        page: page.page,
        per_page: page.per_page,
        total: total.max(0) as u64,
    }
}
