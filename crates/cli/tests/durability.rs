//! Never losing work: `kill -9` during ingestion, damaged indexes, a second process on the
//! same data folder, watched folders and hostile files, all through the real `cairn` binary
//! with the real stores and embedder.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{shared_data, Cairn};

/// A folder of real documents: a long PDF, two Wikipedia articles and short notes.
fn real_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_data();
    std::fs::copy(data.join("docs/pdf/dmca.pdf"), dir.path().join("dmca.pdf")).unwrap();
    for name in ["Computational_complexity_theory.md", "Nikola_Tesla.md"] {
        let text = std::fs::read_to_string(data.join("squad-dev/docs").join(name))
            .unwrap_or_else(|_| panic!("{name} is in squad-dev"));
        // The first 12,000 bytes (on a paragraph end) keep the test quick.
        let cut = text[..text.len().min(12_000)]
            .rfind("\n\n")
            .unwrap_or(text.len());
        std::fs::write(dir.path().join(name), &text[..cut]).unwrap();
    }
    for i in 0..4 {
        std::fs::write(
            dir.path().join(format!("note-{i}.txt")),
            format!(
                "Note {i}: the shed key is under stone number {i}. Water the ferns on day {i}."
            ),
        )
        .unwrap();
    }
    dir
}

/// Path → (state, chunk count) of every document.
fn documents(cairn: &Cairn) -> BTreeMap<String, (String, u64)> {
    cairn
        .json(&["docs", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                (
                    d["state"].as_str().unwrap().to_string(),
                    d["chunk_count"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// A library of two short notes (tea.md, bread.md), indexed; the folder lives as long as
/// the returned guard.
fn two_notes_indexed() -> (Cairn, tempfile::TempDir) {
    let cairn = Cairn::new();
    let notes = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "tea.md",
            "# Tea\n\nGreen tea steeps for two minutes at eighty degrees.",
        ),
        (
            "bread.md",
            "# Bread\n\nSourdough needs a lively starter and a long proof.",
        ),
    ] {
        std::fs::write(notes.path().join(name), text).unwrap();
    }
    cairn.json(&["ingest", notes.path().to_str().unwrap(), "--json"]);
    (cairn, notes)
}

/// `cairn doctor --json` without repair: (exit success, report).
fn doctor(cairn: &Cairn) -> (bool, Value) {
    let (ok, stdout, stderr) = cairn.run(&["doctor", "--json"]);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (ok, report)
}

/// A small deterministic generator for kill delays (xorshift).
struct Delays(u64);

impl Delays {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

#[test]
fn ingestion_killed_at_random_points_resumes_without_losing_or_duplicating_anything() {
    let folder = real_folder();
    let path = folder.path().to_str().unwrap();
    let reference = Cairn::new();
    reference.json(&["ingest", path, "--json"]);
    let expected = documents(&reference);
    let chunks: u64 = expected.values().map(|(_, c)| c).sum();
    assert_eq!(expected.len(), 7, "{expected:?}");

    // Twelve kills, each landing mid-ingest (a run that finishes first is checked, and the
    // next one starts over on a new data folder so that the next kill lands too).
    const KILLS: usize = 12;
    let mut cairn = Cairn::new();
    let mut delays = Delays(0x5eed_cafe);
    let mut kills = 0;
    let mut completed = 0;
    while kills < KILLS {
        let mut child = cairn
            .command()
            .args(["ingest", path, "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(delays.next_ms(300, 6000));
        let started = Instant::now();
        let mut finished = false;
        while started.elapsed() < delay {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "an interrupted ingest could not resume");
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if finished {
            let (healthy, report) = doctor(&cairn);
            assert!(healthy, "{report:#}");
            assert_eq!(documents(&cairn), expected, "documents or chunks were lost");
            completed += 1;
            cairn = Cairn::new();
            continue;
        }
        child.kill().unwrap(); // SIGKILL: no clean-up runs
        child.wait().unwrap();
        kills += 1;
        // Whatever the moment, the stores agree on every settled document.
        let (consistent, report) = doctor(&cairn);
        assert!(consistent, "after kill {kills} at {delay:?}: {report:#}");
    }
    assert_eq!(kills, KILLS);
    // The next run finishes the job.
    let (ok, _, stderr) = cairn.run(&["ingest", path, "--json"]);
    assert!(ok, "{stderr}");
    let (healthy, report) = doctor(&cairn);
    assert!(healthy, "{report:#}");
    assert!(
        report["health"]["pending"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert_eq!(report["health"]["text"]["rows"], chunks, "{report:#}");
    assert_eq!(report["health"]["vectors"]["rows"], chunks, "{report:#}");
    assert_eq!(documents(&cairn), expected, "documents or chunks were lost");
    eprintln!("kill-and-resume: {completed} run(s) finished between kills");
    eprintln!(
        "kill-and-resume: {kills} kills survived, 0 of {} documents and 0 of {chunks} chunks lost",
        expected.len()
    );
}

#[test]
fn a_second_process_on_the_same_data_folder_is_refused_with_a_clear_message() {
    let cairn = Cairn::new();
    let notes = tempfile::tempdir().unwrap();
    std::fs::write(notes.path().join("a.txt"), "Alpha notes about gardening.").unwrap();
    let mut watch = Watch::start(&cairn, notes.path());
    watch.until("watching");
    let (ok, _, stderr) = cairn.run(&["docs"]);
    assert!(!ok);
    assert!(
        stderr.contains("another Cairn is using the data folder"),
        "{stderr}"
    );
    watch.stop();
    // Closed cleanly: the next process opens the folder without a recovery check.
    let (ok, _, stderr) = cairn.run(&["docs"]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("did not close"), "{stderr}");
}

#[test]
fn doctor_finds_drift_and_damage_and_repairs_them_from_the_catalog() {
    let (cairn, _notes) = two_notes_indexed();
    let (consistent, _) = doctor(&cairn);
    assert!(consistent);

    // The full-text index vanishes: every chunk is missing from it.
    std::fs::remove_dir_all(cairn.data.path().join("fulltext")).unwrap();
    let (consistent, report) = doctor(&cairn);
    assert!(!consistent);
    assert_eq!(report["health"]["text"]["missing"], 2, "{report:#}");
    assert_eq!(report["health"]["drifted"].as_array().unwrap().len(), 2);
    let (ok, stdout, stderr) = cairn.run(&["doctor", "--repair"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("re-added 2 documents"), "{stdout}");
    let hits = cairn.json(&["search", "sourdough starter", "--mode", "bm25", "--json"]);
    assert!(hits.to_string().contains("bread.md"), "{hits}");

    // A byte inside a segment file flips (its footer intact): its checksum fails, and the
    // index is rebuilt.
    let fulltext = cairn.data.path().join("fulltext");
    let segment = std::fs::read_dir(&fulltext)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "store"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a segment's document store");
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 3;
    bytes[middle] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    let (consistent, report) = doctor(&cairn);
    assert!(!consistent);
    assert!(
        report["health"]["text"]["problems"]
            .to_string()
            .contains("checksum"),
        "{report:#}"
    );
    let repaired = cairn.json(&["doctor", "--repair", "--json"]);
    assert_eq!(repaired["repair"]["rebuilt"], true, "{repaired:#}");
    assert!(doctor(&cairn).0);

    // The index's metadata is unreadable: the store is set aside and rebuilt on open.
    std::fs::write(fulltext.join("meta.json"), "{ not json").unwrap();
    let (ok, _, stderr) = cairn.run(&["search", "green tea", "--mode", "bm25", "--json"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("moved to"), "{stderr}");
    let (consistent, report) = doctor(&cairn);
    assert!(consistent, "{report:#}");
    assert_eq!(report["health"]["text"]["rows"], 2, "{report:#}");
}

/// A vector table of the wrong dimension, or only the table of another model, is found by
/// `cairn doctor`, said, and rebuilt from the catalog's stored vectors by `--repair`.
#[test]
fn doctor_rebuilds_a_vector_table_of_the_wrong_dimension_or_model() {
    let (cairn, _notes) = two_notes_indexed();
    let model = cairn.json(&["embedder", "--json"])["model"]
        .as_str()
        .unwrap()
        .to_string();
    let vectors = cairn.data.path().join("vectors");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let repaired = |what: &str| {
        let (consistent, report) = doctor(&cairn);
        assert!(!consistent, "{what}: {report:#}");
        assert_eq!(
            report["health"]["vectors"]["missing"], 2,
            "{what}: {report:#}"
        );
        let (ok, stdout, stderr) = cairn.run(&["doctor", "--repair"]);
        assert!(ok, "{what}: {stdout}{stderr}");
        assert!(stdout.contains("re-added 2 documents"), "{what}: {stdout}");
        let (consistent, report) = doctor(&cairn);
        assert!(consistent, "{what}: {report:#}");
        assert_eq!(report["health"]["vectors"]["rows"], 2, "{what}: {report:#}");
        let hits = cairn.json(&["search", "sourdough starter", "--mode", "vector", "--json"]);
        assert!(hits.to_string().contains("bread.md"), "{what}: {hits}");
    };

    // The library's table, remade with 8-dimensional vectors.
    runtime
        .block_on(cairn_store::LanceVectors::open(&vectors, &model, 8))
        .unwrap();
    let (_, report) = doctor(&cairn);
    assert!(
        report["recreated"]
            .to_string()
            .contains(&format!("the vectors of {model} had 8 dimensions, not 384")),
        "{report:#}"
    );
    repaired("wrong dimension");

    // Only another model's vectors are left (a folder copied from another library).
    std::fs::remove_dir_all(&vectors).unwrap();
    runtime
        .block_on(cairn_store::LanceVectors::open(
            &vectors,
            "another/model",
            384,
        ))
        .unwrap();
    let other = cairn_store::table_for("another/model");
    let (_, report) = doctor(&cairn);
    let recreated = report["recreated"].to_string();
    assert!(
        recreated.contains("were missing and are built from the catalog")
            && recreated.contains(&format!("dropped the vectors of another embedder: {other}")),
        "{report:#}"
    );
    repaired("another model");
}

/// `cairn watch --json` running in the background, read line by line.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Watch {
    fn start(cairn: &Cairn, folder: &Path) -> Self {
        let mut child = cairn
            .command()
            .args(["watch", "--json", "--debounce-ms", "300"])
            .arg(folder)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line) {
                    if tx.send(value).is_err() {
                        break;
                    }
                }
            }
        });
        Watch { child, lines }
    }

    /// The lines up to and including the next `event`, within a minute.
    fn until(&mut self, event: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {event} event; saw {seen:?}"));
            let done = line["event"] == event;
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// Ctrl-C, as a person stops it.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

fn file_outcome<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["event"] == "file" && l["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .map(|l| &l["outcome"])
        .unwrap_or_else(|| panic!("no outcome for {name} in {lines:?}"))
}

#[test]
fn a_watched_folder_follows_edits_renames_and_deletions() {
    let cairn = Cairn::new();
    let folder = real_folder();
    std::fs::remove_file(folder.path().join("dmca.pdf")).unwrap();
    let article = folder.path().join("Nikola_Tesla.md");
    let mut watch = Watch::start(&cairn, folder.path());
    let first = watch.until("synced");
    let chunks = file_outcome(&first, "Nikola_Tesla.md")["chunks"]
        .as_u64()
        .unwrap();
    assert!(chunks >= 8, "{first:?}");
    watch.until("watching");

    // One paragraph in the middle of a long article gets a sentence more.
    let text = std::fs::read_to_string(&article).unwrap();
    let mut paragraphs: Vec<&str> = text.split("\n\n").collect();
    let middle = paragraphs.len() / 2;
    let edited = format!(
        "{} The canopy hums with cicadas at dusk.",
        paragraphs[middle]
    );
    paragraphs[middle] = &edited;
    std::fs::write(&article, paragraphs.join("\n\n")).unwrap();
    let lines = watch.until("synced");
    let outcome = file_outcome(&lines, "Nikola_Tesla.md");
    let embedded = outcome["embedded"].as_u64().unwrap();
    assert!(
        (1..=3).contains(&embedded),
        "one edited paragraph re-embedded {embedded} of {chunks} chunks"
    );
    eprintln!("watch: one paragraph edited, {embedded} of {chunks} chunks re-embedded");

    // A rename is not a re-embed.
    let moved = folder.path().join("tesla.md");
    std::fs::rename(&article, &moved).unwrap();
    let lines = watch.until("synced");
    let outcome = file_outcome(&lines, "tesla.md");
    assert_eq!(outcome["outcome"], "renamed", "{lines:?}");
    assert_eq!(lines.last().unwrap()["embedded"], 0, "{lines:?}");

    // New and deleted files.
    std::fs::write(
        folder.path().join("new.txt"),
        "Fresh notes about the heron by the pond.",
    )
    .unwrap();
    std::fs::remove_file(folder.path().join("note-0.txt")).unwrap();
    let mut lines = watch.until("synced");
    while !lines.iter().any(|l| {
        l["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("note-0.txt"))
    }) {
        lines.extend(watch.until("synced"));
    }
    assert_eq!(
        file_outcome(&lines, "note-0.txt")["outcome"],
        "removed",
        "{lines:?}"
    );
    watch.stop();
    let docs = documents(&cairn);
    assert!(docs.keys().any(|p| p.ends_with("new.txt")), "{docs:?}");
    assert!(docs.keys().any(|p| p.ends_with("tesla.md")), "{docs:?}");
    assert!(!docs.keys().any(|p| p.ends_with("note-0.txt")), "{docs:?}");
    assert!(doctor(&cairn).0);
}

#[test]
fn hostile_files_each_end_indexed_or_failed_with_a_clear_reason() {
    let cairn = Cairn::new();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pdf = std::fs::read(shared_data().join("docs/pdf/dmca.pdf")).unwrap();
    std::fs::write(d.join("truncated.pdf"), &pdf[..pdf.len() / 3]).unwrap();
    std::fs::write(
        d.join("garbage.pdf"),
        b"%PDF-1.7\n\x00\xff garbage \x01 obj << >>",
    )
    .unwrap();
    std::fs::write(d.join("empty.txt"), b"").unwrap();
    std::fs::write(
        d.join("latin1.txt"),
        b"Caf\xe9 cr\xe8me br\xfbl\xe9e recipe notes",
    )
    .unwrap();
    std::fs::write(d.join("bomb.docx"), zip_bomb()).unwrap();
    std::fs::write(d.join("broken.docx"), b"PK\x03\x04 not really a zip").unwrap();
    // A 3 GiB sparse file: over the size limit, refused before it is read.
    std::fs::File::create(d.join("huge.txt"))
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    // A name that is not UTF-8.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"r\xe9sum\xe9.md");
        std::fs::write(d.join(name), "# Skills\n\nWelding and beekeeping.").unwrap();
    }
    // A folder that contains itself, through a symlink.
    std::fs::create_dir(d.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", d.join("loop/up")).unwrap();
    // A pipe named like a text file, named directly: refused, never opened.
    let fifo = d.join("pipe.txt");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // A file that keeps growing while it is read.
    let growing = d.join("growing.log");
    std::fs::write(&growing, "line\n".repeat(1000)).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, growing) = (stop.clone(), growing.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(growing)
                .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_all(b"another line\n").unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let report = cairn.json(&[
        "ingest",
        d.to_str().unwrap(),
        fifo.to_str().unwrap(),
        "--json",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();

    let failed: BTreeMap<String, (String, String)> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = Path::new(f[0].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                (
                    f[1]["code"].as_str().unwrap().to_string(),
                    f[1]["message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let code = |name: &str| {
        failed
            .get(name)
            .map(|(c, _)| c.as_str())
            .unwrap_or_else(|| panic!("{name} did not fail: {report:#}"))
    };
    assert_eq!(code("empty.txt"), "empty_document");
    assert_eq!(code("huge.txt"), "too_large");
    assert_eq!(code("pipe.txt"), "unreadable");
    assert_eq!(code("growing.log"), "file_changed");
    assert_eq!(code("broken.docx"), "corrupt_file");
    // The zip bomb is stopped by the expanded-size cap (256 MiB of its 1 GiB), not by
    // running out of memory or time.
    assert_eq!(code("bomb.docx"), "too_large", "{report:#}");
    let (_, bomb) = &failed["bomb.docx"];
    assert!(bomb.contains("256 MiB"), "{bomb}");
    assert!(
        ["corrupt_file", "empty_document"].contains(&code("garbage.pdf")),
        "{report:#}"
    );
    for (name, (_, message)) in &failed {
        assert!(message.len() > 15, "{name}: {message}");
    }
    let indexed: Vec<String> = report["indexed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            Path::new(i[0].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(indexed.contains(&"latin1.txt".to_string()), "{report:#}");
    // A name that is not UTF-8 is refused with the reason, and no lossy path is kept that
    // a retry, a repair or opening the file would later trip over.
    assert_eq!(
        code("r\u{fffd}sum\u{fffd}.md"),
        "unsupported_file",
        "{report:#}"
    );
    assert!(failed["r\u{fffd}sum\u{fffd}.md"]
        .1
        .contains("not valid UTF-8"));
    assert!(
        !documents(&cairn).keys().any(|p| p.contains('\u{fffd}')),
        "a lossy path was stored"
    );
    // The truncated PDF is readable up to where it was cut, or fails with a reason.
    assert!(indexed.contains(&"truncated.pdf".to_string()) || failed.contains_key("truncated.pdf"));
    assert_eq!(indexed.len() + failed.len(), 10, "{report:#}");

    // Once the file stops growing it is indexed.
    let again = cairn.json(&["ingest", growing.to_str().unwrap(), "--json"]);
    assert_eq!(again["indexed"].as_array().unwrap().len(), 1, "{again:#}");
    let (ok, stdout, stderr) = cairn.run(&["ingest", "--retry-failed", "--json"]);
    assert!(ok, "{stderr}");
    assert!(
        !stdout.contains('\u{fffd}'),
        "retry tripped over a lossy path: {stdout}"
    );
    assert!(doctor(&cairn).0);
}

/// A DOCX whose document.xml expands from about a megabyte to a gigabyte.
fn zip_bomb() -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("word/document.xml", options).unwrap();
        let block = vec![b' '; 1 << 20];
        for _ in 0..1024 {
            zip.write_all(&block).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

/// `cairn watch --once --json` on the watched folders: every line it printed.
fn watch_once(cairn: &Cairn) -> (Vec<Value>, String) {
    let (ok, stdout, stderr) = cairn.run(&["watch", "--once", "--json"]);
    assert!(ok, "{stderr}");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (lines, stderr)
}

#[test]
fn sync_keeps_the_documents_of_a_symlinked_folder_whose_target_is_gone() {
    let cairn = Cairn::new();
    let folder = tempfile::tempdir().unwrap();
    let drive = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("home.txt"),
        "The boiler was serviced in May.",
    )
    .unwrap();
    std::fs::write(
        drive.path().join("usb.txt"),
        "The ferry timetable changes in June.",
    )
    .unwrap();
    std::fs::create_dir(drive.path().join("deep")).unwrap();
    std::fs::write(
        drive.path().join("deep/more.md"),
        "# Tides\n\nSpring tides peak at noon.",
    )
    .unwrap();
    let link = folder.path().join("drive");
    std::os::unix::fs::symlink(drive.path(), &link).unwrap();
    let (ok, _, stderr) = cairn.run(&["watch", folder.path().to_str().unwrap(), "--once"]);
    assert!(ok, "{stderr}");
    assert_eq!(documents(&cairn).len(), 3);

    // The drive is unplugged: the link stays, its target is gone.
    let unplugged = drive.path().with_extension("unplugged");
    std::fs::rename(drive.path(), &unplugged).unwrap();
    let (lines, _) = watch_once(&cairn);
    let notice = lines
        .iter()
        .find(|l| l["event"] == "folder_unreadable")
        .unwrap_or_else(|| panic!("no notice of the unreadable folder in {lines:?}"));
    assert!(
        notice["path"].as_str().unwrap().ends_with("/drive"),
        "{notice}"
    );
    assert_eq!(notice["kept"], 2, "{notice}");
    assert!(
        !lines.iter().any(|l| l["outcome"]["outcome"] == "removed"),
        "{lines:?}"
    );
    let synced = lines.last().unwrap();
    assert_eq!(synced["removed"], 0, "{synced}");
    assert_eq!(
        synced["unreadable_folders"][0]["code"], "unreadable",
        "{synced}"
    );
    let docs = documents(&cairn);
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert!(
        docs.values().all(|(state, _)| state == "indexed"),
        "{docs:?}"
    );
    let found = cairn.json(&["search", "ferry timetable", "-k", "1", "--json"]);
    assert!(found.to_string().contains("usb.txt"), "{found}");
    // In words, too.
    let (ok, _, stderr) = cairn.run(&["watch", "--once"]);
    assert!(ok);
    assert!(
        stderr.contains("cannot read") && stderr.contains("drive") && stderr.contains("are kept"),
        "{stderr}"
    );

    // Plugged in again, then a file on it really deleted: now it goes.
    std::fs::rename(&unplugged, drive.path()).unwrap();
    std::fs::remove_file(drive.path().join("usb.txt")).unwrap();
    let (lines, _) = watch_once(&cairn);
    assert_eq!(
        file_outcome(&lines, "usb.txt")["outcome"],
        "removed",
        "{lines:?}"
    );
    assert_eq!(documents(&cairn).len(), 2);
}

#[test]
fn a_failed_reread_keeps_the_indexed_version_and_a_failure_is_never_skipped_as_unchanged() {
    let cairn = Cairn::new();
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("note.txt");
    std::fs::write(&note, "The spare key hangs behind the blue door.").unwrap();
    let path = dir.path().to_str().unwrap();
    cairn.json(&["ingest", path, "--json"]);
    let ingest_timing_out = |cairn: &Cairn| {
        let out = cairn
            .command()
            .env("CAIRN_EXTRACT_TIMEOUT", "0.001")
            .args(["ingest", path, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };

    // The file is edited, and reading it again times out.
    std::fs::write(&note, "The spare key now hangs in the garden shed.").unwrap();
    let report = ingest_timing_out(&cairn);
    assert_eq!(report["kept"][0][1]["code"], "timeout", "{report:#}");
    let docs = cairn.json(&["docs", "--json"]);
    assert_eq!(docs[0]["state"], "indexed", "{docs:#}");
    assert_eq!(docs[0]["failure"]["code"], "timeout", "{docs:#}");
    let hits = cairn.json(&["search", "blue door", "-k", "1", "--json"]);
    assert!(
        hits.to_string().contains("blue door"),
        "the indexed version is gone: {hits}"
    );
    assert!(doctor(&cairn).0);

    // The next ingest tries again (the file is not taken as unchanged) and succeeds.
    let report = cairn.json(&["ingest", path, "--json"]);
    assert_eq!(report["indexed"].as_array().unwrap().len(), 1, "{report:#}");
    let docs = cairn.json(&["docs", "--json"]);
    assert!(docs[0]["failure"].is_null(), "{docs:#}");
    let hits = cairn.json(&["search", "garden shed", "-k", "1", "--json"]);
    assert!(hits.to_string().contains("garden shed"), "{hits}");

    // A new file that times out fails, and is read again by the next ingest.
    std::fs::write(dir.path().join("late.txt"), "Bins go out on Tuesday night.").unwrap();
    let report = ingest_timing_out(&cairn);
    assert_eq!(report["failed"][0][1]["code"], "timeout", "{report:#}");
    let report = cairn.json(&["ingest", path, "--json"]);
    assert!(
        report["indexed"].to_string().contains("late.txt"),
        "{report:#}"
    );

    // A failure that lies in the bytes is reported as failed each time, never unchanged,
    // and --retry-failed reads it again.
    std::fs::write(
        dir.path().join("broken.docx"),
        b"PK\x03\x04 not really a zip",
    )
    .unwrap();
    let first = cairn.json(&["ingest", path, "--json"]);
    assert_eq!(first["failed"][0][1]["code"], "corrupt_file", "{first:#}");
    let again = cairn.json(&["ingest", path, "--json"]);
    assert!(
        !again["unchanged"].to_string().contains("broken.docx"),
        "{again:#}"
    );
    assert!(
        again["failed"].to_string().contains("broken.docx"),
        "{again:#}"
    );
    let (ok, stdout, stderr) = cairn.run(&["ingest", "--retry-failed"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("failed 1"), "{stdout}");
    assert!(stdout.contains("broken.docx"), "{stdout}");
}

/// A disk that fills up during a re-index is an error, not a crash: the write stops with a
/// clear message, the data folder stays marked, and the next open checks and repairs the
/// stores (before, such a failure counted as a clean close and left the indexes half empty).
/// The data folder lives on a small tmpfs in a private mount namespace (`unshare`, as root).
#[test]
fn a_write_that_fails_on_a_full_disk_is_repaired_at_the_next_open() {
    let folder = real_folder();
    // With the SQuAD articles whole, the vectors alone (about 1.5 KiB a chunk) outgrow the
    // room left plus all a re-index frees (the old full-text segments): with a small library
    // the new index could just fit, and the write would not fail.
    for entry in std::fs::read_dir(shared_data().join("squad-dev/docs")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("whole-{}", path.file_name().unwrap().to_string_lossy());
        std::fs::copy(&path, folder.path().join(name)).unwrap();
    }
    let mount = tempfile::tempdir().unwrap();
    // Everything that needs the tmpfs runs inside one namespace; each step prints a marker.
    let script = r#"
set -u
mount -t tmpfs -o size=64m tmpfs "$MOUNT" || exit 90
run() { "$CAIRN" --data-dir "$MOUNT/data" --embedder "$EMBEDDER" --model "$GENERATOR" "$@"; }
run ingest --json "$FOLDER" > /dev/null || { echo "ingest failed"; exit 91; }
used=$(df --output=used -k "$MOUNT" | tail -n 1)
# Room for the catalog's shared-memory file and the marker, not for a second index.
mount -o remount,size=$((used + 192))k "$MOUNT" || exit 92
run reindex > "$MOUNT/../reindex.out" 2>&1
echo "reindex exit: $?"
echo "marker: $(tr '\n' '|' < "$MOUNT/data/cairn.running")"
mount -o remount,size=64m "$MOUNT" || exit 93
run search "where is the shed key" --mode bm25 --json > "$MOUNT/../search.out" 2> "$MOUNT/../search.err"
echo "search exit: $?"
run doctor --json > "$MOUNT/../doctor.out"
echo "doctor exit: $?"
"#;
    std::fs::create_dir_all(mount.path().join("disk")).unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "bash", "-c", script])
        .env("MOUNT", mount.path().join("disk"))
        .env("CAIRN", env!("CARGO_BIN_EXE_cairn"))
        .env("EMBEDDER", support::embedder())
        .env("GENERATOR", support::generator())
        .env("FOLDER", folder.path())
        .current_dir(mount.path())
        .output()
        .map(|o| {
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        });
    let (code, stdout, stderr) = out.expect("unshare (util-linux) runs");
    assert_eq!(
        code,
        Some(0),
        "the namespace script failed (it needs root for unshare and mount): {stdout}{stderr}"
    );
    let read = |name: &str| std::fs::read_to_string(mount.path().join(name)).unwrap_or_default();
    let reindex = read("reindex.out");
    assert!(stdout.contains("reindex exit: 1"), "{stdout}{reindex}");
    assert!(
        reindex.contains("No space left on device") || reindex.contains("os error 28"),
        "the reason is the full disk: {reindex}"
    );
    assert!(
        stdout.contains("marker: process ")
            && stdout.contains("interrupted: a re-index was interrupted"),
        "the folder is marked for repair, naming the write: {stdout}"
    );
    // The next open checks the folder, says why, and repairs it.
    let search_err = read("search.err");
    assert!(stdout.contains("search exit: 0"), "{stdout}{search_err}");
    assert!(
        search_err.contains("last time a re-index was interrupted")
            && search_err.contains("the data folder was checked")
            && search_err.contains("the stores agree"),
        "{search_err}"
    );
    assert!(
        read("search.out").contains("shed key"),
        "{}",
        read("search.out")
    );
    let doctor: Value = serde_json::from_str(&read("doctor.out")).expect("doctor's JSON");
    assert!(stdout.contains("doctor exit: 0"), "{stdout}{doctor:#}");
    assert_eq!(
        doctor["unclean_shutdown"], false,
        "the repair was a clean close: {doctor:#}"
    );
    assert_eq!(doctor["health"]["text"]["missing"], 0, "{doctor:#}");
    assert_eq!(doctor["health"]["vectors"]["missing"], 0, "{doctor:#}");
}
