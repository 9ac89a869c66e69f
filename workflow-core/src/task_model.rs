//! What `#[task]` implements: the [`Task`] trait, its static [`TaskSpec`], and [`TaskError`].

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A value that can flow between tasks: serializable, so a plan can carry it, a runner can store
/// it and an external engine can hand it from one process to the next.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot flow between tasks: task inputs and outputs must implement `serde::Serialize`, `serde::Deserialize` and `Send`",
    label = "cannot be passed between tasks",
    note = "derive the serde traits, `#[derive(serde::Serialize, serde::Deserialize)]`, and hold no `Rc`, `RefCell` borrow or other value that cannot be sent to another thread: values are handed between tasks, runs and processes in serialized form"
)]
pub trait Data: Serialize + DeserializeOwned + Send + 'static {}
// Not recommended: a type that cannot flow is reported once, as `Data` with the message above,
// rather than once per missing bound (`Serialize`, then `Deserialize`).
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + 'static> Data for T {}

/// A function marked `#[task]`.
///
/// The attribute implements this trait for a hidden struct that has the function's name, in the
/// type namespace (the function keeps the value namespace, so it stays an ordinary function).
/// `workflow!` reaches a task through that struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task",
    label = "not a task",
    note = "mark the function with `#[task]` to use it in a workflow"
)]
pub trait Task: 'static {
    /// The inputs as a tuple, in declaration order: `(NaiveDate, bool)`.
    ///
    /// Each element is [`Data`]; `#[task]` checks that at each input's type, where the error
    /// is clearest, rather than here.
    type Inputs;
    /// What the task produces; for a function returning `Result<T, E>`, this is `T`.
    type Output;
    /// Name, description, inputs and policy, fixed at compile time.
    const SPEC: TaskSpec;
    /// How many workflows deep the task nests: 0 for a function, one more than its deepest
    /// node for a workflow. A workflow that contains itself makes this constant depend on
    /// itself, which rustc reports as a cycle at compile time.
    const NESTING: usize = 0;
    /// What the task's function returns, as declared: `Orders`, `Result<Orders, io::Error>`,
    /// or the `Command` of a command task. A test stub replacing the task returns the same.
    type Returns;
    /// Runs the task's function on its inputs.
    fn call(inputs: Self::Inputs) -> Result<Self::Output, TaskError>;
    /// Turns what the function returned into the task's result: an error is converted, a
    /// command is run.
    fn finish(returned: Self::Returns) -> Result<Self::Output, TaskError>;

    /// Runs the task on JSON-encoded inputs (one value per input, in order) and returns its
    /// JSON-encoded output: how a runner or an external engine calls a task whose types it
    /// does not know. Generated with the task, decoding each input at its own type, so that a
    /// type that cannot flow between tasks is reported once, at the task, and not again at
    /// every node that runs it.
    ///
    /// # Errors
    ///
    /// The wrong number of values, a value that does not decode as its input's type, the
    /// task's own failure, or an output that does not encode.
    fn call_json(values: Vec<Value>) -> Result<Value, TaskError>;
}

/// The static description of a task, built by `#[task]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpec {
    /// The task's name: the function's name unless `#[task(name = "...")]` says otherwise.
    pub name: &'static str,
    /// The function's path, e.g. `my_pipeline::extract::extract_orders`.
    pub rust_path: &'static str,
    /// The doc comment of the function.
    pub description: &'static str,
    /// The inputs, in order.
    pub inputs: &'static [InputSpec],
    /// The Rust type the task produces, as written (`Orders`, not `Result<Orders, E>`).
    pub output: &'static str,
    /// Whether the function returns a `Result`.
    pub fallible: bool,
    /// A Rust function, an external program, or a whole workflow.
    pub kind: TaskKind,
    /// Retries, timeout and placement.
    pub policy: TaskPolicy,
}

/// What a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A Rust function marked `#[task]`.
    #[default]
    Function,
    /// An external program, built by a `#[task(command)]` function.
    Command,
    /// A workflow that declares what it returns, used as a node of another.
    Workflow,
}

/// One input of a task: its parameter name and its Rust type as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSpec {
    /// The function parameter's name.
    pub name: &'static str,
    /// The parameter's type as written in the source.
    pub ty: &'static str,
}

/// How a task is retried, bounded and placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskPolicy {
    /// How many times a failed attempt is retried (0: never).
    pub retries: u32,
    /// How long to wait before the first retry (`None`: retry at once).
    pub retry_delay: Option<Duration>,
    /// How the wait grows from one retry to the next.
    pub backoff: Backoff,
    /// The longest wait between two attempts, for exponential backoff.
    pub max_retry_delay: Option<Duration>,
    /// How long one attempt may take before it is stopped.
    pub timeout: Option<Duration>,
    /// The pool (machine or slot group) the task runs in.
    pub pool: Option<&'static str>,
    /// CPU the task needs, in thousandths of a core.
    pub cpu_millis: Option<u32>,
    /// Memory the task needs, in bytes.
    pub memory_bytes: Option<u64>,
}

/// How the wait before a retry grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    /// The same wait before every retry.
    #[default]
    Fixed,
    /// The wait doubles after each retry, up to the task's `max_retry_delay`.
    Exponential,
}

