//! Reports: human text and machine formats for what the library computes. One file per report.

pub mod analyze;
pub mod explain;
pub mod failure;
pub mod validate;
