//! The models Cairn offers to download: the chat models and the embedders, where they are
//! on the Hugging Face Hub, what they need, and which one fits this machine.

use serde::Serialize;

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Chat,
    Embedder,
}

/// One file of a model on the Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HubFile {
    /// The path in the repository.
    pub path: &'static str,
    /// The size as the model page lists it (the Hub's own size is used for the download).
    pub size: u64,
    /// The SHA-256 when the catalogue pins it; every download is checked against the Hub's
    /// (`X-Linked-Etag`) either way, and against this one when it is set.
    pub sha256: Option<&'static str>,
}

/// A model of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// What `cairn models pull` takes.
    pub name: &'static str,
    pub title: &'static str,
    pub kind: Kind,
    pub repo: &'static str,
    pub revision: &'static str,
    pub files: &'static [HubFile],
    pub licence: &'static str,
    /// The folder under the models folder it goes into.
    pub folder: &'static str,
    /// KV-cache bytes per token of context (f16 keys and values of every layer).
    pub kv_bytes_per_token: u64,
    /// Layers, for GPU offload.
    pub layers: u32,
    /// What `cairn-embedder.json` says, for an embedder (its folder gets one written).
    pub embedder: Option<EmbedderDescription>,
}

/// The description written beside a downloaded embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmbedderDescription {
    pub dimension: usize,
    pub max_tokens: usize,
    pub query_prefix: &'static str,
    pub passage_prefix: &'static str,
    pub languages: &'static str,
}

/// Context tokens a chat model runs with by default (`GeneratorOptions::DEFAULT_CONTEXT`).
pub const DEFAULT_CONTEXT: u64 = crate::GeneratorOptions::DEFAULT_CONTEXT as u64;

/// Llama 3.1 8B: 32 layers × 8 KV heads × 128 dimensions × keys and values × 2 bytes, that is
/// 1 GiB per 8,192 tokens.
const LLAMA_8B_KV: u64 = 32 * 8 * 128 * 2 * 2;
/// Llama 3.2 3B: 28 layers × 8 KV heads × 128 × 2 × 2.
const LLAMA_3B_KV: u64 = 28 * 8 * 128 * 2 * 2;

pub const CATALOGUE: &[Entry] = &[
    Entry {
        name: "llama-3.1-8b-instruct-q4_k_m",
        title: "Llama 3.1 8B Instruct, Q4_K_M (recommended)",
        kind: Kind::Chat,
        repo: "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
        revision: "main",
        files: &[HubFile {
            path: "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",
            size: 4_920_739_232,
            sha256: None,
        }],
        licence: "Llama 3.1 Community License (accept it on the model page)",
        folder: "Llama-3.1-8B-Instruct",
        kv_bytes_per_token: LLAMA_8B_KV,
        layers: 32,
        embedder: None,
    },
    Entry {
        name: "llama-3.1-8b-instruct-q8_0",
        title: "Llama 3.1 8B Instruct, Q8_0 (closest to the original, twice the memory)",
        kind: Kind::Chat,
        repo: "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
        revision: "main",
        files: &[HubFile {
            path: "Meta-Llama-3.1-8B-Instruct-Q8_0.gguf",
            size: 8_540_770_784,
            sha256: None,
        }],
        licence: "Llama 3.1 Community License (accept it on the model page)",
        folder: "Llama-3.1-8B-Instruct",
        kv_bytes_per_token: LLAMA_8B_KV,
        layers: 32,
        embedder: None,
    },
    Entry {
        name: "llama-3.2-3b-instruct-q4_k_m",
        title: "Llama 3.2 3B Instruct, Q4_K_M (for 8 GB machines)",
        kind: Kind::Chat,
        repo: "bartowski/Llama-3.2-3B-Instruct-GGUF",
        revision: "main",
        files: &[HubFile {
            path: "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
            size: 2_019_377_696,
            sha256: None,
        }],
        licence: "Llama 3.2 Community License (accept it on the model page)",
        folder: "Llama-3.2-3B-Instruct",
        kv_bytes_per_token: LLAMA_3B_KV,
        layers: 28,
        embedder: None,
    },
    Entry {
        name: "multilingual-e5-small",
        title: "multilingual-e5-small (search in about 100 languages; the default)",
        kind: Kind::Embedder,
        repo: "intfloat/multilingual-e5-small",
        revision: "main",
        files: &[
            HubFile {
                path: "onnx/model.onnx",
                size: 470_000_000,
                sha256: None,
            },
            HubFile {
                path: "tokenizer.json",
                size: 17_000_000,
                sha256: None,
            },
        ],
        licence: "MIT",
        folder: "embedders/multilingual-e5-small",
        kv_bytes_per_token: 0,
        layers: 12,
        embedder: Some(EmbedderDescription {
            dimension: 384,
            max_tokens: 510,
            query_prefix: "query: ",
            passage_prefix: "passage: ",
            languages: "about 100, German, French and Spanish among them",
        }),
    },
    Entry {
        name: "all-minilm-l6-v2",
        title: "all-MiniLM-L6-v2 (English search, fastest)",
        kind: Kind::Embedder,
        repo: "sentence-transformers/all-MiniLM-L6-v2",
        revision: "main",
        files: &[
            HubFile {
                path: "onnx/model.onnx",
                size: 90_400_000,
                sha256: None,
            },
            HubFile {
                path: "tokenizer.json",
                size: 466_000,
                sha256: None,
            },
        ],
        licence: "Apache-2.0",
        folder: "embedders/all-MiniLM-L6-v2",
        kv_bytes_per_token: 0,
        layers: 6,
        embedder: Some(EmbedderDescription {
            dimension: 384,
            max_tokens: 254,
            query_prefix: "",
            passage_prefix: "",
            languages: "English",
        }),
    },
];

