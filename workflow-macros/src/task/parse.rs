//! The attribute's `key = value` options.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use crate::diag::Diagnostics;
use crate::names::did_you_mean;

pub const KEYS: &[&str] = &[
    "command",
    "name",
    "retries",
    "retry_delay",
    "backoff",
    "max_retry_delay",
    "timeout",
    "pool",
    "cpu",
    "memory",
];

#[derive(Default)]
pub struct Options {
    /// `#[task(command)]`: the function builds a `Command` that the task runs.
    pub command: bool,
    pub name: Option<String>,
    pub retries: u32,
    pub retry_delay: Option<Duration>,
    pub exponential: bool,
    pub max_retry_delay: Option<Duration>,
    pub timeout: Option<Duration>,
    pub pool: Option<String>,
    pub cpu_millis: Option<u32>,
    pub memory_bytes: Option<u64>,
}

/// Reads every option it can, reporting each bad one; a bad option keeps its default so that
/// the task is still generated and the user sees only the option's own error.
pub fn options(attribute: TokenStream, diagnostics: &mut Diagnostics) -> Options {
    let mut options = Options::default();
    let items = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attribute) {
        Ok(items) => items,
        Err(error) => {
            diagnostics.push(syn::Error::new(
                error.span(),
                format!("{error}; task options are `command` and `key = value` pairs, e.g. `#[task(retries = 3, timeout = \"2h\")]`"),
            ));
            return options;
        }
    };
    // Each option given, with the span of its key.
    let mut given: Vec<(String, Span)> = Vec::new();
    for item in items {
        let key_span = syn::spanned::Spanned::span(item.path());
        let Some(key) = item.path().get_ident().map(ToString::to_string) else {
            diagnostics.error(
                key_span,
                format!("unknown task option; valid options are {}", list(KEYS)),
            );
            continue;
        };
        if given.iter().any(|(known, _)| *known == key) {
            diagnostics.error(key_span, format!("task option `{key}` is given twice"));
            continue;
        }
        given.push((key.clone(), key_span));
        let pair = match item {
            Meta::Path(_) if key == "command" => {
                options.command = true;
                continue;
            }
            Meta::NameValue(pair) if key != "command" => pair,
            _ if key == "command" => {
                diagnostics.error(key_span, "`command` stands alone: `#[task(command)]`");
                continue;
            }
            _ if KEYS.contains(&key.as_str()) => {
                diagnostics.error(
                    key_span,
                    format!("task option `{key}` takes a value: `{key} = ...`"),
                );
                continue;
            }
            Meta::Path(_) | Meta::List(_) | Meta::NameValue(_) => {
                diagnostics.error(key_span, unknown_option(&key));
                continue;
            }
        };
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
            "retry_delay" | "timeout" | "max_retry_delay" => {
                if let Some(text) = string(&pair.value, &key, diagnostics) {
                    match crate::duration::parse(&text) {
                        Ok(duration) if key != "retry_delay" && duration.is_zero() => diagnostics
                            .error(value_span, format!("`{key}` must be longer than zero")),
                        Ok(duration) if key == "timeout" => options.timeout = Some(duration),
                        Ok(duration) if key == "max_retry_delay" => {
                            options.max_retry_delay = Some(duration)
                        }
                        Ok(duration) => options.retry_delay = Some(duration),
                        Err(message) => diagnostics.error(value_span, message),
                    }
                }
            }
            "backoff" => {
                if let Some(text) = string(&pair.value, &key, diagnostics) {
                    match text.as_str() {
                        "fixed" => options.exponential = false,
                        "exponential" => options.exponential = true,
                        other => diagnostics.error(
                            value_span,
                            format!("`backoff` is `fixed` or `exponential`, not `{other}`"),
                        ),
                    }
                }
            }
            "cpu" => match &pair.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(cores),
                    ..
                }) => match cores.base10_parse::<u32>() {
                    Ok(cores) if (1..=4_096).contains(&cores) => {
                        options.cpu_millis = Some(cores * 1_000)
                    }
                    _ => diagnostics
                        .error(value_span, "`cpu` is a number of cores from 0.001 to 4096"),
                },
                Expr::Lit(ExprLit {
                    lit: Lit::Float(cores),
                    ..
                }) => match cores.base10_parse::<f64>() {
                    Ok(cores) if (0.001..=4_096.0).contains(&cores) => {
                        options.cpu_millis = Some((cores * 1_000.0).round() as u32)
                    }
                    _ => diagnostics
                        .error(value_span, "`cpu` is a number of cores from 0.001 to 4096"),
                },
                _ => diagnostics.error(
                    value_span,
                    "`cpu` takes a number of cores, e.g. `cpu = 2` or `cpu = 0.5`",
                ),
            },
            "memory" => {
                if let Some(text) = string(&pair.value, &key, diagnostics) {
                    match memory(&text) {
                        Ok(bytes) => options.memory_bytes = Some(bytes),
                        Err(message) => diagnostics.error(value_span, message),
                    }
                }
            }
            _ => diagnostics.error(key_span, unknown_option(&key)),
        }
    }
    // Options that only matter together with others.
    let span_of = |key: &str| {
        given
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, span)| *span)
    };
    if span_of("retries").is_none() {
        for key in ["retry_delay", "backoff", "max_retry_delay"] {
            if let Some(span) = span_of(key) {
                diagnostics.error(
                    span,
                    format!("`{key}` has no effect without `retries`; add e.g. `retries = 3`"),
                );
            }
        }
    }
    if let (Some(cap), Some(span)) = (options.max_retry_delay, span_of("max_retry_delay")) {
        if !options.exponential {
            diagnostics.error(
                span,
                "`max_retry_delay` caps exponential backoff; add `backoff = \"exponential\"`",
            );
        } else if options.retry_delay.is_some_and(|delay| delay > cap) {
            diagnostics.error(span, "`max_retry_delay` is shorter than `retry_delay`");
        }
    }
    if let (true, Some(span)) = (
        options.exponential
            && options.retries > 0
            && options.retry_delay.is_none_or(|delay| delay.is_zero()),
        span_of("backoff"),
    ) {
        diagnostics.error(
            span,
            "exponential backoff doubles `retry_delay`; give one, e.g. `retry_delay = \"30s\"`",
        );
    }
    options
}

