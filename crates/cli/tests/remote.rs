//! `cairn ask` with a served model: the answer comes from llama.cpp's real OpenAI-compatible
//! server (llama-cpp-python's, serving the SmolLM2 test GGUF with an API key), while retrieval,
//! citations and chats stay with Cairn. A wrong key, a dead endpoint, a server that stalls
//! mid-answer and Ctrl-C mid-stream.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::llama_server::{free_port, LlamaServer, CONTEXT, MODEL};
use support::{after_first_token, interrupt_after_first_token, squeeze, two_articles, Cairn};

const KEY: &str = "sk-cairn-test-5f1e9c0a7b";

/// `cairn ask` on the served model at `url`, with `key` in CAIRN_API_KEY.
fn ask_remote(cairn: &Cairn, url: &str, key: &str, extra: &[&str]) -> std::process::Command {
    let mut command = cairn.command();
    command
        .env("CAIRN_API_KEY", key)
        .args(["ask", "--generator-url", url, "--generator-model", MODEL])
        .args(["--context", &CONTEXT.to_string()])
        .args(extra);
    command
}

#[test]
fn a_served_model_streams_a_grounded_answer_whose_citations_are_verified() {
    let server = LlamaServer::start(KEY);
    let cairn = two_articles();
    let out = ask_remote(
        &cairn,
        &server.url(),
        KEY,
        &[
            "--json",
            "-k",
            "3",
            "--max-tokens",
            "96",
            "Which team won Super Bowl 50?",
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\nserver:\n{}", server.log());
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    kinds.dedup();
    assert_eq!(kinds, ["started", "retrieved", "token", "done"], "{stdout}");
    let tokens = events.iter().filter(|e| e["event"] == "token").count();
    assert!(tokens >= 2, "the answer streams: {tokens} token events");
    let sources = events[1]["sources"].as_array().unwrap();
    let done = events.last().unwrap();
    assert_eq!(done["outcome"], "answered", "{done}");
    assert!(done["timings"]["generated_tokens"].as_u64().unwrap() <= 96);
    let citations = done["citations"].as_array().unwrap();
    assert!(
        !citations.is_empty(),
        "the answer is tied to a source: {done}"
    );
    for citation in citations {
        assert_eq!(citation["verified"], true, "{citation}");
        let n = citation["n"].as_u64().unwrap();
        assert!(sources.iter().any(|s| s["n"].as_u64() == Some(n)));
        let file = std::fs::read_to_string(citation["document_path"].as_str().unwrap()).unwrap();
        let quote = citation["quote"].as_str().unwrap();
        assert!(squeeze(&file).contains(&squeeze(quote)), "{quote}");
    }
    // The server's words, as streamed, are the answer kept in the chat.
    let streamed: String = events
        .iter()
        .filter(|e| e["event"] == "token")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(!streamed.trim().is_empty());
    let chat = events[0]["chat_id"].as_i64().unwrap().to_string();
    let messages = cairn.json(&["chats", &chat, "--json"]);
    let last = messages.as_array().unwrap().last().unwrap();
    assert_eq!(last["content"], done["answer"]);
    assert!(!messages.to_string().contains(KEY));
}

#[test]
fn a_wrong_key_is_refused_clearly_without_showing_either_key() {
    let server = LlamaServer::start(KEY);
    let cairn = two_articles();
    let wrong = "sk-wrong-0d9f3b2a61";
    let out = ask_remote(
        &cairn,
        &server.url(),
        wrong,
        &["Which team won Super Bowl 50?"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("refused the API key (401)"), "{stderr}");
    assert!(stderr.contains("CAIRN_API_KEY"), "{stderr}");
    assert!(!stderr.contains(wrong) && !stderr.contains(KEY), "{stderr}");
    // The refused question is not kept as an answer.
    let chats = cairn.json(&["chats", "--json"]);
    for chat in chats.as_array().unwrap() {
        let id = chat["id"].as_i64().unwrap().to_string();
        let messages = cairn.json(&["chats", &id, "--json"]);
        assert!(
            messages
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["outcome"] != "answered"),
            "{messages}"
        );
    }
}

#[test]
fn a_dead_endpoint_fails_clearly_within_seconds() {
    let cairn = two_articles();
    let url = format!("http://127.0.0.1:{}/v1", free_port());
    let started = Instant::now();
    let out = ask_remote(&cairn, &url, KEY, &["Which team won Super Bowl 50?"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot be reached"), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn ctrl_c_mid_stream_stops_the_served_answer_and_keeps_what_was_said() {
    let server = LlamaServer::start(KEY);
    let cairn = two_articles();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = ask_remote(
        &cairn,
        &server.url(),
        KEY,
        &[
            "--json",
            "-k",
            "2",
            "--max-tokens",
            "400",
            "Tell me everything about the Normans and their conquests in great detail.",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(stderr.reopen().unwrap())
    .spawn()
    .unwrap();
    let seen = interrupt_after_first_token(&mut child, stderr.path());
    let done = seen.last().unwrap();
    assert_eq!(done["event"], "done", "{seen:?}");
    assert_eq!(done["stop"], "cancelled");
    assert_eq!(done["outcome"], "cancelled");
    assert!(done["timings"]["generated_tokens"].as_u64().unwrap() < 400);
    let chat = seen[0]["chat_id"].as_i64().unwrap().to_string();
    let messages = cairn.json(&["chats", &chat, "--json"]);
    let last = messages.as_array().unwrap().last().unwrap();
    assert_eq!(last["outcome"], "cancelled");
    assert_eq!(last["content"], done["answer"]);

    // The closed stream freed the server: the next question is answered.
    let out = ask_remote(
        &cairn,
        &server.url(),
        KEY,
        &[
            "--json",
            "--max-tokens",
            "16",
            "Which team won Super Bowl 50?",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let done: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(done["event"], "done");
    assert_ne!(done["stop"], "cancelled");
}

#[test]
fn a_served_model_that_stalls_mid_answer_ends_the_answer_with_an_error_and_keeps_what_was_said() {
    let server = LlamaServer::start(KEY);
    let cairn = two_articles();
    let mut child = ask_remote(
        &cairn,
        &server.url(),
        KEY,
        &[
            "--json",
            "--generator-idle-timeout",
            "3",
            "-k",
            "2",
            "--max-tokens",
            "400",
            "Tell me everything about the Normans and their conquests in great detail.",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The server stops dead with the connection open, as a hung GPU box does.
    let mut frozen = None;
    let seen = after_first_token(&mut child, |_| {
        server.freeze();
        frozen = Some(Instant::now());
    });
    let out = child.wait_with_output().unwrap();
    let waited = frozen.unwrap().elapsed();
    server.thaw();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a cut-off answer is an error\n{stderr}"
    );
    assert!(
        waited < Duration::from_secs(30),
        "waited {waited:?} after the stall"
    );
    assert!(
        stderr.contains("stopped sending mid-answer: nothing for 3 s"),
        "{stderr}"
    );
    let done = seen.last().unwrap();
    assert_eq!(done["event"], "done", "{seen:?}");
    assert_eq!(done["stop"], "interrupted");
    let said: String = seen
        .iter()
        .filter(|e| e["event"] == "token")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(!said.trim().is_empty(), "{seen:?}");
    assert!(!done["answer"].as_str().unwrap().trim().is_empty());
    // What was said is kept in the chat, with why it ends there.
    let chat = seen[0]["chat_id"].as_i64().unwrap().to_string();
    let messages = cairn.json(&["chats", &chat, "--json"]);
    let last = messages.as_array().unwrap().last().unwrap();
    assert_eq!(last["content"], done["answer"]);
    assert!(
        last["details"]["interruption"]
            .as_str()
            .unwrap()
            .contains("stopped sending"),
        "{last}"
    );
}
