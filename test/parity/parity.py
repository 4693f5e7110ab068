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
    ("testmodels/golden/bert-tiny-random-pretrain.jsonl", "testmodels", "bert-tiny-random-pretrain", "pretrain"),
    ("models/golden/bert-mini-mlm.jsonl", "models", "bert-mini-mlm", "pretrain"),
    ("testmodels/golden/bert-tiny-random-ner.jsonl", "testmodels", "bert-tiny-random-ner", "ner"),
    ("testmodels/golden/bert-tiny-random-qa.jsonl", "testmodels", "bert-tiny-random-qa", "qa"),
]


def lit(s):
    """SQL literal; PostgreSQL text cannot hold NUL, which the tokenizer drops anyway."""
    return "'" + s.replace("\x00", "").replace("'", "''") + "'"


def query(kind, row, model):
    """One SELECT returning the row's outputs as a JSON object."""
    m = lit(model)
    if kind == "qa":
        q, c = lit(row["question"]), lit(row["context"])
        # bert_answer only where its span is compared (see compare_qa): the
        # truncated pair has a 300-token question, which leaves 81 context
        # tokens per window, fewer than doc_stride (128), so the
        # question-answering pipeline refuses it, and so does bert_answer
        answer = ("(SELECT row_to_json(a) FROM bert_answer(%(q)s, %(c)s, %(m)s) a)"
                  if len(row["input_ids"]) < 512 else "NULL")
        return ("SELECT json_build_object("
                "'tokens', (SELECT json_agg(json_build_object('token', token, 'type', token_type_id, "
                "'start', start_char, 'end', end_char, 'logits', logits) ORDER BY position) "
                "FROM bert_token_logits(%(q)s, %(c)s, %(m)s)), "
                "'answer', " + answer + ")::jsonb::text;") % {"q": q, "c": c, "m": m}
    t = lit(row["text"])
    if kind == "pretrain" and "text_pair" in row:
        return ("SELECT json_build_object('nsp', bert_next_sentence(%s, %s, %s))::jsonb::text;"
                % (t, lit(row["text_pair"]), m))
    fields = ["'ids', bert_token_ids(%s, %s)" % (t, m)]
    if kind == "pretrain":
        if row["mask_predictions"]:
            fields.append("'masks', (SELECT json_agg(json_build_object('position', position, "
                          "'id', token_id, 'token', token, 'score', score) ORDER BY position, score DESC) "
                          "FROM bert_fill_mask(%s, %s, 5))" % (t, m))
    elif kind == "ner":
        fields.append("'logits', (SELECT json_agg(logits ORDER BY position) "
                      "FROM bert_token_logits(%s, %s))" % (t, m))
    elif kind == "base":
        fields.append("'hidden', bert_last_hidden_state(%s, %s)" % (t, m))
        fields.append("'embed', bert_embed(%s, %s)" % (t, m))
        if "pooler_output" in row:
            fields.append("'pooler', bert_pooler_output(%s, %s)" % (t, m))
    else:
        fields.append("'logits', bert_logits(%s, %s)" % (t, m))
        fields.append("'label', bert_sentiment(%s, %s)" % (t, m))
        fields.append("'probs', (SELECT array_agg(score) FROM bert_sentiment_scores(%s, %s))" % (t, m))
    return "SELECT json_build_object(%s)::jsonb::text;" % ", ".join(fields)


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


VOCAB = open(os.path.join(SHARED, "testmodels", "bert-tiny-random-qa", "vocab.txt"),
             encoding="utf-8").read().split("\n")
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def softmax(x):
    m = max(x)
    e = [pow(2.718281828459045, v - m) for v in x]
    return [v / sum(e) for v in e]


def compare_qa(row, got, close, problems):
    """Logits of every token; the answer span of bert_answer when nothing was truncated."""
    tokens = got["tokens"]
    if [VOCAB[i] for i in row["input_ids"]] != [t["token"] for t in tokens]:
        problems.append("tokens differ")
        return problems
    if [t["type"] for t in tokens] != row["token_type_ids"]:
        problems.append("token_type_ids differ")
        return problems
    close("start_logits", row["start_logits"], [t["logits"][0] for t in tokens], TOL)
    close("end_logits", row["end_logits"], [t["logits"][1] for t in tokens], TOL)
    truncated = len(row["input_ids"]) >= 512
    if row["best_span_token_positions"] and not truncated:
        i, j = row["best_span_token_positions"]
        span = (tokens[i]["start"], tokens[j]["end"])
        answer = (got["answer"]["start_char"], got["answer"]["end_char"])
        if span != answer:
            problems.append("answer span %s, expected tokens %d..%d = %s" % (answer, i, j, span))
    return problems


def compare(kind, row, got):
    """List of problems of one row (empty when it matches)."""
    problems = []

    def close(name, expected, actual, tol):
        d = max_diff(expected, actual)
        if d is None:
            problems.append("%s: shape differs" % name)
        elif d > tol:
            problems.append("%s: max |diff| %.3g > %.0e" % (name, d, tol))

    if kind == "qa":
        return compare_qa(row, got, close, problems)
    if "nsp" in got:
        close("is_next_prob", row["is_next_prob"], got["nsp"], TOL)
        return problems
    if got["ids"] != row["input_ids"]:
        problems.append("input_ids differ: expected %s got %s" % (row["input_ids"], got["ids"]))
        return problems
    if kind == "pretrain":
        masks = got.get("masks") or []
        for m in row["mask_predictions"]:
            mine = [x for x in masks if x["position"] == m["position"]]
            if [x["id"] for x in mine] != m["token_ids"]:
                problems.append("mask %d: top-5 ids %s, expected %s"
                                % (m["position"], [x["id"] for x in mine], m["token_ids"]))
            else:
                close("mask %d scores" % m["position"], m["scores"], [x["score"] for x in mine], TOL)
        if len(masks) != 5 * len(row["mask_predictions"]):
            problems.append("%d predictions for %d masks" % (len(masks), len(row["mask_predictions"])))
    elif kind == "ner":
        labels, scores = [], []
        for logits in got["logits"]:
            probs = softmax(logits)
            best = max(range(len(probs)), key=lambda i: probs[i])
            labels.append(NER_LABELS[best])
            scores.append(probs[best])
        if labels != row["token_labels"]:
            problems.append("token labels differ")
        close("token_scores", row["token_scores"], scores, TOL)
    elif kind == "base":
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
