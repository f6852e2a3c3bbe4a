#!/usr/bin/env python3
"""Writes all-MiniLM-L6-v2 (a sentence-transformers folder of safetensors) as an f32 GGUF that
llama.cpp runs as a BERT embedder, for the embedding-engine comparison only (Cairn itself
ships ONNX). Needs numpy and `gguf` (PyPI, llama.cpp's own writer).

    bert_gguf.py SENTENCE_TRANSFORMERS_DIR OUT.gguf
"""

import json
import struct
import sys

import gguf
import numpy as np


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return {
        name: np.frombuffer(data[8 + n + i["data_offsets"][0] : 8 + n + i["data_offsets"][1]],
                            np.float32).reshape(i["shape"])
        for name, i in header.items()
        if name != "__metadata__" and i["dtype"] == "F32"
    }


def main(src, out):
    config = json.load(open(f"{src}/config.json"))
    vocab = json.load(open(f"{src}/tokenizer.json"))["model"]["vocab"]
    w = read_safetensors(f"{src}/model.safetensors")
    writer = gguf.GGUFWriter(out, "bert")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    # llama.cpp's WordPiece: word starts carry "▁", continuations lose "##".
    tokens, types = [], []
    for token, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
        special = token.startswith("[") and token.endswith("]")
        tokens.append(token if special else token[2:] if token.startswith("##") else "\u2581" + token)
        types.append(gguf.TokenType.CONTROL if special else gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("bert")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_type_count(config["type_vocab_size"])
    writer.add_bos_token_id(vocab["[CLS]"])
    writer.add_sep_token_id(vocab["[SEP]"])
    writer.add_unk_token_id(vocab["[UNK]"])
    writer.add_pad_token_id(vocab["[PAD]"])
    writer.add_mask_token_id(vocab["[MASK]"])
    names = {"embeddings.word_embeddings.weight": "token_embd.weight",
             "embeddings.token_type_embeddings.weight": "token_types.weight",
             "embeddings.position_embeddings.weight": "position_embd.weight",
             "embeddings.LayerNorm.weight": "token_embd_norm.weight",
             "embeddings.LayerNorm.bias": "token_embd_norm.bias"}
    layer = {"attention.self.query": "attn_q", "attention.self.key": "attn_k",
             "attention.self.value": "attn_v", "attention.output.dense": "attn_output",
             "attention.output.LayerNorm": "attn_output_norm", "intermediate.dense": "ffn_up",
             "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm"}
    for i in range(config["num_hidden_layers"]):
        for hf, gg in layer.items():
            for part in ("weight", "bias"):
                names[f"encoder.layer.{i}.{hf}.{part}"] = f"blk.{i}.{gg}.{part}"
    for hf, gg in names.items():
        writer.add_tensor(gg, np.ascontiguousarray(w[hf]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
