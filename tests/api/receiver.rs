//! A real local HTTP receiver for delivery tests: records every request and answers each as
//! the test scripted it (status and headers, a hang, a connection reset), 200 by default.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    WithHeader(u16, &'static str, String),
    /// Wait this long before answering 200 (past a timeout, the client has gone).
    Hang(Duration),
    /// Close the connection at once, with a TCP reset.
    Reset,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub port: u16,
    script: Arc<Mutex<VecDeque<Reply>>>,
    default: Arc<Mutex<Option<Reply>>>,
    got: Arc<Mutex<Vec<Received>>>,
    /// Requests being answered now, and the most at once so far.
    active: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            port: listener.local_addr().unwrap().port(),
            ..Default::default()
        };
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.serve(sock).await });
            }
        });
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers the next requests with these replies, in order, then the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().extend(replies);
    }

    pub fn always(&self, reply: Reply) {
        *self.default.lock().unwrap() = Some(reply);
    }

    /// The most requests this receiver was answering at the same time.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let until = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn serve(&self, mut sock: TcpStream) {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            // Read one request: headers up to the blank line, then content-length bytes.
            let head_end = loop {
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p + 4;
                }
                let mut chunk = [0u8; 8192];
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let mut lines = head.split("\r\n");
            let path = lines
                .next()
                .unwrap_or("")
                .split(' ')
                .nth(1)
                .unwrap_or("")
                .to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let mut chunk = [0u8; 8192];
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body = buf[head_end..head_end + len].to_vec();
            buf.drain(..head_end + len);
            let now_active = self.active.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now_active, Ordering::SeqCst);
            let _answered = Answered(&self.active);
            self.got.lock().unwrap().push(Received {
                path,
                headers,
                body,
                at: Instant::now(),
            });
            let reply = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .or_else(|| self.default.lock().unwrap().clone())
                .unwrap_or(Reply::Status(200));
            let (status, extra) = match reply {
                Reply::Status(s) => (s, None),
                Reply::WithHeader(s, k, v) => (s, Some((k, v))),
                Reply::Hang(d) => {
                    tokio::time::sleep(d).await;
                    (200, None)
                }
                Reply::Reset => {
                    // SO_LINGER 0: closing sends a TCP reset instead of a clean FIN.
                    let std = sock.into_std().unwrap();
                    let _ = socket2::SockRef::from(&std).set_linger(Some(Duration::ZERO));
                    drop(std);
                    return;
                }
            };
            let mut res =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n");
            if let Some((k, v)) = extra {
                res.push_str(&format!("{k}: {v}\r\n"));
            }
            res.push_str("\r\nok");
            if sock.write_all(res.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

/// Counts a request as answered when dropped (after its reply, or when the client has gone).
struct Answered<'a>(&'a AtomicUsize);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
