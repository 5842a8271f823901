pub mod catalogue;
pub mod console;
pub mod dashboard;
pub mod incident;
pub mod login;
pub mod maintenance;
pub mod relations;
pub mod status;
