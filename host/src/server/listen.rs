//! The HTTP listener loop: serves each connection with HTTP/1.1 and, on
//! shutdown, answers every request that reached the server before it stops.
//!
//! `axum::serve` drops two kinds of requests at a graceful stop: connections
//! the kernel had accepted but the loop had not yet taken are reset when the
//! listener closes, and a connection taken but not yet read (its protocol
//! still being detected) is closed without an answer. Here the listen queue
//! is drained before the listener closes, and a connection that has sent
//! nothing yet may still send its one request (within
//! [`HEADER_READ_TIMEOUT`]), which is answered with `Connection: close`
//! (hyper alone would close it unanswered, its request unread in the socket).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use tracing::{debug, warn};

/// How long a client may take to send a request's headers (a silent
/// connection, or an idle keep-alive one, is closed after it).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting and returns once every connection has finished.
pub(crate) async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => spawn_connection(&mut connections, tcp, app.clone(), stopping.clone()),
                Err(err) => {
                    // E.g. out of file descriptors: wait a little rather than spin.
                    warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Connections already in the listen queue would be reset when the listener
    // closes: take them too (non-blocking, straight from the socket).
    let listener = listener.into_std()?;
    loop {
        match listener.accept() {
            Ok((tcp, _)) => {
                tcp.set_nonblocking(true)?;
                spawn_connection(&mut connections, TcpStream::from_std(tcp)?, app.clone(), stopping.clone());
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) => {
                warn!(error = %err, "could not accept a queued connection");
                break;
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection; on shutdown it finishes the request in hand and
/// closes. A connection whose first request has not been read yet (hyper
/// would close it unanswered) is left to send it, for at most
/// [`HEADER_READ_TIMEOUT`], and that request is answered with
/// `Connection: close`.
fn spawn_connection(connections: &mut JoinSet<()>, tcp: TcpStream, app: Router, mut stopping: watch::Receiver<bool>) {
    connections.spawn(async move {
        let (started, mut first_request) = watch::channel(false);
        let started = Arc::new(started);
        let app = app.map_request(move |req: Request<Incoming>| {
            started.send_replace(true);
            req
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app));
        tokio::pin!(conn);
        let stop = async {
            let _ = stopping.wait_for(|stop| *stop).await;
            // Wait for the first request only if none was read yet; a sender
            // gone (the connection ended) ends the wait too.
            let _ = tokio::time::timeout(HEADER_READ_TIMEOUT, first_request.wait_for(|started| *started)).await;
        };
        tokio::pin!(stop);
        let mut asked_to_stop = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(err) = result {
                        debug!(error = %err, "connection ended with an error");
                    }
                    return;
                }
                () = &mut stop, if !asked_to_stop => {
                    asked_to_stop = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    });
}
