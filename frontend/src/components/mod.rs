pub mod error;
pub mod nav;
pub mod options;
pub mod tlp;
