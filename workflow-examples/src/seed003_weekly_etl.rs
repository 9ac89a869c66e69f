//! Seed 003: a weekly ETL run by a systemd timer (`OnCalendar=Sat *-*-* 8:15:00`,
//! `Persistent=true`), which re-runs on failure and reports when it is done.
//!
//! Each run covers one week, Monday to Sunday (`#[partition(weekly, param = week)]`): the
//! Saturday run loads the week that ended before it, and a run missed while the machine was
//! down is made up later for the right week.

use std::path::PathBuf;

use workflow_core::prelude::*;

/// The raw CSV text of the weekly export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawExport {
    /// The week's Monday.
    pub week: NaiveDate,
    /// The CSV text.
    pub csv: String,
}

/// Cleaned measurements: one (station, value) pair per line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurements(pub Vec<(String, f64)>);

/// A summary of the run, for the completion notice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WeeklySummary {
    /// The week's Monday.
    pub week: NaiveDate,
    /// Rows loaded.
    pub rows: usize,
    /// The database file written.
    pub database: PathBuf,
}

/// Read the week's export.
#[task(retries = 3, retry_delay = "10m", timeout = "30m")]
pub fn extract_export(week: NaiveDate, export_dir: PathBuf) -> Result<RawExport, std::io::Error> {
    let path = export_dir.join(format!("{week}.csv"));
    Ok(RawExport {
        week,
        csv: std::fs::read_to_string(path)?,
    })
}

/// Parse and clean: skip the header, drop rows whose value is not a number.
#[task]
pub fn clean(raw: RawExport) -> Measurements {
    Measurements(
        raw.csv
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (station, value) = line.split_once(',')?;
                Some((station.trim().to_owned(), value.trim().parse().ok()?))
            })
            .collect(),
    )
}

/// Append the week's rows to the database file.
#[task(timeout = "1h")]
pub fn load(
    measurements: Measurements,
    week: NaiveDate,
    database: PathBuf,
) -> Result<WeeklySummary, std::io::Error> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&database)?;
    for (station, value) in &measurements.0 {
        writeln!(file, "{week},{station},{value}")?;
    }
    Ok(WeeklySummary {
        week,
        rows: measurements.0.len(),
        database,
    })
}

workflow! {
    /// Weekly ETL: extract the week's export, clean it, load it.
    ///
    /// Saturdays at 08:15 local time; a run missed while the machine was off happens at the
    /// next boot (systemd's `Persistent=true`); the team hears when it is done or failed.
    #[schedule(cron = "15 8 * * SAT", timezone = "Europe/Prague", catch_up = "latest")]
    #[partition(weekly, param = week)]
    #[concurrency(overlap = "forbid")]
    #[timeout = "3h"]
    #[on_failure(stop, notify = "etl-admin@example.com")]
    #[on_success(notify = "data-team@example.com")]
    pub weekly_etl(
        week: NaiveDate,
        export_dir: PathBuf = PathBuf::from("/srv/etl/exports"),
        database: PathBuf = PathBuf::from("/srv/etl/measurements.csv"),
    ) {
        raw = extract_export(week, export_dir);
        measurements = clean(raw);
        summary = load(measurements, week, database);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_core::testing::TestRun;

    /// The whole workflow in `cargo test`: the export is stubbed, `clean` and `load` are real.
    #[test]
    fn a_week_is_cleaned_and_loaded() {
        let directory = std::env::temp_dir().join(format!("weekly-etl-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let database = directory.join("measurements.csv");
        let _ = std::fs::remove_file(&database);
        let run = TestRun::<weekly_etl>::new()
            .param("week", "2026-11-16")
            .param("database", &database)
            .stub(weekly_etl::raw.with(|week, _export_dir| {
                Ok(RawExport {
                    week,
                    csv: "station,value\nPRG,1.5\nBRQ,not a number\nOVA,2\n".into(),
                })
            }))
            .run();
        assert!(run.succeeded(), "{:?}", run.nodes());
        assert_eq!(run.output(weekly_etl::measurements).unwrap().0.len(), 2);
        let summary = run.output(weekly_etl::summary).unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(
            std::fs::read_to_string(&database).unwrap(),
            "2026-11-16,PRG,1.5\n2026-11-16,OVA,2\n"
        );
        let _ = std::fs::remove_dir_all(&directory);
    }

    /// The export is not there yet at first: `extract_export` retries after 10 minutes, on the
    /// virtual clock.
    #[test]
    fn a_late_export_is_retried() {
        // The database file the load writes, removed with the directory at the end.
        let directory = tempfile::tempdir().unwrap();
        let run = TestRun::<weekly_etl>::new()
            .param("week", "2026-11-16")
            .param("database", directory.path().join("weekly-etl-late.csv"))
            .stub(weekly_etl::raw.with(|week, _export_dir| {
                Ok(RawExport {
                    week,
                    csv: "station,value\n".into(),
                })
            }))
            .fail(weekly_etl::raw, 1)
            .run();
        assert!(run.succeeded());
        assert_eq!(
            run.attempt_starts(weekly_etl::raw),
            [
                std::time::Duration::ZERO,
                std::time::Duration::from_secs(600)
            ]
        );
    }
}
