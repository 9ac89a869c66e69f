// What the branch cases add to the pipeline: an enum to `match` on, a task producing it, and
// a task taking `Logs`.

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Mode {
    Full,
    Incremental,
    Repair,
}

#[task]
fn choose_mode(day: NaiveDate) -> Mode {
    if day.day() == 1 { Mode::Full } else { Mode::Incremental }
}

#[task]
fn count_logs(logs: Logs) -> u64 {
    logs.0.len() as u64
}
