"""Training benchmark of bert: quality against the Hugging Face Trainer recipe
in PyTorch (../shared/tools/ref/finetune_ref.py) and training throughput
against PyTorch eager, on the same base model, rows and recipe.

Run by train_bench.sh, which builds the extension and starts the cluster
(PGHOST etc. in the environment).  Environment:
  TRAIN_BENCH_OUT       Markdown report (a .json with the raw figures beside it)
  TRAIN_BENCH_MODELS    the writable bert.model_dir (holds bert-mini-mlm)
  TRAIN_BENCH_QUICK=1   smoke run: 256 training rows, 200 evaluation rows
  TRAIN_BENCH_DATASETS  "sst2 agnews"
  TRAIN_BENCH_THREADS   "1 2"
  TRAIN_BENCH_PEERS=0   skip PyTorch
  TRAIN_BENCH_ROWS      training rows per dataset (default: all)
  TRAIN_BENCH_THROUGHPUT_ROWS  rows of the throughput-only runs (2 threads;
                        default 4,096, quick 128)

The recipe of finetune_ref.py's defaults: 1 epoch, batch 32, learning rate
1e-4, warmup 10% of the steps (int(), as finetune_ref.py rounds), weight
decay 0.01, max length 128, dropout from config.json, seed 0, shuffled.
"""
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
QUICK = os.environ.get("TRAIN_BENCH_QUICK") == "1"
OUT = os.environ.get("TRAIN_BENCH_OUT", os.path.join(HERE, "TRAIN_RESULTS.md"))
MODELS = os.environ["TRAIN_BENCH_MODELS"]
DATASETS = os.environ.get("TRAIN_BENCH_DATASETS", "sst2 agnews").split()
THREADS = [int(x) for x in os.environ.get("TRAIN_BENCH_THREADS", "1 2").split()]
PEERS = os.environ.get("TRAIN_BENCH_PEERS", "1") != "0"
ROWS = int(os.environ.get("TRAIN_BENCH_ROWS", "256" if QUICK else "0"))
EVAL_ROWS = 200 if QUICK else 0
TP_ROWS = int(os.environ.get("TRAIN_BENCH_THROUGHPUT_ROWS", "128" if QUICK else "4096"))
BASE = "bert-mini-mlm"
RECIPE = dict(epochs=1, batch=32, lr=1e-4, warmup=0.1, wd=0.01, max_len=128, seed=0)
FILES = {
    "sst2": ("reviews/sst2_train.tsv", "reviews/sst2_dev.tsv"),
    "agnews": ("topics/agnews_train_10k.tsv", "topics/agnews_test.tsv"),
}


def say(msg):
    print(f"[train-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def psql(sql):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                       input=sql, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return p.stdout.strip()


def read_tsv(path, limit):
    rows = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line:
            lab, text = line.split("\t", 1)
            rows.append((lab, text))
    return rows[:limit] if limit else rows


def write_tsv(rows, path):
    with open(path, "w", encoding="utf-8") as f:
        for lab, text in rows:
            f.write(f"{lab}\t{text}\n")


def load_table(name, path):
    psql(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id serial, label text, body text);\n"
         f"\\copy {name} (label, body) FROM '{path}' (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\b')")


def warmup_steps(n):
    steps = (n + RECIPE["batch"] - 1) // RECIPE["batch"]
    return int(steps * RECIPE["epochs"] * RECIPE["warmup"])


def bert_finetune(model, table, n, threads):
    """Runs bert_finetune; returns (seconds of the training loop, result rows)."""
    sql = (f"SET bert.threads = {threads};\n"
           f"SELECT epoch, steps, train_loss, seconds FROM bert_finetune('{model}', '{BASE}', "
           f"'SELECT body, label FROM {table} ORDER BY id', epochs => {RECIPE['epochs']}, "
           f"batch_size => {RECIPE['batch']}, learning_rate => {RECIPE['lr']}, "
           f"warmup_steps => {warmup_steps(n)}, weight_decay => {RECIPE['wd']}, "
           f"max_length => {RECIPE['max_len']}, seed => {RECIPE['seed']}, "
           f"validation_share => 0, replace => true);")
    out = psql(sql).splitlines()
    last = out[-1].split("|")
    return float(last[3]), out


def bert_accuracy(model, table):
    return float(psql(
        f"SELECT avg((s.label = e.label)::int) FROM "
        f"(SELECT array_agg(id ORDER BY id) AS ids, array_agg(body ORDER BY id) AS texts "
        f" FROM {table} GROUP BY id / 64) g, bert_sentiment(g.texts, '{model}') s, {table} e "
        f"WHERE e.id = g.ids[s.ordinality]"))


def tokens_of(table):
    """Tokens the training sees: [CLS] ... [SEP] cut at max length."""
    return int(psql(f"SELECT sum(least(cardinality(bert_token_ids(body, '{BASE}')), {RECIPE['max_len']})) "
                    f"FROM {table}"))


