//! The HTTP server loop. `axum::serve` sets no limits on how long a client may take to send
//! its headers or how many connections it may hold, so a slow-loris client could pin memory
//! and sockets; this loop runs the same router on hyper with those limits:
//!
//! - a new connection must start sending within `header_read_timeout`, and a request's headers
//!   must be complete within it once they start (then the connection is closed);
//! - a request's headers may take at most `MAX_HEADER_BYTES` (larger: 431) and 100 fields;
//! - at most `MAX_CONNECTIONS` connections at once (more wait in the accept queue);
//! - bodies are capped per route (the API at 1 MiB, see `api::MAX_BODY_BYTES`) and must finish
//!   within `BODY_TIMEOUT` (see `startup::router`).
//!
//! On shutdown it stops accepting, lets requests in flight finish (30 s at most), and returns.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub const MAX_HEADER_BYTES: usize = 64 * 1024;
pub const MAX_CONNECTIONS: usize = 10_000;
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(100);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(100)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p?,
            _ = stop.cancelled() => break,
        };
        let (sock, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.cancelled() => break,
        };
        let _ = sock.set_nodelay(true);
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                router.clone().oneshot(req)
            });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // A client that connects and sends nothing is dropped after the header timeout
            // (hyper's own timeout starts only once it has bytes to tell HTTP/1 from HTTP/2).
            let mut first = [0u8; 1];
            if !matches!(
                tokio::time::timeout(header_read_timeout, sock.peek(&mut first)).await,
                Ok(Ok(1))
            ) {
                drop(permit);
                return;
            }
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(sock), service)
                .into_owned();
            let conn = watcher.watch(conn);
            // Errors here are the client's (a reset, a timeout, bad HTTP): nothing to report.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("requests still open 30 s after the shutdown signal were cut off");
        }
    }
    Ok(())
}
