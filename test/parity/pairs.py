#!/usr/bin/env python3
"""Sentence pairs, reranking, zero-shot classification and chunking,
through SQL, against references.

golden  every row of testmodels/golden/bert-tiny-random-pairs.jsonl (made by
        ../shared/tools/ref/golden_pairs.py): pair rows through bert_logits,
        bert_classify, bert_classify_scores and bert_rerank_score (token ids
        and token_type_ids through bert_token_logits, same encoder of
        pairs), rerank rows through bert_rerank and bert_rerank_score,
        zero-shot rows through bert_zero_shot.  Ids equal, labels and label
        order equal, floats within 1e-4.
chunks  bert_chunk on every review of data/reviews/imdb_test_5000.tsv and on
        hostile documents at several (max_tokens, overlap); the small
        max_tokens settings (many chunks per document) on the first
        PAIRS_SMALL_DOCS reviews.  The document's word pieces come from
        Hugging Face's tokenizer (../shared/tools/tokref, the oracle of the
        tokenizer suite), which also re-tokenizes every chunk.  Checked per
        document: chunk_no counts from 1; 1 <= tokens <= max_tokens; chunk
        is the document at [start_char, end_char); starts and ends increase;
        every chunk's text has `tokens` pieces (chunks that a cut inside a
        word joins are re-tokenized together); an overlap is whole words of
        at most `overlap` pieces that end the previous chunk and begin the
        next; the chunks' pieces in order, less the overlaps, are the
        document's pieces; a word is cut only when it has more than
        max_tokens pieces, after max_tokens pieces (fewer only to cut between
        characters, never in ASCII); a cut between words is there because
        the next word does not fit.
latin1  bert_chunk, bert_rerank, bert_zero_shot and bert_classify give the
        same rows in a LATIN1 database as in a UTF8 one.
limits  statement_timeout stops bert_rerank (millions of documents),
        bert_zero_shot (a million candidates) and bert_chunk (a 100 MB
        document) within 1.2 s of the timeout, and the server is fine after.

Needs a running server with the extension (PGHOST etc., as test/run_tests.sh
sets them), BERT_SHARED (a server-readable copy of ../shared's models),
../shared beside the checkout (data, tokenizer oracle), node and npm.
PAIRS_DOCS=N limits the IMDB reviews of the full settings (default: all).
Ends with "pairs: N passed, M failed" (N, M = golden rows, documents x
settings, limit checks).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ["BERT_SHARED"]
SHARED_SRC = os.path.join(os.path.dirname(ROOT), "shared")
TESTMODELS = os.path.join(SHARED, "testmodels")
TOL = 1e-4
CHUNK_MODEL = "bert-tiny-random"
FULL_SETTINGS = [(510, 0), (128, 32), (16, 4)]
SMALL_SETTINGS = [(1, 0), (2, 1), (3, 2), (8, 0), (8, 7)]
PAIRS_DOCS = int(os.environ.get("PAIRS_DOCS", "0")) or None
PAIRS_SMALL_DOCS = int(os.environ.get("PAIRS_SMALL_DOCS", "300"))
TIMEOUT_MS = 1000
CANCEL_BOUND_MS = 1200

passed = failed = 0


def report(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def arr(items):
    return "ARRAY[%s]::text[]" % ", ".join("NULL" if x is None else lit(x) for x in items)


def psql(sql, check=True, db=None):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + (["-d", db] if db else []),
                         input=sql, capture_output=True, text=True,
                         env=dict(os.environ, PGCLIENTENCODING="UTF8"))
    if check and out.returncode != 0:
        sys.exit("psql failed: " + out.stderr[-2000:])
    return out


def rows(sql):
    return [l for l in psql(sql).stdout.split("\n") if l.strip()]


# ---------------------------------------------------------------- golden

def golden():
    path = os.path.join(TESTMODELS, "golden", "bert-tiny-random-pairs.jsonl")
    golden_rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    vocab = open(os.path.join(TESTMODELS, "bert-tiny-random", "vocab.txt"),
                 encoding="utf-8").read().split("\n")
    queries = []
    for r in golden_rows:
        m = lit(r["model"])
        if r["kind"] == "pair":
            t, p = lit(r["text"]), lit(r["text_pair"])
            queries.append(
                "SELECT jsonb_build_object("
                "'tokens', (SELECT jsonb_agg(jsonb_build_array(token, token_type_id) ORDER BY position) "
                "FROM bert_token_logits(%(t)s, %(p)s, 'bert-tiny-random-ner')), "
                "'logits', bert_logits(%(t)s, %(p)s, %(m)s), "
                "'label', bert_classify(%(t)s, %(p)s, %(m)s), "
                "'scores', (SELECT jsonb_agg(jsonb_build_array(label, score)) "
                "FROM bert_classify_scores(%(t)s, %(p)s, %(m)s)), "
                "'rerank', bert_rerank_score(%(t)s, %(p)s, %(m)s))::text;"
                % {"t": t, "p": p, "m": m})
        elif r["kind"] == "rerank":
            q, docs = lit(r["query"]), arr(r["documents"])
            queries.append(
                "SELECT jsonb_build_object("
                "'batch', (SELECT jsonb_agg(jsonb_build_array(ordinality, score) ORDER BY ordinality) "
                "FROM bert_rerank(%(q)s, %(d)s, %(m)s)), "
                "'single', (SELECT jsonb_agg(bert_rerank_score(%(q)s, d, %(m)s) ORDER BY i) "
                "FROM unnest(%(d)s) WITH ORDINALITY AS u(d, i)))::text;"
                % {"q": q, "d": docs, "m": m})
        else:
            queries.append(
                "SELECT jsonb_build_object('result', (SELECT jsonb_agg(jsonb_build_array(label, score) "
                "ORDER BY n) FROM bert_zero_shot(%s, %s, %s, %s, %s) WITH ORDINALITY AS z(label, score, n)))::text;"
                % (lit(r["text"]), arr(r["candidate_labels"]), m, lit(r["hypothesis_template"]),
                   "true" if r["multi_label"] else "false"))
    results = rows("SET bert.model_dir = %s;\n%s" % (lit(TESTMODELS), "\n".join(queries)))
    if len(results) != len(golden_rows):
        sys.exit("golden: %d results for %d rows" % (len(results), len(golden_rows)))
    worst = 0.0
    for r, line in zip(golden_rows, results):
        got = json.loads(line)
        problems = []

        def close(name, expected, actual):
            nonlocal worst
            if len(expected) != len(actual):
                problems.append("%s: %d values, expected %d" % (name, len(actual), len(expected)))
                return
            d = max((abs(a - b) for a, b in zip(expected, actual)), default=0.0)
            worst = max(worst, d)
            if d > TOL:
                problems.append("%s: max |diff| %.3g > %.0e" % (name, d, TOL))

        if r["kind"] == "pair":
            ids = [vocab.index(t) if t in vocab else -1 for t, _ in got["tokens"]]
            if ids != r["input_ids"]:
                problems.append("input_ids differ")
            if [tt for _, tt in got["tokens"]] != r["token_type_ids"]:
                problems.append("token_type_ids differ")
            close("logits", r["logits"], got["logits"])
            lg = r["logits"]
            if len(lg) == 1:
                probs = [1 / (1 + math.exp(-lg[0]))]
            else:
                e = [math.exp(x - max(lg)) for x in lg]
                probs = [x / sum(e) for x in e]
            close("bert_classify_scores", probs, [s for _, s in got["scores"]])
            close("bert_rerank_score", [probs[-1]], [got["rerank"]])
            best = max(range(len(lg)), key=lambda i: lg[i])
            if got["scores"][best][0] != got["label"]:
                problems.append("bert_classify %s, highest logit is %s" % (got["label"], got["scores"][best][0]))
            what = "%s %r / %r" % (r["model"], r["text"][:30], r["text_pair"][:30])
        elif r["kind"] == "rerank":
            if [o for o, _ in got["batch"]] != list(range(1, len(r["documents"]) + 1)):
                problems.append("ordinalities differ")
            close("bert_rerank", r["scores"], [s for _, s in got["batch"]])
            close("bert_rerank_score", r["scores"], got["single"])
            what = "rerank %r" % r["query"]
        else:
            if [l for l, _ in got["result"]] != r["labels"]:
                problems.append("labels %s, expected %s" % ([l for l, _ in got["result"]], r["labels"]))
            close("scores", r["scores"], [s for _, s in got["result"]])
            what = "zero_shot %r%s" % (r["text"][:30], " multi_label" if r["multi_label"] else "")
        report(not problems, "golden %s: %s" % (what, "; ".join(problems)))
    print("golden: %d rows (pair, rerank, zero_shot), largest |diff| %.2g" % (len(golden_rows), worst))


# ---------------------------------------------------------------- chunks

def is_punct(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or
            0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or
            0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_dropped(c):
    """A character the tokenizer drops: controls, format, private use (but
    tab, newline, CR), NUL, U+FFFD, and combining marks (accents stripped)."""
    cat = unicodedata.category(c)
    return (cat in ("Cc", "Cf", "Co", "Mn") and c not in "\t\n\r") or c == "\ufffd"


def is_boundary(c):
    """A character that ends a word for BERT's pre-tokenizer (a dropped one
    does not: U+0085 is white space but a control, and goes first)."""
    return not is_dropped(c) and (c.isspace() or is_punct(c) or is_cjk(ord(c)))


def next_word(doc, pos):
    """Text of the first word at or after character pos ('' if none)."""
    while pos < len(doc) and (doc[pos].isspace() or is_dropped(doc[pos])):
        pos += 1
    if pos >= len(doc):
        return ""
    if is_boundary(doc[pos]):
        return doc[pos]
    end = pos
    while end < len(doc) and not is_boundary(doc[end]):
        end += 1
    return doc[pos:end]


def junction(doc, p, c):
    """How chunk c follows chunk p: 'inside' (a cut inside a word, or inside
    one character whose pieces both chunks then hold), 'overlap' (c begins
    with words that end p) or 'word' (a cut between words)."""
    if c[1] >= p[2]:
        inside = all(not is_boundary(ch) for ch in doc[p[2] - 1:c[1] + 1])
        return "inside" if inside else "word"
    return "inside" if c[1] == p[1] else "overlap"


def check_chunks(doc, chunks, max_tokens, overlap, tok):
    """Problems of one document's chunks; tok(text) = its word pieces."""
    problems = []
    doc_ids = tok(doc)
    ids = []
    if not chunks:
        if doc_ids:
            problems.append("no chunks for %d pieces" % len(doc_ids))
        return problems, 0
    kinds = [None] + [junction(doc, chunks[j - 1], chunks[j]) for j in range(1, len(chunks))]
    overlaps = 0
    k = 0
    while k < len(chunks):
        # a segment: chunk k and the chunks that cuts inside a word join to it
        first = k
        while k + 1 < len(chunks) and kinds[k + 1] == "inside":
            k += 1
        for j in range(first, k + 1):
            no, s, e, n, text = chunks[j]
            if no != j + 1:
                problems.append("chunk %d numbered %d" % (j + 1, no))
            if not 1 <= n <= max_tokens:
                problems.append("chunk %d has %d tokens" % (no, n))
            if s >= e or text != doc[s:e]:
                problems.append("chunk %d text is not the document at [%d, %d)" % (no, s, e))
            if j and (s < chunks[j - 1][1] or e < chunks[j - 1][2] or
                      (kinds[j] != "inside" and (s == chunks[j - 1][1] or e == chunks[j - 1][2]))):
                problems.append("chunk %d [%d, %d) does not move on" % (no, s, e))
            if j < k and any(is_boundary(ch) for ch in text):
                problems.append("chunk %d cut inside a word that fits in a chunk" % no)
            if j < k and n != max_tokens:
                # fewer pieces only to cut between characters, never in ASCII
                if chunks[j + 1][1] < e or doc[s:chunks[j + 1][2]].isascii():
                    problems.append("chunk %d cut inside a word after %d tokens" % (no, n))
        seg_s, seg_e = chunks[first][1], chunks[k][2]
        seg_ids = tok(doc[seg_s:seg_e])
        seg_tokens = sum(c[3] for c in chunks[first:k + 1])
        if len(seg_ids) != seg_tokens:
            problems.append("chunks %d..%d: %d pieces, tokens say %d"
                            % (first + 1, k + 1, len(seg_ids), seg_tokens))
        drop = 0
        if kinds[first] == "overlap":
            ov_text = doc[seg_s:chunks[first - 1][2]]
            ov = tok(ov_text)
            drop = len(ov)
            overlaps += 1
            if not 1 <= drop <= overlap or seg_ids[:drop] != ov or ids[len(ids) - drop:] != ov:
                problems.append("chunk %d: overlap %r is not %d or fewer pieces of whole words"
                                % (first + 1, ov_text[:40], overlap))
        ids += seg_ids[drop:]
        # the chunk before a cut between words could not take the next word
        if k + 1 < len(chunks):
            w = next_word(doc, chunks[k][2])
            if chunks[k][3] + len(tok(w)) <= max_tokens:
                problems.append("chunk %d (%d tokens) stops before %r, which fits"
                                % (k + 1, chunks[k][3], w[:40]))
        k += 1
    if ids != doc_ids:
        at = next((i for i, (a, b) in enumerate(zip(ids, doc_ids)) if a != b), min(len(ids), len(doc_ids)))
        problems.append("chunks' pieces differ from the document's at piece %d (%d vs %d pieces)"
                        % (at, len(ids), len(doc_ids)))
    return problems, overlaps


