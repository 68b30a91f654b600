#!/usr/bin/env bash
# The kernel tests on the CUDA backend and the kernel benchmark, on an NVIDIA machine that has a
# driver but no .NET SDK (such as the GPU machines lent to development sessions). Two steps:
#
#   tools/cuda-check.sh pack      here: publish the tests and native-bench, pack the .NET runtime,
#                                 all into .device/ (git-ignored; about 40 MB)
#   tools/cuda-check.sh run OUT   there, from the repository root: unpack the runtime, run both
#                                 (once per GEMM_VERSIONS entry, e.g. GEMM_VERSIONS="v1 v2") and the
#                                 PyTorch baseline, write logs, JSON and summary.log into OUT
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
pack)
    rm -rf .device/tests .device/bench
    dotnet publish tests/GrpcExplain.Kernels.Tests -c Release -o .device/tests --nologo -v quiet
    dotnet publish native-bench -c Release -o .device/bench --nologo -v quiet
    if [ ! -f .device/dotnet-runtime.tar.xz ]; then
        root=$(dirname "$(readlink -f "$(command -v dotnet)")")
        runtime=$(ls -d "$root"/shared/Microsoft.NETCore.App/* | sort -V | tail -1)
        tar -C "$root" -cJf .device/dotnet-runtime.tar.xz dotnet host "shared/Microsoft.NETCore.App/$(basename "$runtime")"
    fi
    du -sh .device
    ;;
run)
    out=${2:?usage: tools/cuda-check.sh run OUT}
    mkdir -p "$out" /tmp/dotnet
    tar -C /tmp/dotnet -xJf .device/dotnet-runtime.tar.xz
    export DOTNET_ROOT=/tmp/dotnet PATH=/tmp/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
    (nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; lscpu | grep 'Model name') > "$out/machine.txt" 2>&1 || true
    status=0
    # One pass per ILGPU GEMM version (GRPCEXPLAIN_ILGPU_GEMM); "default" leaves the backend's choice.
    for version in ${GEMM_VERSIONS:-default}; do
        if [ "$version" = default ]; then unset GRPCEXPLAIN_ILGPU_GEMM; else export GRPCEXPLAIN_ILGPU_GEMM=$version; fi
        GRPCEXPLAIN_TEST_BACKENDS=cuda GRPCEXPLAIN_TEST_CUDA=1 timeout "${TEST_TIMEOUT:-200}" \
            dotnet .device/tests/GrpcExplain.Kernels.Tests.dll > "$out/tests-$version.log" 2>&1 || status=1
        grep -E "Total:|\[FAIL\]" "$out/tests-$version.log" | tail -20
        timeout "${BENCH_TIMEOUT:-180}" dotnet .device/bench/NativeBench.dll kernels --backend cuda --no-baseline \
            --json "$out/kernels-$version.json" > "$out/bench-$version.log" 2>&1 || status=1
        echo "== bench $version" >> "$out/summary.log"
        sed -n '/^Median over shapes/,$p' "$out/bench-$version.log" >> "$out/summary.log"
        rm -f "$out/bench-$version.log"
    done
    # The same-run GPU baseline: PyTorch (cuDNN) on the same modulated convolutions.
    timeout "${TORCH_TIMEOUT:-100}" python3 native-bench/torch/modulated_convs.py --json "$out/torch-cuda.json" > /dev/null 2>&1 || status=1
    for version in ${GEMM_VERSIONS:-default}; do
        echo "== $version against torch" >> "$out/summary.log"
        python3 native-bench/torch/compare.py "$out/kernels-$version.json" "$out/torch-cuda.json" --label "cuda $version" >> "$out/summary.log" 2>&1 || status=1
    done
    cat "$out/summary.log"
    exit $status
    ;;
*)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
