//! Indicator exchange under sharing agreements: the agreements themselves, STIX objects
//! shared under them, and the one policy decision point every exit of shared data asks.

pub mod agreements;
pub mod exports;
pub mod formats;
pub mod import;
pub mod imports;
pub mod lookup;
pub mod notices;
pub mod objects;
pub mod onward;
pub mod policy;
pub mod reads;
pub mod receipts;
pub mod stix;
pub mod taxii;
pub mod terms;
pub mod values;
pub mod withdrawals;
