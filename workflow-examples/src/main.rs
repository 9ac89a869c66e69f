//! The seed scenarios as workflows, behind the CLI every workflow binary gets.
//!
//! ```text
//! cargo run -p workflow-examples -- list
//! cargo run -p workflow-examples -- plan daily_batch --param day=2026-11-21
//! ```

mod seed000_two_servers;
mod seed001_daily_batch;
mod seed002_chained_jobs;
mod seed003_weekly_etl;
mod seed004_warehouse_ingest;

workflow_core::main!();
