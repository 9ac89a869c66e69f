//! Seed 001: a daily batch from an OLTP database, log files in object storage and third-party
//! APIs, transformed singly and joined, loaded into Redshift, DynamoDB and a third-party API.
//!
//! Sources are extracted in parallel; the join waits for both of its inputs; the loads fan out
//! from the transformed data. Every edge is typed, so feeding page views where orders are
//! expected fails `cargo check`.

use std::collections::BTreeMap;

use workflow_core::prelude::*;

/// One order row from the OLTP database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// Order id.
    pub id: u64,
    /// Customer id.
    pub customer: u64,
    /// Amount in the order's currency, in cents.
    pub cents: i64,
    /// ISO currency code.
    pub currency: String,
}

/// One day of orders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Orders {
    /// The day.
    pub day: NaiveDate,
    /// The rows.
    pub rows: Vec<Order>,
}

/// One page view from the web logs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageView {
    /// Customer id, when signed in.
    pub customer: Option<u64>,
    /// Path viewed.
    pub path: String,
}

/// One day of parsed web logs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageViews(pub Vec<PageView>);

/// Exchange rates to USD from a third-party API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExchangeRates(pub BTreeMap<String, f64>);

/// Per-customer activity: orders joined with page views.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerDay {
    /// Customer id.
    pub customer: u64,
    /// Orders placed.
    pub orders: usize,
    /// Spend in USD cents.
    pub spend_usd_cents: i64,
    /// Pages viewed.
    pub page_views: usize,
}

/// The joined table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerActivity(pub Vec<CustomerDay>);

/// What a load wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReceipt {
    /// Where.
    pub target: String,
    /// How many records.
    pub records: usize,
}

/// Pull one day of orders from the OLTP database (a read replica).
#[task(retries = 3, retry_delay = "30s", timeout = "2h")]
pub fn extract_orders(day: NaiveDate, replica_url: String) -> Result<Orders, TaskError> {
    if replica_url.is_empty() {
        return Err(TaskError::permanent("no replica URL"));
    }
    Ok(Orders {
        day,
        rows: Vec::new(),
    })
}

/// Parse one day of web logs from object storage.
#[task(retries = 2, retry_delay = "1m", timeout = "3h")]
pub fn extract_page_views(day: NaiveDate, bucket: String) -> PageViews {
    let _ = (day, bucket);
    PageViews(Vec::new())
}

/// Fetch the day's exchange rates from a third-party API.
#[task(
    retries = 6,
    retry_delay = "30s",
    backoff = "exponential",
    max_retry_delay = "10m",
    timeout = "10m"
)]
pub fn fetch_exchange_rates(day: NaiveDate) -> ExchangeRates {
    let _ = day;
    ExchangeRates(BTreeMap::from([("USD".to_owned(), 1.0)]))
}

/// Join orders and page views per customer, converting spend to USD.
#[task]
pub fn join_activity(orders: Orders, views: PageViews, rates: ExchangeRates) -> CustomerActivity {
    let mut by_customer: BTreeMap<u64, CustomerDay> = BTreeMap::new();
    for order in &orders.rows {
        let rate = rates.0.get(&order.currency).copied().unwrap_or(1.0);
        let day = by_customer.entry(order.customer).or_insert(CustomerDay {
            customer: order.customer,
            orders: 0,
            spend_usd_cents: 0,
            page_views: 0,
        });
        day.orders += 1;
        day.spend_usd_cents += (order.cents as f64 * rate).round() as i64;
    }
    for view in &views.0 {
        if let Some(customer) = view.customer {
            by_customer
                .entry(customer)
                .or_insert(CustomerDay {
                    customer,
                    orders: 0,
                    spend_usd_cents: 0,
                    page_views: 0,
                })
                .page_views += 1;
        }
    }
    CustomerActivity(by_customer.into_values().collect())
}

/// What kind of business day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Any day but the last of its month.
    Regular,
    /// The last day of a month: the books close.
    MonthEnd,
}

/// Tell regular days from month ends.
#[task]
pub fn classify_day(day: NaiveDate) -> DayKind {
    match day.succ_opt() {
        Some(next) if next.month() == day.month() => DayKind::Regular,
        _ => DayKind::MonthEnd,
    }
}

/// Close the month in the warehouse: freeze the month's customer activity.
#[task(pool = "redshift", timeout = "2h")]
pub fn close_month(activity: CustomerActivity, day: NaiveDate) -> LoadReceipt {
    LoadReceipt {
        target: format!("redshift:analytics.month_close_{}", day.format("%Y_%m")),
        records: activity.0.len(),
    }
}

/// Load the joined table into Redshift.
#[task(pool = "redshift", retries = 2, retry_delay = "5m", timeout = "1h")]
pub fn load_redshift(activity: CustomerActivity, table: String) -> LoadReceipt {
    LoadReceipt {
        target: format!("redshift:{table}"),
        records: activity.0.len(),
    }
}

/// Write per-customer counters to DynamoDB.
#[task(retries = 2, retry_delay = "1m")]
pub fn load_dynamodb(activity: CustomerActivity, table: String) -> LoadReceipt {
    LoadReceipt {
        target: format!("dynamodb:{table}"),
        records: activity.0.len(),
    }
}

/// Push high spenders to the CRM's API.
#[task(retries = 3, retry_delay = "1m", timeout = "30m")]
pub fn push_to_crm(activity: CustomerActivity, min_spend_usd_cents: i64) -> LoadReceipt {
    let records = activity
        .0
        .iter()
        .filter(|day| day.spend_usd_cents >= min_spend_usd_cents)
        .count();
    LoadReceipt {
        target: "crm-api".to_owned(),
        records,
    }
}

workflow! {
    /// Customer activity for one day: orders, page views and exchange rates, joined.
    ///
    /// A sub-workflow: `daily_batch` uses it as one node, and it can be planned on its own.
    pub customer_activity(day: NaiveDate, replica_url: String, log_bucket: String) -> CustomerActivity {
        orders = extract_orders(day, replica_url);
        views = extract_page_views(day, log_bucket);
        rates = fetch_exchange_rates(day);
        activity = join_activity(orders, views, rates);
        return activity;
    }
}

workflow! {
    /// Daily batch: OLTP, logs and rates joined into Redshift, DynamoDB and the CRM.
    ///
    /// At 02:00 UTC; days missed while the scheduler was down are made up, a week at most.
    /// A failed source does not stop the loads that do not need it.
    #[schedule(cron = "0 2 * * *", catch_up = "all", max_catch_up = 7)]
    #[partition(daily, param = day)]
    #[concurrency(overlap = "queue")]
    #[pool(name = "redshift", slots = 2)]
    #[timeout = "8h"]
    #[on_failure(continue, notify = "data-oncall@example.com", webhook = "https://hooks.example.com/etl/daily-batch")]
    pub daily_batch(
        day: NaiveDate,
        replica_url: String = String::from("postgres://reader@oltp-replica/shop"),
        log_bucket: String = String::from("s3://web-logs"),
    ) {
        activity = customer_activity(day, replica_url, log_bucket);
        warehouse = load_redshift(activity, "analytics.customer_day");
        counters = load_dynamodb(activity, "customer-counters");
        // The CRM push reads the warehouse's numbers, so it waits for that load.
        crm = push_to_crm(activity, 100000).after(warehouse);
        // Month ends also close the books; `match` must handle every kind of day.
        day_kind = classify_day(day);
        match day_kind {
            DayKind::MonthEnd => {
                month_close = close_month(activity, day).after(warehouse);
            }
            DayKind::Regular => {}
        }
    }
}
