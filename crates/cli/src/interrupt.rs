//! Ctrl-C that stops the work at hand, not the program.
//!
//! `tokio::signal::ctrl_c()` installs its handler only when first polled, so a task spawned
//! to wait on it may not have run yet when the signal comes (both runtime threads busy with
//! an answer), and the default action then kills the process. The handler here is installed
//! before the work starts.

use std::future::Future;
use tokio::task::JoinHandle;

/// A future that resolves at the first Ctrl-C (true) or when signals can no longer be
/// received (false), with its handler installed now.
pub fn ctrl_c() -> std::io::Result<impl Future<Output = bool>> {
    #[cfg(unix)]
    let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    #[cfg(windows)]
    let mut signal = tokio::signal::windows::ctrl_c()?;
    Ok(async move { signal.recv().await.is_some() })
}

/// Installs a Ctrl-C handler now and runs `then` on the first Ctrl-C; abort the returned
/// task when the work is done.
pub fn on_ctrl_c(then: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    let pressed = ctrl_c()?;
    Ok(tokio::spawn(async move {
        if pressed.await {
            then();
        }
    }))
}
