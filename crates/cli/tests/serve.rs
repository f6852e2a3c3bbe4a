//! `cairn serve` on a real library with the real SmolLM2 GGUF, asked by the official `openai`
//! Python client (streamed and whole answers with their `cairn` citations, a refusal, a wrong
//! token), and over plain HTTP for search, documents, the token and the Host check.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use support::llama_server::servers_python;
use support::{squad, squeeze, two_articles, Cairn};

const TOKEN: &str = "cairn-serve-test-token-7c1d";

/// `cairn serve` on a free port; killed when dropped.
struct Serving {
    child: Child,
    port: u16,
}

impl Serving {
    fn start(cairn: &Cairn) -> Self {
        let mut child = cairn
            .command()
            .env("CAIRN_TOKEN", TOKEN)
            .args(["serve", "--port", "0", "-k", "3", "--max-tokens", "96"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(port) = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
        else {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("cairn serve did not start: {line:?}\n{stderr}");
        };
        Serving { child, port }
    }

    /// A raw HTTP/1.0 request; the status and the body.
    fn http(&self, method: &str, path: &str, host: &str, token: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn served_library() -> (Cairn, Serving) {
    let cairn = two_articles();
    let serving = Serving::start(&cairn);
    (cairn, serving)
}

fn assert_cited(cairn: &Value) {
    assert_eq!(cairn["refused"], false, "{cairn}");
    let citations = cairn["citations"].as_array().unwrap();
    assert!(
        !citations.is_empty(),
        "the answer is tied to a source: {cairn}"
    );
    for c in citations {
        assert_eq!(c["verified"], true, "{c}");
        let file = std::fs::read_to_string(c["document"].as_str().unwrap()).unwrap();
        assert!(
            squeeze(&file).contains(&squeeze(c["quote"].as_str().unwrap())),
            "{c}"
        );
    }
}

#[test]
fn the_openai_client_gets_cited_answers_streamed_and_whole_and_a_wrong_token_gets_401() {
    let (_cairn, serving) = served_library();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/openai_client.py");
    let out = Command::new(servers_python())
        .arg(script)
        .arg(format!("http://127.0.0.1:{}/v1", serving.port))
        .arg(TOKEN)
        .arg("Which team won Super Bowl 50?")
        .arg("What is the boiling point of liquid nitrogen in kelvin?")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["models"], serde_json::json!(["cairn"]), "{seen}");

    let whole = &seen["whole"];
    assert!(
        !whole["content"].as_str().unwrap().trim().is_empty(),
        "{whole}"
    );
    assert!(whole["usage"]["completion_tokens"].as_u64().unwrap() <= 96);
    assert_cited(&whole["cairn"]);

    let stream = &seen["stream"];
    assert!(
        stream["pieces"].as_u64().unwrap() >= 2,
        "streamed in pieces: {stream}"
    );
    assert!(stream["finish_reason"].is_string(), "{stream}");
    // The citations come after the finish, in a chunk of their own.
    assert_eq!(stream["chunks_after_finish"], 1, "{stream}");
    assert_cited(&stream["cairn"]);
    assert!(
        !stream["content"].as_str().unwrap().trim().is_empty(),
        "{stream}"
    );

    let refused = &seen["refused"];
    assert_eq!(refused["cairn"]["refused"], true, "{refused}");
    assert!(
        refused["content"].as_str().unwrap().contains("do not"),
        "{refused}"
    );
    assert_eq!(refused["cairn"]["citations"], serde_json::json!([]));
    let searched = refused["cairn"]["searched"].as_array().unwrap();
    assert!(searched.iter().any(|s| s == "Normans.md"), "{refused}");

    assert_eq!(seen["wrong_token"]["status"], 401, "{seen}");
}

#[test]
fn search_and_documents_need_the_token_and_a_loopback_host() {
    let (_cairn, serving) = served_library();
    let host = serving.host();
    let (status, body) = serving.http("GET", "/api/v1/documents", &host, TOKEN, "");
    assert_eq!(status, 200, "{body}");
    let documents: Value = serde_json::from_str(&body).unwrap();
    let documents = documents["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 2);
    assert!(
        documents.iter().all(|d| d["state"] == "indexed"),
        "{documents:?}"
    );

    let (status, body) = serving.http(
        "POST",
        "/api/v1/search",
        &host,
        TOKEN,
        r#"{"query": "Who were the Normans?", "k": 3}"#,
    );
    assert_eq!(status, 200, "{body}");
    let results: Value = serde_json::from_str(&body).unwrap();
    let results = results["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 3);
    assert!(
        results[0]["document"]
            .as_str()
            .unwrap()
            .ends_with("Normans.md"),
        "{results:?}"
    );
    assert!(results[0]["text"].as_str().unwrap().contains("Norman"));

    // No token, a wrong one: 401, and nothing of the library in the answer.
    let (status, body) = serving.http("GET", "/api/v1/documents", &host, "", "");
    assert_eq!(status, 401, "{body}");
    let (status, body) = serving.http(
        "GET",
        "/api/v1/documents",
        &host,
        "wrong-token-wrong-token",
        "",
    );
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("Normans"), "{body}");
    // The right token under a foreign Host name (DNS rebinding): 403.
    let rebound = format!("attacker.example:{}", serving.port);
    let (status, body) = serving.http("GET", "/api/v1/documents", &rebound, TOKEN, "");
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("Normans"), "{body}");
    // A request that is not one: a clear 400 in the OpenAI error shape.
    let (status, body) = serving.http(
        "POST",
        "/v1/chat/completions",
        &host,
        TOKEN,
        r#"{"messages": []}"#,
    );
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
}

#[test]
fn the_served_folder_is_locked_against_a_second_writer() {
    let (cairn, _serving) = served_library();
    let (ok, _, stderr) = cairn.run(&["ingest", &squad("Normans.md")]);
    assert!(!ok);
    assert!(
        stderr.contains("another Cairn is using the data folder"),
        "{stderr}"
    );
}
