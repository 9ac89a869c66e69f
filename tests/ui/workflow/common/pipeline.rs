// The pipeline the workflow cases wire up: `Orders`, `Logs` and `Sessions`, and the tasks
// `extract_orders(day: NaiveDate) -> Orders`, `extract_logs(day: NaiveDate) -> Logs`,
// `join_sessions(orders: Orders, logs: Logs) -> Sessions` and `load(sessions: Sessions)`.

#[derive(Serialize, Deserialize)]
pub struct Orders(Vec<u64>);
#[derive(Serialize, Deserialize)]
pub struct Logs(Vec<String>);
#[derive(Serialize, Deserialize)]
pub struct Sessions(u64);

#[task]
fn extract_orders(day: NaiveDate) -> Orders {
    Orders(vec![u64::from(day.day())])
}

#[task]
fn extract_logs(day: NaiveDate) -> Logs {
    Logs(vec![day.to_string()])
}

#[task]
fn join_sessions(orders: Orders, logs: Logs) -> Sessions {
    Sessions((orders.0.len() + logs.0.len()) as u64)
}

#[task]
fn load(sessions: Sessions) {
    let _ = sessions;
}
