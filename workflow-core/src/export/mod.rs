//! Exports: what another engine runs, written from a workflow's plan.
//!
//! `<bin> export <workflow> --target T --out DIR` writes systemd units ([`systemd`]), an Airflow
//! DAG file ([`airflow`]), Argo Workflows manifests ([`argo`]) or an Amazon States Language
//! state machine with its schedule ([`step_functions`]). Every node they run calls this same
//! binary (`exec-task`, or `tick`/`run` under systemd), so business logic is written once.
//!
//! Every file an export writes is named after its workflow (install notes too:
//! `<workflow>.README.md`), so that several workflows can be exported into one directory, an
//! Airflow DAG folder or `/etc/systemd/system`, without one overwriting another's.
//!
//! Beside its artifacts every export writes `<workflow>.export.json` (an [`ExportManifest`]):
//! the target, the settings and fixed parameters it was made with, the files it wrote, and the
//! plan they came from, so that `diff <workflow> --against-export DIR` can tell what a change
//! would do to what is deployed. No engine reads it.
//!
//! Exporters read the [`Plan`], never the macros. A construct a target cannot express is an
//! error that names it, never a silent drop; `--allow-lossy` writes the export anyway and
//! lists each loss. Parameter values, node names and paths are data in every target: argv
//! arrays where the engine takes them, correctly quoted where it takes a shell line or a
//! program text. Secrets stay references (an environment variable or file the worker
//! provides), never values.
//!
//! ```
//! use workflow_core::prelude::*;
//! use workflow_core::export::{self, Settings, Target};
//!
//! #[task(retries = 2, retry_delay = "1m")]
//! fn fetch(day: NaiveDate) -> u32 { day.day() }
//!
//! workflow! {
//!     /// Nightly.
//!     #[schedule(cron = "0 2 * * *")]
//!     #[partition(daily, param = day)]
//!     nightly(day: NaiveDate) {
//!         rows = fetch(day);
//!     }
//! }
//!
//! let exported = export::export(&nightly::spec(), Target::Argo, &[], &Settings::default()).unwrap();
//! let names: Vec<String> = exported.files.iter().map(|file| file.path.display().to_string()).collect();
//! assert_eq!(
//!     names,
//!     [
//!         "nightly.cronworkflow.yaml",
//!         "nightly.workflow.yaml",
//!         "nightly.README.md",
//!         "nightly.export.json",
//!     ]
//! );
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::WorkflowSpec;
use crate::plan::{Plan, PlanError, PlanOptions};

pub mod airflow;
pub mod argo;
pub mod step_functions;
pub mod systemd;
mod yaml;

/// The engines a workflow can be exported to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// systemd units on one machine: a service calling `tick` (or `run`), a timer, path units
    Systemd,
    /// An Apache Airflow DAG file, each task a BashOperator calling `exec-task`
    Airflow,
    /// An Argo Workflows `CronWorkflow` (or `Workflow`) with a DAG template
    Argo,
    /// An AWS Step Functions state machine (Amazon States Language) and its schedule
    StepFunctions,
}

impl Target {
    /// Every target, in the order `diff` reports them.
    pub const ALL: [Target; 4] = [
        Target::Systemd,
        Target::Airflow,
        Target::Argo,
        Target::StepFunctions,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Systemd => "systemd",
            Target::Airflow => "airflow",
            Target::Argo => "argo",
            Target::StepFunctions => "step-functions",
        }
    }
}

