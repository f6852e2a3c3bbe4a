//! Which engine runs the language model (`crate::load` loads a generator with it).
//!
//! llama.cpp is the CPU engine: on the same GGUF and threads it reads prompts and decodes
//! several times faster than mistral.rs 0.8 on a CPU (`bench/RESULTS.md`). mistral.rs runs the
//! model on the GPU in `cuda`/`metal` builds. `Auto` picks by that; a person can override it
//! in the settings (or `--backend`, `CAIRN_BACKEND`).

use crate::ModelError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The engine that runs the GGUF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    /// llama.cpp on the CPU; mistral.rs on the GPU of a `cuda`/`metal` build.
    #[default]
    Auto,
    LlamaCpp,
    MistralRs,
}

impl Backend {
    /// Whether this build can put the model on a GPU (mistral.rs with `cuda` or `metal`).
    pub const GPU_BUILD: bool = cfg!(any(feature = "cuda", feature = "metal"));

    /// The engine `Auto` stands for on this build, given whether the CPU is forced.
    pub fn resolve(self, force_cpu: bool) -> Backend {
        self.resolve_on(force_cpu, &missing_cpu_features())
    }

    /// `resolve` on a CPU that lacks `missing` of the instruction sets llama.cpp was built
    /// for: `Auto` then takes mistral.rs, which checks the CPU as it runs.
    pub(crate) fn resolve_on(self, force_cpu: bool, missing: &[&str]) -> Backend {
        match self {
            Backend::Auto if Self::GPU_BUILD && !force_cpu => Backend::MistralRs,
            Backend::Auto if !missing.is_empty() => Backend::MistralRs,
            Backend::Auto => Backend::LlamaCpp,
            chosen => chosen,
        }
    }
}

/// The instruction sets this build's llama.cpp kernels were compiled for (the `GGML_*`
/// settings of `.cargo/config.toml`) that this CPU lacks. Running llama.cpp there would stop
/// the process with SIGILL, so it is refused first with these names.
pub fn missing_cpu_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let wanted = [
            (
                option_env!("GGML_AVX"),
                "AVX",
                std::arch::is_x86_feature_detected!("avx"),
            ),
            (
                option_env!("GGML_AVX2"),
                "AVX2",
                std::arch::is_x86_feature_detected!("avx2"),
            ),
            (
                option_env!("GGML_FMA"),
                "FMA",
                std::arch::is_x86_feature_detected!("fma"),
            ),
            (
                option_env!("GGML_F16C"),
                "F16C",
                std::arch::is_x86_feature_detected!("f16c"),
            ),
            (
                option_env!("GGML_BMI2"),
                "BMI2",
                std::arch::is_x86_feature_detected!("bmi2"),
            ),
        ];
        wanted
            .into_iter()
            .filter(|(built, _, present)| *built == Some("ON") && !present)
            .map(|(_, name, _)| name)
            .collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::LlamaCpp => "llama.cpp",
            Backend::MistralRs => "mistral.rs",
        })
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Backend::Auto),
            "llama.cpp" | "llama-cpp" | "llamacpp" => Ok(Backend::LlamaCpp),
            "mistral.rs" | "mistral-rs" | "mistralrs" => Ok(Backend::MistralRs),
            other => Err(format!(
                "unknown generation backend {other:?}: auto, llama.cpp or mistral.rs"
            )),
        }
    }
}

/// Seconds a typical answer takes: reading a 2,048-token prompt and writing 256 tokens.
pub fn typical_answer_s(prompt_tok_s: f64, decode_tok_s: f64) -> f64 {
    2048.0 / prompt_tok_s.max(1e-9) + 256.0 / decode_tok_s.max(1e-9)
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    pub prompt_tok_s: f64,
    pub decode_tok_s: f64,
    /// The model file measured.
    pub model: String,
}

/// The speeds file: measurements keyed by `<engine>@<cpu|gpu>@<model file>`. Engines rank
/// differently on different models (a 135M test model is no guide for an 8B one), so a
/// measurement only ever decides for the model it was made with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Speeds {
    pub measured: BTreeMap<String, Speed>,
}

fn key(backend: Backend, gpu: bool, model: &str) -> String {
    format!("{backend}@{}@{model}", if gpu { "gpu" } else { "cpu" })
}

impl Speeds {
    pub fn record(&mut self, backend: Backend, gpu: bool, speed: Speed) {
        self.measured.insert(key(backend, gpu, &speed.model), speed);
    }

    /// The engine with the shortest typical answer for `model` on this device, once both
    /// were measured with it.
    pub fn faster(&self, gpu: bool, model: &str) -> Option<Backend> {
        let time = |b: Backend| {
            self.measured
                .get(&key(b, gpu, model))
                .map(|s| typical_answer_s(s.prompt_tok_s, s.decode_tok_s))
        };
        match (time(Backend::LlamaCpp), time(Backend::MistralRs)) {
            (Some(llama), Some(mistral)) => Some(if mistral < llama {
                Backend::MistralRs
            } else {
                Backend::LlamaCpp
            }),
            _ => None,
        }
    }
}

