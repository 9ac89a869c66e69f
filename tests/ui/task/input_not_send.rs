use std::marker::PhantomData;
use std::rc::Rc;

use workflow_core::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Handle {
    pub id: u64,
    #[serde(skip)]
    pub local: PhantomData<Rc<()>>,
}

#[task]
fn open(handle: Handle) -> u64 {
    handle.id
}

fn main() {}
