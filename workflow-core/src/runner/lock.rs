//! The locks a run's life is decided under: OS file locks (std's [`std::fs::File::lock`]:
//! `flock` on Linux and macOS, `LockFileEx` on Windows) in a directory next to the state file.
//!
//! - `<state>.locks/<workflow>.admit` — held while a start is admitted: from "is a run
//!   active?" until the new run is recorded and holds its own lock. Short.
//! - `<state>.locks/run-<id>.lock` — held by the run's process for the run's whole life, and
//!   inherited by every process the run starts (attempt processes, command tasks), so a run
//!   counts as alive while anything of it still runs. "Is run N alive?" is "is its lock
//!   held?"; a process id is never consulted, so a reboot or a reused pid cannot fool it.
//!
//! The kernel drops a lock when the last process holding it ends, however it ends (SIGKILL,
//! a crash, a power cut), so a dead run never blocks anything.
//!
//! A state kept in memory (`:memory:`, the test harness) has one process by definition: its
//! locks are kept in that process.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where a state file's locks live.
#[derive(Debug, Clone)]
pub enum Locks {
    /// Lock files in this directory.
    Files(PathBuf),
    /// A state in memory: the runs this process holds.
    InProcess(Arc<Mutex<BTreeSet<i64>>>),
}

/// A lock could not be used at all (not "someone else holds it").
#[derive(Debug, thiserror::Error)]
#[error("cannot use the lock `{path}`: {source}")]
pub struct LockError {
    /// The lock file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct Held {
    kind: HeldKind,
}

#[derive(Debug)]
enum HeldKind {
    File {
        file: File,
        path: PathBuf,
    },
    InProcess {
        runs: Arc<Mutex<BTreeSet<i64>>>,
        run: i64,
    },
    Nothing,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let HeldKind::InProcess { runs, run } = &self.kind {
            runs.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(run);
        }
    }
}

impl Held {
    /// The lock file, if the lock is one.
    pub fn file(&self) -> Option<&File> {
        match &self.kind {
            HeldKind::File { file, .. } => Some(file),
            _ => None,
        }
    }

    /// Releases a run's lock for good: the file (and the list of the run's process groups
    /// next to it) is removed while still held, so nobody can lock a file that no run will
    /// ever hold again. A process that had it open and locks it after this sees a run that
    /// is not alive, which is the truth.
    pub fn release_finished(self) {
        if let HeldKind::File { path, .. } = &self.kind {
            let _ = std::fs::remove_file(path.with_extension("groups"));
            let _ = std::fs::remove_file(path);
        }
    }

    /// Keeps a run's lock until this process exits (the kernel releases it then): for a run
    /// that leaves attempts on threads that cannot be stopped, so that nothing is admitted
    /// while they may still act.
    pub fn keep_until_exit(self) {
        if let HeldKind::File { .. } = &self.kind {
            std::mem::forget(self);
        }
    }
}

/// Whether `path` still names the open `file` (same device and inode).
fn still_named(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// What a run's lock file says of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Some process holds it: the run, or a process the run started, is alive.
    Held,
    /// Nobody holds it: the run ended or was killed.
    Free,
    /// There is no lock file: the run ended (its lock file goes with it), or someone removed
    /// the locks directory.
    Missing,
}

impl Locks {
    /// The locks of the state file at `state` (`:memory:` for a state in memory).
    pub fn for_state(state: &Path) -> Locks {
        if state.as_os_str() == ":memory:" || state.as_os_str().is_empty() {
            return Locks::InProcess(Arc::default());
        }
        let mut name = state.as_os_str().to_owned();
        name.push(".locks");
        Locks::Files(PathBuf::from(name))
    }

    fn open(&self, name: &str) -> Result<(File, PathBuf), LockError> {
        let Locks::Files(directory) = self else {
            unreachable!("only file locks are opened");
        };
        let path = directory.join(name);
        let error = |source| LockError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(directory).map_err(error)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(error)?;
        Ok((file, path))
    }

