//! Loading a generator: the engine `GeneratorOptions` name, or `Auto`'s choice for this machine.

use crate::backend::{missing_cpu_features, Backend, GeneratorOptions};
use crate::{LlamaCppGenerator, MistralGenerator, ModelError};
use cairn_core::ports::Generator;
use std::path::Path;
use std::sync::Arc;

/// Loads the GGUF at `path` with the engine `options` name (or `Auto`'s choice).
pub async fn load_generator(
    path: &Path,
    options: GeneratorOptions,
) -> Result<Arc<dyn Generator>, ModelError> {
    let missing = missing_cpu_features();
    Ok(
        match options.backend.resolve_on(options.force_cpu, &missing) {
            Backend::MistralRs => Arc::new(MistralGenerator::load(path, options).await?),
            _ if !missing.is_empty() => {
                return Err(ModelError::UnsupportedCpu {
                    missing: missing.join(", "),
                })
            }
            _ => Arc::new(
                LlamaCppGenerator::load(path, options.context_tokens, options.threads).await?,
            ),
        },
    )
}
