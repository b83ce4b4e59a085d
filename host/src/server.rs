//! Wires the core, the HTTP API and the job worker into one running server;
//! [`node`] does the start-up before it.

mod node;

pub use node::{open_desk, plugin_settings, start, FirstStart, Node, StartError};

mod listen;

use std::future::Future;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::api::{self, ApiSettings};
use crate::desk::SystemDesk;
use crate::plugin::PluginHost;
use crate::worker::{JobMetrics, WorkerSettings};

/// Serves the API on `listener` and runs the job worker until `shutdown`
/// completes; then answers every request that reached the server (see
/// `listen`), finishes the job in hand, and closes the database.
pub async fn run(
    desk: SystemDesk,
    plugins: PluginHost,
    mut settings: ApiSettings,
    worker: WorkerSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_worker, worker_stop) = watch::channel(false);
    let job_metrics = JobMetrics::new();
    settings.registries.push(job_metrics.registry().clone());
    let worker = tokio::spawn(crate::worker::run(desk.clone(), worker, job_metrics, worker_stop));
    let catalog = tokio::spawn({
        let desk = desk.clone();
        async move { desk.follow_catalog_changes().await }
    });
    let app = api::app(desk.desk().clone(), plugins.clone(), settings);
    let served = listen::serve(listener, app, shutdown).await;
    info!("HTTP server stopped; stopping the job worker");
    let _ = stop_worker.send(true);
    let _ = worker.await;
    catalog.abort();
    plugins.flush().await;
    desk.desk().close().await;
    served
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    info!("shutdown requested; finishing in-flight requests");
}
