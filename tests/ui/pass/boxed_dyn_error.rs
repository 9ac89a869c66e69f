//! A task may return `Result<T, Box<dyn Error + Send + Sync>>` (or a `Box<dyn Error>`), the
//! common Rust idiom: Rust gives the box no `Error` impl, so the task keeps its message.
use workflow_core::prelude::*;

/// Reads a day's file.
#[task]
fn download(day: NaiveDate) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if day.day() == 13 {
        return Err(Box::new(std::io::Error::other("the 13th is missing")));
    }
    Ok(day.day())
}

/// Parses a count.
#[task]
fn parse(text: String) -> Result<u32, Box<dyn std::error::Error>> {
    Ok(text.trim().parse::<u32>()?)
}

workflow! {
    /// Downloads a day.
    daily(day: NaiveDate, text: String = "12") {
        rows = download(day);
        count = parse(text);
    }
}

fn main() {
    let run = workflow_core::testing::TestRun::<daily>::new()
        .param("day", "2026-11-12")
        .run();
    assert_eq!(run.output(daily::rows), Some(12));
    assert_eq!(run.output(daily::count), Some(12));
    let failed = workflow_core::testing::TestRun::<daily>::new()
        .param("day", "2026-11-13")
        .param("text", "x")
        .try_run()
        .unwrap();
    assert!(!failed.succeeded());
    assert_eq!(
        failed.message(daily::rows),
        Some("attempt 1: the 13th is missing")
    );
    assert_eq!(
        failed.message(daily::count),
        Some("attempt 1: invalid digit found in string")
    );
}
