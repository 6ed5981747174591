//! SIGTERM/SIGINT: a flag the pipeline checks between units of work (a
//! check, an e-mail), so a stopped run finishes what it is doing, marks
//! itself `interrupted` and exits 75.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Starts listening for SIGTERM and SIGINT (inside the runtime).
pub fn listen() {
    use tokio::signal::unix::{SignalKind, signal};
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    tracing::warn!("signal received: finishing the current step, then stopping");
                }
            });
        }
    }
}

/// Whether a stop was asked for.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