    /// Takes `<workflow>.admit`, waiting while another start of the workflow is being
    /// admitted (polled every 10 ms); `None` as soon as `stopped()` says so (a signal).
    pub fn admission(
        &self,
        workflow: &str,
        stopped: &dyn Fn() -> bool,
    ) -> Result<Option<Held>, LockError> {
        match self {
            Locks::InProcess(_) => Ok(Some(Held {
                kind: HeldKind::Nothing,
            })),
            Locks::Files(_) => loop {
                if let Some(held) = self.try_file(&format!("{workflow}.admit"))? {
                    return Ok(Some(held));
                }
                if stopped() {
                    return Ok(None);
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            },
        }
    }

    /// Takes `state.create`, waiting while another process creates or upgrades the state
    /// file's tables.
    pub fn creation(&self) -> Result<Held, LockError> {
        match self {
            Locks::InProcess(_) => Ok(Held {
                kind: HeldKind::Nothing,
            }),
            Locks::Files(_) => {
                let (file, path) = self.open("state.create")?;
                file.lock().map_err(|source| LockError {
                    path: path.clone(),
                    source,
                })?;
                Ok(Held {
                    kind: HeldKind::File { file, path },
                })
            }
        }
    }

    /// Takes `<workflow>.tick` if nobody holds it: one tick of a workflow at a time.
    pub fn try_tick(&self, workflow: &str) -> Result<Option<Held>, LockError> {
        match self {
            Locks::InProcess(_) => Ok(Some(Held {
                kind: HeldKind::Nothing,
            })),
            Locks::Files(_) => self.try_file(&format!("{workflow}.tick")),
        }
    }

    /// Takes lock file `name` if nobody holds it. A lock is only as good as its file: when
    /// the name no longer leads to the file locked (someone removed it meanwhile), the lock
    /// is let go and taken again on the file the name now leads to.
    fn try_file(&self, name: &str) -> Result<Option<Held>, LockError> {
        loop {
            let (file, path) = self.open(name)?;
            match file.try_lock() {
                Ok(()) if still_named(&file, &path) => {
                    return Ok(Some(Held {
                        kind: HeldKind::File { file, path },
                    }));
                }
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(source)) => return Err(LockError { path, source }),
            }
        }
    }

