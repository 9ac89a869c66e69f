//! The operational attributes of a workflow: schedule, concurrency, pools, run timeout, and what
//! happens on failure and success. Each is checked here, at compile time, so that a bad cron
//! expression or time zone stops the build instead of the scheduler.

use std::time::Duration;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, Meta, Token};

/// One item of an attribute's list: `word` or `key = value`. Words may be keywords, so that
/// `#[on_failure(continue)]` reads naturally.
enum Item {
    Word(Ident),
    Pair(Ident, Expr),
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            // A value is one expression; text written without quotes (`notify =
            // etl@example.com`, `cron = */15 2 * * *`) is several tokens or none that parse.
            let fork = input.fork();
            if let Ok(value) = fork.parse::<Expr>()
                && (fork.is_empty() || fork.peek(Token![,]))
            {
                input.advance_to(&fork);
                return Ok(Item::Pair(key, value));
            }
            let first = input.span();
            let mut parts = Vec::new();
            while !input.is_empty() && !input.peek(Token![,]) {
                let tree: proc_macro2::TokenTree = input.parse()?;
                parts.push(tree.to_string());
            }
            let mut text = parts.join(" ");
            for glue in ["@", ".", "/", "-", ":"] {
                text = text
                    .replace(&format!(" {glue} "), glue)
                    .replace(&format!(" {glue}"), glue)
                    .replace(&format!("{glue} "), glue);
            }
            if text.is_empty() {
                return Err(syn::Error::new(first, format!("`{key} =` needs a value")));
            }
            Err(syn::Error::new(
                first,
                format!(
                    "the value of `{key}` is not a single value; write text in quotes: `{key} = \"{}\"`",
                    text.replace('"', "\\\"")
                ),
            ))
        } else {
            Ok(Item::Word(key))
        }
    }
}

impl Item {
    fn span(&self) -> Span {
        match self {
            Item::Word(word) => word.span(),
            Item::Pair(key, _) => key.span(),
        }
    }

    fn is_key(&self, name: &str) -> bool {
        matches!(self, Item::Pair(key, _) if key == name)
    }
}

type Items = Punctuated<Item, Token![,]>;

use crate::diag::Diagnostics;
use crate::names::did_you_mean;

pub const ATTRIBUTES: &[&str] = &[
    "doc",
    "schedule",
    "concurrency",
    "pool",
    "timeout",
    "on_failure",
    "on_success",
    "secret",
    "trigger",
    "partition",
];
const SCHEDULE_KEYS: &[&str] = &["cron", "every", "timezone", "catch_up", "max_catch_up"];
const CATCH_UP: &[&str] = &["skip", "latest", "all"];
const OVERLAP: &[&str] = &["forbid", "queue", "replace"];
const FAILURE_ACTIONS: &[&str] = &["continue", "stop", "pause"];

/// Whether a run may start while another is active: `#[concurrency(overlap = ...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    #[default]
    Forbid,
    Queue,
    Replace,
}

impl Overlap {
    /// The option's word, one of [`OVERLAP`].
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "forbid" => Some(Self::Forbid),
            "queue" => Some(Self::Queue),
            "replace" => Some(Self::Replace),
            _ => None,
        }
    }
}

/// What a failed node does to the run: the action of `#[on_failure(...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureAction {
    Continue,
    #[default]
    Stop,
    Pause,
}

impl FailureAction {
    /// The action's word, one of [`FAILURE_ACTIONS`].
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "continue" => Some(Self::Continue),
            "stop" => Some(Self::Stop),
            "pause" => Some(Self::Pause),
            _ => None,
        }
    }
}

/// How much time one partition covers: the size in `#[partition(...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionSize {
    Daily,
    Weekly,
    Hourly,
}

impl PartitionSize {
    /// The size's word, one of [`PARTITION_SIZES`].
    fn from_word(word: &str) -> Option<Self> {
        match word {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            "hourly" => Some(Self::Hourly),
            _ => None,
        }
    }
}

/// `#[partition(size, param = name)]`.
pub struct Partition {
    pub size: PartitionSize,
    /// Where the size is written.
    pub size_span: Span,
    /// The workflow parameter that receives the partition.
    pub param: Ident,
}
const NOTIFY_KEYS: &[&str] = &["notify", "webhook"];
const FAILURE_KEYS: &[&str] = &["notify", "webhook", "reruns"];
/// The most automatic re-runs `#[on_failure(reruns = N)]` allows.
const MAX_RERUNS: u32 = 100;

#[derive(Default)]
pub struct Options {
    pub schedule: Option<Schedule>,
    pub overlap: Overlap,
    pub pools: Vec<(String, u32)>,
    /// Where each of `pools` is declared (its `#[pool]` attribute).
    pub pool_spans: Vec<Span>,
    pub timeout: Option<Duration>,
    pub on_failure: FailureAction,
    pub reruns: Option<u32>,
    pub notify_failure: Notify,
    pub notify_success: Notify,
    /// Secrets by name, with where their value is read from.
    pub secrets: Vec<(Ident, SecretSource)>,
    /// What starts a run besides the schedule.
    pub triggers: Vec<Trigger>,
    /// `#[partition(daily|weekly|hourly, param = name)]`.
    pub partition: Option<Partition>,
}

