//! `cairn mcp` on a real library, started and asked by the official MCP Python SDK client
//! (`mcp` on PyPI) the way Claude Desktop, LM Studio and Jan start it: tools listed, each
//! called, results carrying document, page and text, and failures as tool errors.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use support::llama_server::servers_python;
use support::{embedder, generator, squeeze, two_articles};

#[test]
fn an_mcp_client_lists_the_tools_searches_reads_a_passage_and_lists_documents() {
    let cairn = two_articles();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mcp_client.py");
    let out = Command::new(servers_python())
        .arg(script)
        .arg("Which team won Super Bowl 50?")
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(cairn.data.path())
        .arg("--embedder")
        .arg(embedder())
        .arg("--model")
        .arg(generator())
        .arg("mcp")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the MCP client failed: {stderr}");
    let seen: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    assert_eq!(seen["server"]["name"], "cairn", "{}", seen["server"]);
    let mut tools: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    tools.sort_unstable();
    assert_eq!(
        tools,
        ["get_passage", "list_documents", "search_documents"],
        "{}",
        seen["tools"]
    );
    let search_tool = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "search_documents")
        .unwrap();
    assert_eq!(
        search_tool["input"]["required"],
        serde_json::json!(["query"]),
        "{search_tool}"
    );

    // list_documents: both articles, indexed, with paths a person recognises.
    let documents = &seen["documents"];
    assert_eq!(documents["is_error"], false, "{documents}");
    let listed = documents["structured"]["documents"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{documents}");
    for d in listed {
        assert_eq!(d["state"], "indexed", "{d}");
        assert!(d["chunks"].as_u64().unwrap() > 0, "{d}");
    }

    // search_documents: the passage that answers, with its document and text; and the same
    // text in the content an assistant reads.
    let search = &seen["search"];
    assert_eq!(search["is_error"], false, "{search}");
    let results = search["structured"]["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 3, "{search}");
    // The passage that answers is among them (with the default embedder, the article's
    // passage on the venue can rank above it).
    assert!(
        results.iter().all(|r| r["document"]
            .as_str()
            .unwrap()
            .ends_with("Super_Bowl_50.md")),
        "{search}"
    );
    let best = results
        .iter()
        .find(|r| r["text"].as_str().unwrap().contains("Broncos"))
        .unwrap_or_else(|| panic!("no result names the winner: {search}"));
    assert!(best["text"].as_str().unwrap().contains("Broncos"), "{best}");
    // The first result is the one the client reads in full below.
    let best = &results[0];
    let file = std::fs::read_to_string(best["document"].as_str().unwrap()).unwrap();
    assert!(
        squeeze(&file).contains(&squeeze(best["text"].as_str().unwrap())),
        "a result's text is the document's: {best}"
    );
    assert!(
        search["text"][0].as_str().unwrap().contains("Broncos"),
        "{search}"
    );

    // get_passage: the same passage, with the document's text around it.
    let passage = &seen["passage"];
    assert_eq!(passage["is_error"], false, "{passage}");
    let p = &passage["structured"];
    assert_eq!(p["chunk_id"], best["chunk_id"], "{p}");
    assert_eq!(p["document"], best["document"], "{p}");
    assert_eq!(p["text"], best["text"], "{p}");
    let around = format!(
        "{}{}{}",
        p["before"].as_str().unwrap(),
        p["text"].as_str().unwrap(),
        p["after"].as_str().unwrap()
    );
    assert!(
        around.len() > p["text"].as_str().unwrap().len(),
        "context was added: {p}"
    );
    assert!(squeeze(&file).contains(&squeeze(&around)), "{p}");

    // documents: the search keeps to the documents asked for.
    let others = seen["other_documents"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{seen}");
    let within = seen["in_other_documents"]["structured"]["results"]
        .as_array()
        .unwrap();
    assert!(!within.is_empty(), "{}", seen["in_other_documents"]);
    for r in within {
        assert_eq!(r["document_id"], others[0], "{r}");
        assert!(
            r["document"].as_str().unwrap().ends_with("Normans.md"),
            "{r}"
        );
    }

    // Failures are tool errors that say what to do, and the session goes on after them.
    let unknown = &seen["unknown_passage"];
    assert_eq!(unknown["is_error"], true, "{unknown}");
    assert!(
        unknown["text"][0]
            .as_str()
            .unwrap()
            .contains("search again"),
        "{unknown}"
    );
    let empty = &seen["empty_query"];
    assert_eq!(empty["is_error"], true, "{empty}");
    assert!(
        empty["text"][0]
            .as_str()
            .unwrap()
            .contains("query is empty"),
        "{empty}"
    );
}

#[test]
fn a_second_mcp_server_on_the_same_library_says_why_it_cannot_start() {
    let cairn = two_articles();
    let mut first = cairn
        .command()
        .args(["mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first holds the data folder once it says it serves; a second is refused with the
    // reason on stderr (which MCP clients show in their server log) and a failed exit.
    let mut said = String::new();
    for line in BufReader::new(first.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        if line.contains("cairn mcp: serving") {
            break;
        }
    }
    assert!(said.contains("cairn mcp: serving"), "{said}");
    let (ok, stdout, stderr) = cairn.run(&["mcp"]);
    let _ = first.kill();
    let _ = first.wait();
    assert!(!ok, "{stderr}");
    assert!(
        stdout.is_empty(),
        "nothing but the protocol on stdout: {stdout}"
    );
    assert!(
        stderr.contains("another Cairn is using the data folder"),
        "{stderr}"
    );
}
