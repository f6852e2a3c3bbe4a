//! `cairn models` end to end with the real `cairn` binary against a Hub-layout server on
//! loopback (`HF_ENDPOINT`) serving the real SmolLM2 test GGUF: a pull cut at 40% and
//! resumed, a damaged file refused, one's own GGUF imported after its checks, the list with
//! what fits, `use` and `rm`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cairn_hub::test_server::{serve, Mode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

const REPO: &str = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF";
const FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn cairn(models: &Path, endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .env("CAIRN_MODELS", models)
        .env("HF_ENDPOINT", endpoint)
        .env_remove("HF_TOKEN")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn pull_resumes_a_cut_download_refuses_a_damaged_one_and_imports_checked_ggufs() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bytes = std::fs::read(support::generator()).unwrap();
    let models = tempfile::tempdir().unwrap();

    // Cut at 40%: the pull resumes where it stopped and installs the verified file.
    let (endpoint, served) = runtime
        .block_on(serve(REPO, "main", FILE, bytes.clone(), Mode::Cut))
        .unwrap();
    let (ok, stdout, stderr) = cairn(models.path(), &endpoint, &["models", "pull", REPO, FILE]);
    assert!(ok, "{stdout}{stderr}");
    let installed = models.path().join("SmolLM2-135M-Instruct").join(FILE);
    assert!(
        stdout.contains("installed") && stdout.contains("SHA-256 verified"),
        "{stdout}"
    );
    assert_eq!(sha256(&installed), served.sha256);
    // It resumes from what reached it (the cut, or a little less where the last piece was
    // lost with the connection), and says where.
    let cut = bytes.len() * 2 / 5;
    let ranges = served.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], None);
    let resumed: usize = ranges[1]
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an open range: {ranges:?}"));
    assert!(
        resumed > cut / 2 && resumed <= cut,
        "{ranges:?}, cut at {cut}"
    );
    assert!(
        stderr.contains(&format!("interrupted at {:.1} MB", resumed as f64 / 1e6))
            && stderr.contains("resuming from there"),
        "{stderr}"
    );
    std::fs::remove_file(&installed).unwrap();

    // A damaged body: refused with the reason, nothing installed, no part left.
    let (endpoint, _) = runtime
        .block_on(serve(REPO, "main", FILE, bytes.clone(), Mode::Corrupt))
        .unwrap();
    let (ok, stdout, stderr) = cairn(models.path(), &endpoint, &["models", "pull", REPO, FILE]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("is damaged") && stderr.contains("nothing was installed"),
        "{stderr}"
    );
    assert!(!installed.exists());
    assert!(!installed.with_extension("gguf.part").exists());

    // A gated repo says what to do.
    let (endpoint, _) = runtime
        .block_on(serve(REPO, "main", FILE, bytes.clone(), Mode::Unauthorized))
        .unwrap();
    let (ok, _, stderr) = cairn(models.path(), &endpoint, &["models", "pull", REPO, FILE]);
    assert!(!ok);
    assert!(
        stderr.contains("accept its licence") && stderr.contains("HF_TOKEN"),
        "{stderr}"
    );

    // One's own GGUF: a file that is not one is refused in words; the real one is imported.
    let not_a_model = models.path().join("notes.gguf");
    std::fs::write(&not_a_model, "these are notes").unwrap();
    let (ok, _, stderr) = cairn(
        models.path(),
        &endpoint,
        &["models", "add", not_a_model.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(stderr.contains("is not a GGUF model file"), "{stderr}");
    let (ok, stdout, stderr) = cairn(
        models.path(),
        &endpoint,
        &["models", "add", support::generator().to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    let imported = models.path().join("imported").join(FILE);
    assert!(stdout.contains(imported.to_str().unwrap()), "{stdout}");
    assert_eq!(sha256(&imported), served.sha256);

    // The list: the catalogue with what fits this machine, and what is installed.
    let (ok, stdout, stderr) = cairn(models.path(), &endpoint, &["models", "list", "--json"]);
    assert!(ok, "{stderr}");
    let rows: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let q4 = rows
        .iter()
        .find(|r| r["name"] == "llama-3.1-8b-instruct-q4_k_m")
        .unwrap();
    assert_eq!(q4["installed"], false);
    assert!(q4["fit"].is_string() && q4["memory_needed"].as_u64().unwrap() > 5_000_000_000);
    assert_eq!(rows.iter().filter(|r| r["recommended"] == true).count(), 1);
    let mine = rows.iter().find(|r| r["name"] == FILE).unwrap();
    assert_eq!(
        (mine["installed"].clone(), mine["kind"].clone()),
        (Value::Bool(true), Value::from("chat"))
    );

    // `use` makes it the default chat model; `rm` removes it.
    let (ok, stdout, _) = cairn(models.path(), &endpoint, &["models", "use", FILE]);
    assert!(ok && stdout.contains("default chat model"), "{stdout}");
    let selection: Value =
        serde_json::from_slice(&std::fs::read(models.path().join("selection.json")).unwrap())
            .unwrap();
    assert_eq!(selection["chat"], Value::from(imported.to_str().unwrap()));
    let (ok, _, stderr) = cairn(models.path(), &endpoint, &["models", "rm", FILE]);
    assert!(ok, "{stderr}");
    assert!(!imported.exists());
}