pub enum Trigger {
    /// After a successful run of the workflow at this path.
    After {
        workflow: syn::Path,
        within: Option<Duration>,
    },
    /// When a file matching this absolute glob appears.
    File(String),
}

pub enum SecretSource {
    Env(String),
    File(String),
}

pub struct Schedule {
    pub cadence: Cadence,
    pub timezone: String,
    pub catch_up: CatchUp,
}

pub enum Cadence {
    Cron(String),
    Every(Duration),
}

pub enum CatchUp {
    Skip,
    Latest,
    All(Option<u32>),
}

#[derive(Default)]
pub struct Notify {
    pub email: Vec<String>,
    pub webhook: Vec<String>,
}

/// Reads every attribute, reporting each problem; a bad attribute is left out of the options.
pub fn parse(attributes: &[Attribute], diagnostics: &mut Diagnostics) -> Options {
    let mut options = Options::default();
    let mut seen: Vec<String> = Vec::new();
    for attribute in attributes {
        let path = attribute.path();
        let name = crate::names::token_text(path);
        let span = path.span();
        if name == "doc" {
            continue;
        }
        if !ATTRIBUTES.contains(&name.as_str()) {
            let message = match crate::names::option_home(&name, "workflow") {
                Some(message) => message,
                None => format!(
                    "unknown workflow attribute `{name}`{}; workflows take {}",
                    did_you_mean(&name, ATTRIBUTES.iter().copied()),
                    list(ATTRIBUTES)
                ),
            };
            diagnostics.error(span, message);
            continue;
        }
        if !matches!(name.as_str(), "pool" | "secret" | "trigger") {
            if seen.contains(&name) {
                diagnostics.error(
                    span,
                    format!("`#[{name}]` is given twice; merge them into one"),
                );
                continue;
            }
            seen.push(name.clone());
        }
        if name == "timeout" {
            match &attribute.meta {
                Meta::NameValue(pair) => {
                    if let Some((text, span)) =
                        string(&pair.value, "timeout", "\"6h\"", diagnostics)
                    {
                        match crate::duration::parse(&text) {
                            Ok(duration) if duration.is_zero() => {
                                diagnostics.error(span, "a run timeout must be longer than zero")
                            }
                            Ok(duration) => options.timeout = Some(duration),
                            Err(message) => diagnostics.error(span, message),
                        }
                    }
                }
                _ => diagnostics.error(span, "write the run timeout as `#[timeout = \"6h\"]`"),
            }
            continue;
        }
        let items = match &attribute.meta {
            Meta::List(list) => match Items::parse_terminated.parse2(list.tokens.clone()) {
                Ok(items) => items,
                Err(error) => {
                    diagnostics.push(error);
                    continue;
                }
            },
            _ => {
                diagnostics.error(
                    span,
                    format!("`#[{name}]` takes a list: {}", example(&name)),
                );
                continue;
            }
        };
        match name.as_str() {
            "schedule" => options.schedule = schedule(span, &items, diagnostics),
            "concurrency" => options.overlap = concurrency(&items, diagnostics).unwrap_or_default(),
            "pool" => {
                if let Some((pool, slots)) = pool(span, &items, diagnostics) {
                    if options.pools.iter().any(|(known, _)| *known == pool) {
                        diagnostics.error(span, format!("pool `{pool}` is declared twice"));
                    } else {
                        options.pools.push((pool, slots));
                        options.pool_spans.push(span);
                    }
                }
            }
            "secret" => {
                if let Some((secret, source)) = secret(span, &items, diagnostics) {
                    if options.secrets.iter().any(|(known, _)| *known == secret) {
                        diagnostics.error(
                            secret.span(),
                            format!("secret `{secret}` is declared twice"),
                        );
                    } else {
                        options.secrets.push((secret, source));
                    }
                }
            }
            "trigger" => {
                if let Some(trigger) = trigger(span, &items, diagnostics) {
                    let same = options
                        .triggers
                        .iter()
                        .any(|known| match (known, &trigger) {
                            (
                                Trigger::After {
                                    workflow: known, ..
                                },
                                Trigger::After { workflow, .. },
                            ) => {
                                crate::names::token_text(known)
                                    == crate::names::token_text(workflow)
                            }
                            (Trigger::File(known), Trigger::File(pattern)) => known == pattern,
                            _ => false,
                        });
                    if same {
                        diagnostics.error(
                            span,
                            "this trigger is given twice; keep one (with one `within`)",
                        );
                    } else {
                        options.triggers.push(trigger);
                    }
                }
            }
            "partition" => options.partition = partition(span, &items, diagnostics),
            "on_failure" => {
                let (action, notify, reruns) = outcome(&items, true, diagnostics);
                options.on_failure = action;
                options.notify_failure = notify;
                options.reruns = reruns;
            }
            _ => options.notify_success = outcome(&items, false, diagnostics).1,
        }
    }
    if let (Some(partition), Some(schedule)) = (&options.partition, &options.schedule)
        && partition.size == PartitionSize::Hourly
        && let Ok(zone) = schedule.timezone.parse::<chrono_tz::Tz>()
    {
        let (from, to) = workflow_schedule::export_horizon();
        if let Some(change) = workflow_schedule::transitions(&zone, from, to)
            .into_iter()
            .find(|change| (change.after - change.before) % 3600 != 0)
        {
            diagnostics.error(
                partition.size_span,
                format!(
                    "hourly partitions in {} would not cover every hour: its clocks change by {} minutes (e.g. on {}), so its local hours do not tile; use `timezone = \"UTC\"` for hourly partitions",
                    schedule.timezone,
                    (change.after - change.before).abs() / 60,
                    change.at.date_naive()
                ),
            );
        }
    }
    if let (Some(partition), Some(schedule)) = (&options.partition, &options.schedule)
        && let Some(problem) = cadence_problem(partition.size, schedule)
    {
        diagnostics.error(partition.size_span, problem);
    }
    options
}

