//! A run's life, in one place: admission, the run, resume, tick, signals and notices. The
//! CLI's `run`, `run --resume` and `tick` and the test harness's [`crate::testing::Ticker`]
//! all go through [`Lifecycle`]; none keeps a copy.
//!
//! **Admission.** A start is decided under the workflow's admission lock
//! ([`super::lock`]): "is the workflow paused?", "is a run alive?" and the recording of the
//! new run happen while it is held, and the new run takes its own lock before it is recorded,
//! so two starts at the same instant can never both run. The two questions are asked again
//! inside the state file's write transaction that records the run, so that a removed lock
//! file cannot let two starts through either. With a live run, the workflow's
//! overlap policy decides: `forbid` refuses ([`LifecycleError::Refused`], exit 2, naming the
//! live run), `queue` waits for the live run's lock and asks again, `replace` asks the live
//! run to stop (SIGTERM, SIGKILL after [`REPLACE_GRACE`]), waits for its lock and records it
//! `cancelled`. Resuming a run is admission too: its lock must be free, so a live run is never
//! resumed and two resumes of one run never both execute.
//!
//! **The run** holds its lock for its whole life, and every process it starts inherits it.
//! SIGTERM or SIGINT stops it: nothing new starts, running attempts are stopped (process
//! attempts and command tasks killed with their process groups), the run is recorded
//! `cancelled` with the signal as its reason, the failure notices are sent, and the process
//! exits with 128 + the signal's number. A second signal ends the process at once.
//!
//! **Tick** decides under both the tick lock and the admission lock, in this order: a paused
//! workflow waits; a due fire time, upstream success or new file starts a run (stopping a live
//! one only under `replace`); a live run makes it wait; otherwise a failed or interrupted run
//! is re-run (resumed, keeping what succeeded) if it has automatic re-runs left
//! (`#[on_failure(reruns = N)]`, 3 by default, not with `pause`). A run whose re-runs are used
//! up stays failed and its notice says so. Due work is never starved by an old failure.
//!
//! **Notices** are written to the state file in the transaction that records the run's end,
//! claimed by one sender, and marked when delivered;
//! one that cannot be delivered is tried again by every later `run` and `tick` with backoff
//! (1 minute, doubling, at most an hour), and `status` lists it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::engine::{self, Event, Options, Outcome, RunStatus, Stop};
use super::lock::Held;
use super::notify::{Mailer, Notice};
use super::store::{Cause, RunRecord, Store, StoreError};
use super::tick::{self, Decision, TickError};
use crate::WorkflowSpec;
use crate::operations::Overlap;
use crate::plan::{Plan, PlanOptions};

/// How long a run being replaced has to record itself cancelled before it is killed.
pub const REPLACE_GRACE: Duration = Duration::from_secs(30);

/// Why a start did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The start is refused by the workflow's state or policy (paused, a live run, a run
    /// that cannot be resumed): exit 2, nothing started.
    #[error("{0}")]
    Refused(String),
    /// A parameter or plan problem.
    #[error("{0}")]
    Plan(String),
    /// The state file or its locks.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lock files.
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
    /// Deciding a tick.
    #[error(transparent)]
    Tick(#[from] TickError),
    /// A signal came before the run was admitted: nothing was started.
    #[error("{0}")]
    Stopped(String),
}

impl LifecycleError {
    /// The process's exit status for this error: 128 + the signal's number when a signal
    /// stopped the start, else 2.
    pub fn exit_status(&self) -> u8 {
        match self {
            LifecycleError::Stopped(_) => signals::received().map_or(2, |signal| 128 + signal),
            _ => 2,
        }
    }
}

/// Where notices go.
#[derive(Debug, Clone, Default)]
pub enum Delivery {
    /// Sent now (e-mail through [`Mailer::from_env`]), kept and retried when that fails.
    #[default]
    Send,
    /// Only recorded in the state file, as undelivered (the test harness: nothing leaves
    /// the process).
    Record,
}

/// A run admitted to start: it is recorded and its lock is held.
#[derive(Debug)]
pub struct Admission {
    /// The run's id.
    pub run: i64,
    /// Whether it continues a recorded run.
    pub resume: bool,
    /// The plan it executes.
    pub plan: Plan,
    lock: Held,
}