/// The chat model Cairn answers with unless another is chosen: where it is looked for, what
/// the first-run page offers, what the README names.
pub const DEFAULT_CHAT: &str = "llama-3.1-8b-instruct-q4_k_m";
/// The embedder new libraries search with unless another is chosen.
pub const DEFAULT_EMBEDDER: &str = "multilingual-e5-small";

/// The catalogue entry of the default chat model.
pub fn default_chat() -> &'static Entry {
    find(DEFAULT_CHAT).unwrap_or(&CATALOGUE[0])
}

/// The catalogue entry of the default embedder.
pub fn default_embedder() -> &'static Entry {
    find(DEFAULT_EMBEDDER)
        .or_else(|| CATALOGUE.iter().find(|e| e.kind == Kind::Embedder))
        .unwrap_or(&CATALOGUE[0])
}

impl Entry {
    /// Where it is installed, relative to the models folder: an embedder's folder, or a chat
    /// model's file in its folder.
    pub fn installed_path(&self) -> std::path::PathBuf {
        let folder = std::path::Path::new(self.folder);
        match (self.kind, self.files.first()) {
            (Kind::Chat, Some(file)) => {
                folder.join(file.path.rsplit('/').next().unwrap_or(file.path))
            }
            _ => folder.to_path_buf(),
        }
    }

    /// Bytes of all its files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Memory it needs at the default context: the weights and the KV cache.
    pub fn memory_needed(&self) -> u64 {
        self.size() + self.kv_bytes_per_token * DEFAULT_CONTEXT
    }
}

/// The memory a machine has for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Machine {
    /// Physical memory, bytes.
    pub ram: u64,
    /// Free memory of the largest GPU, bytes (0 without one this build can use).
    pub gpu_free: u64,
}

/// Whether a model fits a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Wholly on the GPU.
    Gpu,
    /// In RAM with room for the system and the app.
    Ram,
    /// Only by crowding everything else out: slow, and it may fail.
    Tight,
    /// Not at all.
    No,
}

/// Memory the system, the app, its embedder and a browser or two keep for themselves.
const RESERVE: u64 = 3 << 30;

impl Machine {
    pub fn fit(&self, entry: &Entry) -> Fit {
        let need = entry.memory_needed();
        if self.gpu_free >= need {
            Fit::Gpu
        } else if self.ram >= need + RESERVE {
            Fit::Ram
        } else if self.ram >= need {
            Fit::Tight
        } else {
            Fit::No
        }
    }

    /// The chat model to offer first: the first of the catalogue (best first) that fits
    /// well, else the smallest.
    pub fn recommended(&self) -> &'static Entry {
        let chat = || CATALOGUE.iter().filter(|e| e.kind == Kind::Chat);
        chat()
            .find(|e| matches!(self.fit(e), Fit::Gpu | Fit::Ram))
            .or_else(|| chat().min_by_key(|e| e.memory_needed()))
            .unwrap_or(&CATALOGUE[0])
    }

    /// This machine: physical memory from /proc/meminfo (0 when it cannot be read).
    pub fn detect(gpu_free: u64) -> Machine {
        let ram = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kib| kib * 1024);
        Machine { ram, gpu_free }
    }
}

/// The catalogue entry called `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_defaults_are_catalogue_models_installed_where_cairn_looks() {
        assert_eq!(default_chat().kind, Kind::Chat);
        assert_eq!(default_embedder().kind, Kind::Embedder);
        assert_eq!(
            default_chat().installed_path(),
            std::path::Path::new("Llama-3.1-8B-Instruct/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
        );
        assert_eq!(
            default_embedder().installed_path(),
            std::path::Path::new("embedders/multilingual-e5-small")
        );
    }

    #[test]
    fn llama_8b_needs_its_weights_and_a_gib_of_kv_cache_per_8k_tokens() {
        let q4 = find("llama-3.1-8b-instruct-q4_k_m").unwrap();
        assert_eq!(q4.kv_bytes_per_token * 8192, GIB);
        assert_eq!(q4.memory_needed(), q4.size() + GIB);
    }

    #[test]
    fn the_recommendation_follows_the_memory_and_what_does_not_fit_is_marked() {
        let small = Machine {
            ram: 8 * GIB,
            gpu_free: 0,
        };
        assert_eq!(small.recommended().name, "llama-3.2-3b-instruct-q4_k_m");
        assert_eq!(
            small.fit(find("llama-3.1-8b-instruct-q8_0").unwrap()),
            Fit::No
        );
        assert_eq!(
            small.fit(find("llama-3.1-8b-instruct-q4_k_m").unwrap()),
            Fit::Tight
        );
        let laptop = Machine {
            ram: 16 * GIB,
            gpu_free: 0,
        };
        assert_eq!(laptop.recommended().name, "llama-3.1-8b-instruct-q4_k_m");
        let gpu = Machine {
            ram: 16 * GIB,
            gpu_free: 8 * GIB,
        };
        assert_eq!(
            gpu.fit(find("llama-3.1-8b-instruct-q8_0").unwrap()),
            Fit::Ram
        );
        assert_eq!(
            gpu.fit(find("llama-3.1-8b-instruct-q4_k_m").unwrap()),
            Fit::Gpu
        );
        let tiny = Machine {
            ram: 2 * GIB,
            gpu_free: 0,
        };
        assert_eq!(
            tiny.recommended().name,
            "llama-3.2-3b-instruct-q4_k_m",
            "the smallest, marked"
        );
        assert_eq!(tiny.fit(tiny.recommended()), Fit::No);
    }
}