class Oracle:
    """Hugging Face's tokenizer (../shared/tools/tokref) on many texts at once."""

    def __init__(self, work):
        self.dir = os.path.join(work, "tokref")
        os.makedirs(self.dir)
        for f in ("package.json", "tokref.mjs"):
            shutil.copy(os.path.join(SHARED_SRC, "tools", "tokref", f), self.dir)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=self.dir, check=True, stdout=subprocess.DEVNULL)
        self.tokenizer = os.path.join(SHARED_SRC, "testmodels", CHUNK_MODEL, "tokenizer.json")
        self.ids = {}

    def add(self, texts):
        todo = sorted(set(texts) - set(self.ids))
        if not todo:
            return
        inp = "".join(json.dumps({"text": t}) + "\n" for t in todo)
        out = subprocess.run(["node", os.path.join(self.dir, "tokref.mjs"), self.tokenizer],
                             input=inp, capture_output=True, text=True, check=True)
        lines = [l for l in out.stdout.split("\n") if l]
        if len(lines) != len(todo):
            sys.exit("oracle: %d answers for %d texts" % (len(lines), len(todo)))
        for t, l in zip(todo, lines):
            self.ids[t] = json.loads(l)["ids"][1:-1]


def hostile_documents():
    word90 = "".join("qzxjvkw"[i % 7] + "aeiou"[i % 5] for i in range(45))
    return [
        "", "   ", " \t\n\r\u00a0\u3000 ", "x" * 5000, "a " + "y" * 5000 + " b",
        "東京は日本の首都です。" * 50, "北京大学中文系" * 300,
        "😀🎉👍🏽🇫🇷" * 40, "I ❤️ NY 😀 and 🎉! " * 30,
        "Crème brûlée, naïve café, São Paulo, Ærøskøbing, İstanbul, ΣΊΣΥΦΟΣ. " * 20,
        "e\u0301e\u0301 a\u0308\u0323b " * 50,
        word90, (word90 + " ") * 20, "Supercalifragilisticexpialidocious! " * 600,
        "don't stop-believing, (yes)... [MASK] #hashtag ##ing @user e-mail: a@b.c " * 20,
        "!" * 10000 + " then words " * 3 + "?" * 9000,
        "\n\n".join("Paragraph %d. " % i + "the film was long and slow. " * 20 for i in range(400)),
        "tab\tseparated\tvalues\r\nwindows\r\nlines",
        "mixed 日本語 text with english 단어 and ελληνικά words " * 30,
    ]


