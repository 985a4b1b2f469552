//! `cargo xtask http-serve --root DIR --listen 127.0.0.1:PORT` (hidden): the test harness's
//! static HTTP server, which `engine up` runs in the background so that the engines can
//! fetch URL build contexts (a tarball, a lone Dockerfile) from 127.0.0.1.
//!
//! HTTP/1.1, one request per connection (`Connection: close`), a thread per connection,
//! std only:
//!
//! - `GET` or `HEAD /<path>`: the regular file `DIR/<path>` (`200`, `Content-Length`,
//!   `application/octet-stream`), else `404`; a path with a `..`, `.` or empty component is
//!   `404` too, so nothing outside DIR is ever served;
//! - `GET /redirect/<path>`: `302 Found` to `/<path>`, for tests of redirects;
//! - any other method: `405`.
//!
//! Each request is logged to stderr as `METHOD PATH STATUS`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

/// The server's command line.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// The directory served.
    pub root: PathBuf,
    /// The address to listen on, `127.0.0.1:<port>`.
    pub listen: String,
}

const USAGE: &str = "usage: cargo xtask http-serve --root DIR --listen 127.0.0.1:PORT";

impl Options {
    /// Parses `--root DIR --listen ADDR` (also `--name=value`).
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut root = None;
        let mut listen = None;
        let mut i = 0;
        while i < args.len() {
            let (name, value) = match args[i].split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    i += 1;
                    let value = args
                        .get(i)
                        .ok_or_else(|| format!("{} needs a value\n{USAGE}", args[i - 1]))?;
                    (args[i - 1].clone(), value.clone())
                }
            };
            match name.as_str() {
                "--root" => root = Some(PathBuf::from(value)),
                "--listen" => listen = Some(value),
                other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
            }
            i += 1;
        }
        Ok(Options {
            root: root.ok_or_else(|| format!("--root is missing\n{USAGE}"))?,
            listen: listen.ok_or_else(|| format!("--listen is missing\n{USAGE}"))?,
        })
    }
}

/// Runs the server until it is killed.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    let listener = TcpListener::bind(&options.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    eprintln!(
        "http-serve: serving {} on http://{}",
        options.root.display(),
        options.listen
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = options.root.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &root) {
                eprintln!("http-serve: {e}");
            }
        });
    }
    Ok(())
}

/// What a request is answered with.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// `200` with the file at this path.
    File(PathBuf),
    /// `302 Found` to this location.
    Redirect(String),
    /// `404 Not Found`.
    NotFound,
    /// `405 Method Not Allowed`.
    MethodNotAllowed,
}

/// The answer to `METHOD TARGET` for the directory `root`.
pub fn answer(root: &Path, method: &str, target: &str) -> Answer {
    if method != "GET" && method != "HEAD" {
        return Answer::MethodNotAllowed;
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let Some(path) = path.strip_prefix('/') else {
        return Answer::NotFound;
    };
    if let Some(rest) = path.strip_prefix("redirect/") {
        return Answer::Redirect(format!("/{rest}"));
    }
    let components: Vec<&str> = path.split('/').collect();
    if components.iter().any(|c| matches!(*c, "" | "." | "..")) {
        return Answer::NotFound;
    }
    let file = components.iter().fold(root.to_path_buf(), |p, c| p.join(c));
    if file.is_file() {
        Answer::File(file)
    } else {
        Answer::NotFound
    }
}

fn serve(stream: TcpStream, root: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut out = reader.into_inner();
    let answer = answer(root, method, target);
    let status = match &answer {
        Answer::File(path) => {
            let mut file = File::open(path)?;
            let length = file.metadata()?.len();
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
            )?;
            if method == "GET" {
                io::copy(&mut file, &mut out)?;
            }
            200
        }
        Answer::Redirect(location) => {
            write!(
                out,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            302
        }
        Answer::NotFound => {
            write!(
                out,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            404
        }
        Answer::MethodNotAllowed => {
            write!(
                out,
                "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            405
        }
    };
    out.flush()?;
    eprintln!("{method} {target} {status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_both_forms() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let expected = Options {
            root: PathBuf::from("/srv"),
            listen: "127.0.0.1:1".into(),
        };
        assert_eq!(
            Options::parse(&args(&["--root", "/srv", "--listen", "127.0.0.1:1"])).unwrap(),
            expected
        );
        assert_eq!(
            Options::parse(&args(&["--root=/srv", "--listen=127.0.0.1:1"])).unwrap(),
            expected
        );
        assert!(Options::parse(&args(&["--root", "/srv"]))
            .unwrap_err()
            .starts_with("--listen is missing"));
    }

    #[test]
    fn serves_files_under_the_root_only_and_redirects() {
        let dir = std::env::temp_dir().join(format!("xtask-http-serve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.tar"), "a").unwrap();
        assert_eq!(
            answer(&dir, "GET", "/sub/a.tar?x=1"),
            Answer::File(dir.join("sub/a.tar"))
        );
        assert_eq!(
            answer(&dir, "HEAD", "/sub/a.tar"),
            Answer::File(dir.join("sub/a.tar"))
        );
        for outside in [
            "/../etc/passwd",
            "/sub/../sub/a.tar",
            "/sub//a.tar",
            "/sub",
            "x",
            "/nope",
        ] {
            assert_eq!(answer(&dir, "GET", outside), Answer::NotFound, "{outside}");
        }
        assert_eq!(
            answer(&dir, "GET", "/redirect/sub/a.tar"),
            Answer::Redirect("/sub/a.tar".into())
        );
        assert_eq!(answer(&dir, "POST", "/sub/a.tar"), Answer::MethodNotAllowed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
