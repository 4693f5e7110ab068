"""Measurements of the bert benchmark; test/bench/bench.sh drives it.

  bench.py prepare  WORK          tables, texts files, model table
  bench.py native   WORK          every figure, OpenBLAS left to pick its kernel
  bench.py haswell  WORK          the main workload again, Haswell kernel forced
  bench.py report   WORK OUT.md   the Markdown report from WORK/results.json

Talks to the running cluster through psql (PGHOST, PGPORT... from
test/cluster.sh).  Sizes come from environment variables (see bench.sh).
Results accumulate in WORK/results.json, so a phase can be rerun alone.
"""
import ctypes
import datetime
import json
import mmap
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.environ.get("BENCH_SHARED", os.path.join(ROOT, "..", "shared")))
QUICK = os.environ.get("BENCH_QUICK", "0") == "1"


def env_int(name, full, quick):
    return int(os.environ.get(name, quick if QUICK else full))


def env_float(name, full, quick):
    return float(os.environ.get(name, quick if QUICK else full))


def env_list(name, default):
    return os.environ.get(name, default).split()


SIZES = {
    "short_rows": env_int("BENCH_SHORT_ROWS", 872, 48),
    "long_rows": env_int("BENCH_LONG_ROWS", 500, 4),
    "sts_rows": env_int("BENCH_STS_ROWS", 1500, 48),
    "runs": env_int("BENCH_RUNS", 3, 2),
    "peer_runs": env_int("BENCH_PEER_RUNS", 1, 1),
    "first_call_runs": env_int("BENCH_FIRST_CALL_RUNS", 5, 2),
    "gemm_seconds": env_float("BENCH_GEMM_SECONDS", 10, 1),
}
SENT_MODELS = env_list("BENCH_SENTIMENT_MODELS", "bert-mini-sentiment minilm-l6 distilbert-base bert-base")
EMBED_MODELS = env_list("BENCH_EMBED_MODELS", "bert-mini-embed minilm-l6-embed bert-base-embed")
PEERS = os.environ.get("BENCH_PEERS", "1") == "1"
PEER_BATCHES = [int(b) for b in env_list("BENCH_PEER_BATCHES", "1 32")]
MEM_MODEL = os.environ.get("BENCH_MEMORY_MODEL", "bert-base")

WORKLOADS = {
    # name: (table, column, function, models)
    "short": ("bench_short", "review", "bert_sentiment", SENT_MODELS),
    "long": ("bench_long", "review", "bert_sentiment", SENT_MODELS),
    "sts": ("bench_sts", "sentence", "bert_embed", EMBED_MODELS),
}
WORKLOAD_TITLE = {
    "short": "SST-2 dev sentences",
    "long": "IMDB test reviews",
    "sts": "STS-B dev sentences",
}


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- psql

def psql(script, check=True):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                       input="SET jit = off;\n" + script, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("psql failed (%d): %s\n--- script:\n%s" % (p.returncode, p.stderr, script[:2000]))
    return p.stdout


def psql_value(sql):
    return psql(sql + ";\n").strip()


TIME_RE = re.compile(r"^Time: ([0-9.]+) ms", re.M)


CPU_SQL = ("SELECT 'C:' || (string_to_array(pg_read_file('/proc/self/stat'), ' '))[14] || ' ' ||"
           " (string_to_array(pg_read_file('/proc/self/stat'), ' '))[15];\n")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def timed(setup, query, runs):
    """Wall seconds of each of RUNS executions of QUERY in one session after
    SETUP, and the CPU seconds of the backend (all its threads) in each."""
    out = psql(setup + CPU_SQL + "\\timing on\n" + (query + ";\n" + CPU_SQL) * runs)
    # Time lines alternate: the query, then the CPU_SQL after it
    times = [float(x) / 1000 for x in TIME_RE.findall(out)][0::2]
    ticks = [sum(int(v) for v in l[2:].split()) for l in out.splitlines() if l.startswith("C:")]
    if len(times) != runs or len(ticks) != runs + 1:
        raise RuntimeError("expected %d timings, got %r" % (runs, out[-2000:]))
    cpu = [(b - a) / CLK_TCK for a, b in zip(ticks, ticks[1:])]
    return times, cpu, out


def q(s):
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------- results file

class Results:
    def __init__(self, work):
        self.path = os.path.join(work, "results.json")
        self.data = json.load(open(self.path)) if os.path.exists(self.path) else {}

    def save(self):
        tmp = self.path + ".tmp"
        json.dump(self.data, open(tmp, "w"), indent=1)
        os.replace(tmp, self.path)

    def __getitem__(self, k):
        return self.data.setdefault(k, {})


