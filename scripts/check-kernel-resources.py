#!/usr/bin/env python3
"""The static resource gate of the CUDA kernels (a CTest test where nvcc builds them).

Reads the `ptxas -v` report of every kernel (kernels/CMakeLists.txt writes it with the
build's flags for sm_90), the block size each kernel is bounded to (its
`__launch_bounds__(kX)` in kernels/*.cu, kX from kernels/geometry.h) and the committed
baseline of stack frames (kernels/kernel_resources.baseline), and fails when a kernel:
  * has no __launch_bounds__, or one that is not a geometry.h block size;
  * needs more registers per block than an SM's register file (65536) holds;
  * uses more than 48 KiB of static shared memory;
  * spills registers to local memory;
  * has a larger stack frame than its baseline (or none: a new kernel must be added).
Prints one line per kernel either way. Usage:
  check-kernel-resources.py REPORT SOURCE_DIR [--write-baseline]
"""
import os
import re
import subprocess
import sys

REGISTER_FILE = 65536
MAX_SHARED = 48 * 1024


def block_sizes(source_dir):
    text = open(os.path.join(source_dir, "kernels/geometry.h"), encoding="utf-8").read()
    sizes = {}
    for name, value in re.findall(r"inline constexpr uint32_t (k\w+Block|kBlock) = (\w+);", text):
        sizes[name] = int(value) if value.isdigit() else sizes[value]
    return sizes


def launch_bounds(source_dir):
    bounds, unbounded = {}, []
    kdir = os.path.join(source_dir, "kernels")
    for f in sorted(os.listdir(kdir)):
        if not f.endswith(".cu"):
            continue
        text = open(os.path.join(kdir, f), encoding="utf-8").read()
        for m in re.finditer(r"__global__\s+void\s+(?:__launch_bounds__\((\w+)\)\s+)?(\w+)\s*\(", text):
            if m.group(1) is None:
                unbounded.append(f"{f}: {m.group(2)}")
            else:
                bounds[m.group(2)] = m.group(1)
    return bounds, unbounded


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    simple = []
    for full in out:
        head = full.replace("(anonymous namespace)::", "").split("(")[0]
        simple.append(head.split("::")[-1])  # FoldKernel<2>: one entry per instantiation
    return simple


def parse_report(path):
    """mangled name -> {regs, smem, stack, spill_stores, spill_loads}"""
    kernels, current = {}, None
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            current = m.group(1)
            kernels[current] = {"regs": 0, "smem": 0, "stack": 0, "spill_stores": 0,
                                "spill_loads": 0}
            continue
        m = re.search(r"Function properties for (\w+)", line)
        if m:
            current = m.group(1) if m.group(1) in kernels else None
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads",
                      line)
        if m:
            k = kernels[current]
            k["stack"], k["spill_stores"], k["spill_loads"] = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            kernels[current]["regs"] = int(m.group(1))
            m2 = re.search(r"(\d+) bytes smem", line)
            kernels[current]["smem"] = int(m2.group(1)) if m2 else 0
    return kernels


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    report, source_dir = sys.argv[1], sys.argv[2]
    write = "--write-baseline" in sys.argv
    baseline_path = os.path.join(source_dir, "kernels/kernel_resources.baseline")
    sizes = block_sizes(source_dir)
    bounds, unbounded = launch_bounds(source_dir)
    if not os.path.exists(report):
        print(f"{report}: missing (the build writes it: target prover_kernel_resources)")
        return 1
    parsed = parse_report(report)
    if not parsed:
        print(f"{report}: no kernel in the ptxas report")
        return 1
    names = demangle(list(parsed))
    baseline = {}
    if os.path.exists(baseline_path):
        for line in open(baseline_path, encoding="utf-8"):
            line = line.split("#")[0].split()
            if len(line) == 2:
                baseline[line[0]] = int(line[1])
    errors = [f"kernel without __launch_bounds__: {u}" for u in unbounded]
    rows = []
    for (mangled, r), name in sorted(zip(parsed.items(), names), key=lambda x: x[1]):
        bound = bounds.get(name.split("<")[0])
        block = sizes.get(bound) if bound else None
        where = f"{name}: {r['regs']} registers, {r['smem']} B shared, {r['stack']} B stack"
        if bound is None:
            errors.append(f"{name}: no __launch_bounds__ found in kernels/*.cu")
        elif block is None:
            errors.append(f"{name}: __launch_bounds__({bound}) is not a block size of geometry.h")
        else:
            where += f", block {block} ({bound})"
            if r["regs"] * block > REGISTER_FILE:
                errors.append(f"{name}: {r['regs']} registers x {block} threads exceed the "
                              f"register file ({REGISTER_FILE})")
        if r["smem"] > MAX_SHARED:
            errors.append(f"{name}: {r['smem']} bytes of shared memory, more than 48 KiB")
        if r["spill_stores"] or r["spill_loads"]:
            errors.append(f"{name}: spills ({r['spill_stores']} bytes stored, "
                          f"{r['spill_loads']} loaded)")
        if not write:
            if name not in baseline:
                errors.append(f"{name}: not in {os.path.relpath(baseline_path, source_dir)} "
                              f"(stack frame {r['stack']} B); add it")
            elif r["stack"] > baseline[name]:
                errors.append(f"{name}: stack frame {r['stack']} B, baseline {baseline[name]} B")
        rows.append((name, r["stack"]))
        print(where)
    if write:
        with open(baseline_path, "w", encoding="utf-8") as f:
            f.write("# Stack frame bytes per kernel on sm_90 (scripts/check-kernel-resources.py);\n"
                    "# a kernel may shrink below its line, never grow past it.\n")
            for name, stack in rows:
                f.write(f"{name} {stack}\n")
        print(f"wrote {baseline_path}")
    for e in errors:
        print("FAIL " + e)
    if errors:
        return 1
    print(f"kernel resources: {len(parsed)} kernels within the register file, shared memory, "
          "spill and stack gates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
