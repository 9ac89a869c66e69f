//! Seed 000 end to end on a real Airflow (API server, scheduler with the LocalExecutor, DAG
//! processor, from the virtual environment `.ci/export-tools` makes): step 1 lands data and
//! starts step 2 through its asset; step 2 fails once, so the administrator is e-mailed (on an
//! SMTP relay this test starts on loopback) and step 2 is paused; while it is paused, new data
//! from step 1 starts nothing; once resumed, step 2 loads it at step 1's next success.

#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, Instant};

use workflow_tests::engines::{Airflow, text, wait_for};
use workflow_tests::smtp_relay;

const BINARY: &str = env!("CARGO_BIN_EXE_workflow-examples");

fn export(workflow: &str, airflow: &Airflow, params: &[String]) {
    let runs = airflow.runs();
    let mut command = std::process::Command::new(BINARY);
    command
        .args(["export", workflow, "--target", "airflow", "--allow-lossy"])
        .arg("--out")
        .arg(airflow.dags())
        .args([
            "--start-date",
            "2026-11-01",
            "--binary",
            BINARY,
            "--run-root",
        ])
        .arg(&runs);
    for param in params {
        command.arg("-p").arg(param);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
}

/// The runs of `dag` that have ended, oldest first: (run id, state).
fn ended(airflow: &Airflow, dag: &str) -> Vec<(String, String)> {
    let mut runs: Vec<(String, String)> = airflow
        .runs_of(dag)
        .into_iter()
        .filter(|(_, state)| state == "success" || state == "failed")
        .collect();
    runs.reverse();
    runs
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let status = std::process::Command::new("chmod")
        .arg("+x")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn step2_fails_once_is_e_mailed_and_paused_until_resumed() {
    let (port, mail) = smtp_relay();
    let relay = format!("127.0.0.1:{port}");
    let airflow = Airflow::new(&[
        ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False"),
        ("WORKFLOW_SMTP", &relay),
        ("STEP2_DB_PASSWORD", "not-a-real-password"),
    ]);
    let home = airflow.home().to_path_buf();
    let landing = home.join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    // step1.sh lands one object per run and prints its key; step2.py loads the objects it is
    // given (one name per line in `loaded`), or fails while the file `fail` exists.
    let step1 = home.join("step1.sh");
    write_script(
        &step1,
        &format!(
            "#!/bin/sh\nname=part-$(date +%s%N).parquet\ntouch {landing}/$name\necho $name\n",
            landing = landing.display()
        ),
    );
    let step2 = home.join("step2.py");
    write_script(
        &step2,
        &format!(
            "import os, sys\nif os.path.exists({fail:?}):\n    sys.exit('the database refused the batch')\nwith open({loaded:?}, 'a') as f:\n    f.writelines(name + '\\n' for name in sys.argv[3:])\n",
            fail = home.join("fail").display().to_string(),
            loaded = home.join("loaded").display().to_string()
        ),
    );
    export("step1", &airflow, &[format!("script={}", step1.display())]);
    export(
        "step2",
        &airflow,
        &[
            format!("script={}", step2.display()),
            format!("landing={}", landing.display()),
            format!("state_file={}", home.join("loaded").display()),
        ],
    );
    airflow.checked(&["pools", "set", "server-a", "1", "seed 000"]);
    airflow.checked(&["pools", "set", "server-b", "1", "seed 000"]);
    airflow.checked(&["dags", "reserialize"]);
    let limit = Duration::from_secs(240);

    // Step 1 runs for its latest fire time as soon as the scheduler starts (catch_up =
    // "latest"); step 2 fails at its first run: e-mailed and paused.
    std::fs::write(home.join("fail"), "").unwrap();
    let _services = airflow.start();
    let deadline = Instant::now() + limit;
    while ended(&airflow, "step1").is_empty() || ended(&airflow, "step2").is_empty() {
        if Instant::now() > deadline {
            let step1_runs = airflow.runs_of("step1");
            panic!(
                "step 1 {step1_runs:?}, step 2 {:?}\n{}\n{}",
                airflow.runs_of("step2"),
                step1_runs
                    .first()
                    .map(|(run, _)| airflow.task_logs("step1", run))
                    .unwrap_or_default(),
                airflow.service_log("scheduler")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(ended(&airflow, "step1")[0].1, "success");
    let (failed_run, state) = ended(&airflow, "step2").remove(0);
    assert_eq!(
        state,
        "failed",
        "{}",
        airflow.task_logs("step2", &failed_run)
    );
    wait_for(Duration::from_secs(30), "step 2 is paused", || {
        airflow.is_paused("step2")
    });
    let (envelope, message) = mail
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            panic!(
                "no notice from the DAG processor:\n{}",
                airflow.service_log("dag-processor")
            )
        });
    assert!(
        envelope
            .iter()
            .any(|line| line.contains("<etl-admin@example.com>")),
        "{envelope:?}"
    );
    let message = workflow_tests::quoted_printable(&message);
    assert!(
        message.contains("step2") && message.contains(&failed_run),
        "{message}"
    );

    // Paused: step 1 lands more data, and step 2 does not start.
    std::fs::remove_file(home.join("fail")).unwrap();
    airflow.checked(&["dags", "trigger", "step1"]);
    wait_for(limit, "the second step 1 run ends", || {
        ended(&airflow, "step1").len() >= 2
    });
    std::thread::sleep(Duration::from_secs(15));
    assert_eq!(
        airflow.runs_of("step2").len(),
        1,
        "{:?}",
        airflow.runs_of("step2")
    );
    assert!(!home.join("loaded").exists());

    // Resumed by the administrator. Airflow drops the asset events a paused DAG receives, so
    // step 2 starts at step 1's next success, and loads what landed while it was paused too.
    airflow.checked(&["dags", "unpause", "step2"]);
    airflow.checked(&["dags", "trigger", "step1"]);
    wait_for(limit, "step 2 runs again", || {
        ended(&airflow, "step2").len() >= 2
    });
    let (run, state) = ended(&airflow, "step2").pop().unwrap();
    assert_eq!(state, "success", "{}", airflow.task_logs("step2", &run));
    // What step 1 landed up to then (both objects, and any its schedule added) is loaded,
    // each object once; nothing is loaded that did not land.
    let loaded = std::fs::read_to_string(home.join("loaded")).unwrap();
    let mut loaded: Vec<&str> = loaded.lines().collect();
    loaded.sort();
    let before = loaded.len();
    loaded.dedup();
    assert_eq!(loaded.len(), before, "an object loaded twice: {loaded:?}");
    assert!(loaded.len() >= 3, "{loaded:?}");
    let landed: Vec<String> = std::fs::read_dir(&landing)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for object in &loaded {
        assert!(
            landed.iter().any(|name| name == object),
            "{object} never landed"
        );
    }
}