/// `4GiB`, `512MiB`, `2GB`, `1.5GiB` as bytes.
fn memory(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let size: u64 = match unit.trim() {
        "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => {
            return Err(format!(
                "invalid memory size `{text}`; write a number and a unit, e.g. `512MiB` or `4GiB`"
            ));
        }
    };
    match number.parse::<f64>() {
        Ok(value) if value > 0.0 && value * (size as f64) < 1.8e19 => {
            Ok((value * size as f64).round() as u64)
        }
        _ => Err(format!(
            "invalid memory size `{text}`; write a number and a unit, e.g. `512MiB` or `4GiB`"
        )),
    }
}

fn string(value: &Expr, key: &str, diagnostics: &mut Diagnostics) -> Option<String> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text.value()),
        other => {
            // A bare number where a unit belongs: show it with the units it could mean.
            let number = match other {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(number),
                    ..
                }) => Some(number.base10_digits().to_owned()),
                _ => None,
            };
            let message = match (key, number) {
                ("memory", Some(number)) => {
                    // 4096 reads as MiB; say it in GiB too when it is a whole number of them.
                    let larger = match number.parse::<u64>() {
                        Ok(mebibytes) if mebibytes >= 1024 && mebibytes % 1024 == 0 => {
                            format!("{}GiB", mebibytes / 1024)
                        }
                        _ => format!("{number}GiB"),
                    };
                    format!(
                        "`memory` takes a size with its unit, e.g. `memory = \"{number}MiB\"` or `memory = \"{larger}\"`"
                    )
                }
                ("retry_delay" | "timeout" | "max_retry_delay", Some(number)) => format!(
                    "`{key}` takes a duration with its unit, e.g. `{key} = \"{number}s\"` or `{key} = \"{number}m\"`"
                ),
                _ => {
                    let example = match key {
                        "retry_delay" => "\"30s\"",
                        "timeout" => "\"2h\"",
                        "max_retry_delay" => "\"10m\"",
                        "pool" => "\"server-a\"",
                        "memory" => "\"4GiB\"",
                        "backoff" => "\"exponential\"",
                        _ => "\"extract_orders\"",
                    };
                    format!("`{key}` takes a string, e.g. `{key} = {example}`")
                }
            };
            diagnostics.error(span_of(other), message);
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

/// What to say about a key `#[task]` does not take: where it belongs when it is a workflow's
/// option, or else the spelling closest to it and the options there are.
fn unknown_option(key: &str) -> String {
    match crate::names::option_home(key, "task") {
        Some(message) => message,
        None => format!(
            "unknown task option `{key}`{}; valid options are {}",
            did_you_mean(key, KEYS.iter().copied()),
            list(KEYS)
        ),
    }
}

/// The function under `#[task]`, as far as the task needs it: attributes, visibility and
/// signature. Its body is kept as one unparsed brace group, so that the cost of `#[task]` does
/// not grow with the function's length (the function itself is re-emitted as written).
pub struct TaskFn {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub sig: syn::Signature,
}

impl syn::parse::Parse for TaskFn {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: proc_macro2::Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body"));
        }
        Ok(TaskFn { attrs, vis, sig })
    }
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
    fn backoff_and_resources() {
        let mut diagnostics = Diagnostics::new();
        let options = options(
            quote!(
                retries = 4,
                retry_delay = "30s",
                backoff = "exponential",
                max_retry_delay = "10m",
                cpu = 0.5,
                memory = "1.5GiB"
            ),
            &mut diagnostics,
        );
        assert!(diagnostics.is_empty(), "{:?}", diagnostics.messages());
        assert!(options.exponential);
        assert_eq!(options.max_retry_delay, Some(Duration::from_secs(600)));
        assert_eq!(options.cpu_millis, Some(500));
        assert_eq!(options.memory_bytes, Some(1_610_612_736));
        assert_eq!(memory("512MiB"), Ok(536_870_912));
        assert_eq!(memory("2GB"), Ok(2_000_000_000));
        assert!(memory("lots").is_err() && memory("5 parsecs").is_err() && memory("0GiB").is_err());
    }

    #[test]
    fn options_that_need_others() {
        assert_eq!(
            errors(quote!(retry_delay = "30s", backoff = "exponential")),
            [
                "`retry_delay` has no effect without `retries`; add e.g. `retries = 3`",
                "`backoff` has no effect without `retries`; add e.g. `retries = 3`"
            ]
        );
        assert_eq!(
            errors(quote!(retries = 2, max_retry_delay = "1m")),
            ["`max_retry_delay` caps exponential backoff; add `backoff = \"exponential\"`"]
        );
        assert_eq!(
            errors(quote!(
                retries = 2,
                retry_delay = "5m",
                backoff = "exponential",
                max_retry_delay = "1m"
            )),
            ["`max_retry_delay` is shorter than `retry_delay`"]
        );
        assert_eq!(
            errors(quote!(retries = 2, backoff = "exponential")),
            ["exponential backoff doubles `retry_delay`; give one, e.g. `retry_delay = \"30s\"`"]
        );
    }

    #[test]
    fn repeated_option() {
        assert_eq!(
            errors(quote!(retries = 1, retries = 2)),
            ["task option `retries` is given twice"]
        );
    }
}
