//! Writes to the stores, one at a time, and what happens when one stops half-way.
//!
//! A write that ends in an error, a panic or a cancellation (its future dropped) may leave
//! the catalog and the two indexes disagreeing. It is then recorded in the [`WriteJournal`]
//! (the data folder's lock file), so that the next open checks and repairs the stores, just
//! as after a crash.

use super::Engine;
use crate::error::CoreError;
use futures::lock::MutexGuard;

/// Where an interrupted write is recorded so that the stores are checked at the next open.
pub trait WriteJournal: Send + Sync {
    /// A write stopped part-way; `what` names it and why, in words (no document text).
    fn write_interrupted(&self, what: &str);
}

/// The engine's writer lock, held for one write. Dropped without [`Write::finish`] seeing
/// success (an early error, a panic unwinding, a cancelled future), it records the write as
/// interrupted.
pub(super) struct Write<'a> {
    _lock: MutexGuard<'a, ()>,
    journal: Option<&'a dyn WriteJournal>,
    name: &'static str,
    outcome: Option<String>,
}

impl Engine {
    /// Takes the writer lock for the write called `name`.
    pub(super) async fn begin_write(&self, name: &'static str) -> Write<'_> {
        Write {
            _lock: self.writer.lock().await,
            journal: self.journal.as_deref(),
            name,
            outcome: Some("it was stopped before it finished".to_string()),
        }
    }

    /// Records interrupted writes in `journal` (the data folder's lock).
    pub fn with_journal(mut self, journal: std::sync::Arc<dyn WriteJournal>) -> Self {
        self.journal = Some(journal);
        self
    }
}

impl Write<'_> {
    /// Ends the write with its result: an error that may have come after something was
    /// written is recorded as an interrupted write.
    pub(super) fn finish<T>(mut self, result: Result<T, CoreError>) -> Result<T, CoreError> {
        self.outcome = match &result {
            Ok(_) => None,
            Err(e) if wrote_nothing(e) => None,
            Err(e) => Some(format!("it failed: {e}")),
        };
        result
    }
}

impl Drop for Write<'_> {
    fn drop(&mut self) {
        let Some(outcome) = self.outcome.take() else {
            return;
        };
        let outcome = if std::thread::panicking() {
            "it panicked".to_string()
        } else {
            outcome
        };
        tracing::warn!(write = self.name, %outcome, "a write was interrupted: the stores are checked at the next open");
        if let Some(journal) = self.journal {
            journal.write_interrupted(&format!("{} was interrupted: {outcome}", self.name));
        }
    }
}

/// Errors raised before a write touches any store (a bad request, an unknown document).
fn wrote_nothing(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::DocumentNotFound(_)
            | CoreError::ChatNotFound(_)
            | CoreError::EmptyQuery
            | CoreError::InvalidRequest(_)
    )
}
