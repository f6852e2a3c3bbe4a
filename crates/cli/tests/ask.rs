//! `cairn ask` end to end with the real SmolLM2 GGUF, the default embedder
//! (multilingual-e5-small), SQLite, Tantivy and LanceDB: streamed answers whose citations point
//! at real text, refusal without generation (the gate calibrated on the library, and a cause of
//! its own for each refusal), follow-ups, and Ctrl-C stopping an answer while keeping it.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;

use std::process::Stdio;
use support::{interrupt_after_first_token, squad, squeeze, two_articles, Cairn};

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    let mut kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    kinds.dedup();
    kinds
}

/// The events of a short answer to `question` in `chat`.
fn follow_up(cairn: &Cairn, chat: &str, question: &str, flags: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "ask",
        "--json",
        "-k",
        "3",
        "--max-tokens",
        "32",
        "--chat",
        chat,
    ];
    args.extend_from_slice(flags);
    args.push(question);
    let (ok, stdout, stderr) = cairn.run(&args);
    assert!(ok, "{stderr}");
    events(&stdout)
}

#[test]
fn ask_streams_a_cited_answer_follows_up_and_refuses_what_the_documents_do_not_say() {
    let cairn = two_articles();
    let (ok, stdout, stderr) = cairn.run(&[
        "ask",
        "--json",
        "-k",
        "3",
        "--max-tokens",
        "96",
        "Which team won Super Bowl 50?",
    ]);
    assert!(ok, "{stderr}");
    let answer = events(&stdout);
    assert_eq!(
        kinds(&answer),
        vec!["started", "retrieved", "token", "done"],
        "{stdout}"
    );
    let tokens = answer.iter().filter(|e| e["event"] == "token").count();
    assert!(tokens >= 2, "the answer streams: {tokens} token events");
    let retrieved = &answer[1];
    let sources = retrieved["sources"].as_array().unwrap();
    assert!(!sources.is_empty() && sources.len() <= 3);
    assert!(retrieved["budget"]["prompt_tokens"].as_u64().unwrap() > 0);
    let done = answer.last().unwrap();
    assert_eq!(done["outcome"], "answered");
    let timings = &done["timings"];
    assert!(
        timings["time_to_first_token_ms"].as_u64().is_some(),
        "{timings}"
    );
    assert!(timings["generated_tokens"].as_u64().unwrap() <= 96);
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
        assert!(!quote.is_empty());
        assert!(squeeze(&file).contains(&squeeze(quote)), "{quote}");
    }
    // Markers left in the answer name real sources.
    let text = done["answer"].as_str().unwrap();
    for (i, _) in text.match_indices('[') {
        let rest = &text[i + 1..];
        if let Some(n) = rest.split(']').next().and_then(|n| n.parse::<u64>().ok()) {
            assert!(
                sources.iter().any(|s| s["n"].as_u64() == Some(n)),
                "[{n}] in {text}"
            );
        }
    }

    // A follow-up is searched together with the question before it.
    let chat = answer[0]["chat_id"].as_i64().unwrap().to_string();
    let follow = follow_up(&cairn, &chat, "Who did they beat?", &[]);
    assert_eq!(follow[0]["chat_id"].as_i64().unwrap().to_string(), chat);
    let query = follow[0]["retrieval_query"].as_str().unwrap();
    assert!(
        query.contains("Super Bowl 50") && query.contains("Who did they beat?"),
        "{query}"
    );

    // Nothing in the documents is about this: refused, and the model is never asked.
    let (ok, stdout, stderr) = cairn.run(&[
        "ask",
        "--json",
        "What is the boiling point of liquid nitrogen in kelvin?",
    ]);
    assert!(ok, "{stderr}");
    let refused = events(&stdout);
    assert_eq!(kinds(&refused), vec!["started", "refused"], "{stdout}");
    let searched: Vec<&str> = refused[1]["searched"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(searched.len(), 2);
    assert!(searched.contains(&"Normans.md"));

    // All three exchanges are kept.
    let chats = cairn.json(&["chats", "--json"]);
    assert_eq!(chats.as_array().unwrap().len(), 2, "{chats}");
    let messages = cairn.json(&["chats", &chat, "--json"]);
    let outcomes: Vec<&Value> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["outcome"])
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert_eq!(outcomes[1], "answered");

    // With the rewrite setting, the model turns the follow-up into one question of its own,
    // which is what is searched (SmolLM2 rewrites poorly; Llama 3.1 is what it is for).
    let rewritten = follow_up(
        &cairn,
        &chat,
        "And who did they beat?",
        &["--rewrite-follow-ups"],
    );
    let query = rewritten[0]["retrieval_query"].as_str().unwrap();
    eprintln!("the follow-up as SmolLM2 rewrote it: {query:?}");
    assert!(
        !query.contains('\n') && !query.trim().is_empty() && query != "And who did they beat?",
        "the model's one-line rewrite is searched: {query:?}"
    );
    assert!(
        matches!(kinds(&rewritten).last(), Some(&"done") | Some(&"refused")),
        "{rewritten:?}"
    );
}

