//! buddysim: a deterministic simulator of the Linux page allocator.
//!
//! Data flows one way: inputs ([`capture`], scenarios) → state ([`mm`]) → engine → observations →
//! reports. Model code never prints, reads files or looks at the wall clock; the binary's `cli`
//! does the I/O.

pub mod analyze;
pub mod capture;
pub mod engine;
pub mod kernel;
pub mod mm;
pub mod report;
pub mod scenario;
pub mod workload;