/// Where things are on the machines that run the export. Defaults suit a first try; each is a
/// command-line flag of `export`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Where this binary is installed on the machines (or in the image) that run the nodes
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/workflows")]
    pub binary: String,
    /// A directory on storage every node of a run sees (NFS, EFS, a volume): each run keeps
    /// its nodes' outputs in a directory of its own under it
    #[arg(long, value_name = "DIR", default_value = "/var/lib/workflows/runs")]
    pub run_root: String,
    /// systemd: the state file `tick` and `run` keep
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/lib/workflows/state.sqlite"
    )]
    pub state: String,
    /// systemd: the user the services run as
    #[arg(long, value_name = "NAME", default_value = "workflows")]
    pub user: String,
    /// Airflow: the DAG's start date (default: the day of the export); runs are made up from
    /// it only when the workflow makes up every missed run
    #[arg(long, value_name = "DATE")]
    pub start_date: Option<chrono::NaiveDate>,
    /// Argo: the container image that holds the binary
    #[arg(long, value_name = "IMAGE", default_value = "workflows:latest")]
    pub image: String,
    /// Argo: the persistent volume claim mounted at the run root in every pod
    #[arg(long, value_name = "NAME", default_value = "workflow-runs")]
    pub volume_claim: String,
    /// Argo: the Kubernetes namespace
    #[arg(long, value_name = "NAME", default_value = "argo")]
    pub namespace: String,
    /// Step Functions: the AWS region
    #[arg(long, value_name = "REGION", default_value = "eu-central-1")]
    pub aws_region: String,
    /// Step Functions: the AWS account id
    #[arg(long, value_name = "ID", default_value = "123456789012")]
    pub aws_account: String,
    /// Step Functions: the EC2 tag whose value names the pool an instance serves; each node
    /// runs on one instance tagged with its pool (`default` for nodes without one) whose SSM
    /// agent is online
    #[arg(long, value_name = "KEY", default_value = "workflow-pool")]
    pub instance_tag: String,
    /// Write the export even when the target cannot express everything; each loss is printed
    #[arg(long)]
    pub allow_lossy: bool,
}

