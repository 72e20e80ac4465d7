//! The connection loop, with replies corked until the client waits for them.
//!
//! pgwire flushes after nearly every message it sends (BindComplete,
//! RowDescription, CommandComplete, ReadyForQuery), and with TCP_NODELAY each
//! flush is a `sendto` that wakes the client. On this kind of machine those
//! wake-ups cost more than the query: a prepared point select made four of
//! them. PostgreSQL buffers replies and flushes at the end of each cycle
//! (with ReadyForQuery, after a Sync or a simple query) and before it waits
//! for input, so this loop does the same: writes go to a buffer, and the
//! buffer reaches the socket after a Sync or Query, when no complete
//! message is waiting to be read, when it grows past [`HIGH_WATER`], or
//! when the connection closes. A pipelining client thus gets each answer
//! as soon as it is ready, even while a later statement waits on a lock.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::messages::PgWireFrontendMessage;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, FramedParts};

/// Buffered reply bytes past which writes go to the socket without waiting
/// for the client to block: bounds memory for big results and COPY TO.
const HIGH_WATER: usize = 64 * 1024;

/// How long a client may take to finish startup and authentication, as in
/// pgwire's own loop.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A stream whose writes are buffered and whose `poll_flush` does nothing;
/// [`Corked::poll_drain`] is the real flush.
pub(crate) struct Corked<S> {
    inner: S,
    out: Vec<u8>,
    /// Bytes of `out` already written to `inner`.
    sent: usize,
}

impl<S: AsyncWrite + Unpin> Corked<S> {
    fn new(inner: S) -> Self {
        Corked { inner, out: Vec::with_capacity(8 * 1024), sent: 0 }
    }

    /// Writes every buffered byte to the socket and flushes it.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.out.clear();
        self.sent = 0;
        // One huge reply must not pin its buffer for the connection's life.
        if self.out.capacity() > 4 * HIGH_WATER {
            self.out = Vec::with_capacity(8 * 1024);
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    async fn drain(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_drain(cx)).await
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Corked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Corked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.out.len() >= HIGH_WATER {
            // Backpressure: a client that stops reading stops the writer here.
            ready!(self.poll_drain(cx))?;
        }
        self.out.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves one client connection until it ends: pgwire's message loop, with
/// the socket corked.
pub(crate) async fn serve<H: PgWireServerHandlers>(tcp: TcpStream, handlers: &H) -> io::Result<()> {
    let startup_timeout = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);

    // Answers an SSLRequest or GSSENCRequest with "no" (orbit has no TLS).
    let negotiated = tokio::select! {
        () = &mut startup_timeout => return Ok(()),
        s = negotiate_tls(tcp, None) => s?,
    };
    let Some(plain) = negotiated else {
        return Ok(());
    };
    let old = plain.into_parts();
    let mut parts = FramedParts::new(Corked::new(old.io), old.codec);
    parts.read_buf = old.read_buf;
    parts.write_buf = old.write_buf;
    let mut socket = Framed::from_parts(parts);

    let startup = handlers.startup_handler();
    let simple = handlers.simple_query_handler();
    let extended = handlers.extended_query_handler();
    let copy = handlers.copy_handler();
    let cancel = handlers.cancel_handler();
    let errors = handlers.error_handler();

    loop {
        let msg = match socket.next().now_or_never() {
            Some(msg) => msg,
            None => {
                // Nothing complete to read: the client is waiting for us.
                socket.flush().await?;
                socket.get_mut().drain().await?;
                let starting = matches!(
                    socket.state(),
                    PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress
                );
                if starting {
                    tokio::select! {
                        () = &mut startup_timeout => None,
                        msg = socket.next() => msg,
                    }
                } else {
                    socket.next().await
                }
            }
        };
        let Some(Ok(msg)) = msg else { break };
        // A client that sends Terminate waits for the server to hang up.
        if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let in_extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => msg.is_extended_query(),
        };
        let is_cancel = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
        // The end of a cycle: ReadyForQuery goes out now.
        let cycle_end = matches!(msg, PgWireFrontendMessage::Sync(_) | PgWireFrontendMessage::Query(_));
        let result = process_message(
            msg,
            &mut socket,
            startup.clone(),
            simple.clone(),
            extended.clone(),
            copy.clone(),
            cancel.clone(),
        )
        .await;
        if let Err(mut e) = result {
            errors.on_error(&socket, &mut e);
            let fatal = e.is_fatal();
            process_error(&mut socket, e, in_extended).await?;
            if fatal {
                break;
            }
        }
        if is_cancel {
            break;
        }
        if cycle_end {
            socket.flush().await?;
            socket.get_mut().drain().await?;
        }
    }
    // Replies to the last messages before the client hung up or was refused.
    socket.flush().await?;
    socket.get_mut().drain().await
}
