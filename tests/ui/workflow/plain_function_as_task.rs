use workflow_core::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Orders(Vec<u64>);
#[derive(Serialize, Deserialize)]
pub struct Logs(Vec<String>);
#[derive(Serialize, Deserialize)]
pub struct Sessions(u64);

fn extract_orders(day: NaiveDate) -> Orders {
    Orders(vec![u64::from(day.day())])
}

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