/// The error a task reports.
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it, so a task may return
/// `Result<T, std::io::Error>`, `Result<T, MyError>` or `Result<T, TaskError>`.
///
/// ```
/// use workflow_core::TaskError;
///
/// fn parse(count: &str) -> Result<u32, TaskError> {
///     if count.is_empty() {
///         return Err(TaskError::new("no count given"));
///     }
///     Ok(count.parse::<u32>()?)
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert_eq!(parse("x").unwrap_err().to_string(), "invalid digit found in string");
/// ```
///
/// An error is retried while the node has retries left, as a network blip should be. A
/// failure that trying again cannot fix — a missing secret, a bad configuration, data that
/// will never parse — is made with [`TaskError::permanent`] (or marked with
/// [`TaskError::into_permanent`]): the node fails at once with its retries unused, as
/// Airflow's `AirflowFailException` does. The local runner honours it under either isolation
/// (`exec-task` exits 3 for it), and so do the exported Airflow DAG, Argo workflow and Step
/// Functions state machine (see docs/exporting.md); a systemd service runs the whole workflow
/// with the local runner.
pub struct TaskError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    kind: FailureKind,
}

/// Whether a failed attempt is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Retried while the node has retries left: a network blip, a busy service, a timeout, a
    /// panic.
    #[default]
    Retryable,
    /// Not retried: the task said that trying again cannot help ([`TaskError::permanent`]).
    Permanent,
    /// Not retried: an input is not a value of the task's input type (as an `exec-task` of
    /// another engine may be handed).
    BadInput,
}

impl FailureKind {
    /// Whether trying again could help.
    pub fn is_retryable(self) -> bool {
        self == FailureKind::Retryable
    }

    /// The exit status of an `exec-task` attempt that failed so: 1 retryable, 3 permanent,
    /// 2 bad input (as any bad argument).
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::Retryable => 1,
            FailureKind::BadInput => 2,
            FailureKind::Permanent => 3,
        }
    }

    /// The kind an `exec-task` exit status tells (the inverse of [`FailureKind::exit_code`]).
    pub fn from_exit_code(code: Option<i32>) -> FailureKind {
        match code {
            Some(2) => FailureKind::BadInput,
            Some(3) => FailureKind::Permanent,
            _ => FailureKind::Retryable,
        }
    }
}

impl TaskError {
    /// An error with a message and no underlying cause; retried while the node has retries.
    pub fn new(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            source: None,
            kind: FailureKind::Retryable,
        }
    }

    /// A failure that trying again cannot fix: the node fails at once, its retries unused.
    ///
    /// ```
    /// use workflow_core::TaskError;
    ///
    /// fn connect(url: Option<&str>) -> Result<(), TaskError> {
    ///     let Some(_url) = url else {
    ///         return Err(TaskError::permanent("DATABASE_URL is not set"));
    ///     };
    ///     Ok(())
    /// }
    /// assert!(connect(None).unwrap_err().is_permanent());
    /// ```
    pub fn permanent(message: impl Into<String>) -> Self {
        TaskError {
            kind: FailureKind::Permanent,
            ..TaskError::new(message)
        }
    }

    /// This error, not to be retried (`Err(error)?` converts any error; `.map_err(|e|
    /// TaskError::from(e).into_permanent())?` marks it permanent).
    pub fn into_permanent(mut self) -> Self {
        self.kind = FailureKind::Permanent;
        self
    }

    /// An input that is not a value of its type: not retried.
    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        TaskError {
            kind: FailureKind::BadInput,
            ..TaskError::new(message)
        }
    }

    /// Whether this failure is not to be retried.
    pub fn is_permanent(&self) -> bool {
        !self.kind.is_retryable()
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The underlying error, if this one was converted from another.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for TaskError {
    fn from(error: E) -> Self {
        TaskError {
            message: error.to_string(),
            source: Some(Box::new(error)),
            kind: FailureKind::Retryable,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TaskError");
        debug.field("message", &self.message);
        if self.kind != FailureKind::Retryable {
            debug.field("kind", &self.kind);
        }
        if let Some(source) = &self.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

/// A task's inputs as a tuple of [`Data`]: decoded from JSON values, one per input.
pub trait Inputs: Sized + Send + 'static {
    /// How many inputs the tuple holds.
    const ARITY: usize;
    /// Decodes the inputs from one JSON value per input, in order.
    fn from_values(values: Vec<Value>) -> Result<Self, TaskError>;
}

macro_rules! impl_inputs {
    ($count:expr; $($name:ident),*) => {
        impl<$($name: Data),*> Inputs for ($($name,)*) {
            const ARITY: usize = $count;
            #[allow(unused_variables, unused_mut, non_snake_case)]
            fn from_values(values: Vec<Value>) -> Result<Self, TaskError> {
                if values.len() != $count {
                    return Err(TaskError::bad_input(format!(
                        "expected {} input values, got {}", $count, values.len()
                    )));
                }
                let mut values = values.into_iter().enumerate();
                $(
                    let $name: $name = match values.next() {
                        Some((index, value)) => serde_json::from_value(value).map_err(|error| {
                            TaskError::bad_input(format!("input #{}: {error}", index + 1))
                        })?,
                        None => return Err(TaskError::bad_input("missing input value")),
                    };
                )*
                Ok(($($name,)*))
            }
        }
    };
}

impl_inputs!(0;);
impl_inputs!(1; A);
impl_inputs!(2; A, B);
impl_inputs!(3; A, B, C);
impl_inputs!(4; A, B, C, D);
impl_inputs!(5; A, B, C, D, E);
impl_inputs!(6; A, B, C, D, E, F);
impl_inputs!(7; A, B, C, D, E, F, G);
impl_inputs!(8; A, B, C, D, E, F, G, H);
impl_inputs!(9; A, B, C, D, E, F, G, H, I);
impl_inputs!(10; A, B, C, D, E, F, G, H, I, J);
impl_inputs!(11; A, B, C, D, E, F, G, H, I, J, K);
impl_inputs!(12; A, B, C, D, E, F, G, H, I, J, K, L);

/// The most inputs one task may take; group more into a struct.
pub const MAX_INPUTS: usize = 12;
