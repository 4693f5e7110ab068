#!/usr/bin/env python3
"""Hugging Face parity: every golden row of ../shared against the extension.

Runs the SQL functions on each input of the golden files (outputs of the
reference implementation with Hugging Face's names and semantics) and
compares: token ids exactly, labels exactly, every float within the
tolerance stated in ../shared/README.md — 1e-4 absolute, 1e-3 for raw logits
of long inputs (> 128 tokens), where float32 sums in another order drift.

Needs a running server with the extension installed (PGHOST etc. set, as
test/run_tests.sh does) and BERT_SHARED pointing at a copy of ../shared that
the server can read.  Prints every difference and a closing line
"parity: N passed, M failed" (N, M = golden rows).
"""
import json
import os
import subprocess
import sys

SHARED = os.environ["BERT_SHARED"]
TOL = 1e-4
TOL_LONG_LOGITS = 1e-3

# (golden file, model directory root, model name, kind)
SUITES = [
    ("testmodels/golden/bert-tiny-random.jsonl", "testmodels", "bert-tiny-random", "base"),
    ("testmodels/golden/bert-tiny-random-f16.jsonl", "testmodels", "bert-tiny-random-f16", "base"),
    ("testmodels/golden/bert-tiny-random-bf16.jsonl", "testmodels", "bert-tiny-random-bf16", "base"),
    ("testmodels/golden/bert-tiny-random-cls.jsonl", "testmodels", "bert-tiny-random-cls", "cls"),
    ("testmodels/golden/distilbert-tiny-random-cls.jsonl", "testmodels", "distilbert-tiny-random-cls", "cls"),
    ("models/golden/bert-mini-sentiment.jsonl", "models", "bert-mini-sentiment", "cls"),
    ("models/golden/bert-mini-embed.jsonl", "models", "bert-mini-embed", "base"),
]


def lit(s):
    """SQL literal; PostgreSQL text cannot hold NUL, which the tokenizer drops anyway."""
    return "'" + s.replace("\x00", "").replace("'", "''") + "'"


def query(kind, row, model):
    t, m = lit(row["text"]), lit(model)
    fields = ["'ids', bert_token_ids(%s, %s)" % (t, m)]
    if kind == "base":
        fields.append("'hidden', bert_last_hidden_state(%s, %s)" % (t, m))
        fields.append("'embed', bert_embed(%s, %s)" % (t, m))
        if "pooler_output" in row:
            fields.append("'pooler', bert_pooler_output(%s, %s)" % (t, m))
    else:
        fields.append("'logits', bert_logits(%s, %s)" % (t, m))
        fields.append("'label', bert_sentiment(%s, %s)" % (t, m))
        fields.append("'probs', (SELECT array_agg(score) FROM bert_sentiment_scores(%s, %s))" % (t, m))
    return "SELECT json_build_object(%s)::text;" % ", ".join(fields)


def run_sql(lines):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                         input="\n".join(lines), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("psql failed: " + out.stderr)
    return [l for l in out.stdout.splitlines() if l.strip()]


def max_diff(a, b):
    """Largest absolute difference of two equally shaped nested lists, or None if shapes differ."""
    if isinstance(a, list) != isinstance(b, list):
        return None
    if not isinstance(a, list):
        return abs(a - b)
    if len(a) != len(b):
        return None
    worst = 0.0
    for x, y in zip(a, b):
        d = max_diff(x, y)
        if d is None:
            return None
        worst = max(worst, d)
    return worst


def compare(kind, row, got):
    """List of problems of one row (empty when it matches)."""
    problems = []

    def close(name, expected, actual, tol):
        d = max_diff(expected, actual)
        if d is None:
            problems.append("%s: shape differs" % name)
        elif d > tol:
            problems.append("%s: max |diff| %.3g > %.0e" % (name, d, tol))

    if got["ids"] != row["input_ids"]:
        problems.append("input_ids differ: expected %s got %s" % (row["input_ids"], got["ids"]))
        return problems
    if kind == "base":
        hidden = got["hidden"]
        mean = [sum(col) / len(hidden) for col in zip(*hidden)]
        close("mean_pooled", row["mean_pooled"], mean, TOL)
        close("mean_pooled_l2 (bert_embed)", row["mean_pooled_l2"], got["embed"], TOL)
        close("cls_token", row["cls_token"], hidden[0], TOL)
        if "last_hidden_state" in row:
            close("last_hidden_state", row["last_hidden_state"], hidden, TOL)
        if "pooler_output" in row:
            close("pooler_output", row["pooler_output"], got["pooler"], TOL)
    else:
        long_input = len(row["input_ids"]) > 128
        close("logits", row["logits"], got["logits"], TOL_LONG_LOGITS if long_input else TOL)
        close("probs", row["probs"], got["probs"], TOL)
        if got["label"] != row["label"]:
            problems.append("label: expected %s got %s" % (row["label"], got["label"]))
    return problems


def main():
    passed = failed = 0
    for golden, root, model, kind in SUITES:
        rows = [json.loads(l) for l in open(os.path.join(SHARED, golden), encoding="utf-8")]
        lines = ["CREATE EXTENSION IF NOT EXISTS bert;",
                 "SET bert.model_dir = %s;" % lit(os.path.join(SHARED, root))]
        lines += [query(kind, r, model) for r in rows]
        results = run_sql(lines)
        if len(results) != len(rows):
            sys.exit("%s: %d results for %d rows" % (model, len(results), len(rows)))
        bad = 0
        for row, line in zip(rows, results):
            problems = compare(kind, row, json.loads(line))
            if problems:
                bad += 1
                print("FAIL %s %r: %s" % (model, row["text"][:60], "; ".join(problems)))
        print("%-28s %3d rows, %d differ" % (model, len(rows), bad))
        passed += len(rows) - bad
        failed += bad
    print("parity: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
