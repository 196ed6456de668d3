//! Request bodies that cannot be dragged out forever, and response bodies that keep their
//! request counted as in flight until they are sent.
//!
//! A body is cut (its next read fails, the upload is dropped and its staged bytes removed) when
//! no byte arrives for `stall`, or when it falls below `min_rate` bytes a second on average
//! after a first `stall` of grace: a client that sends one byte every little while passes a
//! plain stall timeout but not the rate. Size is not limited here: JSON routes have their own
//! limit, and artifact uploads stream to the store whatever their size.

use super::io::InFlight;
use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimeouts {
    pub stall: Duration,
    /// Bytes per second, averaged over the body so far; 0 for no minimum.
    pub min_rate: u64,
}

#[derive(Debug)]
pub(crate) struct BodyTimedOut(&'static str);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BodyTimedOut {}

pub(crate) struct TimedBody<B> {
    inner: B,
    timeouts: BodyTimeouts,
    started: Instant,
    last_progress: Instant,
    received: u64,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    pub(crate) fn new(inner: B, timeouts: BodyTimeouts) -> TimedBody<B> {
        let now = Instant::now();
        TimedBody {
            inner,
            timeouts,
            started: now,
            last_progress: now,
            received: 0,
            sleep: None,
        }
    }

    /// The earlier of "no byte for `stall`" and "below the minimum rate", and which it is.
    fn deadline(&self) -> (Instant, &'static str) {
        let stalled = self.last_progress + self.timeouts.stall;
        if self.timeouts.min_rate == 0 {
            return (stalled, "no byte of the request body arrived in time");
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.timeouts.min_rate as f64);
        let too_slow = self.started + self.timeouts.stall + earned;
        if too_slow < stalled {
            (too_slow, "the request body arrived below the minimum rate")
        } else {
            (stalled, "no byte of the request body arrived in time")
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    if !data.is_empty() {
                        this.last_progress = Instant::now();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let (deadline, why) = this.deadline();
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                ready!(sleep.as_mut().poll(cx));
                tracing::info!(
                    received = this.received,
                    "cutting off a request body: {why}"
                );
                Poll::Ready(Some(Err(Box::new(BodyTimedOut(why)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that holds its request's [`InFlight`] guard: the request stops counting
/// when hyper has sent (or dropped) the last byte, not when the handler returned, so a long
/// download is never mistaken for an idle connection.
pub(crate) struct Guarded<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> Guarded<B> {
    pub(crate) fn new(inner: B, in_flight: InFlight) -> Guarded<B> {
        Guarded {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body + Unpin> Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
