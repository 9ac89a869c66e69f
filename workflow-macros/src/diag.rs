//! Collects errors so that one invocation reports every independent problem at once.

use proc_macro2::{Span, TokenStream};
use std::fmt::Display;

#[derive(Default)]
pub struct Diagnostics {
    errors: Option<syn::Error>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    pub fn push_all(&mut self, other: Diagnostics) {
        if let Some(errors) = other.errors {
            self.push(errors);
        }
    }

    /// How many errors so far, to tell whether a step added any.
    pub fn count(&self) -> usize {
        self.errors
            .as_ref()
            .map_or(0, |errors| errors.clone().into_iter().count())
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_none()
    }

    pub fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .flat_map(|errors| errors.clone().into_iter())
            .map(|error| error.to_string())
            .collect()
    }
}
