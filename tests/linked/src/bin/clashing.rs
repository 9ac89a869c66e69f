//! Problems no single `workflow!` can see: two workflows named alike in different modules, and
//! two workflows that trigger each other. The binary refuses to run anything but `validate`,
//! and the test `main!` generates would fail.

mod first {
    use workflow_core::prelude::*;

    /// One.
    #[task]
    pub fn one() -> u32 {
        1
    }

    workflow! {
        /// Named like `second::load`.
        pub load() {
            value = one();
        }
    }

    workflow! {
        /// Triggered by `pong`, which is triggered by this one.
        #[trigger(after = super::second::pong)]
        pub ping() {
            value = one();
        }
    }
}

mod second {
    use workflow_core::prelude::*;

    use super::first::one;

    workflow! {
        /// Named like `first::load`.
        pub load() {
            value = one();
        }
    }

    workflow! {
        /// Triggered by `ping`.
        #[trigger(after = super::first::ping)]
        pub pong() {
            value = one();
        }
    }
}

workflow_core::main!();