/// How a run that was carried out ended.
#[derive(Debug)]
pub struct Finished {
    /// What the engine reported.
    pub outcome: Outcome,
    /// The process's exit status for it: 0 succeeded, 1 failed or paused, 128 + n when
    /// signal n stopped it.
    pub exit: u8,
    /// Notices that could not be delivered now (kept and retried later).
    pub undelivered: Vec<String>,
}

/// What a tick did.
#[derive(Debug)]
pub struct Ticked {
    /// What it decided.
    pub decision: Decision,
    /// The run it carried out, if it did.
    pub finished: Option<Finished>,
    /// When another tick held the workflow's tick lock, so this one did nothing.
    pub busy: bool,
}

/// A workflow's runs on one state file.
pub struct Lifecycle<'a> {
    /// The workflow.
    pub spec: &'a WorkflowSpec,
    /// Its state.
    pub store: Store,
    /// How runs are carried out (parallelism, isolation, clock, stubs).
    pub options: Options,
    /// Where notices go.
    pub delivery: Delivery,
    /// The program the commands in notices name.
    pub program: String,
    /// Asks the run to stop (a signal, see [`Lifecycle::handle_signals`]).
    pub stop: Arc<Stop>,
}

impl<'a> Lifecycle<'a> {
    /// The lifecycle of `spec`'s runs on `store`, with default options, notices sent, and
    /// signals left alone.
    pub fn new(spec: &'a WorkflowSpec, store: Store) -> Lifecycle<'a> {
        Lifecycle {
            spec,
            store,
            options: Options::default(),
            delivery: Delivery::Send,
            program: std::env::args()
                .next()
                .unwrap_or_else(|| "workflows".to_owned()),
            stop: Arc::new(Stop::default()),
        }
    }

    /// Makes SIGTERM and SIGINT stop this process's run from now on (before admission, so a
    /// signal that comes while the run is being admitted is not lost): the run ends
    /// `cancelled` with the signal as its reason. A second signal ends the process at once.
    /// For the CLI; the in-process test harness leaves signals alone.
    pub fn handle_signals(&mut self) {
        if let Err(problem) = signals::install(&self.stop) {
            say!("warning: cannot handle SIGTERM and SIGINT: {problem}");
        }
    }

    fn name(&self) -> &'static str {
        self.spec.name
    }

    /// Admits a new run of `plan`, started for `cause` (by hand when `None`).
    pub fn admit_new(
        &mut self,
        plan: Plan,
        cause: Option<&Cause>,
    ) -> Result<Admission, LifecycleError> {
        let guard = self.admission_lock()?;
        self.admit_new_under(guard, plan, cause)
    }

    fn admit_new_under(
        &mut self,
        mut guard: Held,
        plan: Plan,
        cause: Option<&Cause>,
    ) -> Result<Admission, LifecycleError> {
        loop {
            self.refuse_if_stopped()?;
            self.refuse_if_paused()?;
            let Some(kept) = self.make_way(guard, None)? else {
                // A live run was waited for or replaced: ask again from the start.
                guard = self.admission_lock()?;
                continue;
            };
            let names: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
            let hand = Cause {
                reason: "started by hand".to_owned(),
                ..Cause::default()
            };
            // The decision is made again inside the state file's write transaction, which
            // no other start can share: two admissions stay apart even if the admission lock
            // file was removed under them.
            let Some(()) = self.recheck_in_transaction(None)? else {
                drop(kept);
                guard = self.admission_lock()?;
                continue;
            };
            let started = self.store.start_run(
                self.name(),
                &plan.to_json(),
                &params_json(&plan),
                &names,
                Some(cause.unwrap_or(&hand)),
            );
            let (run, lock) = match started {
                Ok(started) => started,
                Err(error) => {
                    let _ = self.store.rollback();
                    return Err(error.into());
                }
            };
            self.store.commit()?;
            drop(kept);
            return Ok(Admission {
                run,
                resume: false,
                plan,
                lock,
            });
        }
    }

