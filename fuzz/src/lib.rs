//! Input builders shared by the fuzz targets and the seed corpus generator
//! (`examples/make_corpus.rs`).

pub mod classic;
pub mod input;
pub mod native;
