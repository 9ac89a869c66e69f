// Names that differ only in letters outside ASCII stay distinct: nodes, parameters with
// defaults, and their handles.
use workflow_core::prelude::*;

#[task]
fn one(value: u32) -> u32 {
    value
}

workflow! {
    /// Accented names.
    accents(čas: u32 = 4, řas: u32 = 5) {
        čas_uzlu = one(čas);
        řas_uzlu = one(řas);
    }
}

fn main() {
    let run = workflow_core::testing::TestRun::<accents>::new().run();
    assert_eq!(run.output(accents::čas_uzlu), Some(4));
    assert_eq!(run.output(accents::řas_uzlu), Some(5));
}
