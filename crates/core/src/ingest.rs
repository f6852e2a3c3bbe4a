//! What ingestion reports: per-file events while it runs and a summary at the end.

use crate::document::{ExtractedDocument, Failure};
use serde::{Deserialize, Serialize};

/// How one file ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Outcome {
    Indexed {
        chunks: u32,
        pages: u32,
        /// Chunks whose embedding had to be computed (others were reused).
        embedded: u32,
    },
    Unchanged,
    /// The file moved: same bytes at a new path, nothing extracted or embedded again.
    Renamed {
        from: String,
    },
    /// The file is gone from a synchronised folder; its document was removed.
    Removed,
    Failed(Failure),
    /// Reading the file again failed; the version indexed before stays searchable and the
    /// file is tried again by the next ingest.
    KeptPrevious(Failure),
}

/// Progress of an ingest, in the order things happen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum IngestEvent {
    /// The paths were scanned; `total` files of `bytes` in all will be looked at.
    Scanned {
        total: usize,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        bytes: u64,
    },
    /// Work on a file started a stage (a file may be reported unchanged without any).
    Stage { path: String, stage: Stage },
    /// OCR of a file started its `page`-th page of `pages` to recognise.
    Recognising { path: String, page: u32, pages: u32 },
    /// One file of `bytes` is done (or failed, or was unchanged).
    File {
        path: String,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        bytes: u64,
        outcome: Outcome,
    },
    /// Pending documents were committed to both indexes.
    Committed { documents: usize },
    /// A folder could not be read (or a link's target is gone): the `kept` documents the
    /// catalog has under it stay as they are, none is taken for deleted.
    FolderUnreadable {
        path: String,
        failure: Failure,
        kept: usize,
    },
}

/// The stages a file goes through before it is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Stage {
    /// Its text is being read.
    Extracting,
    /// Its chunks are being embedded.
    Embedding,
}

/// Receives ingest progress; the CLI draws a bar, the app forwards events to the window.
pub trait IngestObserver: Send + Sync {
    fn on_event(&self, event: &IngestEvent);
}

impl<F: Fn(&IngestEvent) + Send + Sync> IngestObserver for F {
    fn on_event(&self, event: &IngestEvent) {
        self(event)
    }
}

/// The summary of one ingest run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct IngestReport {
    pub indexed: Vec<(String, u32)>,
    pub unchanged: Vec<String>,
    pub failed: Vec<(String, Failure)>,
    /// (from, to) of files that moved.
    #[serde(default)]
    pub renamed: Vec<(String, String)>,
    #[serde(default)]
    pub removed: Vec<String>,
    /// Chunks whose embedding was computed in this run (the others were reused).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub embedded: u64,
    /// Files whose re-read failed, with why; their earlier indexed version is kept.
    #[serde(default)]
    pub kept: Vec<(String, Failure)>,
    /// Folders that could not be read, with why; what was indexed under them is kept.
    #[serde(default)]
    pub unreadable_folders: Vec<(String, Failure)>,
}

impl IngestReport {
    /// Adds another run's outcomes to this one.
    pub fn merge(&mut self, other: IngestReport) {
        self.indexed.extend(other.indexed);
        self.unchanged.extend(other.unchanged);
        self.failed.extend(other.failed);
        self.renamed.extend(other.renamed);
        self.removed.extend(other.removed);
        self.embedded += other.embedded;
        self.kept.extend(other.kept);
        self.unreadable_folders.extend(other.unreadable_folders);
    }

    pub(crate) fn record(&mut self, path: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Indexed {
                chunks, embedded, ..
            } => {
                self.indexed.push((path.to_string(), *chunks));
                self.embedded += u64::from(*embedded);
            }
            Outcome::Unchanged => self.unchanged.push(path.to_string()),
            Outcome::Renamed { from } => self.renamed.push((from.clone(), path.to_string())),
            Outcome::Removed => self.removed.push(path.to_string()),
            Outcome::Failed(f) => self.failed.push((path.to_string(), f.clone())),
            Outcome::KeptPrevious(f) => self.kept.push((path.to_string(), f.clone())),
        }
    }
}

/// A document that does not come from a file: a record of a dataset, say. `key` identifies it
/// across runs (it takes the place of the path); its content hash is taken from the text.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineDocument {
    pub key: String,
    pub document: ExtractedDocument,
}
