pub mod error;
pub mod nav;
pub mod options;