# ---------------------------------------------------------------- environment

def server_env():
    pid_file = os.path.join(os.environ["CLUSTER_DIR"], "data", "postmaster.pid")
    pid = open(pid_file).readline().strip()
    env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
    found = {}
    for e in env:
        k, _, v = e.decode(errors="replace").partition("=")
        if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"):
            found[k] = v
    return found


def corename(work):
    return subprocess.run([os.path.join(work, "gemm_bench"), "--corename"],
                          capture_output=True, text=True, check=True).stdout.strip()


def machine_info():
    cpu = "unknown"
    flags = ""
    ident = {}
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k in ("vendor_id", "cpu family", "model", "stepping") and k not in ident:
            ident[k] = v
        if line.startswith("model name") and cpu == "unknown":
            cpu = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = line.split(":", 1)[1]
    fl = set(flags.split())

    def dpkg(pkg):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
        return r.stdout.strip() or "?"

    if ident:
        cpu += " (%s family %s model %s stepping %s)" % (ident.get("vendor_id", "?"), ident.get("cpu family", "?"),
                                                        ident.get("model", "?"), ident.get("stepping", "?"))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "isa": " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in fl),
        "kernel": platform.release(),
        "openblas": dpkg("libopenblas0-pthread") if dpkg("libopenblas0-pthread") != "?" else dpkg("libopenblas0"),
        "postgres": psql_value("SELECT version()"),
        "load_avg_start": open("/proc/loadavg").read().split()[:3],
    }


# ---------------------------------------------------------------- prepare

def clean(t):
    return " ".join(t.replace("\r", " ").replace("\t", " ").replace("\x1f", " ").split("\n"))