    /// Takes run `run`'s lock if nobody holds it: then the run is not alive, and the caller
    /// may carry it on. `None` while the run (or a process it started) lives. A liveness
    /// probe of another process holds the lock shared for an instant; that is waited out
    /// (a few tries over 100 ms), so a probe never makes a dead run look alive.
    pub fn try_run(&self, run: i64) -> Result<Option<Held>, LockError> {
        match self {
            Locks::InProcess(runs) => {
                let mut held = runs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(held.insert(run).then(|| Held {
                    kind: HeldKind::InProcess {
                        runs: runs.clone(),
                        run,
                    },
                }))
            }
            Locks::Files(_) => {
                for _ in 0..10 {
                    if let Some(held) = self.try_file(&format!("run-{run}.lock"))? {
                        return Ok(Some(held));
                    }
                    if self.probe(run)? == Probe::Held {
                        return Ok(None);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Ok(None)
            }
        }
    }

    /// The recorded process groups of run `run` that still hold its lock: on Linux, a group
    /// counts when one of its processes has the run's lock file open (read from `/proc`), so
    /// a group id reused by an unrelated process is never named or killed; elsewhere, every
    /// recorded group that still exists.
    pub fn holding_groups(&self, run: i64) -> Vec<u32> {
        let Locks::Files(directory) = self else {
            return Vec::new();
        };
        let lock = directory.join(format!("run-{run}.lock"));
        let groups = self.run_groups(run);
        #[cfg(target_os = "linux")]
        {
            let holders = lock_holders(&lock);
            groups
                .into_iter()
                .filter(|group| holders.contains(group))
                .collect()
        }
        #[cfg(all(unix, not(target_os = "linux")))]
        {
            let _ = lock;
            groups
                .into_iter()
                .filter(|group| {
                    i32::try_from(*group).is_ok_and(|group| {
                        // SAFETY: signal 0 to a group only checks that it exists.
                        group > 1 && unsafe { libc::kill(-group, 0) } == 0
                    })
                })
                .collect()
        }
        #[cfg(not(unix))]
        {
            let _ = (lock, groups);
            Vec::new()
        }
    }

    /// The runs whose lock file is held now (of every workflow of the state file).
    pub fn held_runs(&self) -> Result<Vec<i64>, LockError> {
        let ids: Vec<i64> = match self {
            Locks::InProcess(runs) => {
                return Ok(runs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .copied()
                    .collect());
            }
            Locks::Files(directory) => match std::fs::read_dir(directory) {
                Ok(entries) => entries
                    .flatten()
                    .filter_map(|entry| {
                        let name = entry.file_name();
                        let name = name.to_str()?;
                        name.strip_prefix("run-")?
                            .strip_suffix(".lock")?
                            .parse()
                            .ok()
                    })
                    .collect(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(source) => {
                    return Err(LockError {
                        path: directory.clone(),
                        source,
                    });
                }
            },
        };
        let mut held = Vec::new();
        for id in ids {
            if self.probe(id)? == Probe::Held {
                held.push(id);
            }
        }
        Ok(held)
    }

    /// The process groups run `run` started, as it recorded them (oldest first).
    pub fn run_groups(&self, run: i64) -> Vec<u32> {
        match self {
            Locks::InProcess(_) => Vec::new(),
            Locks::Files(directory) => {
                std::fs::read_to_string(directory.join(format!("run-{run}.groups")))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|line| line.trim().parse().ok())
                    .collect()
            }
        }
    }

    /// Whether run `run`'s lock is held. The probe takes the lock *shared* for an instant:
    /// probes never disturb each other, and one that finds the lock free cannot make the run
    /// look alive to an admission (which waits out a shared holder, see [`Locks::try_run`]).
    pub fn probe(&self, run: i64) -> Result<Probe, LockError> {
        match self {
            Locks::InProcess(runs) => Ok(
                if runs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(&run)
                {
                    Probe::Held
                } else {
                    Probe::Free
                },
            ),
            Locks::Files(directory) => {
                let path = directory.join(format!("run-{run}.lock"));
                let file = match OpenOptions::new().read(true).open(&path) {
                    Ok(file) => file,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        return Ok(Probe::Missing);
                    }
                    Err(source) => return Err(LockError { path, source }),
                };
                match file.try_lock_shared() {
                    Ok(()) => Ok(Probe::Free),
                    Err(TryLockError::WouldBlock) => Ok(Probe::Held),
                    Err(TryLockError::Error(source)) => Err(LockError { path, source }),
                }
            }
        }
    }
}

/// The run lock this process holds, as a raw descriptor, for processes it starts to inherit
/// (see [`inherit_run_lock`]). -1 when none.
#[cfg(unix)]
static RUN_LOCK_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Makes every process this process starts from now on (attempt processes, command tasks)
/// inherit `held`, so the run stays alive while any of them does.
pub fn inherit_run_lock(held: &Held) {
    if let HeldKind::File { path, .. } = &held.kind {
        *GROUPS_FILE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(path.with_extension("groups"));
    }
    #[cfg(unix)]
    if let Some(file) = held.file() {
        use std::os::fd::AsRawFd;
        RUN_LOCK_FD.store(file.as_raw_fd(), std::sync::atomic::Ordering::SeqCst);
    }
}

/// Stops handing the run lock to new processes.
pub fn forget_run_lock() {
    #[cfg(unix)]
    RUN_LOCK_FD.store(-1, std::sync::atomic::Ordering::SeqCst);
    *GROUPS_FILE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}

/// Where this process records the process groups of its run (`run-<id>.groups`), so that a
/// later process can stop what a killed run left behind.
static GROUPS_FILE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Prepares `command` to be one of the run's processes: on Linux it is killed when the
/// thread that started it dies (`PR_SET_PDEATHSIG`); started by the run's own process, it
/// also inherits the run's lock and gets a process group of its own (so stopping the group
/// stops what it started). Started inside an attempt process, it stays in that process's
/// group, which the run stops as a whole.
pub fn prepare_child(command: &mut std::process::Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let fd = RUN_LOCK_FD.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // async-signal-safe functions (`fcntl`, `setpgid`, `prctl`) on its own descriptors.
        unsafe {
            command.pre_exec(move || {
                if fd >= 0 {
                    let flags = libc::fcntl(fd, libc::F_GETFD);
                    if flags >= 0 {
                        libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                    }
                    libc::setpgid(0, 0);
                }
                #[cfg(any(target_os = "linux", target_os = "android"))]
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// The process groups of the processes this run started that are still running.
static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Records a process started with [`prepare_child`], so that [`stop_children`] reaches it;
/// in the run's own process, also in the run's list of process groups next to its lock.
pub fn register_child(pid: u32) {
    CHILDREN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(pid);
    #[cfg(unix)]
    if RUN_LOCK_FD.load(std::sync::atomic::Ordering::SeqCst) >= 0 {
        let file = GROUPS_FILE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(path) = file.as_ref()
            && let Ok(mut groups) = OpenOptions::new().create(true).append(true).open(path)
        {
            use std::io::Write;
            let _ = groups.write_all(format!("{pid}\n").as_bytes());
        }
    }
}

/// Sends SIGKILL to each of `groups` (a killed run's leftovers, see [`Locks::run_groups`]).
pub fn kill_groups(groups: &[u32]) {
    #[cfg(unix)]
    for group in groups {
        if let Ok(group) = i32::try_from(*group)
            && group > 1
        {
            // SAFETY: `kill` has no memory effects; a group that is gone is an error we
            // ignore.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
    }
    #[cfg(not(unix))]
    let _ = groups;
}

/// Whether process `pid` exists on this machine (`kill(pid, 0)`); `true` where that cannot
/// be asked. Used only to word messages and when a run's lock file was removed by hand,
/// never to decide that a run whose lock is held is dead.
pub fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Forgets a process that ended, in the run's list of process groups too.
pub fn unregister_child(pid: u32) {
    CHILDREN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&pid);
    #[cfg(unix)]
    if RUN_LOCK_FD.load(std::sync::atomic::Ordering::SeqCst) >= 0 {
        let file = GROUPS_FILE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(path) = file.as_ref()
            && let Ok(text) = std::fs::read_to_string(path)
        {
            let kept: String = text
                .lines()
                .filter(|line| line.trim() != pid.to_string())
                .map(|line| format!("{line}\n"))
                .collect();
            let _ = std::fs::write(path, kept);
        }
    }
}

/// The process groups of the processes that have `lock` open (Linux, from `/proc`).
#[cfg(target_os = "linux")]
fn lock_holders(lock: &Path) -> BTreeSet<u32> {
    let mut groups = BTreeSet::new();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return groups;
    };
    for process in processes.flatten() {
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(descriptors) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = descriptors.flatten().any(|descriptor| {
            std::fs::read_link(descriptor.path()).is_ok_and(|target| {
                let target = target.to_string_lossy();
                let target = target.strip_suffix(" (deleted)").unwrap_or(&target);
                Path::new(target) == lock
            })
        });
        if !holds {
            continue;
        }
        // `pid (comm) state ppid pgrp ...`; the command may hold spaces and parentheses.
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some((_, rest)) = stat.rsplit_once(") ")
            && let Some(group) = rest.split_whitespace().nth(2)
            && let Ok(group) = group.parse()
        {
            groups.insert(group);
        }
    }
    groups
}

/// Stops every process group the run started: SIGTERM, then SIGKILL to those still there
/// after `grace`. Returns how many there were.
pub fn stop_children(grace: std::time::Duration) -> usize {
    let groups: Vec<u32> = CHILDREN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .copied()
        .collect();
    #[cfg(unix)]
    {
        let signal_all = |signal: libc::c_int| {
            for group in &groups {
                if let Ok(group) = i32::try_from(*group)
                    && group > 0
                {
                    // SAFETY: `kill` has no memory effects; a group that is gone is an error
                    // we ignore.
                    unsafe { libc::kill(-group, signal) };
                }
            }
        };
        signal_all(libc::SIGTERM);
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline
            && !CHILDREN
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_empty()
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        signal_all(libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = grace;
    groups.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lock_decides_liveness() {
        let directory = tempfile::tempdir().unwrap();
        let locks = Locks::for_state(&directory.path().join("state.sqlite"));
        assert_eq!(locks.probe(1).unwrap(), Probe::Missing);
        let held = locks.try_run(1).unwrap().expect("free");
        assert_eq!(locks.probe(1).unwrap(), Probe::Held);
        assert!(
            locks.try_run(1).unwrap().is_none(),
            "held by another open file"
        );
        held.release_finished();
        assert_eq!(locks.probe(1).unwrap(), Probe::Missing);
        // A probe holding the lock shared does not keep an admission from taking it.
        drop(locks.try_run(2).unwrap().unwrap());
        let probe = OpenOptions::new()
            .read(true)
            .open(directory.path().join("state.sqlite.locks/run-2.lock"))
            .unwrap();
        probe.try_lock_shared().unwrap();
        assert_eq!(locks.probe(2).unwrap(), Probe::Free, "probes share");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            drop(probe);
        });
        assert!(locks.try_run(2).unwrap().is_some(), "a probe is waited out");
        releaser.join().unwrap();

        let memory = Locks::for_state(Path::new(":memory:"));
        let held = memory.try_run(7).unwrap().unwrap();
        assert_eq!(memory.probe(7).unwrap(), Probe::Held);
        assert!(memory.try_run(7).unwrap().is_none());
        drop(held);
        assert_eq!(memory.probe(7).unwrap(), Probe::Free);
    }
}
