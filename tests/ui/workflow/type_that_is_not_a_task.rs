use workflow_core::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Orders(Vec<u64>);
#[derive(Serialize, Deserialize)]
pub struct Logs(Vec<String>);
#[derive(Serialize, Deserialize)]
pub struct Sessions(u64);

workflow! {
    nightly(day: NaiveDate) {
        orders = Orders(day);
    }
}

fn main() {}
