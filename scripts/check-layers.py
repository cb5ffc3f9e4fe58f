#!/usr/bin/env python3
"""Refuses an #include that points up or sideways in the layers of docs/ARCHITECTURE.md.

Each folder may include only the folders listed for it (its own included); the code written
once for host and CUDA device (HOST_DEVICE, the prover_host_device module of
engine/CMakeLists.txt) may include only itself and standard headers. Tests (*_test.cc) and
engine/testing/ may include any engine layer. Run from the repository root; prints every
violation with its file and line and exits 1 if there is one.
"""
import os
import re
import sys

# Folder -> the folders its files may include, in the pipeline's order.
BELOW = {
    "engine/base": [],
    "engine/field": ["engine/base"],
    "engine/hash": ["engine/base", "engine/field"],
    "engine/poly": ["engine/base", "engine/field"],
    "engine/air": ["engine/base", "engine/field", "engine/hash"],
    "engine/air/workloads": ["engine/base", "engine/field", "engine/hash", "engine/air"],
    "engine/protocol": ["engine/base", "engine/field", "engine/hash", "engine/air"],
    "kernels": ["engine/base", "engine/field", "engine/protocol"],
    "engine/backend": ["engine/base", "engine/field", "engine/hash", "engine/poly", "engine/air",
                       "engine/protocol"],
    "engine/backend/cpu": ["engine/base", "engine/field", "engine/hash", "engine/poly",
                           "engine/air", "engine/protocol", "engine/backend"],
    "engine/backend/cuda": ["engine/base", "engine/field", "engine/hash", "engine/poly",
                            "engine/air", "engine/protocol", "engine/backend", "kernels"],
    "engine/stark": ["engine/base", "engine/field", "engine/hash", "engine/poly", "engine/air",
                     "engine/protocol", "engine/backend"],
}
# Files that may reach further than their folder, and why.
EXCEPTIONS = {
    # The factory of backends by name links every engine the build has.
    "engine/backend/select_backend.cc": ["engine/backend/cpu", "engine/backend/cuda"],
}
HOST_DEVICE = {
    "engine/base/host_device.h", "engine/base/bits.h", "engine/field/goldilocks.h",
    "engine/field/wide_sum.h", "engine/field/extension.h", "engine/field/difference_inverse.h",
    "engine/protocol/formulas.h", "kernels/bodies.h", "kernels/program.h", "kernels/keccak_body.h",
    "kernels/descriptors.h", "kernels/geometry.h", "kernels/thread_bodies.h",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path):
    return os.path.dirname(path)


def layer_of_include(inc):
    """The folder an include names, for includes inside engine/ or kernels/."""
    if inc.startswith("engine/") or inc.startswith("kernels/"):
        return folder_of(inc)
    return None


def main():
    errors = []
    files = []
    for root in ("engine", "kernels"):
        for d, _, names in os.walk(root):
            for n in names:
                if n.endswith((".h", ".cc", ".cu", ".cuh")):
                    files.append(os.path.join(d, n))
    for path in sorted(files):
        folder = folder_of(path)
        is_test = path.endswith("_test.cc") or folder == "engine/testing"
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
                target = layer_of_include(inc)
                if target is None:
                    continue  # generated protos, third-party headers
                where = f"{path}:{line_no}: includes {inc}"
                if path in HOST_DEVICE:
                    if inc not in HOST_DEVICE:
                        errors.append(f"{where}: host/device code may include only host/device "
                                      "code (engine/CMakeLists.txt, prover_host_device)")
                    continue
                if is_test:
                    continue
                if target == folder:
                    continue
                allowed = BELOW.get(folder)
                if allowed is None:
                    errors.append(f"{where}: {folder} has no place in the layers "
                                  "(scripts/check-layers.py, BELOW)")
                    continue
                if target in allowed or target in EXCEPTIONS.get(path, []):
                    continue
                errors.append(f"{where}: {folder} may include only {', '.join(allowed) or 'itself'}")
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} include(s) against the layers (docs/ARCHITECTURE.md, \"Layers\")")
        return 1
    print(f"layers: {len(files)} files checked, every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