impl Settings {
    /// Whether every setting can be written into the targets' files as the data it is: no
    /// control characters anywhere (a line break in `--user` would add a line to a unit
    /// file) and no template markup (`{{`, `{%`: Argo and Airflow would substitute it);
    /// absolute paths; a user as systemd's `User=` takes it (letters, digits, `_`, `-`, not
    /// starting with a digit or `-`, at most 32; or a numeric id 0–4294967294 but 65535,
    /// without leading zeros); an AWS account of 12 digits and a region of lower-case
    /// letters, digits and `-`; a namespace that is a DNS label and a volume claim that is a
    /// DNS subdomain (RFC 1123, as Kubernetes names them); an image without spaces, quotes or
    /// capitals before its tag; an instance tag key without quotes, not under AWS's reserved
    /// `aws:`.
    pub fn check(&self) -> Result<(), ExportError> {
        let refuse = |flag: &str, value: &str, rule: &str| {
            Err(ExportError::Setting(format!(
                "--{flag} {value:?} cannot be exported: {rule}"
            )))
        };
        for (flag, value) in [
            ("binary", &self.binary),
            ("run-root", &self.run_root),
            ("state", &self.state),
            ("user", &self.user),
            ("image", &self.image),
            ("volume-claim", &self.volume_claim),
            ("namespace", &self.namespace),
            ("aws-region", &self.aws_region),
            ("aws-account", &self.aws_account),
            ("instance-tag", &self.instance_tag),
        ] {
            if value.is_empty() || value.chars().any(char::is_control) {
                return refuse(flag, value, "it is empty or holds a control character");
            }
            if value.contains("{{") || value.contains("{%") {
                return refuse(
                    flag,
                    value,
                    "template markup would be substituted by the engine",
                );
            }
        }
        for (flag, value) in [
            ("binary", &self.binary),
            ("run-root", &self.run_root),
            ("state", &self.state),
        ] {
            if !value.starts_with('/') {
                return refuse(
                    flag,
                    value,
                    "give an absolute path on the machines that run it",
                );
            }
        }
        let numeric_user = self.user.chars().all(|c| c.is_ascii_digit())
            && (self.user == "0" || !self.user.starts_with('0'))
            && self
                .user
                .parse::<u32>()
                .is_ok_and(|id| id != 65_535 && id != u32::MAX);
        let named_user = self
            .user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !self
                .user
                .starts_with(|c: char| c.is_ascii_digit() || c == '-')
            && self.user.len() <= 32;
        if !numeric_user && !named_user {
            return refuse(
                "user",
                &self.user,
                "systemd takes a user name of letters, digits, `_` and `-` (not first), or a numeric id",
            );
        }
        if self.aws_account.len() != 12 || !self.aws_account.chars().all(|c| c.is_ascii_digit()) {
            return refuse(
                "aws-account",
                &self.aws_account,
                "an AWS account id is 12 digits",
            );
        }
        // RFC 1123: a label is 1-63 of a-z, 0-9 and `-`, starting and ending alphanumeric; a
        // subdomain is labels joined by `.`, at most 253.
        let label = |text: &str| {
            !text.is_empty()
                && text.len() <= 63
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !text.starts_with('-')
                && !text.ends_with('-')
        };
        if !label(&self.aws_region) || !self.aws_region.contains('-') {
            return refuse(
                "aws-region",
                &self.aws_region,
                "a region is lower-case letters, digits and `-`, as eu-central-1",
            );
        }
        if !label(&self.namespace) {
            return refuse(
                "namespace",
                &self.namespace,
                "a Kubernetes namespace is a DNS label: 1-63 lower-case letters, digits and `-`, not first or last",
            );
        }
        if self.volume_claim.len() > 253 || !self.volume_claim.split('.').all(label) {
            return refuse(
                "volume-claim",
                &self.volume_claim,
                "a claim name is a DNS subdomain: DNS labels joined by `.`, at most 253",
            );
        }
        let repository = self.image.split(['@', ':']).next().unwrap_or_default();
        if self
            .image
            .contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '#')
            || repository.is_empty()
            || repository.contains(|c: char| c.is_ascii_uppercase())
            || self.image.ends_with(':')
        {
            return refuse(
                "image",
                &self.image,
                "an image reference is a lower-case repository with an optional :tag or @digest",
            );
        }
        if self.instance_tag.contains(['"', '\'', '\\']) || self.instance_tag.starts_with("aws:") {
            return refuse(
                "instance-tag",
                &self.instance_tag,
                "a tag key without quotes, not under the reserved `aws:`",
            );
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            settings: Settings,
        }
        Defaults::parse_from(["export"]).settings
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// Where it goes, relative to the export directory.
    pub path: PathBuf,
    /// Its text.
    pub contents: String,
}

/// What an export wrote, and what the target could not express (only with `allow_lossy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The files, in a fixed order.
    pub files: Vec<ExportFile>,
    /// Constructs the target does not carry over, in words.
    pub losses: Vec<String>,
}

/// Why a workflow could not be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The target cannot express part of the workflow.
    #[error(
        "{target} cannot express all of workflow `{workflow}`:\n{}\npass --allow-lossy to export it without them",
        losses.iter().map(|loss| format!("  - {loss}")).collect::<Vec<_>>().join("\n")
    )]
    Lossy {
        /// The target's name.
        target: &'static str,
        /// The workflow.
        workflow: String,
        /// What would be lost.
        losses: Vec<String>,
    },
    /// The workflow or the given parameters do not make a plan.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A name the target cannot take.
    #[error("{0}")]
    Name(String),
    /// An export setting the target's files cannot carry.
    #[error("{0}")]
    Setting(String),
    /// The files could not be written.
    #[error("cannot write `{path}`: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What an export wrote and where it came from: the file `<workflow>.export.json` beside the