/// Why a schedule does not run each partition exactly once, or `None` when it does: a
/// scheduled run takes the partition that ended before its fire time (the day before, the
/// week before, the hour before), so the fire times must step one partition at a time — a
/// run every hour would redo a daily partition 24 times, one every 90 minutes would skip an
/// hour in three, a weekday schedule would skip weekend days. Checked over eight weeks of fire
/// times from the export horizon, with the shared evaluator.
fn cadence_problem(size: PartitionSize, schedule: &Schedule) -> Option<String> {
    use chrono::Datelike;
    let zone: chrono_tz::Tz = schedule.timezone.parse().ok()?;
    let timetable = match &schedule.cadence {
        Cadence::Cron(expression) => {
            workflow_schedule::Timetable::cron(expression, &schedule.timezone).ok()?
        }
        Cadence::Every(interval) => workflow_schedule::Timetable::every(interval.as_secs()).ok()?,
    };
    let (from, _) = workflow_schedule::export_horizon();
    let (count, unit, example) = match size {
        PartitionSize::Daily => (60, "day", "`cron = \"0 2 * * *\"`"),
        PartitionSize::Weekly => (10, "week", "`cron = \"0 2 * * MON\"`"),
        PartitionSize::Hourly => (24 * 14, "hour", "`cron = \"5 * * * *\"`"),
    };
    // The partition a fire takes, as a number that steps by one per partition.
    let key = |fire: chrono::DateTime<chrono::Utc>| -> i64 {
        let local = fire.with_timezone(&zone).date_naive();
        match size {
            PartitionSize::Daily => i64::from(local.num_days_from_ce()) - 1,
            PartitionSize::Weekly => {
                (i64::from(local.num_days_from_ce())
                    - i64::from(local.weekday().num_days_from_monday()))
                    / 7
                    - 1
            }
            PartitionSize::Hourly => workflow_schedule::hour_before(fire, &zone)
                .timestamp()
                .div_euclid(3600),
        }
    };
    let fires = timetable.next_n(from, count);
    let size_word = match size {
        PartitionSize::Daily => "daily",
        PartitionSize::Weekly => "weekly",
        PartitionSize::Hourly => "hourly",
    };
    for pair in fires.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let step = key(after) - key(before);
        let show = |fire: chrono::DateTime<chrono::Utc>| {
            fire.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        if step == 0 {
            return Some(format!(
                "this schedule runs more than once per {unit}, but each run takes the {unit} before its fire time: the runs at {} and {} would both take the same {size_word} partition; run once a {unit}, e.g. {example}",
                show(before),
                show(after)
            ));
        }
        if step > 1 {
            return Some(format!(
                "this schedule skips {unit}s, and each run takes the {unit} before its fire time: after the run at {}, the next is at {}, so {} {size_word} partition{} would never run; run once every {unit}, e.g. {example} (`plan --backfill` covers past partitions)",
                show(before),
                show(after),
                step - 1,
                if step == 2 { "" } else { "s" }
            ));
        }
    }
    None
}

