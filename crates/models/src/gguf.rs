//! What a GGUF file says of itself, read from its header only (the weights are not touched):
//! the check a model file must pass before Cairn imports it.

use std::io::{BufReader, Read};
use std::path::Path;

/// Why a file cannot be used as a chat model, in words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GgufProblem {
    #[error("{path} is not a GGUF model file (it does not start with \"GGUF\")")]
    NotGguf { path: String },
    #[error("{path} is GGUF version {version}; llama.cpp reads versions 2 and 3")]
    Version { path: String, version: u32 },
    #[error("{path} is cut short or damaged: its header cannot be read ({reason})")]
    Truncated { path: String, reason: String },
    #[error("{path} names no architecture (general.architecture)")]
    NoArchitecture { path: String },
    #[error(
        "{path} is a {architecture} model, which this llama.cpp does not know: it cannot run it"
    )]
    UnknownArchitecture { path: String, architecture: String },
    #[error(
        "{path} is an embedding or base model without a chat template \
         (tokenizer.chat_template): choose an instruct (chat) model"
    )]
    NoChatTemplate { path: String },
}

/// The header facts Cairn checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufInfo {
    pub version: u32,
    pub architecture: String,
    pub has_chat_template: bool,
    /// `<arch>.block_count`: layers, for GPU offload.
    pub layers: Option<u32>,
    /// `<arch>.context_length`.
    pub context_length: Option<u64>,
    /// `<arch>.embedding_length`, `.attention.head_count` and `.attention.head_count_kv`:
    /// what the KV cache costs.
    pub embedding: Option<u64>,
    pub heads: Option<u64>,
    pub kv_heads: Option<u64>,
}

impl GgufInfo {
    /// Bytes of f16 keys and values one layer keeps per token of context.
    pub fn kv_bytes_per_token_per_layer(&self) -> u64 {
        match (self.embedding, self.heads) {
            (Some(e), Some(h)) if h > 0 => self.kv_heads.unwrap_or(h) * (e / h) * 2 * 2,
            _ => 0,
        }
    }
}

/// Architectures of chat models the llama.cpp Cairn builds runs (its `LLM_ARCH` names of
/// decoder models).
const KNOWN: &[&str] = &[
    "llama",
    "llama4",
    "mistral3",
    "qwen2",
    "qwen2moe",
    "qwen3",
    "qwen3moe",
    "phi2",
    "phi3",
    "phimoe",
    "gemma",
    "gemma2",
    "gemma3",
    "gemma3n",
    "granite",
    "granitemoe",
    "olmo",
    "olmo2",
    "olmoe",
    "deepseek",
    "deepseek2",
    "command-r",
    "cohere2",
    "exaone",
    "exaone4",
    "smollm3",
    "falcon",
    "falcon-h1",
    "starcoder2",
    "internlm2",
    "minicpm",
    "minicpm3",
    "stablelm",
    "chatglm",
    "glm4",
    "glm4moe",
    "gpt-oss",
    "ernie4_5",
    "hunyuan-dense",
    "openelm",
    "orion",
    "baichuan",
    "mpt",
    "bloom",
    "gptneox",
    "gpt2",
    "jais",
    "nemotron",
    "arcee",
    "plamo",
    "plamo2",
    "mamba",
    "mamba2",
    "rwkv6",
    "rwkv7",
    "dbrx",
    "arctic",
    "xverse",
    "bitnet",
    "seed_oss",
    "apertus",
    "lfm2",
    "dots1",
];

struct Header<R> {
    reader: R,
    path: String,
}

