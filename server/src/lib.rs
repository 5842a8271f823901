//! cirhub: a multi-tenant hub where cloud providers publish incidents and customers follow
//! what affects them. `main.rs` only calls [`cli::main`]; everything lives here so the
//! integration tests can start the real server in-process.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod routes;
pub mod services;
pub mod state;
pub mod stream;
pub mod text;
pub mod watch;
