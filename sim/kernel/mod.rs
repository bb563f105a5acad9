//! Kernel profiles: each supported kernel version as data (formulas chosen by enum, defaults,
//! which mechanisms exist), and the GFP flag layouts per version.
//!
//! Version differences live here and nowhere else: model code asks the profile which variant of a
//! rule applies instead of comparing version numbers.

pub mod gfp;
pub mod profile;
pub mod slab_caches;

pub use profile::{profile, Profile, PROFILES};
