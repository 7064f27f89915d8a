#!/usr/bin/env bash
# GPU readiness in one go (about 5 min on one GPU; the steps' limits add to 9): CPU/CUDA parity tests, the style-transfer benchmark on CUDA
# (fast and plain, fp32 and bf16, the style_transfer waveform-domain evaluation), one full paper-config transfer
# (graphs/paper.yaml: 500 iterations, 500 Griffin-Lim iterations) and graphs/beyond_paper.yaml (feature_style on
# CUDA) end to end, then ONE table of it all.
#   bench/gpu_check.sh [output-folder]        (default: out/gpu_check)
# Not yet run on a GPU: no GPU machine was at hand when it was written (see README, "Speed").
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/gpu_check}"
mkdir -p "$out"
if ! python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "no CUDA device here: nothing to check (run bench/style_transfer.py for the CPU)"
    exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt" || true
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its log, remember failures
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    local rc=$?
    echo "$name $rc $((SECONDS - t0))" >> "$out/steps.txt"
    [ $rc -eq 0 ] || { status=1; echo "step $name failed (exit $rc), see $out/$name.log"; tail -5 "$out/$name.log"; }
}
: > "$out/steps.txt"
step parity 150 python3 -m pytest -q -m gpu -p no:cacheprovider tests/nodes/test_style_fast.py \
    tests/nodes/test_style_transfer.py tests/nodes/test_feature_style.py
step bench 150 python3 bench/style_transfer.py --device cuda --seconds 10 --evals 5 --iterations 10 \
    --time-to-result 500 --result-precisions fp32,bf16 --json "$out/bench.json"
step beyond 60 python3 bench/style_transfer.py --device cuda --seconds 10 --evals 5 --domain waveform --alpha 1 \
    --json "$out/beyond.json"
step paper 120 python3 cli.py run graphs/paper.yaml --device cuda --no-report --log-json \
    --set "out=$out/paper.wav"
step beyond_graph 60 python3 cli.py run graphs/beyond_paper.yaml --device cuda --no-report --log-json \
    --set "out=$out/beyond_paper.wav"
python3 - "$out" <<'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
rows = [("GPU", (out / "gpu.txt").read_text().strip() if (out / "gpu.txt").exists() else "?")]
for line in (out / "steps.txt").read_text().split("\n"):
    if line:
        name, rc, seconds = line.split()
        rows.append((f"step {name}", f"{'ok' if rc == '0' else 'FAILED (exit ' + rc + ')'} in {seconds} s"))
for tag, path in (("paper config", out / "bench.json"), ("style_transfer waveform config", out / "beyond.json")):
    if path.exists():
        b = json.loads(path.read_text())
        rows.append((f"{tag}: matmul peak fp32 / bf16 GFLOP/s",
                     f"{b['matmul_peak_gflops']:.0f} / {b['matmul_bf16_gflops'] or 0:.0f}"))
        for name, r in b["runs"].items():
            rows.append((f"{tag}: {name} s/eval", f"{r['seconds_per_eval']:.4f} ({r['ratio_to_matmul_peak']:.2f}x peak)"))
        for p, t in b.get("time_to_result", {}).items():
            rows.append((f"{tag}: 500 iterations {p}", f"{t['seconds']:.1f} s, {t['evaluations']} evaluations, "
                         f"within 0.1 % at iteration {t['within_0.1pct_iteration']}"))
for graph, name, node_type in (("graphs/paper.yaml", "paper", "style_transfer"),
                                ("graphs/beyond_paper.yaml", "beyond_graph", "feature_style")):
    log = out / f"{name}.log"
    done = [json.loads(l) for l in log.read_text().splitlines() if l.startswith("{") and '"run_done"' in l] \
        if log.exists() else []
    if done:
        d = done[-1]
        st = next(iter(d.get(node_type, {}).values()), {})
        precision = st.get("facts", {}).get("precision", st.get("precision"))
        rows.append((f"{graph} end to end", f"{d['seconds']:.1f} s on {d.get('device')}, {st.get('iterations')} "
                     f"iterations, loss {st.get('loss_first', 0):.4g} -> {st.get('loss_last', 0):.4g}, precision {precision}"))
width = max(len(k) for k, _ in rows)
print(f"{'check':<{width}}  result")
for k, v in rows:
    print(f"{k:<{width}}  {v}")
EOF
exit $status
