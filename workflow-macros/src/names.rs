//! Names in messages: suggestions for typos, doc comments, token text.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// The closest candidate to `name` when it is close enough to be a typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (similarity(name, candidate), candidate))
        .filter(|(score, _)| *score > 0.0)
        .max_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, candidate)| candidate)
}

/// How alike two names are, 0 when too far apart to be a typo of one another: one edit
/// (two for longer names, a swap counting as one) or a very similar spelling.
fn similarity(name: &str, candidate: &str) -> f64 {
    let allowed = (name.chars().count().max(candidate.chars().count()) / 4).max(1);
    let closeness = strsim::jaro_winkler(name, candidate);
    if strsim::damerau_levenshtein(name, candidate) <= allowed || closeness >= 0.85 {
        closeness
    } else {
        0.0
    }
}

/// " (did you mean `x`?)" or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(name, candidates)
        .map(|candidate| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default()
}

/// The text of a type or path as a reader would write it: `Vec<Orders>`, `io::Result<()>`.
pub fn token_text(tokens: &impl ToTokens) -> String {
    let raw = tokens.to_token_stream().to_string();
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(current) = chars.next() {
        if current == ' ' {
            let previous = text.chars().last();
            let next = chars.peek().copied();
            let tight_after = matches!(previous, Some('<' | '&' | ':' | '(' | '[' | '\''));
            let tight_before = matches!(next, Some('<' | '>' | ',' | ':' | ')' | ']'));
            if tight_after || tight_before {
                // `dyn Trait` and `impl Trait` keep their space; `a :: b` does not.
                if !(previous == Some(':') && next != Some(':') && !text.ends_with("::")) {
                    continue;
                }
            }
        }
        text.push(current);
    }
    text
}

/// The doc comment in `attributes`, one line per `///` line, with the leading space removed.
pub fn doc_text(attributes: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attribute in attributes {
        if !attribute.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(syn::MetaNameValue {
            value:
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }),
            ..
        }) = &attribute.meta
        {
            let value = text.value();
            for line in value.split('\n') {
                lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
            }
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.join("\n").trim_start_matches('\n').to_owned()
}

/// An identifier's name as plans, messages and the command line show it: without the `r#`
/// of a raw identifier (`r#match` is the node `match`), as `stringify!` and serde write it.
pub fn text(ident: &syn::Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}

/// `text` as part of a generated identifier: raw-identifier prefixes dropped, the characters
/// an identifier may continue with kept (`čas` stays `čas`, so `čas` and `řas` stay
/// distinct), anything else (the `.` of `snapshot.true`) replaced by `_`, so that
/// `format_ident!` can never be handed an invalid identifier (it panics on one).
pub fn ident_part(text: &str) -> String {
    let text = text.strip_prefix("r#").unwrap_or(text);
    let part: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || unicode_ident::is_xid_continue(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() {
        "_".to_owned()
    } else {
        part
    }
}

/// `text` as an identifier at `span`: raw when it is a keyword; `None` when it cannot be one.
pub fn handle_ident(text: &str, span: Span) -> Option<syn::Ident> {
    // Reserved by an edition (2024's `gen`, 2018's `try`) though syn takes them as identifiers.
    if matches!(text, "gen" | "try") {
        return Some(syn::Ident::new_raw(text, span));
    }
    if syn::parse_str::<syn::Ident>(text).is_ok() {
        return Some(syn::Ident::new(text, span));
    }
    let raw = format!("r#{text}");
    let can_be_raw = !matches!(text, "_" | "self" | "Self" | "super" | "crate")
        && syn::parse_str::<syn::Ident>(&raw).is_ok();
    can_be_raw.then(|| syn::Ident::new_raw(text, span))
}

/// The same tokens, located at `span` for error reporting but resolving names as before.
pub fn relocate(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut relocated = Group::new(group.delimiter(), relocate(group.stream(), span));
                relocated.set_span(group.span().located_at(span));
                TokenTree::Group(relocated)
            }
            mut other => {
                other.set_span(other.span().located_at(span));
                other
            }
        })
        .collect()
}

/// Why a task or workflow cannot be named `ident`: its hidden struct would shadow a primitive
/// type of that name (`str`, `u32`, ...) in the whole module, breaking every `&str` or `u32`
/// there. `None` for every other name.
pub fn shadows_primitive(ident: &syn::Ident, what: &str) -> Option<syn::Error> {
    if text(ident).starts_with("__workflow") {
        return Some(syn::Error::new(
            ident.span(),
            format!(
                "names starting with `__workflow` are reserved for the code `workflow!` and `#[task]` generate; give this {what} another name"
            ),
        ));
    }
    const PRIMITIVES: [&str; 19] = [
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f16", "f32", "f64", "f128",
    ];
    // The types and traits of Rust's prelude: a task or workflow of that name would hide them
    // from the module just as well.
    const PRELUDE: [&str; 31] = [
        "Option",
        "Result",
        "Vec",
        "String",
        "Box",
        "Clone",
        "Copy",
        "Send",
        "Sync",
        "Sized",
        "Default",
        "Drop",
        "Fn",
        "FnMut",
        "FnOnce",
        "Iterator",
        "IntoIterator",
        "Extend",
        "From",
        "Into",
        "TryFrom",
        "TryInto",
        "AsRef",
        "AsMut",
        "PartialEq",
        "Eq",
        "PartialOrd",
        "Ord",
        "ToString",
        "ToOwned",
        "FromIterator",
    ];
    let name = text(ident);
    if PRELUDE.contains(&name.as_str()) {
        return Some(syn::Error::new(
            ident.span(),
            format!(
                "a {what} cannot be named `{name}`: the {what} is also a type, which would hide the prelude's `{name}` from the whole module"
            ),
        ));
    }
    PRIMITIVES.contains(&name.as_str()).then(|| {
        let rename = if what == "task" {
            format!(
                "; rename the function and keep the name in plans with `#[task(name = \"{name}\")]`"
            )
        } else {
            String::new()
        };
        syn::Error::new(
            ident.span(),
            format!(
                "a {what} cannot be named `{name}`: the {what} is also a type, which would hide the primitive type `{name}` from the whole module{rename}"
            ),
        )
    })
}

