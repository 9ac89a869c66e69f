//! A secret whose source is wrong is reported once, at the source; the node reading it is not
//! reported again for an unknown name.
use workflow_core::prelude::*;

/// Connects.
#[task]
fn connect(password: Secret) -> Result<u32, TaskError> {
    Ok(password.reveal()?.len() as u32)
}

workflow! {
    /// Connects nightly.
    #[secret(db_password, env = "db password")]
    nightly() {
        connection = connect(db_password);
    }
}

fn main() {}
