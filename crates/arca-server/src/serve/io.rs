//! The connection's socket, with the two timeouts that hyper cannot tell apart: the time a
//! client may stay silent between requests (idle keep-alive) and the time it may take to send a
//! request's head once it has started. hyper's own `header_read_timeout` starts when it begins
//! waiting for a head, which on a kept-alive connection is the idle time too, so one timer would
//! have to serve both. Here the connection knows whether a request is in flight (the service
//! counts them, see [`Activity`]) and picks the deadline that applies:
//!
//! - a request in flight: none (the body has its own, see `body.rs`; a handler may take long);
//! - between requests, nothing received yet: the idle timeout (the head timeout before the
//!   first request, so that a connection that never speaks is dropped as soon as a slow one);
//! - the first bytes of a head received: the head timeout from those bytes.
//!
//! A read that passes its deadline fails with `TimedOut`, and hyper closes the connection.

use futures::task::AtomicWaker;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// What the service tells the socket about a connection: how many requests are in flight, and
/// a counter bumped whenever that number changes, so the socket can tell that a new idle
/// stretch has begun.
#[derive(Default)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    changes: AtomicU64,
    /// The socket's read, parked while a request was in flight. hyper may try a read before
    /// the response body is dropped and then wait for the socket alone, so the last request
    /// to finish wakes it to arm the idle timer.
    reader: AtomicWaker,
}

impl Activity {
    pub(crate) fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Counts a request in flight until the returned guard is dropped (with its response body).
    pub(crate) fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changes.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }
}

pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let was = self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changes.fetch_add(1, Ordering::AcqRel);
        if was == 1 {
            self.0.reader.wake();
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadTimeouts {
    pub head: Duration,
    pub idle: Duration,
}

pub(crate) struct TimedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
    timeouts: ReadTimeouts,
    /// `Activity::changes` as last seen: a different value means a new idle stretch.
    seen: u64,
    /// When the current idle stretch began, and whether any request was served before it.
    idle_since: Instant,
    served: bool,
    /// When the first byte of the next head arrived, if it has.
    head_since: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl TimedIo {
    pub(crate) fn new(
        stream: TcpStream,
        activity: Arc<Activity>,
        timeouts: ReadTimeouts,
    ) -> TimedIo {
        let now = Instant::now();
        TimedIo {
            inner: stream,
            activity,
            timeouts,
            seen: 0,
            idle_since: now,
            served: false,
            head_since: None,
            sleep: Box::pin(tokio::time::sleep_until(now + timeouts.head)),
        }
    }

    /// The deadline for the read now pending, or `None` while a request is in flight.
    fn deadline(&mut self) -> Option<Instant> {
        let changes = self.activity.changes.load(Ordering::Acquire);
        if changes != self.seen {
            self.seen = changes;
            self.served = true;
            self.idle_since = Instant::now();
            self.head_since = None;
        }
        if self.activity.is_busy() {
            return None;
        }
        Some(match self.head_since {
            Some(started) => started + self.timeouts.head,
            None if self.served => self.idle_since + self.timeouts.idle,
            None => self.idle_since + self.timeouts.head,
        })
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before
                    && this.head_since.is_none()
                    && this.deadline().is_some()
                {
                    this.head_since = Some(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                this.activity.reader.register(cx.waker());
                let Some(deadline) = this.deadline() else {
                    return Poll::Pending;
                };
                if this.sleep.deadline() != deadline {
                    this.sleep.as_mut().reset(deadline);
                }
                ready!(this.sleep.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client sent no request in time",
                )))
            }
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}
