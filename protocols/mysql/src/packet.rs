//! MySQL packet framing: a 3-byte length and a sequence number before each
//! payload, payloads of 16 MiB and more split across packets.
//!
//! Replies are buffered and reach the socket once per command (`flush`),
//! so a result set of many packets costs one write.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The largest payload one packet carries.
const MAX_CHUNK: usize = 0xFF_FFFF;

/// Flush the reply buffer early past this size, so a large result set
/// does not sit in memory whole.
const FLUSH_AT: usize = 64 * 1024;

/// A connection's packets in both directions.
#[derive(Debug)]
pub(crate) struct Packets {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    out: Vec<u8>,
    /// The sequence number of the next packet sent.
    seq: u8,
    /// The largest client message accepted (`max_allowed_packet`).
    max_message: usize,
}

/// A client message too large to accept.
#[derive(Debug)]
pub(crate) struct TooLarge;

impl Packets {
    pub(crate) fn new(reader: OwnedReadHalf, writer: OwnedWriteHalf, max_message: usize) -> Self {
        Packets { reader: BufReader::new(reader), writer, out: Vec::with_capacity(16 * 1024), seq: 0, max_message }
    }

    /// The next client message, joined from its packets; `None` at end of
    /// stream. The reply's sequence numbers continue from its own.
    pub(crate) async fn read(&mut self) -> io::Result<Option<Result<Vec<u8>, TooLarge>>> {
        let mut message = Vec::new();
        let mut too_large = false;
        loop {
            let mut header = [0u8; 4];
            match self.reader.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && message.is_empty() => return Ok(None),
                Err(e) => return Err(e),
            }
            let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            self.seq = header[3].wrapping_add(1);
            if too_large || message.len() + len > self.max_message {
                // Read past it, keeping nothing, so the stream stays in step.
                too_large = true;
                let mut left = len as u64;
                while left > 0 {
                    let n = tokio::io::copy(&mut (&mut self.reader).take(left), &mut tokio::io::sink()).await?;
                    if n == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    left -= n;
                }
            } else {
                let start = message.len();
                message.resize(start + len, 0);
                self.reader.read_exact(&mut message[start..]).await?;
            }
            if len < MAX_CHUNK {
                return Ok(Some(if too_large { Err(TooLarge) } else { Ok(message) }));
            }
        }
    }

    /// Queues one message, split into packets as needed.
    pub(crate) async fn write(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        loop {
            let chunk = &rest[..rest.len().min(MAX_CHUNK)];
            let len = chunk.len();
            self.out.extend_from_slice(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, self.seq]);
            self.out.extend_from_slice(chunk);
            self.seq = self.seq.wrapping_add(1);
            rest = &rest[len..];
            if len < MAX_CHUNK {
                break;
            }
        }
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends what is queued.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}
