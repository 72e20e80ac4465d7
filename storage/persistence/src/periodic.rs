//! Background work on a timer, stopped cleanly: the memory provider's
//! backups, the composite provider's copies and health checks.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A task running a job every interval until stopped.
#[derive(Debug)]
pub(crate) struct Periodic {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Periodic {
    /// Runs `job` every `every`, first after one interval. A slow job
    /// delays the next run rather than piling runs up.
    pub(crate) fn spawn<F, Fut>(every: Duration, mut job: F) -> Periodic
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            let mut timer = tokio::time::interval(every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer.tick().await;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = timer.tick() => job().await,
                }
            }
        });
        Periodic { cancel, task }
    }

    /// Stops the task, waiting for a run in progress to finish.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}