impl<R: Read> Header<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufProblem> {
        let mut b = [0; N];
        self.reader
            .read_exact(&mut b)
            .map_err(|e| GgufProblem::Truncated {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, GgufProblem> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, GgufProblem> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn skip(&mut self, n: u64) -> Result<(), GgufProblem> {
        let copied =
            std::io::copy(&mut (&mut self.reader).take(n), &mut std::io::sink()).map_err(|e| {
                GgufProblem::Truncated {
                    path: self.path.clone(),
                    reason: e.to_string(),
                }
            })?;
        if copied < n {
            return Err(GgufProblem::Truncated {
                path: self.path.clone(),
                reason: "it ends inside its metadata".into(),
            });
        }
        Ok(())
    }
    fn string(&mut self) -> Result<String, GgufProblem> {
        let n = self.u64()?;
        if n > 64 << 20 {
            return Err(GgufProblem::Truncated {
                path: self.path.clone(),
                reason: format!("a string of {n} bytes"),
            });
        }
        let mut b = Vec::new();
        (&mut self.reader)
            .take(n)
            .read_to_end(&mut b)
            .map_err(|e| GgufProblem::Truncated {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        if b.len() as u64 != n {
            return Err(GgufProblem::Truncated {
                path: self.path.clone(),
                reason: "it ends inside a string".into(),
            });
        }
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
    /// A value of GGUF type `ty`: kept as text for strings, as a number for integers.
    fn value(&mut self, ty: u32) -> Result<Value, GgufProblem> {
        Ok(match ty {
            0 | 1 | 7 => Value::Int(u64::from(self.bytes::<1>()?[0])),
            2 | 3 => Value::Int(u64::from(u16::from_le_bytes(self.bytes()?))),
            4 | 5 => Value::Int(u64::from(self.u32()?)),
            6 => {
                self.skip(4)?;
                Value::Other
            }
            10 | 11 => Value::Int(self.u64()?),
            12 => {
                self.skip(8)?;
                Value::Other
            }
            8 => Value::Text(self.string()?),
            9 => {
                let element = self.u32()?;
                let count = self.u64()?;
                for _ in 0..count {
                    self.value(element)?;
                }
                Value::Other
            }
            other => {
                return Err(GgufProblem::Truncated {
                    path: self.path.clone(),
                    reason: format!("a value of unknown type {other}"),
                })
            }
        })
    }
}

enum Value {
    Int(u64),
    Text(String),
    Other,
}

/// Reads the header of the GGUF at `path`.
pub fn read_info(path: &Path) -> Result<GgufInfo, GgufProblem> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| GgufProblem::Truncated {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut h = Header {
        reader: BufReader::new(file),
        path: shown.clone(),
    };
    if &h.bytes::<4>().map_err(|_| GgufProblem::NotGguf {
        path: shown.clone(),
    })? != b"GGUF"
    {
        return Err(GgufProblem::NotGguf { path: shown });
    }
    let version = h.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufProblem::Version {
            path: shown,
            version,
        });
    }
    let _tensors = h.u64()?;
    let pairs = h.u64()?;
    let mut info = GgufInfo {
        version,
        architecture: String::new(),
        has_chat_template: false,
        layers: None,
        context_length: None,
        embedding: None,
        heads: None,
        kv_heads: None,
    };
    let mut numbers = Vec::new();
    for _ in 0..pairs {
        let key = h.string()?;
        let ty = h.u32()?;
        match (key.as_str(), h.value(ty)?) {
            ("general.architecture", Value::Text(a)) => info.architecture = a,
            ("tokenizer.chat_template", Value::Text(t)) => {
                info.has_chat_template = !t.trim().is_empty()
            }
            (_, Value::Int(n)) => numbers.push((key, n)),
            _ => {}
        }
    }
    if info.architecture.is_empty() {
        return Err(GgufProblem::NoArchitecture { path: shown });
    }
    let number = |suffix: &str| {
        let key = format!("{}.{suffix}", info.architecture);
        numbers.iter().find(|(k, _)| *k == key).map(|(_, n)| *n)
    };
    info.layers = number("block_count").and_then(|n| u32::try_from(n).ok());
    info.context_length = number("context_length");
    info.embedding = number("embedding_length");
    info.heads = number("attention.head_count");
    info.kv_heads = number("attention.head_count_kv");
    Ok(info)
}

/// Checks that the GGUF at `path` is a chat model this build can run.
pub fn check_chat_model(path: &Path) -> Result<GgufInfo, GgufProblem> {
    let info = read_info(path)?;
    let shown = path.display().to_string();
    if !KNOWN.contains(&info.architecture.as_str()) {
        return Err(GgufProblem::UnknownArchitecture {
            path: shown,
            architecture: info.architecture,
        });
    }
    if !info.has_chat_template {
        return Err(GgufProblem::NoChatTemplate { path: shown });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A GGUF header with `pairs` of (key, string value) and u32 values.
    fn header(version: u32, strings: &[(&str, &str)], numbers: &[(&str, u32)]) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(version.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(((strings.len() + numbers.len()) as u64).to_le_bytes());
        let put = |b: &mut Vec<u8>, s: &str| {
            b.extend((s.len() as u64).to_le_bytes());
            b.extend(s.as_bytes());
        };
        for (k, v) in strings {
            put(&mut b, k);
            b.extend(8u32.to_le_bytes());
            put(&mut b, v);
        }
        for (k, v) in numbers {
            put(&mut b, k);
            b.extend(4u32.to_le_bytes());
            b.extend(v.to_le_bytes());
        }
        b
    }

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn a_chat_model_header_passes_and_says_its_layers() {
        let f = file(&header(
            3,
            &[
                ("general.architecture", "llama"),
                ("tokenizer.chat_template", "{{ x }}"),
            ],
            &[("llama.block_count", 32)],
        ));
        let info = check_chat_model(f.path()).unwrap();
        assert_eq!(
            (info.architecture.as_str(), info.layers),
            ("llama", Some(32))
        );
    }

    #[test]
    fn each_problem_gets_its_own_error() {
        let not = file(b"PK\x03\x04 a zip");
        assert!(matches!(
            check_chat_model(not.path()),
            Err(GgufProblem::NotGguf { .. })
        ));
        let old = file(&header(1, &[], &[]));
        assert!(matches!(
            check_chat_model(old.path()),
            Err(GgufProblem::Version { version: 1, .. })
        ));
        let mut cut = header(3, &[("general.architecture", "llama")], &[]);
        cut.truncate(cut.len() - 3);
        assert!(matches!(
            check_chat_model(file(&cut).path()),
            Err(GgufProblem::Truncated { .. })
        ));
        let bert = file(&header(3, &[("general.architecture", "bert")], &[]));
        let e = check_chat_model(bert.path()).unwrap_err();
        assert!(e.to_string().contains("does not know"), "{e}");
        let base = file(&header(3, &[("general.architecture", "llama")], &[]));
        let e = check_chat_model(base.path()).unwrap_err();
        assert!(matches!(e, GgufProblem::NoChatTemplate { .. }), "{e}");
    }
}
