#!/usr/bin/env python3
"""Markdown table of native-bench GPU rows against the PyTorch baseline of the same run.

    python3 native-bench/torch/compare.py kernels-cuda.json torch-cuda.json [--label cuda]

For every (op, shape, direction) both files have: our median ms, PyTorch's, and the speed ratio
(PyTorch ms / ours: above 1 means we are faster); then the median ratio per op and direction.
"""
import argparse
import json
import statistics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("torch")
    ap.add_argument("--label", default="cuda")
    ap.add_argument("--rows", action="store_true", help="print every shape, not only the medians")
    args = ap.parse_args()
    torch_ms = {(r["op"], r["shape"], r["direction"]): r["ms"] for r in json.load(open(args.torch))}
    pairs, seen = [], set()
    for r in json.load(open(args.ours)):
        key = (r["op"], r["shape"], r["direction"])
        if key in seen or key not in torch_ms or not r.get("ms"):
            continue
        seen.add(key)
        pairs.append((*key, r["ms"], torch_ms[key], torch_ms[key] / r["ms"]))
    if args.rows:
        print(f"| op | shape | direction | {args.label} ms | torch ms | speed vs torch |")
        print("|---|---|---|---:|---:|---:|")
        for op, shape, d, ours, base, ratio in pairs:
            print(f"| {op} | {shape} | {d} | {ours:.3f} | {base:.3f} | {ratio:.2f} |")
        print()
    print(f"| op | direction | shapes | median speed of {args.label} vs torch | min | max |")
    print("|---|---|---:|---:|---:|---:|")
    for op in dict.fromkeys(p[0] for p in pairs):
        for d in ("forward", "backward"):
            v = [p[5] for p in pairs if p[0] == op and p[2] == d]
            if v:
                print(f"| {op} | {d} | {len(v)} | {statistics.median(v):.2f} | {min(v):.2f} | {max(v):.2f} |")


if __name__ == "__main__":
    main()