/// artifacts. `diff --against-export DIR` reads it to make the same export of the current
/// workflow (same target, settings and fixed parameters) and compare the two.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExportManifest {
    /// The workflow.
    pub workflow: String,
    /// The engine.
    pub target: Target,
    /// The parameter values fixed in the export, as `--param` texts.
    pub params: Vec<(String, String)>,
    /// The settings, with the Airflow start date as used (the day of the export when not
    /// given), so that exporting again gives the same files.
    pub settings: Settings,
    /// The artifacts, relative to the export directory, in the order written (the manifest
    /// itself not among them).
    pub files: Vec<PathBuf>,
    /// What the target could not carry over (written only with `--allow-lossy`).
    pub losses: Vec<String>,
    /// The plan the artifacts were made from.
    pub plan: Plan,
}

impl ExportManifest {
    /// The manifest's file name in an export directory.
    pub fn file_name(workflow: &str) -> String {
        format!("{workflow}.export.json")
    }
}

/// The plan an export of `spec` reads: `given` values fixed, other required parameters left
/// for the engine to supply, no next runs (an export does not depend on when it is made).
pub fn export_plan(spec: &WorkflowSpec, given: &[(String, String)]) -> Result<Plan, PlanError> {
    let options = PlanOptions {
        now: DateTime::<Utc>::UNIX_EPOCH,
        next_runs: 0,
    };
    Plan::build_for_export(spec, given, &options)
}

/// Exports `spec` for `target`, with `given` parameter values fixed in the export.
pub fn export(
    spec: &WorkflowSpec,
    target: Target,
    given: &[(String, String)],
    settings: &Settings,
) -> Result<Exported, ExportError> {
    let plan = export_plan(spec, given)?;
    export_from_plan(&plan, Some(spec), target, settings)
}

/// Exports a plan already made: `spec`, when given, is the workflow the plan is of, for each
/// parameter value's `--param` text (without it, or for a parameter it does not declare, a
/// value is written as its JSON, a string as its text). A parameter that a plan shown by
/// `plan` took from the partition of `now` ([`ValueSource::Partition`]) is left for the engine
/// to supply, as [`export`] leaves it.
///
/// [`ValueSource::Partition`]: crate::plan::ValueSource::Partition
pub fn export_from_plan(
    plan: &Plan,
    spec: Option<&WorkflowSpec>,
    target: Target,
    settings: &Settings,
) -> Result<Exported, ExportError> {
    let mut plan = plan.clone();
    plan.next_runs.clear();
    for param in &mut plan.params {
        if param.source == crate::plan::ValueSource::Partition {
            param.source = crate::plan::ValueSource::Unset;
            param.value = serde_json::Value::Null;
        }
    }
    let plan = &plan;
    settings.check()?;
    let mut settings = settings.clone();
    settings.start_date = Some(
        settings
            .start_date
            .unwrap_or_else(|| Utc::now().date_naive()),
    );
    let settings = &settings;
    // Each value as the `--param` text this binary reads back as exactly that value.
    let texts: ParamTexts = plan
        .params
        .iter()
        .map(|param| {
            let text = match spec.and_then(|spec| spec.param(&param.name)) {
                Some(declared) => crate::plan::param_text_for(declared, &param.value),
                None => crate::plan::param_text(&param.value),
            };
            (param.name.clone(), text)
        })
        .collect();
    let mut losses = Losses::default();
    let mut files = match target {
        Target::Systemd => systemd::export(plan, &texts, settings, &mut losses)?,
        Target::Airflow => airflow::export(plan, settings, &mut losses)?,
        Target::Argo => argo::export(plan, &texts, settings, &mut losses)?,
        Target::StepFunctions => step_functions::export(plan, settings, &mut losses)?,
    };
    if !losses.0.is_empty() && !settings.allow_lossy {
        return Err(ExportError::Lossy {
            target: target.name(),
            workflow: plan.workflow.clone(),
            losses: losses.0,
        });
    }
    let manifest = ExportManifest {
        workflow: plan.workflow.clone(),
        target,
        params: fixed_params(plan)
            .into_iter()
            .map(|param| (param.name.clone(), param_text(&texts, param)))
            .collect(),
        settings: settings.clone(),
        files: files.iter().map(|file| file.path.clone()).collect(),
        losses: losses.0.clone(),
        plan: plan.clone(),
    };
    let mut contents = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    contents.push('\n');
    files.push(ExportFile {
        path: ExportManifest::file_name(&plan.workflow).into(),
        contents,
    });
    Ok(Exported {
        files,
        losses: losses.0,
    })
}

