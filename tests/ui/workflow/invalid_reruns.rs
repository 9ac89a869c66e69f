//! `reruns` is a whole number from 0 to 100, and does not go with `pause`.
use workflow_core::prelude::*;

#[task]
fn load() -> u32 {
    1
}

workflow! {
    #[on_failure(stop, reruns = 1000)]
    too_many() {
        loaded = load();
    }
}

workflow! {
    #[on_failure(stop, reruns = "3")]
    quoted() {
        loaded = load();
    }
}

workflow! {
    #[on_failure(pause, reruns = 3)]
    paused() {
        loaded = load();
    }
}

fn main() {}
