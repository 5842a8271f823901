//! Types shared by the cirhub server and its WebAssembly frontend.
//!
//! Nothing here depends on actix, diesel or tokio, so the frontend compiles it to wasm as is.
//! Values are parsed once at the edge (`FromStr` / serde) and trusted afterwards.

pub mod api;
pub mod clocks;
pub mod customer;
pub mod domain;
pub mod escalation;
pub mod metrics;
pub mod problem;
pub mod record;
pub mod sharing;
pub mod statuspage;
pub mod time;

pub use domain::*;
pub use problem::{FieldError, Problem};
