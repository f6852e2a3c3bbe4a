//! A served model's API key in the system keychain: GNOME Keyring's real Secret Service on a
//! session bus of the test's own (Debian's `gnome-keyring` and `dbus-daemon`, from
//! scripts/setup). `cairn key set` stores the key, `cairn ask` then answers through
//! llama.cpp's real server with no key in the environment, and after `cairn key forget` the
//! server refuses it with a message that says where the key goes. The key never shows.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::llama_server::{LlamaServer, CONTEXT, MODEL};
use support::two_articles;

const KEY: &str = "sk-cairn-keychain-test-93ad1f";

/// A session bus with GNOME Keyring's Secret Service on it, unlocked, in a home of its own;
/// both stopped when dropped.
struct SecretService {
    bus: Child,
    keyring: Child,
    address: String,
    home: tempfile::TempDir,
}

impl SecretService {
    fn start() -> Self {
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is missing: run scripts/setup");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon gave no address");
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring is missing: run scripts/setup");
        // The password of the new login keyring, which --unlock reads from stdin.
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"keychain-test-password").unwrap();
        drop(stdin);
        let service = SecretService {
            bus,
            keyring,
            address,
            home,
        };
        let started = Instant::now();
        while !service.has_secrets() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "GNOME Keyring's Secret Service did not come up on the bus"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        service
    }

    fn has_secrets(&self) -> bool {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListNames",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("org.freedesktop.secrets")
    }

    /// `command` in this session, with no key in its environment.
    fn session(&self, command: &mut Command) {
        command
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.home.path().join("run"))
            .env_remove("CAIRN_API_KEY");
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn said(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_key_kept_in_the_keychain_reaches_the_server_and_a_forgotten_one_does_not() {
    let keychain = SecretService::start();
    let server = LlamaServer::start(KEY);
    let cairn = two_articles();
    let url = server.url();
    let origin = url.trim_end_matches("/v1").to_string();
    let key = |args: &[&str], stdin: &str| {
        let mut command = cairn.command();
        keychain.session(&mut command);
        let mut child = command
            .arg("key")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let ask = || {
        let mut command = cairn.command();
        keychain.session(&mut command);
        command
            .args(["ask", "--generator-url", &url, "--generator-model", MODEL])
            .args(["--context", &CONTEXT.to_string()])
            .args(["--json", "-k", "3", "--max-tokens", "48"])
            .arg("Which team won Super Bowl 50?")
            .output()
            .unwrap()
    };

    let out = key(&["check", &url], "");
    let (stdout, stderr) = said(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("no key is stored for {origin}")),
        "{stdout}{stderr}"
    );

    let out = key(&["set", &url], &format!("{KEY}\n"));
    let (stdout, stderr) = said(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("stored the key for {origin}")),
        "{stdout}"
    );
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));

    // Any path on the same server finds it.
    let out = key(&["check", &format!("{url}/chat/completions")], "");
    let (stdout, stderr) = said(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("a key is stored"), "{stdout}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));

    // The answer comes from the server with the key from the keychain alone.
    let out = ask();
    let (stdout, stderr) = said(&out);
    assert!(out.status.success(), "{stderr}\nserver:\n{}", server.log());
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    let done: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(done["event"], "done", "{stdout}");
    assert_eq!(done["outcome"], "answered", "{done}");

    let out = key(&["forget", &url], "");
    let (stdout, _) = said(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains(&format!("removed the key for {origin}")),
        "{stdout}"
    );

    // Without it the server refuses, and the message says where a key goes.
    let out = ask();
    let (stdout, stderr) = said(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("refused the API key (401)") && stderr.contains("cairn key set"),
        "{stderr}"
    );
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
}