def chunk_settings(docs, hostile, oracle, work):
    """Runs every setting; returns the checks' problems per (setting, doc)."""
    all_docs = docs + hostile
    path = os.path.join(work, "docs.txt")
    with open(path, "w", encoding="utf-8") as f:
        for i, d in enumerate(all_docs):
            esc = d.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
            f.write("%d\t%s\n" % (i, esc))
    psql("DROP TABLE IF EXISTS pairs_docs; CREATE TABLE pairs_docs (id int, body text);\n"
         "\\copy pairs_docs FROM %s\n" % lit(path))
    oracle.add(all_docs)
    small = list(range(min(PAIRS_SMALL_DOCS, len(docs)))) + list(range(len(docs), len(all_docs)))
    for max_tokens, overlap in FULL_SETTINGS + SMALL_SETTINGS:
        which = range(len(all_docs)) if (max_tokens, overlap) in FULL_SETTINGS else small
        t0 = time.time()
        lines = rows("SET bert.model_dir = %s;\n"
                     "SELECT coalesce((SELECT jsonb_agg(jsonb_build_array(chunk_no, start_char, end_char, tokens, chunk)"
                     " ORDER BY chunk_no) FROM bert_chunk(body, %d, %s, %d)), '[]')::text"
                     " FROM pairs_docs WHERE id = ANY(%s) ORDER BY id;"
                     % (lit(TESTMODELS), max_tokens, lit(CHUNK_MODEL), overlap,
                        "'{%s}'::int[]" % ",".join(map(str, which))))
        sql_s = time.time() - t0
        results = [(i, [tuple(c) for c in json.loads(l)]) for i, l in zip(which, lines)]
        if len(results) != len(which):
            sys.exit("chunks: %d results for %d documents" % (len(results), len(which)))
        # first pass collects the texts to tokenize, second checks
        wanted = []
        for i, chunks in results:
            check_chunks(all_docs[i], chunks, max_tokens, overlap, lambda t: wanted.append(t) or [])
        oracle.add(wanted)
        n_chunks = n_overlaps = bad = 0
        for i, chunks in results:
            problems, overlaps = check_chunks(all_docs[i], chunks, max_tokens, overlap, oracle.ids.__getitem__)
            n_chunks += len(chunks)
            n_overlaps += overlaps
            name = "imdb %d" % i if i < len(docs) else "hostile %d" % (i - len(docs))
            report(not problems, "chunks max_tokens=%d overlap=%d %s: %s"
                   % (max_tokens, overlap, name, "; ".join(problems[:3])))
            bad += bool(problems)
        if overlap and not n_overlaps:
            report(False, "chunks max_tokens=%d overlap=%d: no chunk shares pieces with the one before"
                   % (max_tokens, overlap))
        print("chunks max_tokens=%-3d overlap=%-2d %5d documents, %7d chunks, %6d overlaps, %d bad (SQL %.1f s)"
              % (max_tokens, overlap, len(which), n_chunks, n_overlaps, bad, sql_s))
    psql("DROP TABLE pairs_docs;")