fn example(attribute: &str) -> &'static str {
    match attribute {
        "schedule" => "`#[schedule(cron = \"0 2 * * *\", timezone = \"Europe/Prague\")]`",
        "concurrency" => "`#[concurrency(overlap = \"forbid\")]`",
        "pool" => "`#[pool(name = \"server-a\", slots = 1)]`",
        "secret" => "`#[secret(db_password, file = \"/etc/etl/db_password\")]`",
        "trigger" => {
            "`#[trigger(after = step1, within = \"10m\")]` or `#[trigger(file = \"/data/inbox/*.csv\")]`"
        }
        "on_failure" => {
            "`#[on_failure(pause, notify = \"etl-admin@example.com\")]` or `#[on_failure(stop, reruns = 5)]`"
        }
        "on_success" => "`#[on_success(notify = \"team@example.com\")]`",
        "partition" => "`#[partition(daily, param = day)]`",
        "timeout" => "`#[timeout = \"6h\"]`",
        _ => "see the workflow attributes in docs/reference.md",
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `key = value` items of a list attribute, with unknown and repeated keys reported.
fn pairs<'a>(
    items: &'a Items,
    keys: &[&str],
    attribute: &str,
    diagnostics: &mut Diagnostics,
) -> Vec<(String, &'a Expr, Span)> {
    let mut found: Vec<(String, &Expr, Span)> = Vec::new();
    for item in items {
        let Item::Pair(key, value) = item else {
            diagnostics.error(
                item.span(),
                format!(
                    "expected `key = value` in `#[{attribute}]`; its keys are {}",
                    list(keys)
                ),
            );
            continue;
        };
        let span = key.span();
        let key = key.to_string();
        if !keys.contains(&key.as_str()) {
            let message = match crate::names::option_home(&key, attribute) {
                Some(message) => message,
                None => format!(
                    "unknown key `{key}` in `#[{attribute}]`{}; its keys are {}",
                    did_you_mean(&key, keys.iter().copied()),
                    list(keys)
                ),
            };
            diagnostics.error(span, message);
        } else if found.iter().any(|(known, _, _)| *known == key) {
            diagnostics.error(span, format!("`{key}` is given twice in `#[{attribute}]`"));
        } else {
            found.push((key, value, span));
        }
    }
    found
}

fn string(
    value: &Expr,
    key: &str,
    example: &str,
    diagnostics: &mut Diagnostics,
) -> Option<(String, Span)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some((text.value(), text.span())),
        other => {
            diagnostics.error(
                other.span(),
                format!("`{key}` takes a string, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

fn count(value: &Expr, key: &str, diagnostics: &mut Diagnostics) -> Option<u32> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(number),
            ..
        }) => match number.base10_parse::<u32>() {
            Ok(0) | Err(_) => {
                diagnostics.error(
                    number.span(),
                    format!("`{key}` must be a whole number from 1 to 4294967295"),
                );
                None
            }
            Ok(number) => Some(number),
        },
        other => {
            diagnostics.error(
                other.span(),
                format!("`{key}` takes a whole number, e.g. `{key} = 1`"),
            );
            None
        }
    }
}

/// One of `choices`, or an error naming them.
fn choice(
    value: &Expr,
    key: &str,
    choices: &[&str],
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let (text, span) = string(value, key, &format!("\"{}\"", choices[0]), diagnostics)?;
    if choices.contains(&text.as_str()) {
        Some(text)
    } else {
        diagnostics.error(
            span,
            format!(
                "`{key}` is one of {}, not `{text}`{}",
                list(choices),
                did_you_mean(&text, choices.iter().copied())
            ),
        );
        None
    }
}