/// The first events of asking `question` with a one-token answer: enough to see whether the
/// model is asked (`retrieved`) or Cairn refuses (`refused`).
fn gate(cairn: &Cairn, question: &str, flags: &[&str]) -> Vec<Value> {
    let mut args = vec!["ask", "--json", "--max-tokens", "1"];
    args.extend_from_slice(flags);
    args.push(question);
    let (ok, stdout, stderr) = cairn.run(&args);
    assert!(ok, "{question}: {stderr}");
    events(&stdout)
}

#[test]
fn the_gate_calibrated_on_the_library_refuses_what_it_does_not_hold_and_lets_through_what_it_does()
{
    let cairn = two_articles();
    // The library's calibration: the threshold sits above what everyday questions reach.
    let doctor = cairn.json(&["doctor", "--json"]);
    let calibration = &doctor["search_tuning"]["gate"];
    let min = calibration["min_similarity"].as_f64().unwrap();
    assert!(
        min > calibration["background_p75"].as_f64().unwrap(),
        "{calibration}"
    );
    assert_eq!(calibration["questions"].as_u64(), Some(60), "{calibration}");
    let mut thresholds = vec![min];
    thresholds.extend(
        calibration["languages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["min_similarity"].as_f64().unwrap()),
    );
    assert!(thresholds.len() > 5, "{calibration}");
    for question in [
        "Which team won Super Bowl 50?",
        "Who was the leader of the Normans who conquered England?",
        "Wer hat den Super Bowl 50 gewonnen?",
    ] {
        let seen = gate(&cairn, question, &[]);
        assert_eq!(seen[1]["event"], "retrieved", "{question}: {seen:?}");
    }
    for question in [
        "What is the boiling point of liquid nitrogen in kelvin?",
        "How many calories are in a banana?",
        "Wie funktioniert eine Wärmepumpe?",
        "¿Cuál es la capital de Mongolia?",
    ] {
        let seen = gate(&cairn, question, &[]);
        let refused = &seen[1];
        assert_eq!(refused["event"], "refused", "{question}: {seen:?}");
        assert_eq!(refused["reason"], "not_relevant", "{refused}");
        // The verdict's numbers: the best passage fell short of one of the library's
        // thresholds (its own, or that of the question's language).
        let best = refused["best_similarity"].as_f64().unwrap();
        let asked = refused["min_similarity"].as_f64().unwrap();
        assert!(
            thresholds.iter().any(|t| (asked - t).abs() < 1e-6),
            "{refused} {calibration}"
        );
        assert!(best < asked, "{refused}");
    }
}

#[test]
fn each_refusal_says_its_own_cause() {
    let empty = Cairn::new();
    let seen = gate(&empty, "Which team won Super Bowl 50?", &[]);
    assert_eq!(seen[1]["reason"], "nothing_indexed", "{seen:?}");
    assert!(seen[1]["message"]
        .as_str()
        .unwrap()
        .contains("No documents are indexed yet"));

    let cairn = two_articles();
    // A document id the library does not hold.
    let seen = gate(&cairn, "Which team won Super Bowl 50?", &["--doc", "9999"]);
    assert_eq!(seen[1]["reason"], "unknown_documents", "{seen:?}");
    assert!(
        seen[1]["message"]
            .as_str()
            .unwrap()
            .contains("does not hold"),
        "{seen:?}"
    );

    // An answer so long that no passage fits beside it: said so, not "your documents do not
    // seem to answer this".
    let question = "Which team won Super Bowl 50?";
    let seen = gate(&cairn, question, &["--context", "2048"]);
    let budget = &seen[1]["budget"];
    let base =
        budget["prompt_tokens"].as_u64().unwrap() - budget["source_tokens_used"].as_u64().unwrap();
    let long = (2048 - base - 8).to_string();
    let (ok, stdout, stderr) = cairn.run(&[
        "ask",
        "--json",
        "--context",
        "2048",
        "--max-tokens",
        &long,
        question,
    ]);
    assert!(ok, "{stderr}");
    let seen = events(&stdout);
    assert_eq!(seen[1]["event"], "refused", "{stdout}");
    assert_eq!(seen[1]["reason"], "no_room_for_sources", "{stdout}");
    assert!(
        seen[1]["message"]
            .as_str()
            .unwrap()
            .contains("ask for a shorter answer"),
        "{stdout}"
    );
}

#[test]
fn ctrl_c_stops_an_answer_and_keeps_what_was_said() {
    let cairn = two_articles();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = cairn
        .command()
        .args([
            "ask",
            "--json",
            "-k",
            "2",
            "--max-tokens",
            "400",
            "Tell me everything about the Normans and their conquests in great detail.",
        ])
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    let seen = interrupt_after_first_token(&mut child, stderr.path());
    let done = seen.last().unwrap();
    assert_eq!(done["event"], "done", "{seen:?}");
    assert_eq!(done["stop"], "cancelled");
    assert_eq!(done["outcome"], "cancelled");
    let generated = done["timings"]["generated_tokens"].as_u64().unwrap();
    assert!(generated < 400, "stopped early: {generated}");

    let chat = seen[0]["chat_id"].as_i64().unwrap().to_string();
    let messages = cairn.json(&["chats", &chat, "--json"]);
    let last = messages.as_array().unwrap().last().unwrap();
    assert_eq!(last["outcome"], "cancelled");
    assert_eq!(last["content"], done["answer"]);
}

/// Nothing leaves the machine: ingest, search and ask (both engines, the model named by a bare
/// file name as a person in its folder would type it) run in a network namespace that has no
/// network at all (`unshare -n`, as root). A lookup of a model hub would fail there.
#[test]
fn ingest_search_and_ask_work_with_no_network_at_all() {
    let cairn = Cairn::new();
    let model = support::generator();
    let folder = model.parent().unwrap();
    let name = model.file_name().unwrap().to_str().unwrap();
    let script = r#"
set -u
# No interface but a loopback that is down: any connection attempt fails at once.
if getent hosts huggingface.co >/dev/null 2>&1; then echo "the namespace resolves names"; exit 90; fi
run() { "$CAIRN" --data-dir "$DATA" --embedder "$EMBEDDER" --model "$NAME" "$@"; }
run ingest --json "$DOC" > /dev/null || exit 91
run search "Who were the Normans?" --json | grep -q Normans.md || exit 92
for backend in llama.cpp mistral.rs; do
  run ask --backend "$backend" --json --max-tokens 24 "Who were the Normans?" > "$DATA/../$backend.out" 2>&1 || {
    echo "ask with $backend failed"; cat "$DATA/../$backend.out"; exit 93; }
  echo "$backend: $(grep -c '"event":"token"' "$DATA/../$backend.out") tokens"
done
"#;
    let data = cairn.data.path().join("data");
    let out = std::process::Command::new("unshare")
        .args(["--net", "bash", "-c", script])
        .current_dir(folder)
        .env("CAIRN", env!("CARGO_BIN_EXE_cairn"))
        .env("DATA", &data)
        .env("EMBEDDER", support::embedder())
        .env("NAME", name)
        .env("DOC", squad("Normans.md"))
        .env_remove("HF_HUB_OFFLINE")
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?} (unshare needs root): {stdout}{stderr}",
        out.status.code()
    );
    for backend in ["llama.cpp", "mistral.rs"] {
        let tokens: usize = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{backend}: ")))
            .and_then(|l| l.trim_end_matches(" tokens").parse().ok())
            .unwrap_or(0);
        assert!(tokens >= 2, "{backend} answered offline: {stdout}");
    }
}