def torch_finetune(train_tsv, eval_tsv, threads):
    cmd = ["/usr/bin/python3", os.path.join(SHARED, "tools", "ref", "finetune_ref.py"),
           os.path.join(MODELS, BASE), train_tsv, eval_tsv, "--epochs", str(RECIPE["epochs"]),
           "--batch", str(RECIPE["batch"]), "--lr", str(RECIPE["lr"]), "--warmup", str(RECIPE["warmup"]),
           "--wd", str(RECIPE["wd"]), "--max-len", str(RECIPE["max_len"]), "--seed", str(RECIPE["seed"]),
           "--threads", str(threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    work = os.environ.get("TRAIN_BENCH_WORK", "/tmp")
    results = {"cpu": cpu_name(), "quick": QUICK, "recipe": RECIPE, "base": BASE, "datasets": {}}
    load_before = os.getloadavg()
    for ds in DATASETS:
        train_rel, eval_rel = FILES[ds]
        train_rows = read_tsv(os.path.join(SHARED, "data", train_rel), ROWS)
        eval_rows = read_tsv(os.path.join(SHARED, "data", eval_rel), EVAL_ROWS)
        train_tsv = os.path.join(work, f"train_bench_{ds}_train.tsv")
        eval_tsv = os.path.join(work, f"train_bench_{ds}_eval.tsv")
        tp_tsv = os.path.join(work, f"train_bench_{ds}_tp.tsv")
        write_tsv(train_rows, train_tsv)
        write_tsv(eval_rows, eval_tsv)
        write_tsv(train_rows[:TP_ROWS], tp_tsv)
        for t, f in ((f"tb_{ds}_train", train_tsv), (f"tb_{ds}_eval", eval_tsv), (f"tb_{ds}_tp", tp_tsv)):
            os.chmod(f, 0o644)
            load_table(t, f)
        r = {"train_rows": len(train_rows), "eval_rows": len(eval_rows),
             "train_tokens": tokens_of(f"tb_{ds}_train"), "tp_rows": min(TP_ROWS, len(train_rows)),
             "tp_tokens": tokens_of(f"tb_{ds}_tp")}

        say(f"{ds}: bert_finetune on {len(train_rows)} rows, 1 thread")
        secs, out = bert_finetune(f"bench-{ds}", f"tb_{ds}_train", len(train_rows), 1)
        r["bert"] = {"seconds": secs, "epochs": out,
                     "accuracy": 100 * bert_accuracy(f"bench-{ds}", f"tb_{ds}_eval"),
                     "tokens_per_s": {1: r["train_tokens"] / secs}}
        for th in THREADS:
            if th == 1:
                continue
            say(f"{ds}: bert_finetune throughput on {r['tp_rows']} rows, {th} threads")
            secs, _ = bert_finetune(f"bench-{ds}-tp", f"tb_{ds}_tp", r["tp_rows"], th)
            r["bert"]["tokens_per_s"][th] = r["tp_tokens"] / secs
        if PEERS:
            say(f"{ds}: finetune_ref.py on {len(train_rows)} rows, 1 thread")
            ref = torch_finetune(train_tsv, eval_tsv, 1)
            r["torch"] = {"accuracy": ref["eval_accuracy"], "seconds": ref["train_seconds"],
                          "tokens_per_s": {1: r["train_tokens"] / ref["train_seconds"]}, "run": ref}
            for th in THREADS:
                if th == 1:
                    continue
                say(f"{ds}: finetune_ref.py throughput on {r['tp_rows']} rows, {th} threads")
                ref_tp = torch_finetune(tp_tsv, eval_tsv, th)
                r["torch"]["tokens_per_s"][th] = r["tp_tokens"] / ref_tp["train_seconds"]
        results["datasets"][ds] = r
    results["loadavg_before"] = load_before
    results["loadavg_after"] = os.getloadavg()
    with open(os.path.splitext(OUT)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1)
    report(results)


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def report(res):
    lines = ["# Training benchmark", "",
             f"CPU: {res['cpu']} ({os.cpu_count()} cores); base model `{res['base']}`; "
             f"recipe: {res['recipe']}; load average before / after: "
             f"{res['loadavg_before'][0]:.1f} / {res['loadavg_after'][0]:.1f}"
             + (" — **smoke run (TRAIN_BENCH_QUICK=1): figures mean nothing**" if res["quick"] else ""),
             "", "## Quality (same rows, same recipe, same base)", "",
             "| dataset | training rows | evaluation rows | bert accuracy % | finetune_ref.py accuracy % | difference |",
             "|---|---|---|---|---|---|"]
    for ds, r in res["datasets"].items():
        b = r["bert"]["accuracy"]
        t = r.get("torch", {}).get("accuracy")
        lines.append(f"| {ds} | {r['train_rows']} | {r['eval_rows']} | {b:.2f} | "
                     f"{'—' if t is None else f'{t:.2f}'} | {'—' if t is None else f'{b - t:+.2f}'} |")
    lines += ["", "## Training throughput (tokens/s; the 1-thread figure over all training rows, "
                  "the others over the throughput rows)", "",
              "| dataset | threads | bert | PyTorch eager | bert / PyTorch |", "|---|---|---|---|---|"]
    for ds, r in res["datasets"].items():
        for th, v in sorted(r["bert"]["tokens_per_s"].items(), key=lambda x: int(x[0])):
            p = r.get("torch", {}).get("tokens_per_s", {}).get(th)
            lines.append(f"| {ds} | {th} | {v:,.0f} | {'—' if p is None else f'{p:,.0f}'} | "
                         f"{'—' if p is None else f'{v / p:.2f}'} |")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