    /// Admits the continuation of run `run`: refused while it is alive, after it
    /// succeeded, or when it is another workflow's.
    pub fn admit_resume(&mut self, run: i64) -> Result<Admission, LifecycleError> {
        let guard = self.admission_lock()?;
        self.admit_resume_under(guard, run)
    }

    fn admit_resume_under(
        &mut self,
        mut guard: Held,
        run: i64,
    ) -> Result<Admission, LifecycleError> {
        let name = self.name();
        loop {
            self.refuse_if_stopped()?;
            let record = self.store.run(run)?;
            if record.workflow != name {
                return Err(LifecycleError::Refused(format!(
                    "run {run} is a run of workflow `{}`, not `{name}`; resume it with `run {} --resume {run}`",
                    record.workflow, record.workflow
                )));
            }
            self.refuse_if_paused()?;
            // A live run is refused before its lock is tried: when its lock file was removed
            // under it, taking a new one would not tell (`Store::is_live` decides then).
            let live = self.store.is_live(&record)?;
            let lock = if live {
                None
            } else {
                self.store.locks().try_run(run)?
            };
            let Some(lock) = lock else {
                return Err(LifecycleError::Refused(format!(
                    "run {run} of `{name}` is running ({}); a run never runs twice at once",
                    self.where_it_runs(&record)
                )));
            };
            // Read again under the run's lock: it may have ended just now.
            let record = self.store.run(run)?;
            if record.status == "succeeded" {
                // Its lock file had gone with it; the one just made goes too.
                lock.release_finished();
                return Err(LifecycleError::Refused(format!(
                    "run {run} of `{name}` already succeeded; there is nothing to resume"
                )));
            }
            let Some(kept) = self.make_way(guard, Some(run))? else {
                drop(lock);
                guard = self.admission_lock()?;
                continue;
            };
            let plan: Plan = serde_json::from_str(&record.plan).map_err(|error| {
                LifecycleError::Plan(format!(
                    "run {run} holds a plan this program cannot read: {error}"
                ))
            })?;
            self.say_what_changed(run, &record, &plan);
            let Some(()) = self.recheck_in_transaction(Some(run))? else {
                drop(kept);
                drop(lock);
                guard = self.admission_lock()?;
                continue;
            };
            if let Err(error) = self.store.claim_run(run) {
                let _ = self.store.rollback();
                return Err(error.into());
            }
            self.store.commit()?;
            drop(kept);
            return Ok(Admission {
                run,
                resume: true,
                plan,
                lock,
            });
        }
    }

    /// Opens the state file's write transaction and asks again, inside it, whether the
    /// workflow is paused (an error) or has a live run other than `except` (`None`, after
    /// rolling back: admission starts over). `Some(())` leaves the transaction open.
    fn recheck_in_transaction(
        &mut self,
        except: Option<i64>,
    ) -> Result<Option<()>, LifecycleError> {
        self.store.begin()?;
        let check = (|| -> Result<Option<()>, LifecycleError> {
            self.refuse_if_paused()?;
            let live = self
                .store
                .active_runs(self.name())?
                .into_iter()
                .any(|run| Some(run.id) != except);
            Ok((!live).then_some(()))
        })();
        match check {
            Ok(Some(())) => Ok(Some(())),
            Ok(None) => {
                self.store.rollback()?;
                Ok(None)
            }
            Err(error) => {
                let _ = self.store.rollback();
                Err(error)
            }
        }
    }

    /// The workflow's admission lock, waited for until a signal says to stop.
    fn admission_lock(&self) -> Result<Held, LifecycleError> {
        let stop = self.stop.clone();
        let stopped = move || stop.requested().is_some();
        match self.store.locks().admission(self.name(), &stopped)? {
            Some(held) => Ok(held),
            None => {
                self.refuse_if_stopped()?;
                Err(LifecycleError::Stopped(
                    "stopped before the run was admitted; nothing was started".to_owned(),
                ))
            }
        }
    }

    fn refuse_if_stopped(&self) -> Result<(), LifecycleError> {
        match self.stop.requested() {
            Some(reason) => Err(LifecycleError::Stopped(format!(
                "{reason} before the run was admitted; nothing was started"
            ))),
            None => Ok(()),
        }
    }

