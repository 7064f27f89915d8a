#!/usr/bin/env bash
# Style-transfer benchmark on CUDA, as is, on a machine with a GPU: CPU/CUDA parity tests, then the same table
# as on the CPU (fast and plain, fp32 and bf16, cost vs length, style cache, bf16 quality, 500-iteration run).
#   bench/gpu_check.sh [json-path]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "no CUDA device here: nothing to check (run bench/style_transfer.py for the CPU)"
    exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -m pytest -q -m gpu tests/nodes/test_style_fast.py
python3 bench/style_transfer.py --device cuda --seconds 10 --evals 5 --iterations 10 --lengths 1,10,30,300 \
    --quality 50 --cache --time-to-result 500 --result-precisions fp32,bf16 \
    --json "${1:-bench/results/style_transfer_cuda.json}"
