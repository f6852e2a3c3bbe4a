# Shared settings of the scripts: one cargo target folder per machine for every command and
# CI run, and the model cache outside the repository.
CAIRN_CACHE="${CAIRN_CACHE:-$HOME/.cache/cairn}"
export CAIRN_CACHE
export CAIRN_MODELS="${CAIRN_MODELS:-$CAIRN_CACHE/models}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CAIRN_CACHE/target}"
# The embedder is the product default (multilingual-e5-small under $CAIRN_MODELS/embedders)
# unless CAIRN_EMBEDDER names another, for the demo and the tests alike.
SHARED_DATA="${SHARED_DATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/data}"
export SHARED_DATA
export CAIRN_GENERATOR="${CAIRN_GENERATOR:-$CAIRN_MODELS/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf}"
