//! The page allocator (mm/page_alloc.c): watermarks, the buddy free lists, fallback and the
//! allocation paths.

pub mod alloc;
pub mod alloc_flags;
pub mod buddy;
pub mod fallback;
pub mod pcp;
pub mod setup;
pub mod slowpath;
pub mod watermark;
