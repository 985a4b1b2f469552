//! The streaming body: the tar produced on a thread of its own while it is consumed, with
//! a fixed bound on the bytes waiting between producer and consumer.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::spec::Compression;
use crate::{archive, plan, ContextSpec, Error, Summary};

/// Size of each chunk the stream yields (the last one may be shorter).
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks that may wait in the channel for the consumer.
pub const CHANNEL_CHUNKS: usize = 8;
/// The most tar bytes ever held between producer and consumer: the chunks in the channel,
/// the one being filled (or waiting to be sent), and the one just received, which the
/// consumer's side accounts for only after the channel has freed its slot (so the
/// producer may already be filling the next one).
pub const BUFFER_BOUND: usize = (CHANNEL_CHUNKS + 2) * CHUNK_SIZE;

/// Starts producing the tar of `spec` and returns it as a stream of chunks.
///
/// The spec is resolved first, so a missing context or Dockerfile and invalid ignore rules
/// are returned here, before any byte. Later errors (a file that cannot be read or changes
/// size) end the stream with an `io::Error` whose inner error is the [`Error`]
/// (`err.get_ref()` and `downcast_ref::<ctx_tar::Error>()`). Dropping the stream stops the
/// producer at its next chunk.
pub fn stream(spec: ContextSpec) -> Result<TarStream, Error> {
    let plan = Arc::new(plan::resolve(&spec)?);
    let dockerfile = plan.dockerfile_name.clone();
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let stats = StreamStats::default();
    let sink = ChunkSink {
        tx: tx.clone(),
        chunk: Vec::with_capacity(CHUNK_SIZE),
        stats: stats.clone(),
    };
    let producer_stats = stats.clone();
    let compression = spec.compression;
    std::thread::Builder::new()
        .name("ctx-tar".into())
        .spawn(move || {
            // However the producer ends, waiters learn that it stopped.
            let _finished = FinishOnDrop(producer_stats.clone());
            let run = std::panic::AssertUnwindSafe(|| produce(plan, sink, compression));
            match std::panic::catch_unwind(run) {
                Ok(Ok(summary)) => {
                    *producer_stats
                        .inner
                        .summary
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(summary);
                }
                Ok(Err(Error::Write { .. })) if tx.is_closed() => {}
                Ok(Err(err)) => {
                    let _ = tx.blocking_send(Err(io::Error::other(err)));
                }
                Err(_) => {
                    let panicked = io::Error::other("the ctx-tar producer panicked");
                    let _ = tx.blocking_send(Err(panicked));
                }
            }
        })
        .map_err(|source| Error::Write { source })?;
    Ok(TarStream {
        rx,
        stats,
        dockerfile,
    })
}

fn produce(
    plan: Arc<plan::Plan>,
    mut sink: ChunkSink,
    compression: Compression,
) -> Result<Summary, Error> {
    let summary = match compression {
        Compression::None => archive::write(plan, &mut sink)?,
        Compression::Gzip => {
            let mut gz = crate::gzip(&mut sink);
            let summary = archive::write(plan, &mut gz)?;
            gz.finish().map_err(archive::write_error)?;
            summary
        }
    };
    sink.send_chunk().map_err(archive::write_error)?;
    Ok(summary)
}

/// The tar of a context as a `Stream` of `Bytes` chunks, produced while it is consumed.
#[derive(Debug)]
pub struct TarStream {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    stats: StreamStats,
    dockerfile: Option<String>,
}

impl TarStream {
    /// The Dockerfile's name in the archive (the build's `dockerfile` parameter).
    pub fn dockerfile(&self) -> Option<&str> {
        self.dockerfile.as_deref()
    }

    /// A handle on the producer's counters, usable after the stream is dropped.
    pub fn stats(&self) -> StreamStats {
        self.stats.clone()
    }

    /// The summary, once the whole archive has been produced.
    pub fn summary(&self) -> Option<Summary> {
        self.stats.summary()
    }
}

impl futures_core::Stream for TarStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.stats
                .inner
                .buffered
                .fetch_sub(chunk.len(), Ordering::SeqCst);
        }
        polled
    }
}

/// Marks the producer as stopped when dropped (also on panic).
struct FinishOnDrop(StreamStats);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Counters shared by the producer and the consumer.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    buffered: AtomicUsize,
    peak: AtomicUsize,
    summary: Mutex<Option<Summary>>,
    finished: Mutex<bool>,
    finished_changed: Condvar,
}

impl StreamStats {
    /// Tar bytes produced but not yet taken by the consumer.
    pub fn buffered_bytes(&self) -> usize {
        self.inner.buffered.load(Ordering::SeqCst)
    }

    /// The most [`StreamStats::buffered_bytes`] ever reached; never above [`BUFFER_BOUND`].
    pub fn peak_buffered_bytes(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    /// The summary, once the whole archive has been produced.
    pub fn summary(&self) -> Option<Summary> {
        self.inner
            .summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the producer thread has stopped (done, failed, or the stream was dropped).
    pub fn producer_finished(&self) -> bool {
        *self
            .inner
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until the producer thread has stopped.
    pub fn wait_producer_finished(&self) {
        let mut finished = self
            .inner
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while !*finished {
            finished = self
                .inner
                .finished_changed
                .wait(finished)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    fn finish(&self) {
        *self
            .inner
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = true;
        self.inner.finished_changed.notify_all();
    }

    fn add(&self, n: usize) {
        let now = self.inner.buffered.fetch_add(n, Ordering::SeqCst) + n;
        self.inner.peak.fetch_max(now, Ordering::SeqCst);
    }
}

/// Collects written bytes into chunks and sends each full chunk, blocking while the
/// channel is full.
struct ChunkSink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    chunk: Vec<u8>,
    stats: StreamStats,
}

impl ChunkSink {
    fn send_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_SIZE));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the tar stream was dropped"))
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.chunk.len() == CHUNK_SIZE {
            self.send_chunk()?;
        }
        let n = data.len().min(CHUNK_SIZE - self.chunk.len());
        self.chunk.extend_from_slice(&data[..n]);
        self.stats.add(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