/// On a CPU without AVX2 (an x86-64 from before 2013, here emulated by qemu as a Nehalem),
/// Cairn starts and refuses the llama.cpp engine with a reason a person can act on; it is
/// never killed by an illegal instruction.
#[test]
fn a_cpu_without_avx2_gets_a_clear_refusal_not_an_illegal_instruction() {
    let cairn = Cairn::new();
    let nehalem = |args: &[&str]| {
        let mut command = std::process::Command::new("qemu-x86_64");
        command.args(["-cpu", "Nehalem", env!("CARGO_BIN_EXE_cairn")]);
        let out = command
            .arg("--data-dir")
            .arg(cairn.data.path())
            .arg("--embedder")
            .arg(support::embedder())
            .arg("--model")
            .arg(support::generator())
            .args(args)
            .output()
            .expect("qemu-x86_64 (Debian's qemu-user, installed by scripts/setup) runs");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (status, stdout, stderr) = nehalem(&["--version"]);
    assert!(status.success(), "{status:?}: {stdout}{stderr}");
    assert!(stdout.starts_with("cairn "), "{stdout}");
    let (status, stdout, stderr) = nehalem(&[
        "ask",
        "--backend",
        "llama.cpp",
        "--json",
        "Who were the Normans?",
    ]);
    assert_eq!(
        status.code(),
        Some(1),
        "a clean exit, not a signal: {status:?} {stderr}"
    );
    assert!(
        stderr.contains("this CPU lacks AVX")
            && stderr.contains("AVX2")
            && stderr.contains("--backend mistral.rs"),
        "{stdout}{stderr}"
    );
}
