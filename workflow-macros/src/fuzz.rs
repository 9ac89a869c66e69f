//! Random and mutated inputs for both macros.
