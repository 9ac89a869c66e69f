//! The attribute's `key = value` options.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, MetaNameValue, Token};

use crate::diag::Diagnostics;
use crate::names::did_you_mean;

pub const KEYS: &[&str] = &["name", "retries", "retry_delay", "timeout", "pool"];

#[derive(Default)]
pub struct Options {
    pub name: Option<String>,
    pub retries: u32,
    pub retry_delay: Option<Duration>,
    pub timeout: Option<Duration>,
    pub pool: Option<String>,
}

/// Reads every option it can, reporting each bad one; a bad option keeps its default so that
/// the task is still generated and the user sees only the option's own error.
pub fn options(attribute: TokenStream, diagnostics: &mut Diagnostics) -> Options {
    let mut options = Options::default();
    let pairs = match Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attribute) {
        Ok(pairs) => pairs,
        Err(error) => {
            diagnostics.push(syn::Error::new(
                error.span(),
                format!("{error}; task options are `key = value` pairs, e.g. `#[task(retries = 3, timeout = \"2h\")]`"),
            ));
            return options;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for pair in pairs {
        let key_span = syn::spanned::Spanned::span(&pair.path);
        let Some(key) = pair.path.get_ident().map(ToString::to_string) else {
            diagnostics.error(
                key_span,
                format!("unknown task option; valid options are {}", list(KEYS)),
            );
            continue;
        };
        if seen.contains(&key) {
            diagnostics.error(key_span, format!("task option `{key}` is given twice"));
            continue;
        }
        seen.push(key.clone());
        let value_span = syn::spanned::Spanned::span(&pair.value);
        match key.as_str() {
            "name" => {
                if let Some(name) = string(&pair.value, &key, diagnostics) {
                    if is_identifier(&name) {
                        options.name = Some(name);
                    } else {
                        diagnostics.error(value_span, format!("task name `{name}` must be an identifier (letters, digits and `_`, not starting with a digit), so that every engine can use it"));
                    }
                }
            }
            "pool" => {
                if let Some(pool) = string(&pair.value, &key, diagnostics) {
                    if !is_pool_name(&pool) {
                        diagnostics.error(value_span, format!("pool `{pool}` must be non-empty and use only letters, digits, `-`, `_` and `.`"));
                    } else {
                        options.pool = Some(pool);
                    }
                }
            }
            "retries" => match &pair.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(count),
                    ..
                }) => match count.base10_parse::<u32>() {
                    Ok(count) => options.retries = count,
                    Err(_) => diagnostics.error(
                        value_span,
                        "`retries` must be a whole number from 0 to 4294967295",
                    ),
                },
                _ => diagnostics.error(
                    value_span,
                    "`retries` takes a whole number, e.g. `retries = 3`",
                ),
            },
            "retry_delay" | "timeout" => {
                if let Some(text) = string(&pair.value, &key, diagnostics) {
                    match crate::duration::parse(&text) {
                        Ok(duration) if key == "timeout" && duration.is_zero() => {
                            diagnostics.error(value_span, "`timeout` must be longer than zero")
                        }
                        Ok(duration) if key == "timeout" => options.timeout = Some(duration),
                        Ok(duration) => options.retry_delay = Some(duration),
                        Err(message) => diagnostics.error(value_span, message),
                    }
                }
            }
            _ => diagnostics.error(
                key_span,
                format!(
                    "unknown task option `{key}`{}; valid options are {}",
                    did_you_mean(&key, KEYS.iter().copied()),
                    list(KEYS)
                ),
            ),
        }
    }
    options
}

fn string(value: &Expr, key: &str, diagnostics: &mut Diagnostics) -> Option<String> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text.value()),
        other => {
            let example = match key {
                "retry_delay" => "\"30s\"",
                "timeout" => "\"2h\"",
                "pool" => "\"server-a\"",
                _ => "\"extract_orders\"",
            };
            diagnostics.error(
                span_of(other),
                format!("`{key}` takes a string, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

fn span_of(value: &Expr) -> Span {
    syn::spanned::Spanned::span(value)
}

pub fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pool names travel into unit files, DAG files and manifests: plain characters only.
pub fn is_pool_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(first) if first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors(attribute: TokenStream) -> Vec<String> {
        let mut diagnostics = Diagnostics::new();
        options(attribute, &mut diagnostics);
        diagnostics.messages()
    }

    #[test]
    fn reads_every_option() {
        let mut diagnostics = Diagnostics::new();
        let options = options(
            quote!(
                name = "extract",
                retries = 3,
                retry_delay = "30s",
                timeout = "2h",
                pool = "server-a"
            ),
            &mut diagnostics,
        );
        assert!(diagnostics.is_empty());
        assert_eq!(options.name.as_deref(), Some("extract"));
        assert_eq!(options.retries, 3);
        assert_eq!(options.retry_delay, Some(Duration::from_secs(30)));
        assert_eq!(options.timeout, Some(Duration::from_secs(7200)));
        assert_eq!(options.pool.as_deref(), Some("server-a"));
    }

    #[test]
    fn reports_every_bad_option_together() {
        let messages = errors(quote!(
            retires = 3,
            timeout = "soon",
            retries = "3",
            name = "a b"
        ));
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].contains("did you mean `retries`?)"));
        assert!(messages[1].starts_with("invalid duration `soon`"));
        assert!(messages[2].contains("takes a whole number"));
        assert!(messages[3].contains("must be an identifier"));
    }

    #[test]
    fn repeated_option() {
        assert_eq!(
            errors(quote!(retries = 1, retries = 2)),
            ["task option `retries` is given twice"]
        );
    }
}
