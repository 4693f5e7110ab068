#!/usr/bin/env python3
"""Character offsets of tokens and entities, and next-sentence accuracy.

Offsets: for every token that bert_token_logits returns and every entity of
bert_ner, the input text at [start_char, end_char) must normalise (characters
the tokenizer drops removed, lower case, NFD, combining marks removed) to the token's text without its "##"
prefix ([UNK] tokens: to a non-empty span) — on the golden inputs plus
accented, CJK, emoji and punctuation-heavy text.

Next sentence: bert-mini-mlm judges pairs of consecutive sentences from the
IMDB reviews against pairs whose second sentence comes from another review;
the accuracy (threshold 0.5) is reported and must beat chance.

Prints "offsets: N passed, M failed" (N, M = inputs).
"""
import json
import os
import random
import re
import subprocess
import sys
import unicodedata

SHARED = os.environ["BERT_SHARED"]
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")

EXTRA = [
    "Ångström visited Zürich, München and Kraków — naïve façades!",
    "東京タワーと大阪城 are in 日本; 北京 is in 中国.",
    "I ❤️ pizza 🍕🍕, 👩‍👩‍👧 and 👍🏽!!!",
    "((([[{{<<wow>>}}]])))... ?!?! «quoted» „German“ 'single'",
    "ΟΔΟΣ Σίσυφος İstanbul ıi ẞtraße",
    "e\u0301cole cafe\u0301 résumé",
    "x [MASK] y [SEP] z",
    "tab\tand\nnewline\u200bzero width\ufeffbom\u00adsoft",
]


def lit(s):
    return "'" + s.replace("\x00", "").replace("'", "''") + "'"


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("psql failed: " + out.stderr)
    return [l for l in out.stdout.splitlines() if l.strip()]


def norm(s):
    """What the tokenizer makes of a span: dropped characters removed, lower case, no accents."""
    s = "".join(c for c in s if c not in "\ufffd\x00" and
                (c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cf", "Co")))
    s = unicodedata.normalize("NFD", s.lower())
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


def check_offsets():
    texts = [json.loads(l)["text"] for l in
             open(os.path.join(SHARED, "testmodels/golden/bert-tiny-random-ner.jsonl"), encoding="utf-8")]
    texts = [t.replace("\x00", "") for t in texts + EXTRA]
    sql = ["SET bert.model_dir = %s;" % lit(os.path.join(SHARED, "testmodels"))]
    for t in texts:
        sql.append("SELECT jsonb_build_object("
                   "'tokens', (SELECT jsonb_agg(jsonb_build_object('t', token, 's', start_char, 'e', end_char) "
                   "ORDER BY position) FROM bert_token_logits(%(t)s, 'bert-tiny-random-ner')), "
                   "'entities', (SELECT jsonb_agg(jsonb_build_object('t', entity, 's', start_char, 'e', end_char)) "
                   "FROM bert_ner(%(t)s, 'bert-tiny-random-ner')))::text;" % {"t": lit(t)})
    rows = psql("\n".join(sql))
    passed = failed = 0
    for text, line in zip(texts, rows):
        got = json.loads(line)
        problems = []
        for tok in got["tokens"]:
            if tok["s"] is None:
                continue
            span = text[tok["s"]:tok["e"]]
            piece = tok["t"][2:] if tok["t"].startswith("##") else tok["t"]
            if tok["t"] in ("[UNK]",) or tok["t"] in ("[MASK]", "[SEP]", "[CLS]"):
                ok = len(span) > 0
            else:
                ok = norm(span) == piece
            if not ok:
                problems.append("token %r at [%d,%d) is %r" % (tok["t"], tok["s"], tok["e"], span))
        prev_end = 0
        for ent in got["entities"] or []:
            span = text[ent["s"]:ent["e"]]
            if ent["s"] < prev_end or re.sub(r"\s", "", norm(span)) != re.sub(r"\s", "", norm(ent["t"])):
                if "[UNK]" not in ent["t"]:
                    problems.append("entity %r at [%d,%d) is %r" % (ent["t"], ent["s"], ent["e"], span))
            prev_end = ent["e"]
        if problems:
            failed += 1
            print("FAIL %r: %s" % (text[:50], "; ".join(problems[:3])))
        else:
            passed += 1
    return passed, failed


def next_sentence_accuracy(pairs=200, seed=7):
    """Consecutive vs random sentence pairs from IMDB reviews, judged by bert-mini-mlm."""
    reviews = [l.split("\t", 1)[1] for l in
               open(os.path.join(DATA, "reviews", "imdb_test_5000.tsv"), encoding="utf-8")]
    rng = random.Random(seed)
    split = [re.split(r"(?<=[.!?])\s+", r.replace("<br />", " ")) for r in reviews]
    split = [s for s in split if len(s) >= 3]
    cases = []
    while len(cases) < 2 * pairs:
        r = rng.choice(split)
        i = rng.randrange(len(r) - 1)
        if len(cases) % 2 == 0:
            cases.append((r[i], r[i + 1], True))
        else:
            other = rng.choice(split)
            cases.append((r[i], rng.choice(other), False))
    sql = ["SET bert.model_dir = %s;" % lit(os.path.join(SHARED, "models"))]
    sql += ["SELECT bert_next_sentence(%s, %s, 'bert-mini-mlm');" % (lit(a), lit(b)) for a, b, _ in cases]
    probs = [float(x) for x in psql("\n".join(sql))]
    correct = sum((p > 0.5) == is_next for p, (_, _, is_next) in zip(probs, cases))
    return correct, len(cases)


def main():
    passed, failed = check_offsets()
    correct, total = next_sentence_accuracy()
    acc = 100.0 * correct / total
    print("next-sentence accuracy of bert-mini-mlm on %d IMDB sentence pairs (half consecutive): %.1f%%"
          % (total, acc))
    if acc <= 50.0:
        print("FAIL next-sentence accuracy is not above chance")
        failed += 1
    else:
        passed += 1
    print("offsets: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
