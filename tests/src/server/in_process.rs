//! [`Server::start_in_process`]: the same server as `switchboard serve`, started through
//! `switchboard::server::Node` inside the test process and served on a loopback port.
//! No process spawn and no second runtime: for tests that only talk HTTP (auth matrix,
//! bad input), where starting the binary would be most of their time.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use switchboard::config::{CommonArgs, Config, ServeArgs};
use switchboard::server::Node;

use super::{Server, ServerOptions};
use crate::backend::Backend;

/// The running in-process node: its stop signal and its task.
pub(super) struct InProcess {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

impl Server {
    /// Starts a server on a fresh data directory / database in this process
    /// (the same start-up and router as the binary) and waits until it listens.
    pub async fn start_in_process(backend: Backend) -> Server {
        let mut server = Server::prepare(backend, ServerOptions::default(), None);
        server.starts = 1;
        let common =
            CommonArgs { data_dir: Some(server.data_dir()), database_url: server.database_url().map(str::to_string), ..Default::default() };
        let serve = ServeArgs { job_poll_interval_ms: Some(200), ..Default::default() };
        let config = Config::resolve(&common, &serve).expect("in-process test configuration");
        let node = Node::prepare(config).await.unwrap_or_else(|e| panic!("in-process server did not start: {e}"));
        server.admin_token = node.first_start.admin_token.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        server.port = listener.local_addr().expect("local address").port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(err) = node.serve(listener, shutdown).await {
                eprintln!("in-process server stopped with an error: {err}");
            }
        });
        server.in_process = Some(InProcess { stop: Some(stop), task });
        server
    }
}