fn schedule(span: Span, items: &Items, diagnostics: &mut Diagnostics) -> Option<Schedule> {
    let before = diagnostics.count();
    let mut cadence = None;
    let mut timezone = "UTC".to_owned();
    let mut timezone_span = None;
    let mut catch_up = None;
    let mut max_catch_up = None;
    for (key, value, key_span) in pairs(items, SCHEDULE_KEYS, "schedule", diagnostics) {
        match key.as_str() {
            "cron" | "every" if cadence.is_some() => {
                diagnostics.error(
                    key_span,
                    "a schedule has either `cron` or `every`, not both",
                );
            }
            "cron" => {
                if let Some((expression, span)) =
                    string(value, "cron", "\"0 2 * * *\"", diagnostics)
                {
                    match workflow_schedule::CronExpr::parse(&expression) {
                        Ok(_) => cadence = Some(Cadence::Cron(expression)),
                        Err(message) => diagnostics.error(span, message.to_string()),
                    }
                }
            }
            "every" => {
                if let Some((text, span)) = string(value, "every", "\"2h30m\"", diagnostics) {
                    match crate::duration::parse(&text) {
                        Ok(duration) => match workflow_schedule::check_interval(
                            &text,
                            duration.as_secs() + u64::from(duration.subsec_nanos() > 0),
                        ) {
                            Ok(()) => cadence = Some(Cadence::Every(duration)),
                            Err(message) => diagnostics.error(span, message.to_string()),
                        },
                        Err(message) => diagnostics.error(span, message),
                    }
                }
            }
            "timezone" => {
                if let Some((zone, span)) =
                    string(value, "timezone", "\"Europe/Prague\"", diagnostics)
                {
                    if zone.parse::<chrono_tz::Tz>().is_ok() {
                        timezone_span = Some(span);
                        timezone = zone;
                    } else {
                        let names = chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name());
                        match workflow_schedule::zone_hint(&zone) {
                            Some(hint) => diagnostics.error(span, format!("unknown time zone `{zone}`: {hint}")),
                            None => diagnostics.error(span, format!("unknown time zone `{zone}`{}; use an IANA name such as `Europe/Prague` or `UTC`", did_you_mean(&zone, names))),
                        }
                    }
                }
            }
            "catch_up" => {
                catch_up =
                    choice(value, "catch_up", CATCH_UP, diagnostics).map(|mode| (mode, key_span))
            }
            _ => {
                max_catch_up = count(value, "max_catch_up", diagnostics).map(|max| (max, key_span))
            }
        }
    }
    if cadence.is_none() && diagnostics.count() == before {
        diagnostics.error(span, "a schedule needs `cron = \"...\"` or `every = \"...\"`, e.g. `#[schedule(cron = \"0 2 * * *\")]`");
    }
    if let (Some(Cadence::Every(_)), Some(span)) = (&cadence, timezone_span)
        && timezone != "UTC"
    {
        diagnostics.error(span, format!("`every` counts from midnight UTC (1970-01-01T00:00:00Z) whatever the zone, so `timezone = \"{timezone}\"` has no effect on it; to fire at local times write `cron`, e.g. `#[schedule(cron = \"0 0 * * *\", timezone = \"{timezone}\")]`"));
    }
    if let Some((_, max_span)) = max_catch_up
        && !matches!(&catch_up, Some((mode, _)) if mode == "all")
    {
        diagnostics.error(max_span, "`max_catch_up` goes with `catch_up = \"all\"`");
    }
    let catch_up = match catch_up.as_ref().map(|(mode, _)| mode.as_str()) {
        Some("latest") => CatchUp::Latest,
        Some("all") => CatchUp::All(max_catch_up.map(|(max, _)| max)),
        _ => CatchUp::Skip,
    };
    if diagnostics.count() != before {
        return None;
    }
    Some(Schedule {
        cadence: cadence?,
        timezone,
        catch_up,
    })
}

fn concurrency(items: &Items, diagnostics: &mut Diagnostics) -> Option<Overlap> {
    let mut overlap = None;
    for (_, value, _) in pairs(items, &["overlap"], "concurrency", diagnostics) {
        overlap = choice(value, "overlap", OVERLAP, diagnostics)
            .and_then(|word| Overlap::from_word(&word));
    }
    overlap
}

fn pool(span: Span, items: &Items, diagnostics: &mut Diagnostics) -> Option<(String, u32)> {
    let mut name = None;
    let mut slots = None;
    for (key, value, _) in pairs(items, &["name", "slots"], "pool", diagnostics) {
        if key == "name" {
            if let Some((pool, span)) = string(value, "name", "\"server-a\"", diagnostics) {
                if crate::task::is_pool_name(&pool) {
                    name = Some(pool);
                } else {
                    diagnostics.error(span, format!("pool `{pool}` must be non-empty and use only letters, digits, `-`, `_` and `.`"));
                }
            }
        } else {
            slots = count(value, "slots", diagnostics);
        }
    }
    match (name, slots) {
        (Some(name), Some(slots)) => Some((name, slots)),
        (None, _) if !items.iter().any(|item| item.is_key("name")) => {
            diagnostics.error(
                span,
                "a pool needs a name and a size: `#[pool(name = \"server-a\", slots = 1)]`",
            );
            None
        }
        (Some(_), None) if !items.iter().any(|item| item.is_key("slots")) => {
            diagnostics.error(
                span,
                "a pool needs a size: `#[pool(name = \"server-a\", slots = 1)]`",
            );
            None
        }
        _ => None,
    }
}

/// The sizes a partition can have.
const PARTITION_SIZES: [&str; 3] = ["daily", "weekly", "hourly"];

/// `#[partition(daily, param = day)]`, `#[partition(weekly, param = week)]` or
/// `#[partition(hourly, param = hour)]`.
fn partition(span: Span, items: &Items, diagnostics: &mut Diagnostics) -> Option<Partition> {
    let mut size: Option<Ident> = None;
    let mut rest = Items::new();
    for item in items {
        match item {
            Item::Word(word) if PARTITION_SIZES.iter().any(|size| word == size) => {
                if size.is_some() {
                    diagnostics.error(
                        word.span(),
                        "a partition has one size: `daily`, `weekly` or `hourly`",
                    );
                } else {
                    size = Some(word.clone());
                }
            }
            Item::Word(word) => {
                let text = word.to_string();
                diagnostics.error(
                    word.span(),
                    format!(
                        "unknown partition size `{text}`{}; it is `daily`, `weekly` or `hourly`",
                        did_you_mean(&text, PARTITION_SIZES)
                    ),
                );
            }
            Item::Pair(key, value) => rest.push(Item::Pair(key.clone(), value.clone())),
        }
    }
    let mut param = None;
    for (_, value, _) in pairs(&rest, &["param"], "partition", diagnostics) {
        match value {
            Expr::Path(path) if path.path.get_ident().is_some() => {
                param = path.path.get_ident().cloned()
            }
            other => diagnostics.error(
                other.span(),
                "`param` names the workflow parameter that receives the partition: `param = day`",
            ),
        }
    }
    match (size, param) {
        (Some(size), Some(param)) => Some(Partition {
            size: PartitionSize::from_word(&size.to_string())?,
            size_span: size.span(),
            param,
        }),
        _ => {
            if !diagnostics_mention_partition(items) {
                diagnostics.error(
                    span,
                    format!(
                        "a partition needs a size and a parameter: {}",
                        example("partition")
                    ),
                );
            }
            None
        }
    }
}

