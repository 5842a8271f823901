//! Who acts: the principal of a request, a job or the CLI. Plain data, below the services;
//! the web layer builds it from a bearer credential (`crate::auth::caller`).

use crate::error::AppError;
use cirhub_shared::Role;

/// Who acts: recorded in every audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: String,
        name: String,
    },
    ApiToken {
        id: String,
        name: String,
    },
    /// A customer's personal feed token (reads only its feed).
    FeedToken {
        id: String,
        name: String,
    },
    System,
}

impl Actor {
    /// `user`, `api_token` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::ApiToken { .. } => "api_token",
            Actor::FeedToken { .. } => "feed_token",
            Actor::System => "system",
        }
    }
    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::User { id, .. } | Actor::ApiToken { id, .. } | Actor::FeedToken { id, .. } => {
                Some(id)
            }
            Actor::System => None,
        }
    }
    /// Name shown as author of updates.
    pub fn display_name(&self) -> &str {
        match self {
            Actor::User { name, .. }
            | Actor::ApiToken { name, .. }
            | Actor::FeedToken { name, .. } => name,
            Actor::System => "system",
        }
    }
}

/// An authenticated request's identity.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org_id: String,
    pub role: Role,
    pub actor: Actor,
    /// The session of a JWT caller (for logout).
    pub session_id: Option<String>,
}

impl Caller {
    /// 403 unless the caller's role reaches `required`.
    pub fn require(&self, required: Role) -> Result<(), AppError> {
        if self.role.at_least(required) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "Your role ({}) cannot do this; it needs the {} role{}.",
                self.role,
                required,
                if required == Role::Auditor {
                    " or admin"
                } else {
                    " or higher"
                }
            )))
        }
    }

    /// The user id, when a person (not an API token) is calling.
    pub fn user_id(&self) -> Option<&str> {
        match &self.actor {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }
}
