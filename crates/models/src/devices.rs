//! The devices llama.cpp can run a model on, and how much of a model fits on the GPU.

use crate::gguf::GgufInfo;
use llama_cpp_2::LlamaBackendDeviceType;

/// A device of llama.cpp's backends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    pub name: String,
    pub description: String,
    pub backend: String,
    pub memory_free: u64,
    pub memory_total: u64,
    pub gpu: bool,
}

/// Every device this build's llama.cpp has (the CPU only, without a GPU backend).
pub fn devices() -> Vec<Device> {
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| Device {
            gpu: matches!(
                d.device_type,
                LlamaBackendDeviceType::Gpu
                    | LlamaBackendDeviceType::IntegratedGpu
                    | LlamaBackendDeviceType::Accelerator
            ),
            name: d.name,
            description: d.description,
            backend: d.backend,
            memory_free: d.memory_free as u64,
            memory_total: d.memory_total as u64,
        })
        .collect()
}

/// Free memory of the roomiest GPU (0 without one).
pub fn gpu_free_memory() -> u64 {
    devices()
        .iter()
        .filter(|d| d.gpu)
        .map(|d| d.memory_free)
        .max()
        .unwrap_or(0)
}

/// GPU memory kept free for llama.cpp's compute buffers and the display.
const GPU_RESERVE: u64 = 1 << 30;

/// Where a model runs: how many of its layers go to the GPU, and why not more.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    pub gpu_layers: u32,
    pub layers: u32,
    /// Said to the person when the model does not run wholly on a GPU.
    pub notice: Option<String>,
}

/// How many of a model's layers fit in `free` bytes of GPU memory at `context` tokens: each
/// layer's share of the weights and its KV cache. Without a GPU the model runs on the CPU,
/// which is said when one was expected (a GPU build).
pub fn placement(
    info: &GgufInfo,
    model_bytes: u64,
    context: u64,
    free: Option<u64>,
    gpu_expected: bool,
) -> Placement {
    let layers = info.layers.unwrap_or(0);
    let Some(free) = free.filter(|f| *f > 0) else {
        return Placement {
            gpu_layers: 0,
            layers,
            notice: gpu_expected
                .then(|| "no GPU found: the model runs on the CPU, more slowly".to_string()),
        };
    };
    if layers == 0 {
        return Placement {
            gpu_layers: 0,
            layers,
            notice: Some("the model does not say its layers: it runs on the CPU".into()),
        };
    }
    let per_layer = model_bytes / u64::from(layers) + info.kv_bytes_per_token_per_layer() * context;
    let fit =
        u32::try_from(free.saturating_sub(GPU_RESERVE) / per_layer.max(1)).unwrap_or(u32::MAX);
    let gpu_layers = fit.min(layers);
    let notice = (gpu_layers < layers).then(|| {
        format!(
            "the GPU has {} MiB free: {gpu_layers} of {layers} layers run on it, the rest on the CPU (slower)",
            free >> 20
        )
    });
    Placement {
        gpu_layers,
        layers,
        notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama_8b() -> GgufInfo {
        GgufInfo {
            version: 3,
            architecture: "llama".into(),
            has_chat_template: true,
            layers: Some(32),
            context_length: Some(131_072),
            embedding: Some(4096),
            heads: Some(32),
            kv_heads: Some(8),
        }
    }

    #[test]
    fn as_many_layers_go_to_the_gpu_as_fit_and_the_rest_is_said() {
        const GIB: u64 = 1 << 30;
        let q4 = 4_920_739_232;
        let all = placement(&llama_8b(), q4, 8192, Some(24 * GIB), true);
        assert_eq!((all.gpu_layers, all.notice), (32, None));
        // 4 GiB free: 3 GiB after the reserve, at about 147 MiB of weights and 32 MiB of KV
        // cache a layer.
        let some = placement(&llama_8b(), q4, 8192, Some(4 * GIB), true);
        assert_eq!(some.gpu_layers, 17);
        assert!(some.notice.unwrap().contains("17 of 32 layers"));
        let none = placement(&llama_8b(), q4, 8192, None, true);
        assert_eq!(none.gpu_layers, 0);
        assert!(none.notice.unwrap().contains("no GPU"));
        // A CPU build runs on the CPU by design: nothing to say.
        assert_eq!(placement(&llama_8b(), q4, 8192, None, false).notice, None);
    }
}
