#!/usr/bin/env bash
# The kernel tests on the CUDA backend and the kernel benchmark, on an NVIDIA machine that has a
# driver but no .NET SDK (such as the GPU machines lent to development sessions). Two steps:
#
#   tools/cuda-check.sh pack      here: publish the tests and native-bench, pack the .NET runtime,
#                                 all into .device/ (git-ignored; about 40 MB)
#   tools/cuda-check.sh run OUT   there, from the repository root: unpack the runtime, run both,
#                                 write the logs and the benchmark JSON into OUT
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
    GRPCEXPLAIN_TEST_BACKENDS=cuda GRPCEXPLAIN_TEST_CUDA=1 \
        dotnet .device/tests/GrpcExplain.Kernels.Tests.dll 2>&1 | tee "$out/cuda-tests.log" | tail -40 || status=1
    dotnet .device/bench/NativeBench.dll kernels --backend cuda,cpu --json "$out/kernels-cuda.json" 2>&1 \
        | tee "$out/kernels-cuda.log" | tail -60 || status=1
    exit $status
    ;;
*)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
