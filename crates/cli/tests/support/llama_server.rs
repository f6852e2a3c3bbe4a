//! llama.cpp's real OpenAI-compatible server (llama-cpp-python's `server`, installed by
//! scripts/setup into `$CAIRN_CACHE/servers-venv`) serving the test GGUF on loopback with an
//! API key, started for one test and stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The name the server gives the model.
pub const MODEL: &str = "smollm2";
/// The context window the server runs the model with.
pub const CONTEXT: usize = 4096;

/// The Python of the servers' virtual environment.
pub fn servers_python() -> PathBuf {
    let cache = std::env::var_os("CAIRN_CACHE").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/cairn")
        },
        PathBuf::from,
    );
    let python = cache.join("servers-venv/bin/python");
    assert!(
        python.is_file(),
        "llama.cpp's server is missing at {}: run scripts/setup",
        python.display()
    );
    python
}

/// A loopback port nothing listens on (just freed).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub struct LlamaServer {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl LlamaServer {
    /// Starts the server with `key` as its API key and waits until it answers.
    pub fn start(key: &str) -> Self {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(servers_python())
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(super::generator())
            .args(["--model_alias", MODEL, "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--api_key", key, "--n_ctx"])
            .arg(CONTEXT.to_string())
            .args(["--n_threads", "2"])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut server = LlamaServer { child, port, log };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("llama.cpp's server exited ({status}):\n{}", server.log());
            }
            if server.status("/v1/models", key) == Some(200) {
                return server;
            }
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "llama.cpp's server did not answer within 3 minutes:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stops the server's process where it stands (SIGSTOP): a server that stalls mid-answer,
    /// its connections open and silent.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} failed");
    }

    /// The API's base URL, as Cairn is given it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// What the server printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The HTTP status of a GET, or `None` when nothing answers.
    pub fn status(&self, path: &str, key: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {key}\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