impl Exported {
    /// Writes every file under `directory`, creating it; returns the paths written.
    pub fn write_to(&self, directory: &Path) -> Result<Vec<PathBuf>, ExportError> {
        let mut written = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let path = directory.join(&file.path);
            let failure = |error: std::io::Error| ExportError::Write {
                path: path.clone(),
                reason: error.to_string(),
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(failure)?;
            }
            std::fs::write(&path, &file.contents).map_err(failure)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// What a target cannot carry over, collected while exporting.
#[derive(Debug, Default)]
pub struct Losses(Vec<String>);

impl Losses {
    /// Records one construct the target cannot express.
    pub fn add(&mut self, loss: impl Into<String>) {
        self.0.push(loss.into());
    }
}

/// A word safe in every target's names: the workflow or node name, lower case, `-` for `_`
/// (Kubernetes and Argo names; DNS labels).
pub(crate) fn dns_name(name: &str) -> String {
    let mut text: String = name
        .chars()
        .map(|character| match character {
            'A'..='Z' => character.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => character,
            _ => '-',
        })
        .collect();
    while text.starts_with('-') {
        text.remove(0);
    }
    while text.ends_with('-') {
        text.pop();
    }
    if text.is_empty() {
        text.push('x');
    }
    text
}

/// `word` in single quotes for a POSIX shell: every character literal, `'` written `'\''`.
pub(crate) fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_./=:@%+,".contains(character))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A string literal in Python (and JSON): JSON's escapes are a subset of Python's.
pub(crate) fn python_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The `--param` pairs fixed by the export: the values given on the command line.
pub(crate) fn fixed_params(plan: &Plan) -> Vec<&crate::plan::PlanParam> {
    plan.params
        .iter()
        .filter(|param| param.source == crate::plan::ValueSource::Given)
        .collect()
}

/// Each parameter's value as the `--param` text that parses back into it, by name
/// ([`crate::plan::param_text_for`]).
pub type ParamTexts = std::collections::BTreeMap<String, String>;

/// A parameter's value as the text `--param name=TEXT` parses back into it.
pub(crate) fn param_text(texts: &ParamTexts, param: &crate::plan::PlanParam) -> String {
    texts
        .get(&param.name)
        .cloned()
        .unwrap_or_else(|| crate::plan::param_text(&param.value))
}

/// The branch a node runs in, if any: (branch index, arm index).
pub(crate) fn arm_of(plan: &Plan, node: &crate::plan::PlanNode) -> Option<(usize, usize)> {
    let condition = node.condition.as_ref()?;
    let branch = plan.branches.get(condition.branch)?;
    let arm = branch
        .arms
        .iter()
        .position(|arm| arm.label == condition.arm)?;
    Some((condition.branch, arm))
}

/// The node (and merged) names an input or branch refers to, as upstream node names.
pub(crate) fn producers<'a>(plan: &'a Plan, name: &'a str) -> Vec<&'a str> {
    match plan.merges.iter().find(|merge| merge.name == name) {
        Some(merge) => merge.nodes.iter().map(String::as_str).collect(),
        None => vec![name],
    }
}

/// Every node a node waits for, through data (merged names resolved), `.after` and the value
/// its branch decides on, without repeats, in plan order.
pub(crate) fn upstream<'a>(plan: &'a Plan, node: &'a crate::plan::PlanNode) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for edge in plan.edges.iter().filter(|edge| edge.to == node.id) {
        names.push(edge.from.as_str());
    }
    let order: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    names.sort_by_key(|name| order.iter().position(|other| other == name));
    names.dedup();
    names
}

