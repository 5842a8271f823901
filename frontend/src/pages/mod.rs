pub mod catalogue;
pub mod console;
pub mod incident;
pub mod login;
pub mod maintenance;
pub mod status;