/// Whether a malformed `#[partition]` already had its own error (a bad size or parameter).
fn diagnostics_mention_partition(items: &Items) -> bool {
    items.iter().any(|item| match item {
        Item::Word(word) => !PARTITION_SIZES.iter().any(|size| word == size),
        Item::Pair(key, value) => key != "param" || !matches!(value, Expr::Path(_)),
    })
}

/// `#[trigger(after = path::to::workflow, within = "10m")]` or `#[trigger(file = "/glob")]`.
fn trigger(span: Span, items: &Items, diagnostics: &mut Diagnostics) -> Option<Trigger> {
    let usage = example("trigger");
    let mut after = None;
    let mut within = None;
    let mut file = None;
    for (key, value, key_span) in pairs(items, &["after", "within", "file"], "trigger", diagnostics)
    {
        match key.as_str() {
            "after" => match value {
                Expr::Path(path) if path.qself.is_none() => {
                    after = Some((path.path.clone(), key_span))
                }
                other => diagnostics.error(
                    other.span(),
                    format!("`after` names a workflow by its Rust path: {usage}"),
                ),
            },
            "within" => {
                if let Some((text, span)) = string(value, "within", "\"10m\"", diagnostics) {
                    match crate::duration::parse(&text) {
                        Ok(duration) if duration.is_zero() => {
                            diagnostics.error(span, "`within` must be longer than zero")
                        }
                        Ok(duration) => within = Some((duration, key_span)),
                        Err(message) => diagnostics.error(span, message),
                    }
                }
            }
            _ => {
                if let Some((pattern, span)) =
                    string(value, "file", "\"/data/inbox/*.csv\"", diagnostics)
                {
                    if !pattern.starts_with('/') {
                        diagnostics.error(span, format!("file trigger `{pattern}` must be an absolute path pattern, e.g. `/data/inbox/*.csv`"));
                    } else if let Err(error) = glob::Pattern::new(&pattern) {
                        diagnostics
                            .error(span, format!("invalid file pattern `{pattern}`: {error}"));
                    } else {
                        file = Some((pattern, key_span));
                    }
                }
            }
        }
    }
    match (after, file) {
        (Some(_), Some((_, span))) => {
            diagnostics.error(span, format!("a trigger is either `after` a workflow or on a `file`; declare each in its own attribute: {usage}"));
            None
        }
        (Some((workflow, _)), None) => Some(Trigger::After {
            workflow,
            within: within.map(|(duration, _)| duration),
        }),
        (None, Some((pattern, _))) => {
            if let Some((_, span)) = within {
                diagnostics.error(span, "`within` goes with `after`: it bounds the delay after the upstream workflow succeeds");
            }
            Some(Trigger::File(pattern))
        }
        (None, None) => {
            if !items
                .iter()
                .any(|item| item.is_key("after") || item.is_key("file"))
            {
                diagnostics.error(span, format!("a trigger needs `after` or `file`: {usage}"));
            }
            None
        }
    }
}