    /// "process P on H", for messages about a live run; when that process has ended but
    /// processes the run started still hold its lock, says so and names their groups.
    fn where_it_runs(&self, run: &RunRecord) -> String {
        let at = match (run.pid, &run.host) {
            (Some(pid), Some(host)) => format!("process {pid} on {host}"),
            (Some(pid), None) => format!("process {pid}"),
            _ => "its process".to_owned(),
        };
        let here = run
            .host
            .as_deref()
            .is_none_or(|host| host == super::store::host());
        match run.pid {
            Some(pid) if here && !super::lock::process_exists(pid) => {
                let groups: Vec<String> = self
                    .store
                    .locks()
                    .holding_groups(run.id)
                    .iter()
                    .map(|group| format!("`kill -- -{group}`"))
                    .collect();
                let stop = if groups.is_empty() {
                    String::new()
                } else {
                    format!("; to stop them: {}", groups.join(", "))
                };
                format!(
                    "{at}, which has ended; processes it started still hold the run's lock{stop}"
                )
            }
            _ => at,
        }
    }

    fn refuse_if_paused(&self) -> Result<(), LifecycleError> {
        let name = self.name();
        match self.store.paused(name)? {
            Some(reason) => Err(LifecycleError::Refused(format!(
                "workflow `{name}` is paused ({reason}); `resume {name}` lets it run again"
            ))),
            None => Ok(()),
        }
    }

