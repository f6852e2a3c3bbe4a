//! Running the real `cairn` binary on a temporary data folder with the test models.

#![allow(dead_code)]

pub mod llama_server;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn shared_data() -> PathBuf {
    std::env::var_os("SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

/// Cairn's cache folder (models, the venvs and eval sets scripts/setup makes).
pub fn cache() -> PathBuf {
    std::env::var_os("CAIRN_CACHE").map_or_else(
        || Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/cairn"),
        PathBuf::from,
    )
}

fn models() -> PathBuf {
    std::env::var_os("CAIRN_MODELS").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/cairn/models")
        },
        PathBuf::from,
    )
}

/// The embedder tests run: the product's default, multilingual-e5-small as ONNX (scripts/setup
/// derives it), as people get it; CAIRN_EMBEDDER names another.
pub fn embedder() -> PathBuf {
    let path = std::env::var_os("CAIRN_EMBEDDER").map_or_else(
        || models().join("embedders/multilingual-e5-small"),
        PathBuf::from,
    );
    installed_embedder(path)
}

/// `path`, once it holds an embedder scripts/setup derived.
fn installed_embedder(path: PathBuf) -> PathBuf {
    assert!(
        path.join("cairn-embedder.json").is_file(),
        "the embedder is missing at {}: run scripts/setup",
        path.display()
    );
    path
}

/// The folder of FreeDict's English-German dictionary that scripts/setup unpacks.
pub fn dictionaries() -> PathBuf {
    let path = models().join("dictionaries");
    assert!(
        path.join("freedict-eng-deu.index").is_file(),
        "the English-German dictionary is missing at {}: run scripts/setup",
        path.display()
    );
    path
}

/// The shipped embedder that is not the default, English all-MiniLM-L6-v2: for tests that
/// switch a library from one embedder to another.
pub fn other_embedder() -> PathBuf {
    installed_embedder(models().join("embedders/all-MiniLM-L6-v2"))
}

/// The multilingual embedder (multilingual-e5-small as ONNX, derived by scripts/setup), for
/// tests about languages whatever CAIRN_EMBEDDER says.
pub fn multilingual_embedder() -> PathBuf {
    installed_embedder(models().join("embedders/multilingual-e5-small"))
}

/// ONNX Runtime's library, as scripts/setup installs it.
pub fn onnxruntime() -> PathBuf {
    let path = std::env::var_os("CAIRN_ONNXRUNTIME").map_or_else(
        || models().join("onnxruntime/libonnxruntime.so"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "ONNX Runtime is missing at {}: run scripts/setup",
        path.display()
    );
    path
}

pub fn generator() -> PathBuf {
    let path = std::env::var_os("CAIRN_GENERATOR").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home)
                .join(".cache/cairn/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "the test language model is missing at {}: run scripts/setup",
        path.display()
    );
    path
}

pub struct Cairn {
    pub data: tempfile::TempDir,
    embedder: PathBuf,
}

impl Cairn {
    /// A library with the default embedder.
    pub fn new() -> Self {
        Self::with_embedder(embedder())
    }

    /// A library with another embedder (a test that needs one says why).
    pub fn with_embedder(embedder: PathBuf) -> Self {
        Cairn {
            data: tempfile::tempdir().unwrap(),
            embedder,
        }
    }

    /// `cairn` on this data folder with the test models.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
        command
            .arg("--data-dir")
            .arg(self.data.path())
            .arg("--embedder")
            .arg(&self.embedder)
            .arg("--model")
            .arg(generator());
        command
    }

    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command().args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let (ok, stdout, stderr) = self.run(args);
        assert!(ok, "cairn {args:?} failed: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }
}

/// A SQuAD-dev article of the shared data, by file name.
pub fn squad(name: &str) -> String {
    shared_data()
        .join("squad-dev/docs")
        .join(name)
        .display()
        .to_string()
}

/// Whitespace runs made one space, to find a quote in the file it came from.
pub fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A library of two SQuAD articles (the Normans, Super Bowl 50), indexed.
pub fn two_articles() -> Cairn {
    let cairn = Cairn::new();
    let report = cairn.json(&[
        "ingest",
        "--json",
        &squad("Normans.md"),
        &squad("Super_Bowl_50.md"),
    ]);
    assert_eq!(
        report["indexed"].as_array().map_or(0, Vec::len),
        2,
        "{report}"
    );
    cairn
}

/// Reads the JSON events of `cairn ask --json` from `child` until the first token, sends
/// SIGINT (Ctrl-C in a terminal), reads the rest and waits; the events, or the exit status
/// and what the child wrote to `stderr` when it did not exit cleanly.
pub fn interrupt_after_first_token(child: &mut std::process::Child, stderr: &Path) -> Vec<Value> {
    let seen = after_first_token(child, |child| {
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    });
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{status}: {}\n{seen:?}",
        std::fs::read_to_string(stderr).unwrap_or_default()
    );
    seen
}

/// Reads the JSON events of `cairn ask --json` from `child` until the first token, runs `then`
/// (which may stop the child or what it talks to), and reads the rest.
pub fn after_first_token(
    child: &mut std::process::Child,
    then: impl FnOnce(&std::process::Child),
) -> Vec<Value> {
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen: Vec<Value> = Vec::new();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let is_token = event["event"] == "token";
        seen.push(event);
        if is_token {
            break;
        }
    }
    then(child);
    for line in lines {
        seen.push(serde_json::from_str(&line.unwrap()).unwrap());
    }
    seen
}
