//! RFC 9457 problem details: the one error body every cirhub endpoint answers with.

use serde::{Deserialize, Serialize};

/// An RFC 9457 `application/problem+json` document with cirhub's extension members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the problem type (`https://cirhub.dev/problems/<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type; the same for every occurrence of `code`.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time and what to do about it, for a person.
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    /// For validation problems: each offending field and how to fix it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// JSON path of the field, e.g. `components[2].status`.
    pub field: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl Problem {
    /// Builds a problem with the type URI derived from `code`.
    pub fn new(status: u16, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: format!("https://cirhub.dev/problems/{code}"),
            title: title.to_string(),
            status,
            detail: detail.into(),
            code: code.to_string(),
            errors: Vec::new(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.detail)
    }
}
