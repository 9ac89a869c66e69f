use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    outer(day: NaiveDate) -> Orders {
        orders = inner(day);
        return orders;
    }
}

workflow! {
    inner(day: NaiveDate) -> Orders {
        orders = outer(day);
        return orders;
    }
}

fn main() {}
