//! Random and mutated inputs for both macros: each must give an error or an expansion, never a
//! panic, and the expansion must parse as Rust items (errors included), because rustc would
//! otherwise report a confusing syntax error instead of ours. For `#[task]`, rustc only ever
//! passes a syntactically valid item, so the parse property is checked for such items only.
//!
//! `WORKFLOW_FUZZ_CASES` sets the number of cases per property (default 3000).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use proc_macro2::TokenStream;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const VOCABULARY: &[&str] = &[
    "day",
    "orders",
    "logs",
    "t",
    "task",
    "after",
    "before",
    "pub",
    "fn",
    "self",
    "async",
    "unsafe",
    "crate",
    "mod",
    "NaiveDate",
    "Vec",
    "Result",
    "String",
    "u32",
    "bool",
    "impl",
    "dyn",
    "where",
    "const",
    "name",
    "retries",
    "retry_delay",
    "timeout",
    "pool",
    "_",
    "doc",
    "=",
    "==",
    ";",
    ".",
    ",",
    ":",
    "::",
    "<",
    ">",
    "->",
    "=>",
    "#",
    "!",
    "&",
    "&'a",
    "'static",
    "-",
    "+",
    "*",
    "?",
    "\"30s\"",
    "\"2h30m\"",
    "\"\"",
    "\"x y\"",
    "3",
    "-1",
    "0",
    "99999999999",
    "1.5",
    "true",
    "'c'",
    "b\"b\"",
    "r#type",
    "é",
];

const VALID_WORKFLOW: &str = r#"
    /// Docs.
    #[schedule(cron = "0 2 * * *", timezone = "Europe/Prague", catch_up = "all", max_catch_up = 3)]
    #[on_failure(continue, notify = ["a@example.com"], webhook = "https://hooks.example.com/x")]
    #[secret(password, env = "PASSWORD")]
    #[trigger(after = upstream, within = "10m")]
    #[partition(daily, param = day)]
    #[pool(name = "a", slots = 2)]
    pub daily(day: NaiveDate, full: bool = false, limit: i64 = -1, tables: Vec<String> = vec![]) {
        orders = extract::orders(day, "eu", limit);
        logs = extract_logs(day, password);
        if full {
            sessions = join(orders, logs);
        } else {
            sessions = join_recent(orders, logs);
        }
        counts = count(each(tables), day).max_parallel(4);
        mode = choose(counts);
        match mode {
            Mode::Full | Mode::Repair(_) => { load(sessions).after(orders, logs); }
            _ => {}
        }
    }
"#;

const VALID_TASK: &str = r#"
    /// Pull orders.
    pub fn extract_orders(day: NaiveDate, mut limit: u32) -> Result<Vec<Order>, TaskError> { Ok(vec![]) }
"#;

const VALID_OPTIONS: &str =
    r#"name = "extract", retries = 3, retry_delay = "30s", timeout = "2h", pool = "a""#;

fn cases() -> u32 {
    std::env::var("WORKFLOW_FUZZ_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(3000)
}

/// A token tree as source text: balanced groups nested a few levels.
fn tree() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(VOCABULARY).prop_map(str::to_owned);
    leaf.prop_recursive(3, 48, 8, |inner| {
        (proptest::collection::vec(inner, 0..8), 0..3usize).prop_map(|(items, delimiter)| {
            let body = items.join(" ");
            match delimiter {
                0 => format!("({body})"),
                1 => format!("{{{body}}}"),
                _ => format!("[{body}]"),
            }
        })
    })
}

fn sequence() -> impl Strategy<Value = String> {
    proptest::collection::vec(tree(), 0..24).prop_map(|items| items.join(" "))
}

/// The tokens of a valid input with random deletions, duplications, swaps and insertions.
fn mutated(source: &'static str) -> impl Strategy<Value = String> {
    let words: Vec<String> = tokens(source);
    let length = words.len();
    proptest::collection::vec(
        (
            0..4usize,
            0..length.max(1),
            0..length.max(1),
            proptest::sample::select(VOCABULARY),
        ),
        1..6,
    )
    .prop_map(move |edits| {
        let mut words = words.clone();
        for (kind, at, other, insert) in edits {
            if words.is_empty() {
                words.push(insert.to_owned());
                continue;
            }
            let at = at % words.len();
            let other = other % words.len();
            match kind {
                0 => {
                    words.remove(at);
                }
                1 => {
                    let word = words[at].clone();
                    words.insert(other, word);
                }
                2 => words.swap(at, other),
                _ => words.insert(at, insert.to_owned()),
            }
        }
        words.join(" ")
    })
}

