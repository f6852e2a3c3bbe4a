"""Re-quantises a GGUF with llama.cpp's own quantiser (llama-cpp-python), to compare the
engines' kernels on other formats: quantize.py IN OUT TYPE (Q8_0, Q4_K_M, Q4_0)."""

import sys

import llama_cpp

TYPES = {
    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
}


def main() -> None:
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = TYPES[kind]
    params.allow_requantize = True
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    if rc != 0:
        sys.exit(f"quantisation to {kind} failed ({rc})")


if __name__ == "__main__":
    main()
