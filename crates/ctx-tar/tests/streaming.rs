//! The streaming body: same bytes as `write_tar`, a fixed bound on buffered bytes (a
//! multi-GiB sparse file streams through a counting consumer), errors as stream items,
//! and a producer that stops when the stream is dropped.
#![cfg(feature = "tokio")]

mod common;

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use common::*;
use ctx_tar::{ContextSpec, Error, TarStream, BUFFER_BOUND, CHUNK_SIZE};
use futures_core::Stream;

async fn next(stream: &mut TarStream) -> Option<io::Result<Bytes>> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::test(flavor = "current_thread")]
async fn stream_yields_the_same_bytes_as_write_tar() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "Dockerfile", b"FROM scratch\n");
    write(dir.path(), "big.bin", &vec![42u8; 3 * CHUNK_SIZE + 17]);
    write(dir.path(), "sub/small", b"s");
    symlink(dir.path(), "link", "sub/small");
    let spec = ContextSpec::new(dir.path());
    let mut expected = Vec::new();
    let summary = ctx_tar::write_tar(&spec, &mut expected).expect("write_tar");

    let mut stream = ctx_tar::stream(spec).expect("stream");
    assert_eq!(stream.dockerfile(), Some("Dockerfile"));
    let mut got = Vec::new();
    while let Some(chunk) = next(&mut stream).await {
        let chunk = chunk.expect("chunk");
        assert!(chunk.len() <= CHUNK_SIZE);
        got.extend_from_slice(&chunk);
    }
    assert!(got == expected);
    assert_eq!(stream.summary(), Some(summary));
}

#[tokio::test(flavor = "current_thread")]
async fn a_multi_gib_sparse_file_streams_within_the_bound() {
    const SIZE: u64 = 3 << 30;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = std::fs::File::create(dir.path().join("sparse.img")).expect("create");
    file.set_len(SIZE).expect("set_len");
    drop(file);
    let mut stream = ctx_tar::stream(ContextSpec::new(dir.path())).expect("stream");
    let stats = stream.stats();
    let mut total = 0u64;
    let mut nonzero = 0u64;
    while let Some(chunk) = next(&mut stream).await {
        let chunk = chunk.expect("chunk");
        if total == 0 {
            nonzero = chunk[..512].iter().filter(|&&b| b != 0).count() as u64;
        }
        total += chunk.len() as u64;
        assert!(stats.buffered_bytes() <= BUFFER_BOUND);
    }
    assert_eq!(total, 512 + SIZE + 1024, "header, data, trailer");
    assert!(nonzero > 0, "the first chunk starts with the header");
    assert!(
        stats.peak_buffered_bytes() <= BUFFER_BOUND,
        "peak {}",
        stats.peak_buffered_bytes()
    );
    assert!(
        stats.peak_buffered_bytes() >= CHUNK_SIZE,
        "the producer ran ahead"
    );
    assert_eq!(stream.summary().expect("summary").bytes, SIZE);
}

/// Streams a context whose 4 MiB file is changed by `change` once the producer is
/// blocked in the middle of it; returns the error that ends the stream.
async fn error_after_change(change: impl FnOnce(&std::path::Path)) -> Error {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "data.bin", &vec![1u8; 4 << 20]);
    write(dir.path(), "later.txt", b"later");
    let mut stream = ctx_tar::stream(ContextSpec::new(dir.path())).expect("stream");
    let first = next(&mut stream).await.expect("a chunk").expect("ok");
    assert!(!first.is_empty());
    // The producer cannot be past BUFFER_BOUND + one chunk of a 4 MiB file.
    change(&path);
    loop {
        match next(&mut stream).await {
            Some(Ok(_)) => continue,
            Some(Err(err)) => {
                assert!(
                    next(&mut stream).await.is_none(),
                    "the error ends the stream"
                );
                let inner = err.into_inner().expect("inner error");
                return *inner.downcast::<Error>().expect("a ctx_tar::Error");
            }
            None => panic!("stream ended without an error"),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_file_that_shrinks_while_read_fails_naming_it() {
    let err = error_after_change(|path| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("open")
            .set_len(1 << 20)
            .expect("truncate");
    })
    .await;
    match err {
        Error::SizeChanged {
            path,
            expected,
            actual,
        } => {
            assert!(path.ends_with("data.bin"));
            assert_eq!((expected, actual), (4 << 20, 1 << 20));
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_file_that_grows_while_read_fails_naming_it() {
    let err = error_after_change(|path| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .expect("open");
        file.write_all(b"more").expect("append");
    })
    .await;
    match err {
        Error::SizeChanged {
            path,
            expected,
            actual,
        } => {
            assert!(path.ends_with("data.bin"));
            assert_eq!(expected, 4 << 20);
            assert_eq!(actual, (4 << 20) + 4);
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_file_that_vanishes_fails_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a-big.bin", &vec![1u8; 4 << 20]);
    let gone = write(dir.path(), "b-gone.txt", b"gone");
    let mut stream = ctx_tar::stream(ContextSpec::new(dir.path())).expect("stream");
    next(&mut stream).await.expect("a chunk").expect("ok");
    std::fs::remove_file(&gone).expect("remove");
    let err = loop {
        match next(&mut stream).await.expect("an error before the end") {
            Ok(_) => continue,
            Err(err) => break err,
        }
    };
    let inner = err
        .into_inner()
        .expect("inner")
        .downcast::<Error>()
        .expect("ctx_tar::Error");
    assert!(
        matches!(&*inner, Error::Unreadable { path, .. } if path.ends_with("b-gone.txt")),
        "{inner}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_stream_stops_the_producer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = std::fs::File::create(dir.path().join("huge.img")).expect("create");
    file.set_len(64 << 30).expect("set_len");
    drop(file);
    let mut stream = ctx_tar::stream(ContextSpec::new(dir.path())).expect("stream");
    let stats = stream.stats();
    next(&mut stream).await.expect("a chunk").expect("ok");
    drop(stream);
    // Returns only because the producer noticed (64 GiB would take minutes to produce).
    stats.wait_producer_finished();
    assert!(stats.producer_finished());
    assert_eq!(stats.summary(), None);
}

#[test]
fn setup_errors_come_before_the_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".dockerignore", b"!\n");
    let err = ctx_tar::stream(ContextSpec::new(dir.path())).expect_err("bad rules");
    assert!(matches!(err, Error::Ignore { line: 1, .. }), "{err}");
}

#[test]
fn the_stream_can_be_an_http_body() {
    fn body<T: Stream<Item = io::Result<Bytes>> + Send + Sync + Unpin + 'static>() {}
    body::<TarStream>();
}
