//! The embedding engines Cairn could run, measured in one run on the same texts, window and
//! threads: candle's BERT (what Cairn used until it was replaced; batches of 32 as it ran
//! them), ONNX Runtime fp32 and int8 (what Cairn runs: one text per forward pass), and
//! llama.cpp's BERT embeddings from an f32 GGUF (one text per encode, which is its fastest
//! way here). Prints texts per second and each engine's cosine to ONNX Runtime fp32. The
//! engine table in ARCHITECTURE.md comes from this program (see bench/engines/README.md).
//!
//! ```text
//! cargo run --release -p cairn-models --features engine-comparison --example embedding_engines \
//!   -- MINILM_DIR ONNX_DIR MINILM_F32_GGUF LIBONNXRUNTIME TEXTS_JSONL THREADS
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cairn_core::ports::EmbedKind;
use cairn_models::{EmbedderOptions, OnnxEmbedder, Precision};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use std::path::Path;
use std::time::Instant;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// The window all engines cut texts at (all-MiniLM-L6-v2's, special tokens included).
const WINDOW: usize = 256;

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// candle's BERT, loaded; embeds texts in batches of 32 of similar length.
fn candle(dir: &Path) -> impl Fn(&[String]) -> Vec<Vec<f32>> {
    let config: Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu).unwrap();
    let model = BertModel::load(vb, &config).unwrap();
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    tokenizer.with_padding(Some(PaddingParams::default()));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: WINDOW,
            ..TruncationParams::default()
        }))
        .unwrap();
    move |texts: &[String]| {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(32) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let enc = tokenizer.encode_batch(inputs, true).unwrap();
            let (rows, cols) = (enc.len(), enc[0].get_ids().len());
            let flat = |f: &dyn Fn(&tokenizers::Encoding) -> Vec<u32>| -> Vec<u32> {
                enc.iter().flat_map(f).collect()
            };
            let t = |v: Vec<u32>| Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap();
            let ids = t(flat(&|e| e.get_ids().to_vec()));
            let types = t(flat(&|e| e.get_type_ids().to_vec()));
            let mask = t(flat(&|e| e.get_attention_mask().to_vec()));
            let hidden = model.forward(&ids, &types, Some(&mask)).unwrap();
            let m = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
            let pooled = hidden.broadcast_mul(&m).unwrap().sum(1).unwrap();
            for (&i, mut v) in batch.iter().zip(pooled.to_vec2::<f32>().unwrap()) {
                normalise(&mut v);
                out[i] = v;
            }
        }
        out
    }
}

/// llama.cpp's BERT from a GGUF; embeds one text per encode.
fn llama_cpp(
    backend: &LlamaBackend,
    model: &LlamaModel,
    texts: &[String],
    threads: i32,
) -> Vec<Vec<f32>> {
    let params = LlamaContextParams::default()
        .with_embeddings(true)
        .with_pooling_type(LlamaPoolingType::Mean)
        .with_n_batch(WINDOW as u32)
        .with_n_ubatch(WINDOW as u32)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model.new_context(backend, params).unwrap();
    let mut out = Vec::with_capacity(texts.len());
    for text in texts {
        let mut tokens = model.vocab().tokenize(text.as_bytes(), true, false);
        if tokens.len() > WINDOW {
            let sep = *tokens.last().unwrap();
            tokens.truncate(WINDOW - 1);
            tokens.push(sep);
        }
        let mut batch = LlamaBatch::new(WINDOW, 1);
        batch.add_sequence(&tokens, 0, false).unwrap();
        ctx.clear_kv_cache();
        ctx.encode(&mut batch).unwrap();
        let mut v = ctx.embeddings_seq_ith(0).unwrap().to_vec();
        normalise(&mut v);
        out.push(v);
    }
    out
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, minilm, onnx, gguf, runtime, texts, threads] = &args[..] else {
        panic!("usage: embedding_engines MINILM_DIR ONNX_DIR GGUF LIBONNXRUNTIME TEXTS THREADS");
    };
    let threads: usize = threads.parse().unwrap();
    let texts: Vec<String> = std::fs::read_to_string(texts)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let warm = &texts[..8.min(texts.len())];
    let onnx_run = |precision| {
        let options = EmbedderOptions {
            runtime: runtime.into(),
            precision,
            threads: Some(threads),
        };
        let e = OnnxEmbedder::load(Path::new(onnx), &options).unwrap();
        e.embed_blocking(warm, EmbedKind::Passage).unwrap();
        timed(|| e.embed_blocking(&texts, EmbedKind::Passage).unwrap())
    };
    let (reference, fp32_s) = onnx_run(Precision::Fp32);
    let (int8, int8_s) = onnx_run(Precision::Int8);
    let candle = candle(Path::new(minilm));
    candle(warm);
    let (candle_v, candle_s) = timed(|| candle(&texts));
    let backend = LlamaBackend::init().unwrap();
    let model = LlamaModel::load_from_file(&backend, Path::new(gguf), &LlamaModelParams::default())
        .unwrap();
    llama_cpp(&backend, &model, warm, threads as i32);
    let (llama_v, llama_s) = timed(|| llama_cpp(&backend, &model, &texts, threads as i32));
    let agree = |v: &[Vec<f32>]| {
        v.iter()
            .zip(&reference)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
            .fold(f32::MAX, f32::min)
    };
    println!("| engine | texts/s | cosine to ONNX Runtime fp32 (min) |");
    println!("|---|---:|---:|");
    for (name, seconds, vectors) in [
        ("candle BERT (batches of 32)", candle_s, &candle_v),
        ("ONNX Runtime fp32 (fused graph)", fp32_s, &reference),
        ("ONNX Runtime int8 (per-channel dynamic)", int8_s, &int8),
        ("llama.cpp f32 GGUF", llama_s, &llama_v),
    ] {
        println!(
            "| {name} | {:.1} | {:.4} |",
            texts.len() as f64 / seconds,
            agree(vectors)
        );
    }
    eprintln!("{} texts, {threads} threads", texts.len());
}
