//! How a tab's input queue and flood parser ask the event loop to look at the tab again,
//! without importing the loop (which imports them): the loop hands each tab a `Waker` over
//! its own implementation of `Wake`.

use std::sync::Arc;

pub trait Wake: Send + Sync {
    fn wake(&self);
}

/// A cheap, clonable handle on the loop's `Wake` for one tab.
#[derive(Clone)]
pub struct Waker(Arc<dyn Wake>);

impl Waker {
    pub fn new(inner: Arc<dyn Wake>) -> Waker {
        Waker(inner)
    }

    pub fn wake(&self) {
        self.0.wake();
    }
}
