use workflow_core::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Orders(Vec<u64>);
#[derive(Serialize, Deserialize)]
pub struct Logs(Vec<String>);
#[derive(Serialize, Deserialize)]
pub struct Sessions(u64);

/// Pull one day of orders from the OLTP database.
#[task(retries = 3, retry_delay = "30s", timeout = "2h")]
fn extract_orders(day: NaiveDate) -> Result<Orders, std::io::Error> {
    Ok(Orders(vec![day.day() as u64]))
}
#[task]
fn extract_logs(day: NaiveDate) -> Logs {
    Logs(vec![day.to_string()])
}
#[task]
fn join_sessions(orders: Orders, logs: Logs) -> Sessions {
    Sessions(orders.0.len() as u64 + logs.0.len() as u64)
}
#[task(pool = "warehouse")]
fn load_redshift(sessions: Sessions) {
    let _ = sessions;
}
#[task]
fn load_dynamo(sessions: Sessions, table: String) {
    let _ = (sessions, table);
}

workflow! {
    /// Nightly ingest into the warehouse.
    pub daily_ingest(day: NaiveDate, full_refresh: bool = false) {
        orders   = extract_orders(day);
        logs     = extract_logs(day);
        sessions = join_sessions(orders, logs);
        load_redshift(sessions);
        load_dynamo(sessions, "sessions").after(load_redshift);
    }
}

fn main() -> std::process::ExitCode {
    workflow_core::cli::main()
}