def prepare(work, res):
    data = os.path.join(SHARED, "data")
    sst = [clean(l.rstrip("\n").split("\t", 1)[1])
           for l in open(os.path.join(data, "reviews", "sst2_dev.tsv"), encoding="utf-8")]
    imdb = [clean(l.rstrip("\n").split("\t", 1)[1])
            for l in open(os.path.join(data, "reviews", "imdb_test_5000.tsv"), encoding="utf-8")]
    sts = []
    for l in open(os.path.join(data, "stsb", "sts-dev.tsv"), encoding="utf-8"):
        f = l.rstrip("\n").split("\t")
        sts += [clean(f[1]), clean(f[2])]
    texts = {"short": sst[:SIZES["short_rows"]], "long": imdb[:SIZES["long_rows"]],
             "sts": sts[:SIZES["sts_rows"]]}
    script = ""
    for w, rows in texts.items():
        path = os.path.join(work, w + ".txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
        table, col = WORKLOADS[w][0], WORKLOADS[w][1]
        # fillfactor 10: a few rows per 8 kB block, as a parallel scan hands
        # out whole blocks; parallel_workers: 2 workers however small
        script += ("DROP TABLE IF EXISTS %s;\nCREATE TABLE %s (id serial PRIMARY KEY, %s text NOT NULL)"
                   " WITH (fillfactor = 10, parallel_workers = 2);\n"
                   "\\copy %s (%s) FROM %s (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\b')\n"
                   "ANALYZE %s;\n" % (table, table, col, table, col, q(path), table))
    psql(script)
    res["meta"].update({"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                        "quick": QUICK, "sizes": SIZES,
                        "rows": {w: len(r) for w, r in texts.items()}})
    res["meta"].update(machine_info())

    # the models: shapes from bert_models() after loading each one
    models = res["models"]
    for m in dict.fromkeys(SENT_MODELS + EMBED_MODELS):
        fn = "bert_sentiment" if m in SENT_MODELS else "bert_embed"
        out = psql("SELECT %s('x', %s) IS NOT NULL;\n"
                   "SELECT row_to_json(b) FROM bert_models() b WHERE name = %s;\n" % (fn, q(m), q(m)))
        info = json.loads(out.strip().splitlines()[-1])
        info["path"] = os.path.join(psql_value("SHOW bert.model_dir"), m)
        models[m] = info
    # token counts of every row, as the model sees it (truncated)
    tokens = res["tokens"]
    for w, (table, col, fn, ms) in WORKLOADS.items():
        for m in ms:
            out = psql("SELECT array_length(bert_token_ids(%s, %s), 1) FROM %s ORDER BY id;\n"
                       % (col, q(m), table))
            tokens["%s|%s" % (m, w)] = [int(x) for x in out.split()]
    res.save()


# ---------------------------------------------------------------- FLOPs

def flops_row(info, t, head):
    h, i, L = info["hidden_size"], info["intermediate_size"], info["num_hidden_layers"]
    f = 2.0 * t * (4 * h * h + 2 * h * i) * L + 4.0 * t * t * h * L
    if head:
        f += 2.0 * h * h + 2.0 * h * max(len(info.get("labels") or []), 2)
    return f


def workload_flops(res, m, w):
    info = res["models"][m]
    head = WORKLOADS[w][2] == "bert_sentiment"
    return sum(flops_row(info, t, head) for t in res["tokens"]["%s|%s" % (m, w)])


# ---------------------------------------------------------------- SQL throughput

PARALLEL = ("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0;\n"
            "SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;\n")
SERIAL = "SET max_parallel_workers_per_gather = 0;\n"


def sql_run(m, w, threads=1, parallel=False, fn=None, jit=False, batch=0):
    table, col, wfn, _ = WORKLOADS[w]
    fn = fn or wfn
    query = "SELECT count(%s(%s, %s)) FROM %s" % (fn, col, q(m), table)
    if batch:
        # the text[] form: groups of `batch` rows, packed per forward pass
        query = ("SELECT count(*) FROM (SELECT array_agg(%s ORDER BY id) AS a FROM %s "
                 "GROUP BY (id - 1) / %d) g, %s(g.a, %s)" % (col, table, batch, fn, q(m)))
    setup = (PARALLEL if parallel else SERIAL) + "SET bert.threads = %d;\n" % threads
    # warm-up: load the model and size the buffers on a few rows
    setup += "SELECT count(%s(%s, %s)) FROM (SELECT %s FROM %s ORDER BY id LIMIT 4) s;\n" % (
        wfn, col, q(m), col, table)
    if jit:
        setup += "SET jit = on;\n"
    runs = SIZES["runs"]
    if parallel:
        query = "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) " + query
    times, cpu, out = timed(setup, query, runs)
    r = {"seconds": times, "median_s": statistics.median(times), "backend_cpu_s": cpu}
    if parallel:
        r["workers_planned"] = [int(x) for x in re.findall(r"Workers Planned: (\d+)", out)]
        r["workers_launched"] = [int(x) for x in re.findall(r"Workers Launched: (\d+)", out)]
    return r


def throughput(res, phase, configs):
    out = res["sql_" + phase]
    for w, (table, col, fn, ms) in WORKLOADS.items():
        for m in ms:
            for name, kw in configs:
                if name.startswith("jit") and (w != "short" or m != SENT_MODELS[0]):
                    continue
                key = "%s|%s|%s" % (m, w, name)
                log(phase, key)
                out[key] = sql_run(m, w, **kw)
                res.save()


# ---------------------------------------------------------------- sgemm

def gemm(res, work, phase):
    out = res["gemm_" + phase]
    for w, (_, _, _, ms) in WORKLOADS.items():
        for m in ms:
            info = res["models"][m]
            key = "%s|%s" % (m, w)
            log(phase, "sgemm", key)
            toks = "\n".join(str(t) for t in res["tokens"][key]) + "\n"
            p = subprocess.run([os.path.join(work, "gemm_bench"), str(info["hidden_size"]),
                                str(info["intermediate_size"]), str(info["num_attention_heads"]),
                                str(info["num_hidden_layers"]), str(SIZES["gemm_seconds"])],
                               input=toks, capture_output=True, text=True, check=True,
                               env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
            out[key] = json.loads(p.stdout)
            res.save()


# ---------------------------------------------------------------- first call

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]


def resident_fraction(path):
    """Fraction of the file's pages in the page cache (mincore)."""
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return None
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = ctypes.create_string_buffer(pages)
        ok = libc.mincore(addr, size, vec) == 0
        libc.munmap(addr, size)
        return sum(b & 1 for b in vec.raw) / pages if ok else None
    finally:
        os.close(fd)


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def first_call(res):
    out = res["first_call"]
    for m in dict.fromkeys(EMBED_MODELS + SENT_MODELS):
        path = os.path.join(res["models"][m]["path"], "model.safetensors")
        for cache in ("warm", "cold"):
            rows = []
            for _ in range(SIZES["first_call_runs"]):
                if cache == "cold":
                    time.sleep(0.3)  # the last connection's backend has exited
                    evict(path)
                else:
                    # read it once so it is all in the page cache
                    with open(path, "rb") as f:
                        while f.read(1 << 24):
                            pass
                resident = resident_fraction(path)
                o = psql("\\timing on\nSELECT bert_embed('x', %s) IS NOT NULL;\n"
                         "SELECT bert_embed('x', %s) IS NOT NULL;\n"
                         "SELECT 'L:' || load_ms FROM bert_models() WHERE name = %s;\n" % (q(m), q(m), q(m)))
                t = [float(x) for x in TIME_RE.findall(o)]
                load_ms = float([l[2:] for l in o.splitlines() if l.startswith("L:")][0])
                rows.append({"first_ms": t[0], "second_ms": t[1], "load_ms": load_ms,
                             "resident_before": resident})
            out["%s|%s" % (m, cache)] = {
                "runs": rows,
                "first_ms": statistics.median(r["first_ms"] for r in rows),
                "second_ms": statistics.median(r["second_ms"] for r in rows),
                "extra_ms": statistics.median(r["first_ms"] - r["second_ms"] for r in rows),
                "load_ms": statistics.median(r["load_ms"] for r in rows),
                "resident_before": statistics.median(r["resident_before"] or 0 for r in rows),
            }
            log("first call", m, cache, out["%s|%s" % (m, cache)]["extra_ms"], "ms")
            res.save()


# ---------------------------------------------------------------- memory

STATUS_KEYS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")


def parse_status(line):
    d = {}
    for part in line.split("|"):
        k, _, v = part.partition(":")
        if k in STATUS_KEYS:
            d[k] = int(v.split()[0])  # kB
    return d


def memory(res):
    out = res["memory"]
    models = [m for m in dict.fromkeys([MEM_MODEL] + SENT_MODELS + EMBED_MODELS) if m in res["models"]]
    for m in models:
        fn = "bert_sentiment" if m in SENT_MODELS else "bert_embed"
        status = "SELECT 'S:' || replace(pg_read_file('/proc/self/status'), E'\\n', '|');\n"
        o = psql("SET max_parallel_workers_per_gather = 0;\n" + status +
                 "SELECT 'T:' || array_length(bert_token_ids(repeat('hello ', 600), %s), 1);\n" % q(m) +
                 "SELECT %s(repeat('hello ', 600), %s) IS NOT NULL;\n" % (fn, q(m)) + status +
                 "SELECT 'P:' || private_bytes FROM bert_models() WHERE name = %s;\n" % q(m))
        st = [parse_status(l[2:]) for l in o.splitlines() if l.startswith("S:")]
        toks = int([l[2:] for l in o.splitlines() if l.startswith("T:")][0])
        priv = int([l[2:] for l in o.splitlines() if l.startswith("P:")][0])
        out[m] = {"tokens": toks, "before": st[0], "after": st[1], "private_bytes": priv}
        log("memory", m, out[m]["after"])
        res.save()


# ---------------------------------------------------------------- peers

def peers(res, work):
    out = res["peers"]
    npm = os.environ.get("BENCH_NPM_DIR", "/tmp/bert-bench-npm")
    onnx_dir = os.environ.get("BENCH_ONNX_DIR")
    for w, (_, _, fn, ms) in WORKLOADS.items():
        texts = os.path.join(work, w + ".txt")
        for m in ms:
            info = res["models"][m]
            L = info["max_length"]
            mdir = info["path"]
            tok_json = os.path.join(mdir, "tokenizer.json")
            if not os.path.exists(tok_json):
                # the random models share the bert-base-uncased vocabulary
                tok_json = os.path.join(SHARED, "models", "bert-mini-sentiment", "tokenizer.json")
            onnx = os.path.join(onnx_dir, m + ".onnx")
            for b in PEER_BATCHES:
                key = "%s|%s|ort|%d" % (m, w, b)
                log("peer", key)
                p = subprocess.run(["node", os.path.join(HERE, "ort_bench.mjs"), onnx, tok_json, texts,
                                    str(L), str(b), str(SIZES["peer_runs"])] + (["embed"] if fn == "bert_embed" else []),
                                   capture_output=True, text=True, env=dict(os.environ, BENCH_NPM_DIR=npm))
                if p.returncode != 0:
                    out[key] = {"error": p.stderr.strip()[-500:]}
                else:
                    r = json.loads(p.stdout.strip().splitlines()[-1])
                    r["median_s"] = statistics.median(r["seconds"])
                    out[key] = r
                res.save()
                key = "%s|%s|torch|%d" % (m, w, b)
                log("peer", key)
                secs, last = [], None
                for _ in range(SIZES["peer_runs"]):
                    p = subprocess.run(["/usr/bin/python3", os.path.join(SHARED, "tools", "ref", "torch_bench.py"),
                                        mdir, texts, "--threads", "1", "--batch", str(b), "--max-length", str(L)],
                                       capture_output=True, text=True)
                    if p.returncode != 0:
                        last = {"error": p.stderr.strip()[-500:]}
                        break
                    last = json.loads(p.stdout.strip().splitlines()[-1])
                    secs.append(last["seconds"])
                if secs:
                    last["seconds"] = secs
                    last["median_s"] = statistics.median(secs)
                out[key] = last
                res.save()


# ---------------------------------------------------------------- phases

NATIVE_CONFIGS = [
    ("t1", dict(threads=1)),
    ("t2", dict(threads=2)),
    ("par2", dict(threads=1, parallel=True)),
    ("batch32", dict(threads=1, batch=32)),
    ("token_ids", dict(threads=1, fn="bert_token_ids")),
    ("jit_t1", dict(threads=1, jit=True)),
]


def phase_env(res, work, phase):
    res["env_" + phase].update({"server_env": server_env(), "corename": corename(work),
                                "bench_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                                              if k in os.environ}})
    res.save()
    log(phase, "OpenBLAS core:", res["env_" + phase]["corename"], "server env:", res["env_" + phase]["server_env"])


def native(work, res):
    phase_env(res, work, "native")
    t0 = time.time()
    gemm(res, work, "native")
    throughput(res, "native", NATIVE_CONFIGS)
    first_call(res)
    memory(res)
    if PEERS:
        peers(res, work)
    res["meta"]["native_seconds"] = round(time.time() - t0)
    res.save()


def haswell(work, res):
    phase_env(res, work, "haswell")
    t0 = time.time()
    gemm(res, work, "haswell")
    sql = res["sql_haswell"]
    for w in ("short", "long"):
        for m in WORKLOADS[w][3]:
            key = "%s|%s|t1" % (m, w)
            log("haswell", key)
            sql[key] = sql_run(m, w, threads=1)
            res.save()
    res["meta"]["haswell_seconds"] = round(time.time() - t0)
    res.save()


# ---------------------------------------------------------------- report

def fmt(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if abs(x) >= 100:
        return "{:,.0f}".format(x)
    return ("{:.%df}" % nd).format(x)


def report(work, res, out_path):
    meta = res["meta"]
    rows = meta["rows"]
    L = []
    P = L.append
    P("# bert benchmark")
    P("")
    P("| | |")
    P("|---|---|")
    P("| date | %s |" % meta["date"])
    P("| mode | %s |" % ("**quick** (BENCH_QUICK=1: small row counts, figures are rough)" if meta["quick"] else "full"))
    P("| CPU | %s, %s cores (%s) |" % (meta["cpu"], meta["cores"], meta["isa"]))
    P("| OpenBLAS | %s; core picked by itself: **%s**; forced: **%s** (OPENBLAS_CORETYPE=%s) |" % (
        meta["openblas"], res["env_native"].get("corename", "?"), res["env_haswell"].get("corename", "–"),
        res["env_haswell"].get("server_env", {}).get("OPENBLAS_CORETYPE", "–")))
    P("| server environment (native run) | %s |" % (", ".join("%s=%s" % kv for kv in res["env_native"].get("server_env", {}).items()) or "no OPENBLAS_* variables"))
    P("| PostgreSQL | %s |" % meta["postgres"].split(" on ")[0])
    P("| rows | short: %d SST-2 dev sentences; long: %d IMDB test reviews; embedding: %d STS-B dev sentences |" % (
        rows["short"], rows["long"], rows["sts"]))
    P("| repetitions | median of %d runs per SQL figure, %d per peer figure; load average at start %s |" % (
        meta["sizes"]["runs"], meta["sizes"]["peer_runs"], " ".join(meta["load_avg_start"])))
    P("| duration | native phase %s s, Haswell phase %s s |" % (meta.get("native_seconds", "?"), meta.get("haswell_seconds", "–")))
    sqln, sqlh = res["sql_native"], res["sql_haswell"]
    util = [min(1.0, c / w) for k, v in sqln.items() if k.endswith("|t1") for c, w in
            zip(v.get("backend_cpu_s", []), v["seconds"]) if w >= 0.5]
    util += [min(1.0, c / w) for k, v in sqlh.items() for c, w in
             zip(v.get("backend_cpu_s", []), v["seconds"]) if w >= 0.5]
    util += [min(1.0, g["cpu_seconds"] / g["seconds"]) for ph in ("gemm_native", "gemm_haswell")
             for g in res[ph].values() if "cpu_seconds" in g]
    if util:
        P("| idle check | CPU time ÷ wall time of the 1-thread SQL runs (backend) and sgemm runs: lowest %.0f%%, "
          "median %.0f%%%s |" % (100 * min(util), 100 * statistics.median(util),
                                 " — **the machine was busy: other processes took CPU time, figures are low "
                                 "and noisy**" if min(util) < 0.9 else " (idle enough)"))
    P("")

    P("## Models")
    P("")
    P("| model | architecture | layers × hidden (heads, FFN) | weights | max tokens | file MB |")
    P("|---|---|---|---|---|---|")
    for m, i in res["models"].items():
        P("| %s | %s | %d × %d (%d, %d) | %s | %d | %.0f |" % (
            m, i["architecture"], i["num_hidden_layers"], i["hidden_size"], i["num_attention_heads"],
            i["intermediate_size"], i["dtype"], i["max_length"], i["file_bytes"] / 1e6))
    P("")
    P("bert-mini-* are the trained demo models; the others have random weights at the sizes of "
      "all-MiniLM-L6-v2, distilbert-base-uncased-finetuned-sst-2-english and bert-base "
      "(the `-embed` variants: BertModel + mean pooling + Normalize, as sentence-transformers saves them).")
    P("")

    def rps(r, n):
        return n / r["median_s"] if r and "median_s" in r else None

    def cell(r, n):
        if not r or "median_s" not in r:
            return "–"
        return "%s (%s)" % (fmt(n / r["median_s"]), fmt(1000 * r["median_s"] / n, 2))

    P("## Throughput through SQL")
    P("")
    P("`SELECT count(f(text, model)) FROM t` — f is `bert_sentiment` (short, long) or `bert_embed` (embedding). "
      "Each cell: **rows/s (ms/row)**, median of the runs, after a warm-up that loads the model. "
      "Parallel: `max_parallel_workers_per_gather=2`, zero setup/tuple costs, bert.threads 1 "
      "(leader + 2 workers on %s cores; each worker maps the model again at every query, included)." % meta["cores"])
    P("")
    P("| model | workload | mean tokens | 1 thread | 2 threads | parallel, 2 workers | batched, 32 per call, 1 thread | 1 thread, Haswell forced | AVX-512 / Haswell |")
    P("|---|---|---|---|---|---|---|---|---|")
    for w, (_, _, fn, ms) in WORKLOADS.items():
        n = rows[w]
        for m in ms:
            toks = res["tokens"].get("%s|%s" % (m, w), [0])
            r1 = sqln.get("%s|%s|t1" % (m, w))
            rp = sqln.get("%s|%s|par2" % (m, w))
            rh = sqlh.get("%s|%s|t1" % (m, w))
            par = cell(rp, n)
            if rp and rp.get("workers_launched"):
                par += " [%s launched]" % min(rp["workers_launched"])
            ratio = "%.2f×" % (rh["median_s"] / r1["median_s"]) if rh and r1 else "–"
            P("| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |" % (
                m, w, statistics.mean(toks), cell(r1, n), cell(sqln.get("%s|%s|t2" % (m, w)), n),
                par, cell(sqln.get("%s|%s|batch32" % (m, w)), n), cell(rh, n), ratio))
    jit = [(k, v) for k, v in sqln.items() if k.endswith("|jit_t1")]
    for k, v in jit:
        m, w, _ = k.split("|")
        base = sqln.get("%s|%s|t1" % (m, w))
        if base:
            P("")
            P("Every figure here runs with `jit = off`. With the server's default `jit = on`, %s over the %d %s "
              "takes %.0f ms instead of %.0f ms (%+.0f ms; COST 10000 per call puts such a query above "
              "jit_above_cost, so its plan is JIT-compiled)." % (
                  m, rows[w], WORKLOAD_TITLE[w], 1000 * v["median_s"], 1000 * base["median_s"],
                  1000 * (v["median_s"] - base["median_s"])))
    P("")

    P("## Compute efficiency (1 thread)")
    P("")
    P("FLOPs per row from the shape and each row's token count T: 2·T·(4h² + 2h·i)·layers + 4·T²·h·layers "
      "(+ 2h² + 2h·labels for the pooler/pre-classifier and classifier). "
      "sgemm: `test/bench/gemm_bench.c` runs every matrix product of the encoder for the same rows "
      "(row-major, NoTrans/Trans as src/encoder.c calls cblas_sgemm, one weight set per layer, 1 thread, "
      "same OpenBLAS and environment) and times it; 'dense' counts the six weight products only. "
      "'bert ÷ sgemm' = bert's GFLOP/s (whole query: tokenization, embeddings, softmax, GELU, LayerNorm "
      "included) ÷ the sgemm rate; above 100%, the extension's products run faster than one plain "
      "cblas_sgemm call per product (src/encoder.c splits products of few rows into OpenBLAS's "
      "small-matrix kernels).")
    P("")
    P("| model | workload | GFLOP/row | bert GFLOP/s | sgemm GFLOP/s all (dense) | bert ÷ sgemm | Haswell: bert / sgemm GFLOP/s |")
    P("|---|---|---|---|---|---|---|")
    for w, (_, _, fn, ms) in WORKLOADS.items():
        n = rows[w]
        for m in ms:
            key = "%s|%s" % (m, w)
            r1 = sqln.get(key + "|t1")
            g = res["gemm_native"].get(key)
            gh = res["gemm_haswell"].get(key)
            rh = sqlh.get(key + "|t1")
            if not r1 or not g:
                continue
            fl = workload_flops(res, m, w)
            ach = fl / r1["median_s"] / 1e9
            share = (fl / (g["gflops_all"] * 1e9)) / r1["median_s"]
            hs = "%s / %s" % (fmt(fl / rh["median_s"] / 1e9), fmt(gh["gflops_all"])) if rh and gh else "–"
            P("| %s | %s | %.3f | %s | %s (%s) | %.0f%% | %s |" % (
                m, w, fl / n / 1e9, fmt(ach), fmt(g["gflops_all"]), fmt(g["gflops_dense"]), 100 * share, hs))
    P("")
    P("## SQL overhead")
    P("")
    P("`bert_token_ids(text, model)` does the per-call work that is not the encoder: model lookup (stat of the files), "
      "text detoasting and tokenization, fmgr call, result array. Shown as a share of the model function's time per row.")
    P("")
    P("| model | workload | bert_token_ids ms/row | model function ms/row | share |")
    P("|---|---|---|---|---|")
    for w, (_, _, fn, ms) in WORKLOADS.items():
        n = rows[w]
        for m in ms:
            rt = sqln.get("%s|%s|token_ids" % (m, w))
            r1 = sqln.get("%s|%s|t1" % (m, w))
            if rt and r1:
                P("| %s | %s | %.4f | %.3f | %.2f%% |" % (m, w, 1000 * rt["median_s"] / n, 1000 * r1["median_s"] / n,
                                                       100 * rt["median_s"] / r1["median_s"]))
    P("")

    P("## First call in a fresh connection (model load)")
    P("")
    P("A new connection runs `SELECT bert_embed('x', model)` twice; the load cost is the first call's time minus the "
      "second's (the first also loads bert.so and OpenBLAS). Warm: model.safetensors read beforehand, all in the page "
      "cache. Cold: evicted with posix_fadvise(DONTNEED) before the connection (share of the file still cached shown). "
      "`load_ms` is what `bert_models()` reports for the model. Median of %d connections." % meta["sizes"]["first_call_runs"])
    P("")
    P("| model | weights | file MB | warm: first / second call ms | warm: load cost ms | load_ms | cold: load cost ms (cached before) |")
    P("|---|---|---|---|---|---|---|")
    for m in res["models"]:
        wv, cv = res["first_call"].get(m + "|warm"), res["first_call"].get(m + "|cold")
        if not wv:
            continue
        i = res["models"][m]
        cold = "%s (%.0f%%)" % (fmt(cv["extra_ms"]), 100 * cv["resident_before"]) if cv else "–"
        P("| %s | %s | %.0f | %s / %s | %s | %s | %s |" % (
            m, i["dtype"], i["file_bytes"] / 1e6, fmt(wv["first_ms"]), fmt(wv["second_ms"], 2),
            fmt(wv["extra_ms"]), fmt(wv["load_ms"]), cold))
    P("")

    P("## Backend memory")
    P("")
    P("A fresh connection's `/proc/<backend>/status` before and after one call on a text at the model's token limit. "
      "RssFile: mapped files (F32 weights used in place, shared with every backend through the page cache; also "
      "the binaries). RssAnon: private memory (activations, F16 weights upcast to F32, tokenizer tables). "
      "`private_bytes` is what `bert_models()` reports.")
    P("")
    P("| model | tokens | RssFile before → after MB | RssAnon before → after MB | VmHWM MB | private_bytes MB |")
    P("|---|---|---|---|---|---|")
    for m, v in res["memory"].items():
        b, a = v["before"], v["after"]
        P("| %s | %d | %.1f → %.1f | %.1f → %.1f | %.1f | %.1f |" % (
            m, v["tokens"], b["RssFile"] / 1024, a["RssFile"] / 1024, b["RssAnon"] / 1024, a["RssAnon"] / 1024,
            a["VmHWM"] / 1024, v["private_bytes"] / 1e6))
    P("")

    if res["peers"]:
        P("## Peers, 1 thread, same rows")
        P("")
        P("rows/s, and in brackets the ratio peer ÷ bert (bert = the 1-thread SQL figure above; > 1: the peer is faster). "
          "Tokenization is included everywhere. ONNX Runtime: onnxruntime-node %s, the model exported by "
          "`export_onnx.py` (opset 14), intraOpNumThreads = interOpNumThreads = 1, Hugging Face tokenizer "
          "(@huggingface/tokenizers), batches padded with an attention mask; for the embedding models mean pooling "
          "and normalisation in JavaScript. PyTorch: `torch_bench.py` (eager, torch %s, 1 thread)." % (
              next((v.get("version") for v in res["peers"].values() if v.get("version")), "?"),
              next((v.get("torch") for v in res["peers"].values() if v.get("torch")), "?")))
        P("")
        hdr = ["model", "workload", "bert"] + ["ORT batch %d" % b for b in PEER_BATCHES] + \
              ["PyTorch batch %d" % b for b in PEER_BATCHES] + \
              ["bert batched (32 per call)", "ORT best batch ÷ bert batched"]
        P("| " + " | ".join(hdr) + " |")
        P("|" + "---|" * len(hdr))
        for w, (_, _, fn, ms) in WORKLOADS.items():
            n = rows[w]
            for m in ms:
                r1 = sqln.get("%s|%s|t1" % (m, w))
                b_rps = rps(r1, n)
                cells = [m, w, fmt(b_rps)]
                for kind in ("ort", "torch"):
                    for b in PEER_BATCHES:
                        v = res["peers"].get("%s|%s|%s|%d" % (m, w, kind, b))
                        if not v:
                            cells.append("–")
                        elif "error" in v:
                            cells.append("error")
                        else:
                            pr = v["rows"] / v["median_s"]
                            cells.append("%s (%.2f)" % (fmt(pr), pr / b_rps if b_rps else float("nan")))
                batched = rps(sqln.get("%s|%s|batch32" % (m, w)), n)
                ort = [res["peers"].get("%s|%s|ort|%d" % (m, w, b)) for b in PEER_BATCHES]
                ort_best = max([v["rows"] / v["median_s"] for v in ort if v and "median_s" in v] or [0])
                cells.append(fmt(batched))
                cells.append("%.2f" % (ort_best / batched) if batched and ort_best else "–")
                P("| " + " | ".join(cells) + " |")
        for k, v in res["peers"].items():
            m, w = k.split("|")[:2]
            ours = sum(res["tokens"].get("%s|%s" % (m, w), []))
            if "tokens" in v and v["tokens"] != ours:
                P("")
                P("Token count differs: %s tokenized %d tokens, bert %d." % (k, v["tokens"], ours))
        errs = [(k, v["error"]) for k, v in res["peers"].items() if "error" in v]
        for k, e in errs:
            P("")
            P("peer %s failed: `%s`" % (k, e.splitlines()[-1] if e else "?"))
        P("")

    P("## Notes")
    P("")
    P("- Timing is psql's `\\timing` (client round trip included, < 0.1 ms) of each query; every SQL figure runs with "
      "`jit = off` and without parallel workers unless stated.")
    P("- The Haswell column restarts the same cluster with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE set (as this "
      "machine's environment sets them); every other figure runs with both unset, so OpenBLAS picks its kernel for "
      "the CPU itself, as on a user's machine. The core names come from `openblas_get_corename()` in "
      "`gemm_bench --corename` under the same environment as the server (the extension does not expose it in SQL).")
    P("- The peers and the sgemm program run in the same environment as the native server (OPENBLAS_* unset), "
      "on the same rows, one after another, never concurrently.")
    P("- Backend memory is read by the backend itself (`pg_read_file('/proc/self/status')`, the same file as "
      "/proc/<pid>/status).")
    P("- The random-weight models compute the same as trained ones of their size (same shapes, same kernels); "
      "their labels mean nothing.")
    if meta["quick"]:
        P("- **Quick mode**: a few rows per workload and 2 runs; the figures show that every measurement works, "
          "not what the machine can do. Run without BENCH_QUICK on an idle machine for the real figures.")
    P("")
    text = "\n".join(L)
    with open(out_path, "w") as f:
        f.write(text)
    print(text)


def main():
    cmd, work = sys.argv[1], sys.argv[2]
    res = Results(work)
    if cmd == "prepare":
        for k in list(res.data):
            del res.data[k]
        prepare(work, res)
    elif cmd == "native":
        native(work, res)
    elif cmd == "haswell":
        haswell(work, res)
    elif cmd == "report":
        report(work, res, sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