/// Where an option written in the wrong place belongs, as the whole message: `None` when `key` is no
/// option of `workflow!` or `#[task]`. `place` is where it was written: `"task"` (inside
/// `#[task(...)]`), `"workflow"` (as a workflow attribute) or an attribute's name (a key
/// inside `#[schedule(...)]` and the like), so that the answer never points back there.
pub fn option_home(key: &str, place: &str) -> Option<String> {
    let home: (&str, String) = match key {
        "schedule" => ("schedule", "the workflow attribute `#[schedule(cron = \"0 2 * * *\")]`, above the workflow's name in `workflow!`".to_owned()),
        "cron" | "every" | "timezone" | "catch_up" | "max_catch_up" => (
            "schedule",
            format!("the workflow's `#[schedule(...)]`: `#[schedule(cron = \"0 2 * * *\", {})]`", match key {
                "timezone" => "timezone = \"Europe/Prague\"",
                "catch_up" => "catch_up = \"latest\"",
                "max_catch_up" => "catch_up = \"all\", max_catch_up = 3",
                _ => "timezone = \"UTC\"",
            }),
        ),
        "concurrency" | "overlap" => ("concurrency", "the workflow's `#[concurrency(overlap = \"forbid\")]`".to_owned()),
        "on_failure" | "reruns" => ("on_failure", "the workflow's `#[on_failure(stop, reruns = 3)]`".to_owned()),
        "on_success" => ("on_success", "the workflow's `#[on_success(notify = \"team@example.com\")]`".to_owned()),
        "notify" | "webhook" => ("on_failure", format!("the workflow's `#[on_failure(stop, {key} = ...)]` or `#[on_success({key} = ...)]`")),
        "secret" | "env" | "file" => ("secret", "the workflow's `#[secret(db_password, env = \"DB_PASSWORD\")]`; a task reads it through an input of type `Secret`".to_owned()),
        "trigger" | "after" | "within" => ("trigger", "the workflow's `#[trigger(after = upstream, within = \"10m\")]`".to_owned()),
        "partition" | "param" => ("partition", "the workflow's `#[partition(daily, param = day)]`".to_owned()),
        "slots" => ("pool", "the workflow's `#[pool(name = \"server-a\", slots = 2)]`, which sizes a pool its tasks name with `#[task(pool = \"server-a\")]`".to_owned()),
        "retries" | "retry_delay" | "backoff" | "max_retry_delay" | "cpu" | "memory" | "command" => (
            "task",
            format!("`#[task({key} = ...)]` on the task's function (a node runs with its task's policy)"),
        ),
        _ => return None,
    };
    if home.0 == place {
        return None;
    }
    let written = match place {
        "task" => "a task option".to_owned(),
        "workflow" => "a workflow attribute".to_owned(),
        attribute => format!("a key of `#[{attribute}]`"),
    };
    Some(if home.0 == "task" {
        format!("`{key}` is a task option, not {written}: write {}", home.1)
    } else {
        format!("`{key}` is not {written}; it belongs in {}", home.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_written() {
        let ty: syn::Type = syn::parse_quote!(std::collections::HashMap<String, Vec<u8>>);
        assert_eq!(
            token_text(&ty),
            "std::collections::HashMap<String, Vec<u8>>"
        );
        let ty: syn::Type = syn::parse_quote!(Result<(), io::Error>);
        assert_eq!(token_text(&ty), "Result<(), io::Error>");
        let ty: syn::Type = syn::parse_quote!(Box<dyn Error + Send>);
        assert_eq!(token_text(&ty), "Box<dyn Error + Send>");
        let ty: syn::Type = syn::parse_quote!(&'static str);
        assert_eq!(token_text(&ty), "&'static str");
    }

    #[test]
    fn identifier_parts_are_always_valid() {
        for text in ["r#type", "snapshot.true", "été", "", "a-b", "Mode::Full"] {
            let ident = format!("x_{}_input_1", ident_part(text));
            assert!(
                syn::parse_str::<syn::Ident>(&ident).is_ok(),
                "{text} gave {ident}"
            );
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("ordres", ["orders", "logs"]), Some("orders"));
        assert_eq!(suggest("x", ["orders"]), None);
        assert_eq!(
            did_you_mean("retires", ["retries", "timeout"]),
            " (did you mean `retries`?)"
        );
    }

    #[test]
    fn doc_lines() {
        let item: syn::ItemFn = syn::parse_quote! {
            /// Pull orders.
            ///
            /// From the OLTP database.
            fn f() {}
        };
        assert_eq!(
            doc_text(&item.attrs),
            "Pull orders.\n\nFrom the OLTP database."
        );
    }
}
