//! Cancelling long work (an answer being generated) from another task.

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cancels the work its [`Cancel`] was handed to. Dropping the handle does not cancel.
#[derive(Debug)]
pub struct CancelHandle {
    flag: Arc<AtomicBool>,
    tx: Option<oneshot::Sender<()>>,
}

impl CancelHandle {
    pub fn cancel(mut self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(tx) = self.tx.take() {
            // The work may already have ended; then there is nothing to wake.
            let _ = tx.send(());
        }
    }
}

/// The side of a cancellation the work watches.
#[derive(Debug, Clone)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    rx: Option<Shared<oneshot::Receiver<()>>>,
}

impl Cancel {
    /// A pair: give the [`Cancel`] to the work, keep the handle.
    pub fn pair() -> (CancelHandle, Cancel) {
        let (tx, rx) = oneshot::channel();
        let flag = Arc::new(AtomicBool::new(false));
        (
            CancelHandle {
                flag: Arc::clone(&flag),
                tx: Some(tx),
            },
            Cancel {
                flag,
                rx: Some(rx.shared()),
            },
        )
    }

    /// Work that is never cancelled.
    pub fn never() -> Cancel {
        Cancel {
            flag: Arc::new(AtomicBool::new(false)),
            rx: None,
        }
    }

    /// Resolves once the handle cancels; never if the handle is dropped instead.
    pub async fn cancelled(&self) {
        match &self.rx {
            Some(rx) if rx.clone().await.is_ok() => {}
            _ => futures::future::pending::<()>().await,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_resolves_and_a_dropped_handle_does_not() {
        let (handle, cancel) = Cancel::pair();
        assert!(!cancel.is_cancelled());
        handle.cancel();
        assert!(cancel.is_cancelled());
        cancel.cancelled().await;

        let (handle, cancel) = Cancel::pair();
        drop(handle);
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), cancel.cancelled()).await;
        assert!(waited.is_err(), "a dropped handle must not cancel");
        assert!(!cancel.is_cancelled());
    }
}