    /// Applies the overlap policy to the live runs other than `except`. Returns the guard
    /// when no run is alive (admission goes on under it), `None` after waiting for or
    /// replacing a run (the guard was let go: admission starts over).
    fn make_way(
        &mut self,
        guard: Held,
        except: Option<i64>,
    ) -> Result<Option<Held>, LifecycleError> {
        let name = self.name();
        let live: Vec<RunRecord> = self
            .store
            .active_runs(name)?
            .into_iter()
            .filter(|run| Some(run.id) != except)
            .collect();
        let Some(other) = live.into_iter().next() else {
            return Ok(Some(guard));
        };
        match self.spec.operations.overlap {
            Overlap::Forbid => Err(LifecycleError::Refused(format!(
                "workflow `{name}` is already running (run {}, {}); it never runs twice at once",
                other.id,
                self.where_it_runs(&other)
            ))),
            Overlap::Queue => {
                drop(guard);
                say!(
                    "{name}: waiting for run {} ({}) to end",
                    other.id,
                    self.where_it_runs(&other)
                );
                // Polled rather than blocked on, so that a signal while waiting ends the wait.
                loop {
                    if !self.store.is_live(&other)? {
                        return Ok(None);
                    }
                    if let Some(reason) = self.stop.requested() {
                        return Err(LifecycleError::Stopped(format!(
                            "{reason} while waiting for run {} to end; nothing was started",
                            other.id
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Overlap::Replace => {
                say!(
                    "{name}: stopping run {} ({}) to replace it",
                    other.id,
                    self.where_it_runs(&other)
                );
                self.replace(&other, REPLACE_GRACE)?;
                drop(guard);
                Ok(None)
            }
        }
    }

    /// Stops live run `victim` (`overlap = "replace"`): its recorded reason says why, it is
    /// sent SIGTERM and records itself cancelled; after `grace` it is killed. Returns once
    /// its lock is free, with the run recorded `cancelled`.
    pub fn replace(&mut self, victim: &RunRecord, grace: Duration) -> Result<(), LifecycleError> {
        let reason = format!(
            "replaced by a newer run (process {} on {})",
            std::process::id(),
            super::store::host()
        );
        self.store.request_stop(victim.id, &reason)?;
        let locks = self.store.locks().clone();
        // The recorded process is signalled only while it exists; a run whose process has
        // ended but whose lock is held by what it started is stopped through its groups.
        let pid = victim
            .pid
            .filter(|pid| *pid != std::process::id() && super::lock::process_exists(*pid));
        if let Some(pid) = pid {
            signal(pid, Signal::Term);
        }
        let deadline = std::time::Instant::now() + grace;
        let mut killed = false;
        let held = loop {
            if !self.store.is_live(victim)?
                && let Some(held) = locks.try_run(victim.id)?
            {
                break held;
            }
            if let Some(reason) = self.stop.requested() {
                return Err(LifecycleError::Stopped(format!(
                    "{reason} while stopping run {} to replace it; nothing was started",
                    victim.id
                )));
            }
            if !killed && (pid.is_none() || std::time::Instant::now() >= deadline) {
                if let Some(pid) = pid {
                    signal(pid, Signal::Kill);
                }
                super::lock::kill_groups(&locks.holding_groups(victim.id));
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if self.store.run(victim.id)?.status == "running" {
            self.store
                .cancel_run(victim.id, &format!("cancelled: {reason}"))?;
        }
        held.release_finished();
        Ok(())
    }

    /// Carries out an admitted run to its end: the engine, then the notices. Releases the
    /// run's lock when the run is recorded as ended.
    pub fn carry_out(
        &mut self,
        admission: Admission,
        events: &mut dyn FnMut(Event),
    ) -> Result<Finished, LifecycleError> {
        let Admission {
            run,
            resume,
            plan,
            lock,
        } = admission;
        super::lock::inherit_run_lock(&lock);
        let mut options = self.options.clone();
        options.stop = Some(self.stop.clone());
        options.record_end = false;
        let result = engine::execute(
            self.spec,
            &plan,
            &mut self.store,
            run,
            resume,
            &options,
            events,
        );
        super::lock::forget_run_lock();
        // Whatever the run started is stopped before its lock is let go.
        if !matches!(result, Ok(ref outcome) if outcome.status == RunStatus::Succeeded) {
            super::lock::stop_children(Duration::from_secs(5));
        }
        let mut outcome = match result {
            Ok(outcome) => outcome,
            Err(engine::RunError::CannotResume(text)) => {
                return Err(LifecycleError::Refused(text));
            }
            Err(engine::RunError::Store(error)) => {
                // The state file could not be written at all: say so, and tell the failure
                // recipients directly, since the outbox lives in that file.
                let message = format!("the run's state could not be recorded: {error}");
                say!("error: {message}");
                let notice = Notice {
                    workflow: self.name().to_owned(),
                    run,
                    status: "failed".to_owned(),
                    host: super::store::host(),
                    params: params_map(&plan),
                    reason: Some(message.clone()),
                    commands: self.commands(run, false),
                    ..Notice::default()
                };
                if matches!(self.delivery, Delivery::Send) {
                    let mailer = Mailer::from_env().ok().flatten();
                    for problem in super::notify::after_run(
                        &plan.operations,
                        &notice,
                        RunStatus::Failed,
                        mailer.as_ref(),
                    ) {
                        say!("warning: {problem}");
                    }
                }
                drop(lock);
                return Err(LifecycleError::Store(error));
            }
        };
        let record = self.store.run(run)?;
        if outcome.status == RunStatus::Cancelled {
            outcome.reason = record.reason.clone().or(outcome.reason);
        }
        let mut note = outcome.reason.clone();
        let operations = &self.spec.operations;
        let ticked = operations.schedule.is_some() || !operations.triggers.is_empty();
        let mut give_up = false;
        if matches!(outcome.status, RunStatus::Failed)
            && operations.on_failure != crate::operations::FailureAction::Pause
            && ticked
            && !record.gave_up
        {
            let limit = operations.reruns;
            let text = if record.reruns >= limit {
                give_up = true;
                if limit == 0 {
                    "`tick` does not re-run it (reruns = 0); the next fire time starts a new run."
                        .to_owned()
                } else {
                    format!(
                        "This was automatic re-run {} of {limit}: `tick` will not re-run it again; \
                         the next fire time starts a new run.",
                        record.reruns
                    )
                }
            } else {
                format!(
                    "`tick` re-runs it by itself (automatic re-run {} of {limit} next).",
                    record.reruns + 1
                )
            };
            note = Some(note.map_or(text.clone(), |note| format!("{note}\n{text}")));
        }
        // A replaced run is told too: its work was cut, and the run that replaced it may
        // itself have been stopped before it started.
        let mut notice = Notice::of(self.name(), &outcome);
        notice.params = params_map(&plan);
        notice.reason = note;
        notice.commands = self.commands(run, outcome.status == RunStatus::Paused);
        let payload = serde_json::to_string(&notice).unwrap_or_default();
        // The run's end and its notices are written together: a process killed at any moment
        // leaves either a run still to finish (interrupted; resuming it ends it and tells) or
        // an ended run whose notices are waiting in the state file.
        self.store.begin()?;
        self.store
            .finish_run(run, outcome.status.as_str(), outcome.reason.as_deref())?;
        if give_up {
            self.store.give_up(run)?;
        }
        for (channel, target) in super::notify::recipients(&plan.operations, outcome.status) {
            self.store
                .queue_notice(run, self.name(), channel, &target, &payload)?;
        }
        self.store.commit()?;
        if outcome.abandoned > 0 {
            // Attempts on threads that cannot be stopped may still act until this process
            // exits: the run stays live until then.
            lock.keep_until_exit();
        } else {
            lock.release_finished();
        }
        let mut undelivered = Vec::new();
        if matches!(self.delivery, Delivery::Send) {
            // This run's own notices go out even after a signal (a second signal ends the
            // process at once); older ones only while no signal has come.
            undelivered = deliver_pending(&self.store, Some(Utc::now()), None, Some(run))?;
            undelivered.extend(deliver_pending(
                &self.store,
                Some(Utc::now()),
                Some(&self.stop),
                None,
            )?);
        }
        let exit = match outcome.status {
            RunStatus::Succeeded => 0,
            RunStatus::Cancelled => signals::received().map_or(1, |signal| 128 + signal),
            RunStatus::Failed | RunStatus::Paused => 1,
        };
        Ok(Finished {
            outcome,
            exit,
            undelivered,
        })
    }

    /// Before a run is resumed: whether the workflow's plan, made now with the run's own
    /// parameters, differs from the plan the run started with, and how. The run goes on with
    /// the plan it started with.
    fn say_what_changed(&self, run: i64, record: &super::store::RunRecord, plan: &Plan) {
        if plan.fingerprint.is_empty() {
            return;
        }
        let given: Vec<(String, serde_json::Value)> = record
            .params
            .as_deref()
            .and_then(|text| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).ok()
            })
            .map(|params| params.into_iter().collect())
            .unwrap_or_default();
        let Ok(now) = Plan::build_from_values(self.spec, &given, &Default::default()) else {
            say!(
                "warning: workflow `{}` changed since run {run} started: its parameters no longer plan; the run goes on with the plan it started with",
                self.name()
            );
            return;
        };
        if now.fingerprint == plan.fingerprint {
            return;
        }
        say!(
            "warning: workflow `{}` changed since run {run} started (plan {} → {}): {}; the run goes on with the plan it started with",
            self.name(),
            Plan::short_fingerprint(&plan.fingerprint),
            Plan::short_fingerprint(&now.fingerprint),
            plan.changes_to(&now).join(", ")
        );
    }

    /// The commands a notice gives to look at run `run` and carry it on.
    fn commands(&self, run: i64, paused: bool) -> Vec<String> {
        let name = self.name();
        let state = self.store.path().display().to_string();
        let state = shell_word(&state);
        let program = shell_word(&self.program);
        let mut commands = vec![
            format!("{program} status {name} --run {run} --state {state}"),
            format!("{program} logs {name} --run {run} --state {state}"),
        ];
        if paused {
            commands.push(format!("{program} resume {name} --state {state}"));
        }
        commands.push(format!(
            "{program} run {name} --resume {run} --state {state}"
        ));
        commands
    }

    /// Tries every notice whose time has come (of every workflow in the state file); returns
    /// one line per notice still undelivered.
    pub fn deliver_due(
        &mut self,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>, LifecycleError> {
        deliver_pending(&self.store, now, Some(&self.stop), None)
    }

    /// Runs `plan` from admission to its end.
    pub fn run_new(
        &mut self,
        plan: Plan,
        cause: Option<&Cause>,
        events: &mut dyn FnMut(Event),
    ) -> Result<Finished, LifecycleError> {
        let admission = self.admit_new(plan, cause)?;
        self.carry_out(admission, events)
    }

    /// Continues run `run` from admission to its end.
    pub fn run_resume(
        &mut self,
        run: i64,
        events: &mut dyn FnMut(Event),
    ) -> Result<Finished, LifecycleError> {
        let admission = self.admit_resume(run)?;
        self.carry_out(admission, events)
    }

    /// One tick at `now`: decides under the tick and admission locks and carries out what it
    /// decided (nothing with `dry_run`). `given` are parameters for a run it starts.
    pub fn tick(
        &mut self,
        now: DateTime<Utc>,
        given: &[(String, String)],
        dry_run: bool,
        events: &mut dyn FnMut(Event),
    ) -> Result<Ticked, LifecycleError> {
        let name = self.name();
        let Some(_tick) = self.store.locks().try_tick(name)? else {
            return Ok(Ticked {
                decision: Decision::Wait {
                    reason: "another tick is deciding or running it; nothing to do".to_owned(),
                },
                finished: None,
                busy: true,
            });
        };
        let guard = self.admission_lock()?;
        let decision = tick::decide(self.spec, &self.store, now)?;
        if dry_run {
            return Ok(Ticked {
                decision,
                finished: None,
                busy: false,
            });
        }
        let admission = match &decision {
            Decision::Wait { .. } => {
                drop(guard);
                None
            }
            Decision::Resume { run, .. } => {
                let admission = self.admit_resume_under(guard, *run)?;
                self.store.count_rerun(*run)?;
                Some(admission)
            }
            Decision::Start {
                cause, partition, ..
            } => {
                let mut given = given.to_vec();
                if let Some((param, key)) = partition
                    && !given.iter().any(|(name, _)| name == param)
                {
                    given.push((param.clone(), key.clone()));
                }
                let plan = Plan::build(self.spec, &given, &PlanOptions::default())
                    .map_err(|error| LifecycleError::Plan(error.to_string()))?;
                Some(self.admit_new_under(guard, plan, Some(cause))?)
            }
        };
        let finished = match admission {
            // A run delivers what is due when it ends.
            Some(admission) => Some(self.carry_out(admission, events)?),
            None => {
                // Notices still undelivered are tried after deciding, so a relay that does
                // not answer never delays a run; they keep the real clock, whatever `--now`
                // says.
                if matches!(self.delivery, Delivery::Send) {
                    for problem in self.deliver_due(Some(Utc::now()))? {
                        say!("warning: {problem}");
                    }
                }
                None
            }
        };
        Ok(Ticked {
            decision,
            finished,
            busy: false,
        })
    }
}

/// Tries every notice in `store` whose time has come (all of them with `now` = `None`; only
/// run `only_run`'s with it), stopping early once `stop` is requested; returns one line per
/// notice still undelivered.
pub fn deliver_pending(
    store: &Store,
    now: Option<DateTime<Utc>>,
    stop: Option<&Stop>,
    only_run: Option<i64>,
) -> Result<Vec<String>, LifecycleError> {
    let mut pending = store.pending_notices(None, now)?;
    if let Some(run) = only_run {
        pending.retain(|notice| notice.run == run);
    }
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mailer = Mailer::from_env().map_err(LifecycleError::Plan)?;
    let mut problems = Vec::new();
    for notice in pending {
        // A signal leaves the rest for a later run or tick.
        if stop.is_some_and(|stop| stop.requested().is_some()) {
            break;
        }
        // Longer than any delivery can take (two tries; a relay that trickles its answer
        // can stretch one well past its 20 s timeout): the notice is nobody else's meanwhile.
        let claim = Utc::now() + chrono::Duration::hours(1);
        if !store.claim_notice(notice.id, &notice.next_try, claim)? {
            continue;
        }
        let Ok(content) = serde_json::from_str::<Notice>(&notice.payload) else {
            store.notice_tried(
                notice.id,
                Err(("the stored notice is unreadable", far_future())),
            )?;
            continue;
        };
        let message_id = format!(
            "<{}.run{}.notice{}@{}>",
            notice.workflow,
            notice.run,
            notice.id,
            if content.host.is_empty() {
                "localhost"
            } else {
                &content.host
            }
        );
        // Two tries half a second apart now; later ones wait for a later run or tick.
        let mut result = Err(String::new());
        for attempt in 0..2 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500));
            }
            result = super::notify::deliver(
                &notice.channel,
                &notice.target,
                &content,
                mailer.as_ref(),
                &message_id,
            );
            if result.is_ok() {
                break;
            }
        }
        match result {
            Ok(()) => store.notice_tried(notice.id, Ok(()))?,
            Err(error) => {
                let tries = notice.attempts + 1;
                let wait = Duration::from_secs((60u64 << tries.min(6).saturating_sub(1)).min(3600));
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                store.notice_tried(notice.id, Err((&error, next)))?;
                problems.push(format!(
                    "cannot deliver the notice of run {} of `{}` to {} ({}): {error}; kept in the state file, next try after {}",
                    notice.run,
                    notice.workflow,
                    notice.target,
                    notice.channel,
                    next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
        }
    }
    Ok(problems)
}

fn far_future() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

/// The plan's parameter values as a JSON object, as stored with the run.
fn params_json(plan: &Plan) -> String {
    Value::Object(params_map(plan)).to_string()
}

fn params_map(plan: &Plan) -> serde_json::Map<String, Value> {
    plan.params
        .iter()
        .map(|param| (param.name.clone(), param.value.clone()))
        .collect()
}

/// `text` as one word for a POSIX shell: as is when it is plain, else single-quoted.
pub(crate) fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

enum Signal {
    Term,
    Kill,
}

/// Sends a signal to a process (a run being replaced).
fn signal(pid: u32, signal: Signal) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        let number = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        // SAFETY: `kill` has no memory effects; a process that is gone is an error we ignore.
        unsafe { libc::kill(pid, number) };
    }
    #[cfg(not(unix))]
    let _ = (pid, signal);
}

/// SIGTERM and SIGINT, turned into a [`Stop`] of the run.
mod signals {
    use super::Stop;
    use std::sync::Arc;
    #[cfg(unix)]
    use std::sync::atomic::Ordering;
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    /// The signal that stopped the run, once one did (0 before).
    static RECEIVED: AtomicUsize = AtomicUsize::new(0);
    /// Whether the handlers are installed (once per process).
    static INSTALLED: AtomicBool = AtomicBool::new(false);

    /// The number of the signal that stopped the run, if one did.
    pub(super) fn received() -> Option<u8> {
        match RECEIVED.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            signal => u8::try_from(signal).ok(),
        }
    }

    /// On SIGTERM or SIGINT, `stop` is requested with the signal's name as the reason; a
    /// second one ends the process at once with 128 + its number.
    #[cfg(unix)]
    pub(super) fn install(stop: &Arc<Stop>) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        if INSTALLED.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let first = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for signal in [SIGTERM, SIGINT] {
            // Registered before the flag is set: on the second signal the flag is already
            // set and the process exits.
            signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, first.clone())?;
            signal_hook::flag::register(signal, first.clone())?;
            signal_hook::flag::register_usize(signal, which.clone(), signal as usize)?;
        }
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("signals".to_owned())
            .spawn(move || {
                loop {
                    let signal = which.load(Ordering::SeqCst);
                    if signal != 0 {
                        RECEIVED.store(signal, Ordering::SeqCst);
                        let name = if signal as i32 == SIGINT {
                            "SIGINT"
                        } else {
                            "SIGTERM"
                        };
                        stop.request(&format!("stopped by {name}"));
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            })?;
        Ok(())
    }

    /// Signals are not handled on this platform: Ctrl-C ends the process, and the run is
    /// found interrupted and resumed later.
    #[cfg(not(unix))]
    pub(super) fn install(stop: &Arc<Stop>) -> std::io::Result<()> {
        let _ = (stop, &INSTALLED, &RECEIVED);
        Ok(())
    }
}
