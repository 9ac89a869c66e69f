use workflow_core::prelude::*;

include!("common/pipeline.rs");

#[task]
fn count_hour(hour: chrono::DateTime<chrono::Utc>) -> u32 {
    hour.timestamp() as u32
}

workflow! {
    /// Hourly, on Lord Howe Island.
    #[schedule(cron = "5 * * * *", timezone = "Australia/Lord_Howe")]
    #[partition(hourly, param = hour)]
    hourly(hour: chrono::DateTime<chrono::Utc>) {
        counted = count_hour(hour);
    }
}

fn main() {}
