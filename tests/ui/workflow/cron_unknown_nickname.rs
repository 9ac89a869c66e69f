use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "@reboot")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
