//! Integration tests: each spawns the real server on port 0 over its own database.

mod harness;

mod audit;
mod auth;
mod browser;
mod browser_indicators;
mod browser_live;
mod browser_sharing;
mod catalogue;
mod cli;
mod crash;
mod customers;
mod exports;
mod feeds;
mod imports;
mod incidents;
mod indicators;
mod input;
mod invitations;
mod jobs;
mod lookup;
mod mail;
mod notices;
mod onward;
mod ops;
mod policy_exits;
mod public;
mod sharing;
mod statuspage_shape;
mod stream;
mod stream_replay;
mod stream_sessions;
mod taxii;
mod tenancy;
mod unit_of_work;
mod versions;