/// `#[secret(name, env = "VARIABLE")]` or `#[secret(name, file = "/absolute/path")]`.
fn secret(
    span: Span,
    items: &Items,
    diagnostics: &mut Diagnostics,
) -> Option<(Ident, SecretSource)> {
    let usage = "`#[secret(db_password, env = \"DB_PASSWORD\")]` or `#[secret(db_password, file = \"/etc/etl/db_password\")]`";
    let mut words = items.iter().filter_map(|item| match item {
        Item::Word(word) => Some(word),
        Item::Pair(..) => None,
    });
    let Some(name) = words.next() else {
        diagnostics.error(span, format!("a secret needs a name and a source: {usage}"));
        return None;
    };
    for extra in words {
        diagnostics.error(
            extra.span(),
            format!("a secret has one name; declare each secret in its own attribute: {usage}"),
        );
    }
    let rest: Items = items
        .iter()
        .filter_map(|item| match item {
            Item::Pair(key, value) => Some(Item::Pair(key.clone(), value.clone())),
            Item::Word(_) => None,
        })
        .collect();
    let mut source = None;
    for (key, value, key_span) in pairs(&rest, &["env", "file"], "secret", diagnostics) {
        if source.is_some() {
            diagnostics.error(key_span, "a secret has one source: `env` or `file`");
            continue;
        }
        let Some((text, span)) = string(
            value,
            &key,
            if key == "env" {
                "\"DB_PASSWORD\""
            } else {
                "\"/etc/etl/db_password\""
            },
            diagnostics,
        ) else {
            continue;
        };
        if key == "env" {
            let valid = text
                .chars()
                .next()
                .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
                && text.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
            if valid {
                source = Some(SecretSource::Env(text));
            } else {
                diagnostics.error(
                    span,
                    format!(
                        "`{text}` is not an environment variable name (letters, digits and `_`)"
                    ),
                );
            }
        } else if text.starts_with('/') {
            source = Some(SecretSource::File(text));
        } else {
            diagnostics.error(
                span,
                format!(
                    "secret file `{text}` must be an absolute path, so that every process finds it"
                ),
            );
        }
    }
    if source.is_none()
        && !items
            .iter()
            .any(|item| item.is_key("env") || item.is_key("file"))
    {
        diagnostics.error(
            name.span(),
            format!("secret `{name}` needs a source: {usage}"),
        );
    }
    // Declared even when its source is wrong (already reported), so that the nodes reading it
    // are not reported again for an unknown name.
    Some((
        name.clone(),
        source.unwrap_or(SecretSource::Env(String::new())),
    ))
}

/// `#[on_failure(pause, notify = ..., webhook = ..., reruns = N)]` or
/// `#[on_success(notify = ...)]`.
fn outcome(
    items: &Items,
    failure: bool,
    diagnostics: &mut Diagnostics,
) -> (FailureAction, Notify, Option<u32>) {
    let attribute = if failure { "on_failure" } else { "on_success" };
    let mut action = None;
    let mut rest = Items::new();
    for item in items {
        match item {
            Item::Word(path) if failure => {
                let word = path.to_string();
                if !FAILURE_ACTIONS.contains(&word.as_str()) {
                    diagnostics.error(
                        path.span(),
                        format!(
                            "unknown failure action `{word}`{}; it is one of {}",
                            did_you_mean(&word, FAILURE_ACTIONS.iter().copied()),
                            list(FAILURE_ACTIONS)
                        ),
                    );
                } else if action.is_some() {
                    diagnostics.error(
                        path.span(),
                        "a failure has one action: `continue`, `stop` or `pause`",
                    );
                } else {
                    action = FailureAction::from_word(&word);
                }
            }
            Item::Word(word) => rest.push(Item::Word(word.clone())),
            Item::Pair(key, value) => rest.push(Item::Pair(key.clone(), value.clone())),
        }
    }
    let mut notify = Notify::default();
    let mut reruns = None;
    let keys = if failure { FAILURE_KEYS } else { NOTIFY_KEYS };
    for (key, value, _) in pairs(&rest, keys, attribute, diagnostics) {
        if key == "reruns" {
            reruns = rerun_count(value, diagnostics);
            if reruns.is_some() && action == Some(FailureAction::Pause) {
                diagnostics.error(
                    value.span(),
                    "`reruns` does not go with `pause`: a paused workflow waits for a person; \
                     use `stop` (or `continue`) to have `tick` re-run a failed run",
                );
            }
            continue;
        }
        for (text, span) in strings(value, &key, diagnostics) {
            let problem = if key == "notify" {
                email_problem(&text)
            } else {
                url_problem(&text)
            };
            match problem {
                Some(problem) => diagnostics.error(span, problem),
                None if key == "notify" => notify.email.push(text),
                None => notify.webhook.push(text),
            }
        }
    }
    (action.unwrap_or_default(), notify, reruns)
}

/// `reruns = N`: a whole number from 0 to [`MAX_RERUNS`].
fn rerun_count(value: &Expr, diagnostics: &mut Diagnostics) -> Option<u32> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(number),
            ..
        }) => match number.base10_parse::<u32>() {
            Ok(number) if number <= MAX_RERUNS => Some(number),
            _ => {
                diagnostics.error(
                    number.span(),
                    format!("`reruns` must be a whole number from 0 (never) to {MAX_RERUNS}"),
                );
                None
            }
        },
        other => {
            diagnostics.error(
                other.span(),
                "`reruns` takes a whole number of automatic re-runs, e.g. `reruns = 3`",
            );
            None
        }
    }
}

/// A string or an array of strings.
fn strings(value: &Expr, key: &str, diagnostics: &mut Diagnostics) -> Vec<(String, Span)> {
    let example = if key == "notify" {
        "\"etl-admin@example.com\""
    } else {
        "\"https://hooks.example.com/etl\""
    };
    match value {
        Expr::Array(array) => array
            .elems
            .iter()
            .filter_map(|element| string(element, key, example, diagnostics))
            .collect(),
        other => string(other, key, example, diagnostics)
            .into_iter()
            .collect(),
    }
}