/// Splits source into token-sized words (brackets on their own), so mutations stay lexable
/// often enough to reach the parsers.
fn tokens(source: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_string = false;
    for character in source.chars() {
        if character == '"' {
            in_string = !in_string;
        }
        if !in_string && (character.is_whitespace() || "(){}[],;".contains(character)) {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if !character.is_whitespace() {
                words.push(character.to_string());
            }
        } else {
            current.push(character);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Runs a macro on `text` and checks it neither panics nor emits unparsable code. Text that
/// does not lex (an unbalanced bracket) never reaches a macro, so it is skipped.
fn check(
    text: &str,
    must_parse: bool,
    expand: impl Fn(TokenStream) -> TokenStream,
) -> Result<bool, TestCaseError> {
    let Ok(input) = TokenStream::from_str(text) else {
        return Ok(false);
    };
    let output = catch_unwind(AssertUnwindSafe(|| expand(input)))
        .map_err(|_| TestCaseError::fail(format!("the macro panicked on: {text}")))?;
    if !must_parse {
        return Ok(true);
    }
    if let Err(error) = syn::parse2::<syn::File>(output.clone()) {
        return Err(TestCaseError::fail(format!(
            "expansion does not parse ({error}) for: {text}\n{output}"
        )));
    }
    Ok(true)
}

fn run<V: std::fmt::Debug>(
    name: &str,
    strategy: impl Strategy<Value = V>,
    expand: impl Fn(&V) -> Result<bool, TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let reached = std::cell::Cell::new(0u32);
    let result = runner.run(&strategy, |text| {
        if expand(&text)? {
            reached.set(reached.get() + 1);
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{name}: {error}");
    }
    // Most inputs must reach the macro, or the property says little.
    assert!(
        reached.get() * 2 > cases(),
        "{name}: only {} of {} inputs lexed",
        reached.get(),
        cases()
    );
    eprintln!(
        "{name}: {} inputs reached the macro without a panic",
        reached.get()
    );
}

#[test]
fn workflow_never_panics_on_random_tokens() {
    run("workflow/random", sequence(), |text| {
        check(text, true, |input| crate::workflow::expand(input, 0))
    });
}

#[test]
fn workflow_never_panics_on_mutated_input() {
    run("workflow/mutated", mutated(VALID_WORKFLOW), |text| {
        check(text, true, |input| crate::workflow::expand(input, 0))
    });
}

/// Runs `#[task]` on an attribute and an item given as text.
fn check_task((attribute, item): &(String, String)) -> Result<bool, TestCaseError> {
    let Ok(attribute) = TokenStream::from_str(attribute) else {
        return Ok(false);
    };
    let is_item = syn::parse_str::<syn::Item>(item).is_ok();
    check(item, is_item, |item| {
        crate::task::expand(attribute.clone(), item, 0)
    })
}

#[test]
fn task_never_panics_on_random_tokens() {
    run("task/random", (sequence(), sequence()), check_task);
}

#[test]
fn task_never_panics_on_mutated_input() {
    run(
        "task/mutated",
        (mutated(VALID_OPTIONS), mutated(VALID_TASK)),
        check_task,
    );
}

#[test]
fn valid_inputs_expand_without_errors() {
    let output =
        crate::workflow::expand(TokenStream::from_str(VALID_WORKFLOW).unwrap(), 0).to_string();
    assert!(!output.contains("compile_error"), "{output}");
    let output = crate::task::expand(
        TokenStream::from_str(VALID_OPTIONS).unwrap(),
        TokenStream::from_str(VALID_TASK).unwrap(),
        0,
    )
    .to_string();
    assert!(!output.contains("compile_error"), "{output}");
}
