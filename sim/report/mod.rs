//! Reports: human text and machine formats for what the library computes. One file per report.

pub mod advice;
pub mod analyze;
pub mod explain;
pub mod output;
pub mod plot;
pub mod replay;
pub mod run;
pub mod survival;
pub mod sweep;
pub mod sweep_dir;
pub mod validate;
