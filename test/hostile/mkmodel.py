#!/usr/bin/python3
"""Model directories for the hostile suite, with the standard library only.

  mkmodel.py long SRC DST N
      Copy model directory SRC to DST with its position embeddings tiled to
      N rows (config.json max_position_embeddings and tokenizer_config.json
      model_max_length set to N): the same small encoder, but it accepts N
      tokens, so that one call lasts long enough to be cancelled or to have
      its weights file truncated under it.
  mkmodel.py cased SRC DST
      Copy SRC to DST with tokenizer_config.json do_lower_case = false and
      strip_accents = false (combining marks are then kept and reordered),
      and the first [unusedN] entries of vocab.txt replaced by accented
      words (café, naïve, über, ##é), so that tokens outside ASCII exist.
  mkmodel.py labels DIR LABEL...
      Write DIR/config.json.new: DIR/config.json with id2label / label2id
      replaced by LABEL... (the file is renamed over config.json by the caller).
  mkmodel.py edit FILE OLD NEW
      Replace the first OLD by NEW in FILE in place: the same inode, written
      through, then its access and modification times set back to what they
      were (only the ctime shows the edit).  Fails if OLD is not there.
      A backslash-n in OLD or NEW is a line end.
  mkmodel.py negate DIR
      Write DIR/model.safetensors.new: DIR/model.safetensors with the sign of
      every weight flipped (same header, same size, same dtypes: another
      model of the same shapes; renamed over model.safetensors by the caller).
"""
import json
import os
import shutil
import struct
import sys


def copy_dir(src, dst):
    shutil.copytree(src, dst, symlinks=False)
    for d, _, files in os.walk(dst):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)


def edit_json(path, **changes):
    with open(path) as f:
        obj = json.load(f)
    obj.update(changes)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def long_model(src, dst, n):
    copy_dir(src, dst)
    path = os.path.join(dst, "model.safetensors")
    with open(path, "rb") as f:
        hlen = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(hlen))
        data = f.read()
    meta = header.pop("__metadata__", None)
    out_header = {} if meta is None else {"__metadata__": meta}
    chunks = []
    offset = 0
    for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
        t = header[name]
        b, e = t["data_offsets"]
        blob = data[b:e]
        shape = list(t["shape"])
        if name.endswith("embeddings.position_embeddings.weight"):
            rows = shape[0]
            row_bytes = len(blob) // rows
            reps = -(-n // rows)
            blob = (blob * reps)[: n * row_bytes]
            shape[0] = n
        out_header[name] = {"dtype": t["dtype"], "shape": shape,
                            "data_offsets": [offset, offset + len(blob)]}
        chunks.append(blob)
        offset += len(blob)
    hbytes = json.dumps(out_header, separators=(",", ":")).encode()
    hbytes += b" " * (-len(hbytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for c in chunks:
            f.write(c)
    edit_json(os.path.join(dst, "config.json"), max_position_embeddings=n)
    edit_json(os.path.join(dst, "tokenizer_config.json"), model_max_length=n)
    st = os.path.join(dst, "sentence_bert_config.json")
    if os.path.exists(st):
        edit_json(st, max_seq_length=n)


def cased_model(src, dst):
    copy_dir(src, dst)
    # vocab.txt is read before tokenizer.json: drop the latter so that its
    # normalizer section cannot disagree with tokenizer_config.json
    tj = os.path.join(dst, "tokenizer.json")
    if os.path.exists(tj) and os.path.exists(os.path.join(dst, "vocab.txt")):
        os.unlink(tj)
    edit_json(os.path.join(dst, "tokenizer_config.json"),
              do_lower_case=False, strip_accents=False)
    vocab = os.path.join(dst, "vocab.txt")
    with open(vocab, encoding="utf-8") as f:
        lines = f.read().split("\n")
    extra = ["café", "naïve", "über", "##é"]
    for i, line in enumerate(lines):
        if extra and line.startswith("[unused"):
            lines[i] = extra.pop(0)
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def relabel(d, labels):
    path = os.path.join(d, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["id2label"] = {str(i): l for i, l in enumerate(labels)}
    cfg["label2id"] = {l: i for i, l in enumerate(labels)}
    with open(path + ".new", "w") as f:
        json.dump(cfg, f, indent=2)
    os.chmod(path + ".new", 0o644)


def edit_in_place(path, old, new):
    st = os.stat(path)
    with open(path, "r+b") as f:
        data = f.read()
        i = data.find(old.encode())
        if i < 0:
            sys.stderr.write("%s: %r not found\n" % (path, old))
            return 1
        data = data[:i] + new.encode() + data[i + len(old.encode()):]
        f.seek(0)
        f.write(data)
        f.truncate()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return 0


def negate(d):
    path = os.path.join(d, "model.safetensors")
    with open(path, "rb") as f:
        raw = f.read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + hlen])
    data = bytearray(raw[8 + hlen:])
    for name, t in header.items():
        if name == "__metadata__":
            continue
        size = {"F32": 4, "F16": 2, "BF16": 2}.get(t["dtype"])
        if size is None:
            continue
        b, e = t["data_offsets"]
        # the sign bit is the top bit of each little-endian value's last byte
        for i in range(b + size - 1, e, size):
            data[i] ^= 0x80
    with open(path + ".new", "wb") as f:
        f.write(raw[:8 + hlen])
        f.write(data)
    os.chmod(path + ".new", 0o644)


def main(argv):
    if len(argv) >= 5 and argv[1] == "long":
        long_model(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 4 and argv[1] == "cased":
        cased_model(argv[2], argv[3])
    elif len(argv) >= 4 and argv[1] == "labels":
        relabel(argv[2], argv[3:])
    elif len(argv) == 5 and argv[1] == "edit":
        return edit_in_place(argv[2], argv[3].replace("\\n", "\n"),
                             argv[4].replace("\\n", "\n"))
    elif len(argv) == 3 and argv[1] == "negate":
        negate(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