fn email_problem(address: &str) -> Option<String> {
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        }
        None => false,
    };
    (!valid)
        .then(|| format!("`{address}` is not an e-mail address such as `etl-admin@example.com`"))
}

fn url_problem(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let valid = rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !url.chars().any(char::is_whitespace)
    });
    (!valid)
        .then(|| format!("`{url}` is not an http(s) URL such as `https://hooks.example.com/etl`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(workflow: proc_macro2::TokenStream) -> Vec<String> {
        let item: syn::ItemStruct = syn::parse2(quote::quote!(#workflow struct W;)).unwrap();
        let mut diagnostics = Diagnostics::new();
        parse(&item.attrs, &mut diagnostics);
        diagnostics.messages()
    }

    #[test]
    fn a_complete_set_of_options_passes() {
        let item: syn::ItemStruct = syn::parse_quote! {
            #[schedule(cron = "15 8 * * SAT", timezone = "Europe/Prague", catch_up = "all", max_catch_up = 3)]
            #[concurrency(overlap = "queue")]
            #[pool(name = "server-a", slots = 1)]
            #[pool(name = "server-b", slots = 2)]
            #[timeout = "6h"]
            #[on_failure(pause, notify = ["a@example.com", "b@example.org"], webhook = "https://hooks.example.com/x")]
            #[on_success(notify = "team@example.com")]
            struct W;
        };
        let mut diagnostics = Diagnostics::new();
        let options = parse(&item.attrs, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{:?}", diagnostics.messages());
        let schedule = options.schedule.unwrap();
        assert!(matches!(schedule.cadence, Cadence::Cron(ref cron) if cron == "15 8 * * SAT"));
        assert!(matches!(schedule.catch_up, CatchUp::All(Some(3))));
        assert_eq!(
            options.pools,
            [("server-a".to_owned(), 1), ("server-b".to_owned(), 2)]
        );
        assert_eq!(options.on_failure, FailureAction::Pause);
        assert_eq!(options.overlap, Overlap::Queue);
        assert_eq!(options.notify_failure.email.len(), 2);
        assert_eq!(options.notify_success.email, ["team@example.com"]);
        assert_eq!(options.timeout, Some(Duration::from_secs(21_600)));
    }

    #[test]
    fn schedule_problems() {
        assert_eq!(
            messages(quote::quote!(#[schedule(cron = "0 2 30 2 *")])),
            ["cron expression `0 2 30 2 *` never fires: no month it names has the days it names"]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(cron = "0 25 * * *")])),
            ["cron expression `0 25 * * *`: `25` in the hour field is outside 0–23"]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(every = "1d", timezone = "Europe/Prague")])),
            [
                "`every` counts from midnight UTC (1970-01-01T00:00:00Z) whatever the zone, so `timezone = \"Europe/Prague\"` has no effect on it; to fire at local times write `cron`, e.g. `#[schedule(cron = \"0 0 * * *\", timezone = \"Europe/Prague\")]`"
            ]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(every = "90s")])),
            [
                "`every = \"90s\"` is not a whole number of minutes; engines start runs on whole minutes (e.g. `every = \"2m\"`)"
            ]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(timezone = "UTC")])),
            [
                "a schedule needs `cron = \"...\"` or `every = \"...\"`, e.g. `#[schedule(cron = \"0 2 * * *\")]`"
            ]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(cron = "0 2 * * *", every = "1h")])),
            ["a schedule has either `cron` or `every`, not both"]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(every = "1h", timezone = "Europe/Pargue")])),
            [
                "unknown time zone `Europe/Pargue` (did you mean `Europe/Prague`?); use an IANA name such as `Europe/Prague` or `UTC`"
            ]
        );
        assert_eq!(
            messages(quote::quote!(#[schedule(every = "1h", max_catch_up = 2)])),
            ["`max_catch_up` goes with `catch_up = \"all\"`"]
        );
    }

    #[test]
    fn notification_and_policy_problems() {
        assert_eq!(
            messages(quote::quote!(#[on_failure(pasue, notify = "admin", webhook = "ftp://x")])),
            [
                "unknown failure action `pasue` (did you mean `pause`?); it is one of `continue`, `stop`, `pause`",
                "`admin` is not an e-mail address such as `etl-admin@example.com`",
                "`ftp://x` is not an http(s) URL such as `https://hooks.example.com/etl`",
            ]
        );
        assert_eq!(
            messages(quote::quote!(#[concurrency(overlap = "never")])),
            ["`overlap` is one of `forbid`, `queue`, `replace`, not `never`"]
        );
        assert_eq!(
            messages(quote::quote!(#[shedule(cron = "x")]))[0],
            "unknown workflow attribute `shedule` (did you mean `schedule`?); workflows take `doc`, `schedule`, `concurrency`, `pool`, `timeout`, `on_failure`, `on_success`, `secret`, `trigger`, `partition`"
        );
    }
}
