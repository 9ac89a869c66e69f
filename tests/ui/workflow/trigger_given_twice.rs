//! The same trigger twice (with two `within`s): one must go.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Upstream.
    upstream(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

workflow! {
    /// Downstream.
    #[trigger(after = upstream, within = "10m")]
    #[trigger(after = upstream, within = "1h")]
    downstream(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
