"""Compares two safetensors files tensor by tensor (standard library only).

  compare_tensors.py WRITTEN.safetensors GOLDEN.safetensors TOLERANCE

Prints the number of tensors, whether the names agree, the largest absolute
difference and the tensor it is in; exits 1 when the names differ, a tensor
is not F32 of the same shape, or a difference exceeds TOLERANCE.
"""
import array
import json
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        values = array.array("f")
        values.frombytes(body[a:b])
        out[name] = (info["dtype"], info["shape"], values)
    return out


written, golden, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
ok = set(written) == set(golden)
worst, worst_name = 0.0, ""
for name in sorted(set(written) & set(golden)):
    w, g = written[name], golden[name]
    if w[0] != "F32" or w[1] != g[1]:
        print(f"{name}: {w[0]} {w[1]}, golden {g[0]} {g[1]}")
        ok = False
        continue
    d = max((abs(x - y) for x, y in zip(w[2], g[2])), default=0.0)
    if d >= worst:
        worst, worst_name = d, name
print(f"{len(written)} tensors written, {len(golden)} golden, same names: {set(written) == set(golden)}; "
      f"largest |diff| {worst:.3g} ({worst_name}), tolerance {tol:g}")
sys.exit(0 if ok and worst <= tol else 1)
