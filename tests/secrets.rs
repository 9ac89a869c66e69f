//! Secret values never reach a plan: a workflow takes a secret from an environment variable,
//! and neither the plan nor anything serialized on the way to the task holds the value, while
//! the task itself reads it when called.

use workflow_core::plan::{InputSource, Plan};
use workflow_core::prelude::*;

const VARIABLE: &str = "WORKFLOW_TESTS_WAREHOUSE_PASSWORD";
const VALUE: &str = "correct horse battery staple";

#[task]
fn connect(host: String, password: Secret) -> Result<usize, TaskError> {
    Ok(host.len() + password.reveal()?.len())
}

workflow! {
    /// Connects with a password.
    #[secret(warehouse_password, env = "WORKFLOW_TESTS_WAREHOUSE_PASSWORD")]
    connecting(host: String = String::from("warehouse.internal")) {
        connection = connect(host, warehouse_password);
    }
}

#[test]
fn secret_values_never_reach_the_plan() {
    // SAFETY: this test binary has one test, so nothing else reads the environment meanwhile.
    unsafe { std::env::set_var(VARIABLE, VALUE) };
    let spec = connecting::spec();
    let plan = Plan::build(&spec, &[], &Default::default()).unwrap();
    let json = plan.to_json();
    assert!(!json.contains(VALUE), "the plan holds the secret: {json}");
    assert!(
        json.contains(VARIABLE),
        "the plan names where the secret comes from"
    );
    assert_eq!(
        plan.nodes[0].inputs[1].from,
        InputSource::Secret("warehouse_password".into())
    );
    assert_eq!(
        plan.secrets,
        [Secret::from_env("warehouse_password", VARIABLE)]
    );

    // What a runner hands the task: the parameter's value and the secret's reference.
    let reference = serde_json::to_value(&plan.secrets[0]).unwrap();
    assert!(!reference.to_string().contains(VALUE));
    let node = spec.node("connection").unwrap();
    let output = (node.call)(vec![serde_json::json!("warehouse.internal"), reference]).unwrap();
    assert_eq!(
        output,
        serde_json::json!("warehouse.internal".len() + VALUE.len())
    );
    assert!(!format!("{plan:?}").contains(VALUE));
}