/// Whether a node reads a name produced in every arm of a branch (it must run after whichever
/// arm ran, so it may not wait for the others' success).
pub(crate) fn reads_a_merge(plan: &Plan, node: &crate::plan::PlanNode) -> bool {
    node.inputs.iter().any(|input| match &input.from {
        crate::plan::InputSource::Node(name) => plan.merges.iter().any(|merge| merge.name == *name),
        _ => false,
    })
}

/// The greatest common divisor: the step of the times of day an interval from the epoch hits.
/// The schedule read by the shared evaluator, or a loss when it cannot be (a schedule built by
/// hand, not checked by `workflow!`).
pub(crate) fn timetable(
    schedule: &crate::operations::Schedule,
    losses: &mut Losses,
) -> Option<workflow_schedule::Timetable> {
    match schedule.timetable() {
        Ok(timetable) => Some(timetable),
        Err(error) => {
            losses.add(format!("the schedule: {error}"));
            None
        }
    }
}

/// Adds a loss when an engine that follows `rule` at daylight-saving changes fires at other
/// instants than the plan on some change in the export horizon (2025–2060, fixed so that
/// an export does not depend on the day it is made). Returns whether the engine is exact.
pub(crate) fn check_dst(
    timetable: &workflow_schedule::Timetable,
    rule: workflow_schedule::DstRule,
    engine: &str,
    losses: &mut Losses,
) -> bool {
    let (from, to) = workflow_schedule::export_horizon();
    let anomalies = timetable.anomalies(rule, from, to);
    let Some(first) = anomalies.first() else {
        return true;
    };
    losses.add(format!(
        "the schedule at daylight-saving changes: {}{}; use a time outside the hours the clocks skip or repeat, or `timezone = \"UTC\"`",
        first.describe(&timetable.zone, engine),
        match anomalies.len() {
            1 => String::new(),
            count => format!(" (and at {} more changes until 2060)", count - 1),
        }
    ));
    false
}

/// The UTC cron expressions (five fields) that fire exactly when an interval of `seconds`
/// counted from the epoch does, or `None` when the interval does not divide a day (its times
/// of day then change from day to day).
pub(crate) fn interval_crons(seconds: u64) -> Option<Vec<String>> {
    const DAY: u64 = 86_400;
    if seconds == 0 || !seconds.is_multiple_of(60) || !DAY.is_multiple_of(seconds) {
        return None;
    }
    let minutes = seconds / 60;
    if minutes < 60 && 60u64.is_multiple_of(minutes) {
        return Some(vec![if minutes == 1 {
            "* * * * *".to_owned()
        } else {
            format!("*/{minutes} * * * *")
        }]);
    }
    if minutes.is_multiple_of(60) {
        let hours = minutes / 60;
        return Some(vec![match hours {
            1 => "0 * * * *".to_owned(),
            24 => "0 0 * * *".to_owned(),
            _ => format!("0 */{hours} * * *"),
        }]);
    }
    let mut by_minute: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    let mut time = 0;
    while time < DAY / 60 {
        by_minute.entry(time % 60).or_default().push(time / 60);
        time += minutes;
    }
    Some(
        by_minute
            .into_iter()
            .map(|(minute, hours)| {
                let hours: Vec<String> = hours.iter().map(u64::to_string).collect();
                format!("{minute} {} * * *", hours.join(","))
            })
            .collect(),
    )
}

/// How long an attempt of a node without `#[timeout]` may run on an engine that needs a bound
/// (SSM's `executionTimeout` on Step Functions, the ceiling of a systemd run), in seconds:
/// 48 hours.
pub(crate) const DEFAULT_ATTEMPT_SECS: u64 = 172_800;