/// How to run the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratorOptions {
    /// Tokens of prompt and answer together; `None` takes the model's own limit, capped at
    /// [`GeneratorOptions::DEFAULT_CONTEXT`] (the KV cache grows with it).
    pub context_tokens: Option<usize>,
    /// Run on the CPU even when Cairn was built with `cuda` or `metal`.
    pub force_cpu: bool,
    /// The engine; `Auto` by default.
    pub backend: Backend,
    /// CPU threads for llama.cpp; `None` takes [`crate::default_threads`]. (mistral.rs sizes
    /// its own pool.)
    pub threads: Option<usize>,
}

impl GeneratorOptions {
    pub const DEFAULT_CONTEXT: usize = 8192;
}

/// A GGUF file both engines can be handed: it exists and has a file name (the model's id).
pub(crate) struct ModelFile {
    pub shown: String,
    pub name: String,
    /// The folder that holds the file, as an absolute path: a bare file name is a file in the
    /// current folder, never a model id to look up on a hub.
    pub folder: std::path::PathBuf,
}

impl ModelFile {
    pub(crate) fn check(path: &Path) -> Result<ModelFile, ModelError> {
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(ModelError::Missing { path: shown });
        }
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .ok_or_else(|| ModelError::Load {
                path: shown.clone(),
                message: "the model path names no file".into(),
            })?;
        let folder = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .ok_or_else(|| ModelError::Load {
                path: shown.clone(),
                message: "the folder of the model file cannot be determined".into(),
            })?;
        Ok(ModelFile {
            shown,
            name,
            folder,
        })
    }

    /// A load error naming this file.
    pub(crate) fn error(&self, message: impl Into<String>) -> ModelError {
        ModelError::Load {
            path: self.shown.clone(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{typical_answer_s, Backend, Speed, Speeds};

    #[test]
    fn auto_takes_mistral_rs_on_a_cpu_that_cannot_run_the_llama_cpp_build() {
        assert_eq!(Backend::Auto.resolve_on(true, &[]), Backend::LlamaCpp);
        assert_eq!(
            Backend::Auto.resolve_on(true, &["AVX2"]),
            Backend::MistralRs
        );
        // A person who asked for llama.cpp gets the refusal, not another engine.
        assert_eq!(
            Backend::LlamaCpp.resolve_on(true, &["AVX2"]),
            Backend::LlamaCpp
        );
    }

    #[test]
    fn backends_parse_from_their_names_and_print_them() {
        for backend in [Backend::Auto, Backend::LlamaCpp, Backend::MistralRs] {
            assert_eq!(backend.to_string().parse::<Backend>(), Ok(backend));
        }
        assert_eq!("mistralrs".parse::<Backend>(), Ok(Backend::MistralRs));
        assert!("ollama"
            .parse::<Backend>()
            .unwrap_err()
            .contains("llama.cpp"));
    }

    #[test]
    fn the_faster_engine_is_the_one_with_the_shorter_typical_answer() {
        let speed = |prompt_tok_s, decode_tok_s| Speed {
            prompt_tok_s,
            decode_tok_s,
            model: "m.gguf".into(),
        };
        let mut speeds = Speeds::default();
        speeds.record(Backend::LlamaCpp, false, speed(400.0, 100.0));
        assert_eq!(
            speeds.faster(false, "m.gguf"),
            None,
            "one engine measured is no comparison"
        );
        speeds.record(Backend::MistralRs, false, speed(20.0, 11.0));
        assert_eq!(speeds.faster(false, "m.gguf"), Some(Backend::LlamaCpp));
        assert_eq!(
            speeds.faster(true, "m.gguf"),
            None,
            "the GPU was not measured"
        );
        assert_eq!(
            speeds.faster(false, "Llama-3.1-8B.gguf"),
            None,
            "measurements of a test model decide nothing for another"
        );
        speeds.record(Backend::LlamaCpp, true, speed(2000.0, 90.0));
        speeds.record(Backend::MistralRs, true, speed(6000.0, 120.0));
        assert_eq!(speeds.faster(true, "m.gguf"), Some(Backend::MistralRs));
        // Prompt reading matters as much as decoding: 2,048 tokens in, 256 out.
        assert!((typical_answer_s(2048.0, 256.0) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn auto_is_llama_cpp_on_the_cpu() {
        assert_eq!(Backend::Auto.resolve(true), Backend::LlamaCpp);
        assert_eq!(
            Backend::Auto.resolve(false),
            if Backend::GPU_BUILD {
                Backend::MistralRs
            } else {
                Backend::LlamaCpp
            }
        );
        assert_eq!(Backend::MistralRs.resolve(true), Backend::MistralRs);
    }
}
