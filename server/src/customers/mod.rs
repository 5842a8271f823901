//! The customer side: relationships with providers, the one visibility policy, the dashboard, subscriptions and personal feed tokens.

pub mod acknowledgements;
pub mod dashboard;
pub mod feed_tokens;
pub mod mappings;
pub mod relationships;
pub mod subscriptions;
pub mod visibility;
