pub mod error;
pub mod escalation_state;
pub mod nav;
pub mod options;
pub mod record_panel;
pub mod tlp;
