pub mod error;
pub mod nav;
