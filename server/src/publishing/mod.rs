//! What providers publish: Statuspage v2 documents, Atom/RSS feeds, component status as a reader may see it, uptime.

pub mod feeds;
pub mod status_view;
pub mod statuspage;
pub mod uptime;