/// The longest `node` can take, in seconds: `attempt(timeout)` for each of its attempts (its
/// retries, plus `extra_attempts` an engine adds) with the node's timeout or
/// [`DEFAULT_ATTEMPT_SECS`], and the retry delays between them (backoff and cap applied).
/// A fan-out node is counted as if its elements ran at once. Saturates at `u64::MAX`.
pub(crate) fn node_ceiling(
    node: &crate::plan::PlanNode,
    extra_attempts: u64,
    attempt: impl Fn(u64) -> u64,
) -> u64 {
    let policy = &node.policy;
    let timeout = policy.timeout_secs.unwrap_or(DEFAULT_ATTEMPT_SECS);
    let attempts = u64::from(policy.retries) + 1 + extra_attempts;
    let mut delays: u64 = 0;
    let mut delay = policy.retry_delay_secs.unwrap_or(0);
    for _ in 0..policy.retries {
        let capped = policy
            .max_retry_delay_secs
            .map_or(delay, |cap| delay.min(cap));
        delays = delays.saturating_add(capped);
        if policy.backoff == crate::Backoff::Exponential {
            delay = delay.saturating_mul(2);
        }
    }
    attempts
        .saturating_mul(attempt(timeout))
        .saturating_add(delays)
}

/// The longest a run of `plan` can take, in seconds: its `#[timeout]`, else the sum over its
/// stages of the stage's slowest node by `ceiling`.
pub(crate) fn run_ceiling(plan: &Plan, ceiling: impl Fn(&crate::plan::PlanNode) -> u64) -> u64 {
    if let Some(seconds) = plan.operations.timeout_secs {
        return seconds;
    }
    plan.stages
        .iter()
        .map(|stage| {
            stage
                .iter()
                .filter_map(|id| plan.nodes.iter().find(|node| node.id == *id))
                .map(&ceiling)
                .max()
                .unwrap_or(0)
        })
        .fold(0u64, u64::saturating_add)
}

pub(crate) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Seconds as a compact duration: `90s`, `10m`, `2h30m`.
pub(crate) fn duration_text(seconds: u64) -> String {
    crate::text::duration(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_that_divide_a_day_are_cron_expressions_of_the_grammar() {
        assert_eq!(interval_crons(60).unwrap(), ["* * * * *"]);
        assert_eq!(interval_crons(900).unwrap(), ["*/15 * * * *"]);
        assert_eq!(interval_crons(3_600).unwrap(), ["0 * * * *"]);
        assert_eq!(interval_crons(21_600).unwrap(), ["0 */6 * * *"]);
        assert_eq!(interval_crons(86_400).unwrap(), ["0 0 * * *"]);
        assert_eq!(
            interval_crons(5_400).unwrap(),
            [
                "0 0,3,6,9,12,15,18,21 * * *",
                "30 1,4,7,10,13,16,19,22 * * *"
            ]
        );
        assert_eq!(interval_crons(9_000), None);
        assert_eq!(interval_crons(7 * 86_400), None);
        for seconds in (60..=86_400).step_by(60) {
            for line in interval_crons(seconds).unwrap_or_default() {
                workflow_schedule::CronExpr::parse(&line)
                    .unwrap_or_else(|error| panic!("{seconds}: {error}"));
            }
        }
    }

    #[test]
    fn shell_quoting_leaves_nothing_to_interpret() {
        assert_eq!(shell_quote("daily_batch"), "daily_batch");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's $(rm -rf /)"), r"'it'\''s $(rm -rf /)'");
        assert_eq!(shell_quote("`id`;\n"), "'`id`;\n'");
    }

    #[test]
    fn names_fit_kubernetes() {
        assert_eq!(dns_name("daily_batch"), "daily-batch");
        assert_eq!(dns_name("_Private_"), "private");
        assert_eq!(dns_name("___"), "x");
    }

    #[test]
    fn python_strings_escape_quotes_and_newlines() {
        assert_eq!(python_string("a\"b\n'c"), r#""a\"b\n'c""#);
    }
}
