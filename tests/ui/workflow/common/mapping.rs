// What the fan-out cases add to the pipeline: a task producing a list, and one taking `Orders`.

#[task]
fn list_days(day: NaiveDate) -> Vec<NaiveDate> {
    vec![day]
}

#[task]
fn report(orders: Orders) -> String {
    format!("{} orders", orders.0.len())
}
