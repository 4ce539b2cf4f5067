//! The stdio shim's server run in-process (the `stdio-shim` process runs the same server; the
//! end-to-end tests in `crates/ordo/tests/attach_runc.rs` run the process): attaches through
//! the socket, stdin claims and `stdinOnce`, resizes, the end of the output, the socket's
//! removal, and sockets whose paths are too long for an address.

use super::*;
use crate::streaming::proto::{StreamOptions, CLOSE, RESIZE, STATUS, STDIN};
use crate::streaming::shim::connect;
use axum::extract::ws::Message;
use futures::{SinkExt, StreamExt};

fn opts(stdin: bool, tty: bool) -> StreamOptions {
    StreamOptions {
        stdin,
        stdout: true,
        stderr: true,
        tty,
        ..Default::default()
    }
}

fn msg(channel: u8, data: &[u8]) -> Message {
    crate::streaming::proto::frame(channel, data)
}

/// Reads messages until `until` is in the text of channels 1 and 2 (or the stream ends):
/// that text, and the status if one came.
async fn read_until(
    rx: &mut (impl futures::Stream<Item = Result<Message, axum::Error>> + Unpin),
    until: &str,
) -> (String, Option<String>) {
    let mut text = String::new();
    let mut status = None;
    let read = async {
        while let Some(Ok(Message::Binary(b))) = rx.next().await {
            match b.first() {
                Some(1 | 2) => text.push_str(&String::from_utf8_lossy(&b[1..])),
                Some(&STATUS) => status = Some(String::from_utf8_lossy(&b[1..]).into_owned()),
                _ => {}
            }
            if !until.is_empty() && text.contains(until) {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .expect("the shim answers");
    (text, status)
}

#[tokio::test]
async fn pipes_through_the_socket_with_stdin_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.log");
    let (in_r, in_w) = super::super::process::pipe().unwrap();
    let (out_r, out_w) = super::super::process::pipe().unwrap();
    let (err_r, err_w) = super::super::process::pipe().unwrap();
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "echo ready >&2; while read l; do echo got-$l; done; echo eof-seen",
        ])
        .stdin(in_r)
        .stdout(out_w)
        .stderr(err_w)
        .spawn()
        .unwrap();
    let streams = Streams::Pipes {
        stdin: Some(in_w),
        stdout: out_r,
        stderr: err_r,
    };
    let socket = serve_here(streams, &log, dir.path(), true, "t").unwrap();
    assert_eq!(socket, dir.path().join(SOCKET));

    // A client without stdin does not claim it.
    let (mut watcher_tx, mut watcher) = connect(&socket, &opts(false, false)).await.unwrap();
    // The first client with stdin has it; when it is done, the container reads end of file.
    let (mut tx, mut rx) = connect(&socket, &opts(true, false)).await.unwrap();
    tx.send(msg(STDIN, b"one\n")).await.unwrap();
    let (text, _) = read_until(&mut rx, "got-one\n").await;
    assert!(text.contains("got-one\n"), "{text:?}");
    // A second client asking for stdin while the first has it gets none: its input is dropped.
    let (mut tx2, mut rx2) = connect(&socket, &opts(true, false)).await.unwrap();
    tx2.send(msg(STDIN, b"ignored\n")).await.unwrap();
    tx.send(msg(STDIN, b"two\n")).await.unwrap();
    let (text, _) = read_until(&mut rx2, "got-two\n").await;
    assert!(!text.contains("ignored"), "{text:?}");
    tx.send(msg(CLOSE, &[STDIN])).await.unwrap();
    let (text, status) = read_until(&mut rx, "").await;
    assert!(text.contains("eof-seen\n"), "{text:?}");
    assert!(status.unwrap().contains("Success"));
    let (wtext, _) = read_until(&mut watcher, "").await;
    assert!(wtext.contains("eof-seen\n"), "{wtext:?}");
    let _ = watcher_tx.close().await;
    child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(" stderr F ready\n") && logged.contains(" stdout F got-one\n"),
        "{logged}"
    );
    // The output ended: the socket goes.
    for _ in 0..200 {
        if !socket.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!socket.exists());
    assert!(connect(&socket, &opts(false, false)).await.is_err());
}

#[tokio::test]
async fn a_terminal_through_a_long_socket_path_with_resize() {
    let dir = tempfile::tempdir().unwrap();
    // Longer than a unix socket address may be.
    let deep = dir.path().join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    let (master, mut child) = super::super::console::spawn_on_pty("read x; echo got-$x; exit 0");
    let size_of = master.try_clone().unwrap();
    let streams = Streams::Tty {
        master,
        stdin: true,
    };
    let log = deep.join("c.log");
    let socket = serve_here(streams, &log, &deep, true, "t").unwrap();
    assert!(socket.as_os_str().len() > 108);
    let (mut tx, rx) = connect(&socket, &opts(true, true)).await.unwrap();
    tx.send(msg(RESIZE, br#"{"Width":123,"Height":45}"#))
        .await
        .unwrap();
    // A terminal stays open when a stdinOnce client is done (as with containerd).
    tx.send(msg(CLOSE, &[STDIN])).await.unwrap();
    drop((tx, rx));
    let (mut tx, mut rx) = connect(&socket, &opts(true, true)).await.unwrap();
    let mut size = (0, 0);
    for _ in 0..200 {
        size = super::super::console::get_size(&size_of).unwrap();
        if size == (123, 45) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(size, (123, 45));
    tx.send(msg(STDIN, b"abc\n")).await.unwrap();
    let (text, status) = read_until(&mut rx, "").await;
    assert!(text.contains("got-abc\r\n"), "{text:?}");
    assert!(status.unwrap().contains("Success"));
    child.wait().unwrap();
}
