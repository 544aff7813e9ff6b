//! The program document (SPEC §12): the whole setup of one program as one JSON
//! document, and the compiled [`Program`] the edge and the use cases work with.
//!
//! A document is applied whole or refused whole: [`Program::compile`] checks every
//! section and returns every problem it finds, each with the path of the field.

mod document;
mod model;
#[cfg(test)]
mod tests;
mod validate;
mod validate_terms;

pub use document::*;
pub use model::*;
pub use validate::Problem;