def chunks():
    tsv = os.path.join(SHARED_SRC, "data", "reviews", "imdb_test_5000.tsv")
    docs = [l.rstrip("\n").split("\t", 1)[1] for l in open(tsv, encoding="utf-8")]
    docs = docs[:PAIRS_DOCS]
    work = tempfile.mkdtemp(prefix="bert-pairs.")
    try:
        oracle = Oracle(work)
        chunk_settings(docs, hostile_documents(), oracle, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- limits

def limits():
    cases = [
        ("bert_rerank, 4,000,000 documents",
         "SELECT count(*) FROM bert_rerank('what causes rain', "
         "array_fill('Rain forms when water vapour condenses.'::text, ARRAY[4000000]), 'bert-tiny-random-rerank')"),
        ("bert_zero_shot, 1,000,000 candidates",
         "SELECT count(*) FROM bert_zero_shot('The striker scored twice.', "
         "array_fill('sports'::text, ARRAY[1000000]), 'bert-tiny-random-nli')"),
        ("bert_chunk, a 100 MB document",
         "SELECT count(*) FROM bert_chunk(repeat('the film was long, and slow. ', 3500000), 8, "
         "'bert-tiny-random', 2)"),
    ]
    for name, sql in cases:
        t0 = time.time()
        out = psql("SET bert.model_dir = %s;\nSET statement_timeout = %d;\n%s;\n"
                   % (lit(TESTMODELS), TIMEOUT_MS, sql), check=False)
        ms = (time.time() - t0) * 1000
        timed_out = "canceling statement due to statement timeout" in out.stderr
        late = ms - TIMEOUT_MS
        report(timed_out and late < CANCEL_BOUND_MS,
               "limits %s: %s after %.0f ms" % (name, out.stderr.strip()[:200] or "no error", ms))
        print("limits: %-40s stopped by statement_timeout = %d ms after %.0f ms"
              % (name, TIMEOUT_MS, ms) if timed_out else "limits: %s not stopped" % name)
    alive = psql("SELECT 1;", check=False)
    report(alive.returncode == 0 and alive.stdout.strip() == "1", "limits: server not answering after the timeouts")


# ---------------------------------------------------------------- encoding

def latin1():
    """The same calls in a LATIN1 database give the same rows: text goes to
    UTF-8 for the tokenizer and back, offsets count characters."""
    text = "Crème brûlée, naïve café; São Paulo, Ærøskøbing. " * 8
    sql = ("SET bert.model_dir = %(m)s;\n"
           "SELECT jsonb_build_object("
           "'chunks', (SELECT jsonb_agg(jsonb_build_array(chunk_no, chunk, start_char, end_char, tokens)) "
           "FROM bert_chunk(%(t)s, 5, 'bert-tiny-random', 2)), "
           "'rerank', (SELECT jsonb_agg(score ORDER BY ordinality) FROM bert_rerank('café crème', "
           "ARRAY[%(t)s, 'Ærøskøbing', NULL, 'naïve'], 'bert-tiny-random-rerank')), "
           "'zero_shot', (SELECT jsonb_agg(jsonb_build_array(label, score)) FROM bert_zero_shot(%(t)s, "
           "ARRAY['cuisine française', 'géographie', 'ça'], 'bert-tiny-random-nli', 'Il s''agit de {}.')), "
           "'label', bert_classify('Ærø', 'naïve', 'bert-tiny-random-nli'))::text;"
           % {"m": lit(TESTMODELS), "t": lit(text)})
    psql("DROP DATABASE IF EXISTS bert_pairs_latin1;\n"
         "CREATE DATABASE bert_pairs_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;")
    try:
        psql("CREATE EXTENSION bert;", db="bert_pairs_latin1")
        utf8 = json.loads(psql(sql).stdout)
        lat = json.loads(psql(sql, db="bert_pairs_latin1").stdout)
        report(utf8 == lat and len(utf8["chunks"]) > 5,
               "latin1: results differ from the UTF8 database's:\n  %s\n  %s" % (utf8, lat))
        report(all(c[1] == text[c[2]:c[3]] for c in lat["chunks"]),
               "latin1: chunk texts are not the document at their offsets")
        print("latin1: bert_chunk, bert_rerank, bert_zero_shot and bert_classify as in UTF8 (%d chunks)"
              % len(lat["chunks"]))
    finally:
        psql("DROP DATABASE IF EXISTS bert_pairs_latin1;")


def main():
    t0 = time.time()
    psql("CREATE EXTENSION IF NOT EXISTS bert;")
    golden()
    chunks()
    latin1()
    limits()
    print("pairs: %.0f s" % (time.time() - t0))
    print("pairs: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
