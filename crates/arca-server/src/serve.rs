//! The HTTP server loop: accepting connections, the limits that keep slow, idle or hostile
//! clients from holding the server, and graceful shutdown.
//!
//! `axum::serve` has none of these limits (no header, idle or body timeout, no connection cap),
//! so a thousand connections that each send half a request line exhausted the process's file
//! descriptors and nobody else got in. This loop drives hyper's connections itself:
//!
//! - every socket is a [`io::TimedIo`] (head and idle timeouts) and every request body a
//!   [`body::TimedBody`] (stall and minimum-rate timeouts);
//! - at most `max_connections` are open at once. A connection past the cap makes room by
//!   closing the oldest connection that has no request in flight (a slow or idle one: an
//!   attacker's half-sent heads are the first to go, and a client with work in progress is never
//!   cut); when every connection is busy, the newcomer gets a 503 and is closed. Either way the
//!   listener keeps accepting, so `/health` stays reachable under a flood;
//! - on shutdown it stops accepting, asks every connection to finish its in-flight requests and
//!   close, and after the grace period drops what is left (a cut upload removes its staged
//!   bytes, see `arca_artifacts::StagedFile`).

pub(crate) mod body;
pub(crate) mod io;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use io::{Activity, ReadTimeouts, TimedIo};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The connection limits of `arca server`; each is a flag (see `crates/arca/src/server.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a request's head (request line and headers) from its first byte, and
    /// for the first request after the connection opens.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request between two requests.
    pub idle_timeout: Duration,
    /// A request body is cut when no byte arrives for this long.
    pub body_read_timeout: Duration,
    /// ... or when, after `body_read_timeout`, it averages fewer bytes a second; 0: no minimum.
    pub body_min_rate: u64,
    /// Connections open at once.
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may run before they are cut.
    pub shutdown_grace: Duration,
    /// HTTP/2 (h2c): streams open at once on one connection.
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2 (h2c): the largest header list a request may send, in bytes.
    pub h2_max_header_list_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            body_min_rate: 1024,
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(30),
            h2_max_concurrent_streams: 100,
            h2_max_header_list_size: 64 * 1024,
        }
    }
}

/// The open connections, oldest first, each with whether it is busy and how to close it.
#[derive(Default)]
struct Connections {
    open: Mutex<BTreeMap<u64, (Arc<Activity>, CancellationToken)>>,
}

impl Connections {
    fn len(&self) -> usize {
        self.open.lock().unwrap().len()
    }

    /// Closes the oldest connection without a request in flight; false if every one is busy.
    /// It leaves the list at once, so that the next call picks another.
    fn evict_one(&self) -> bool {
        let mut open = self.open.lock().unwrap();
        let idle = open
            .iter()
            .find(|(_, (activity, _))| !activity.is_busy())
            .map(|(id, _)| *id);
        match idle.and_then(|id| open.remove(&id)) {
            Some((_, close)) => {
                close.cancel();
                true
            }
            None => false,
        }
    }
}

/// Answer to a connection past the cap when every open one is busy: written straight to the
/// socket without reading the request, so it costs nothing but the accept.
static BUSY_RESPONSE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = r#"{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "The server is at its connection limit; try again shortly."}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Serves `router` on `listener` until `shutdown` resolves, then drains as [`Limits`] says.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // TimedIo enforces head and idle timeouts; hyper's timer would conflate them.
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(limits.h2_max_header_list_size)
        .max_pending_accept_reset_streams(20)
        .keep_alive_interval(Some(limits.idle_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let connections = Arc::new(Connections::default());
    let draining = CancellationToken::new();
    let cut = CancellationToken::new();
    // Every connection task holds a sender; when all are gone, `recv` returns None.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    let read_timeouts = ReadTimeouts {
        head: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    let body_timeouts = body::BodyTimeouts {
        stall: limits.body_read_timeout,
        min_rate: limits.body_min_rate,
    };
    let sockets = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut next_id = 0u64;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors (or another transient failure): close an idle
                    // connection to free one, and pause so the loop does not spin.
                    tracing::warn!(error = %e, "accept failed");
                    connections.evict_one();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        // A permit per open socket, released when its task has dropped the socket: the cap
        // counts file descriptors, not connections still listed.
        let permit = match Arc::clone(&sockets).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) if connections.evict_one() => {
                // The evicted task closes its socket as soon as it runs.
                match tokio::time::timeout(
                    Duration::from_secs(1),
                    Arc::clone(&sockets).acquire_owned(),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        let _ = stream.try_write(&BUSY_RESPONSE);
                        continue;
                    }
                }
            }
            Err(_) => {
                let _ = stream.try_write(&BUSY_RESPONSE);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        let activity = Arc::new(Activity::default());
        let close = CancellationToken::new();
        connections
            .open
            .lock()
            .unwrap()
            .insert(id, (Arc::clone(&activity), close.clone()));
        tokio::spawn(serve_connection(
            stream,
            Arc::clone(&builder),
            router.clone(),
            activity,
            (read_timeouts, body_timeouts),
            [close, draining.clone(), cut.clone()],
            (Arc::clone(&connections), id, alive.clone(), permit),
        ));
    }
    drop(listener);
    drop(alive);
    let open = connections.len();
    tracing::info!(
        open,
        grace_s = limits.shutdown_grace.as_secs_f64(),
        "stopped accepting; finishing in-flight requests"
    );
    draining.cancel();
    if tokio::time::timeout(limits.shutdown_grace, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "grace period over: cutting the requests still running"
        );
        cut.cancel();
        all_closed.recv().await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve_connection(
    stream: TcpStream,
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    activity: Arc<Activity>,
    (read_timeouts, body_timeouts): (ReadTimeouts, body::BodyTimeouts),
    [close, draining, cut]: [CancellationToken; 3],
    (connections, id, _alive, _permit): (
        Arc<Connections>,
        u64,
        mpsc::Sender<()>,
        tokio::sync::OwnedSemaphorePermit,
    ),
) {
    // The client's address is part of the actor an anonymous change is recorded under.
    let peer = stream.peer_addr().ok();
    let io = TokioIo::new(TimedIo::new(stream, Arc::clone(&activity), read_timeouts));
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let in_flight = activity.start();
        if let Some(peer) = peer {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        let req = req.map(|incoming| Body::new(body::TimedBody::new(incoming, body_timeouts)));
        let router = router.clone();
        async move {
            let response = router.oneshot(req).await?;
            Ok::<_, std::convert::Infallible>(
                response.map(|b| Body::new(body::Guarded::new(b, in_flight))),
            )
        }
    });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining_started = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                break;
            }
            () = close.cancelled() => break,
            () = cut.cancelled() => break,
            () = draining.cancelled(), if !draining_started => {
                draining_started = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    connections.open.lock().unwrap().remove(&id);
    // `conn`, which owns the socket, is a local: it drops before `_permit`, a parameter.
}
