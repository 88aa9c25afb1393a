#!/usr/bin/env bash
# Every GPU check of the project in one run, for a CUDA machine that has torch and transformers but no Rust
# toolchain and no network: the release abi3 wheel is built elsewhere and carried in .whl/.
#
#   make gpu-bundle                     # on the build machine: the wheel into .whl/ (git-ignored)
#   bash bench/gpu_check.sh             # on the GPU machine, from the repository root
#   bash bench/gpu_check.sh --dry-run   # anywhere: the same steps at CPU/tiny size, to check this script
#
# It installs the wheel into a scratch directory (no dependencies: numpy, click, tqdm, torch, transformers,
# safetensors must be there already), then runs
#   1. the GPU-marked tests: bf16 training on CUDA, NCCL DDP and FSDP2 worlds of one (and vLLM where it imports);
#   2. bench/bench_gpu_train.py, HF backend (and the vLLM backend where vllm imports).
# Results land in ${OUT:-gpu-check}/: env.txt, pytest.log, bench_hf.{json,log}, bench_vllm.{json,log}.
# A failing step does not stop the others; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu-check}
DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 TOKENIZERS_PARALLELISM=false
failed=()
t0=$SECONDS
step() { echo; echo "== $* ($((SECONDS - t0)) s)"; }

step "install the carried wheel"
wheel=$(ls .whl/maxrl_rs-*-abi3-*.whl 2>/dev/null | head -n 1)
if [[ -z "$wheel" ]]; then
    echo "no .whl/maxrl_rs-*-abi3-*.whl: run 'make gpu-bundle' on a machine with the Rust toolchain first" >&2
    exit 2
fi
site=$(mktemp -d)
"$PY" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheel" || exit 2
export PYTHONPATH="$site"
"$PY" - "$site" <<'PY' || exit 2
import sys
from pathlib import Path
import maxrl_rs
assert maxrl_rs.__file__.startswith(sys.argv[1]), f"imported {maxrl_rs.__file__}, not the carried wheel"
# A wheel built before the last change to the Python sources would test old code: refuse it.
installed = Path(maxrl_rs.__file__).parent
stale = [str(p.relative_to("python")) for p in sorted(Path("python/maxrl_rs").rglob("*.py"))
         if not (installed / p.relative_to("python/maxrl_rs")).is_file()
         or (installed / p.relative_to("python/maxrl_rs")).read_bytes() != p.read_bytes()]
if stale:
    sys.exit(f"the carried wheel is older than the sources ({', '.join(stale[:5])}): run 'make gpu-bundle'")
print("maxrl_rs", maxrl_rs.__version__, "from", maxrl_rs.__file__)
PY

step "environment"
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    "$PY" - <<'PY'
import platform, torch, transformers, maxrl_rs
print("python", platform.python_version(), "| torch", torch.__version__, "| transformers", transformers.__version__,
      "| maxrl_rs", maxrl_rs.__version__)
print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
try:
    import vllm
    print("vllm", vllm.__version__)
except Exception as e:  # noqa: BLE001
    print("vllm not importable:", type(e).__name__)
PY
} 2>&1 | tee "$OUT/env.txt"
has_vllm=0
grep -q '^vllm [0-9]' "$OUT/env.txt" && has_vllm=1

step "GPU tests"
"$PY" -m pytest -q -p no:cacheprovider -rs -m "gpu or vllm" \
    tests/test_gpu_distributed.py tests/test_trainer.py tests/test_vllm_backend.py 2>&1 | tee "$OUT/pytest.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || failed+=(pytest)

bench() {  # bench NAME ARGS...: one bench_gpu_train.py run, its JSON and log in $OUT
    local name=$1
    shift
    step "bench $name"
    local size=()
    ((DRY)) && size=(--tiny)
    "$PY" bench/bench_gpu_train.py "${size[@]}" "$@" --out "$OUT/bench_$name.json" 2>&1 | tee "$OUT/bench_$name.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || failed+=("bench_$name")
}
bench hf --backend hf
((has_vllm)) && bench vllm --backend vllm

step "done"
if ((${#failed[@]})); then
    echo "failed: ${failed[*]}"
    exit 1
fi
echo "all passed; results in $OUT/"
