/*
 * tokcheck.c
 *		Command-line driver of the WordPiece tokenizer, for oracle comparison,
 *		fuzzing and timing.
 *
 * Built with -DBERT_STANDALONE against libpgcommon (palloc).  It includes
 * src/tokenizer.c directly so that the property dump can reach the file's
 * static Unicode helpers.
 *
 * Usage:
 *	 tokcheck VOCAB [-o] < cases
 *		Each input line is HEX (one text) or HEX<TAB>HEX (text, text_pair),
 *		the UTF-8 bytes hex-encoded.  Prints per line "ids<TAB>type_ids", and
 *		with -o "<TAB>lenA,lenB<TAB>start:end ..." (special tokens -1:-1).
 *		Always checks that every token's span lies within its text, is not
 *		empty and that spans are monotone; violations go to stderr and make
 *		the exit status 1.
 *	 tokcheck VOCAB --trunc < cases
 *		Checks BertEncode truncation (singles: first max_len-2 pieces; pairs:
 *		longest first) against the untruncated encoding for several max_len.
 *	 tokcheck VOCAB --words < cases
 *		Checks BertPreTokenize: ordered, disjoint words inside the text, and
 *		tokenizing them one by one gives the text's tokens and spans.
 *	 tokcheck VOCAB --selftest
 *		Checks both loaders, lookups, error messages, max_tokens and edge
 *		cases of BertEncode.
 *	 Any mode: --max-chars N sets max_input_chars_per_word.
 *	 tokcheck VOCAB --bench FILE.tsv [REPEAT]
 *		Tokenizes the last TAB-separated column of every line of FILE (max_len
 *		512 and unlimited) and prints the time per 1,000 lines.
 *	 tokcheck --dump-props
 *		Prints the Unicode classes the tokenizer uses for every code point
 *		(run-length coded) and its lower-case and NFD mappings, so that the
 *		case generator can leave out code points where utf8proc and the
 *		oracle's Unicode version disagree.
 */
#include "../../src/tokenizer.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define UNLIMITED (1 << 30)

/* Reads a whole file into a palloc'd buffer. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
	{
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = palloc(n + 1);
	if (fread(buf, 1, n, f) != (size_t) n)
	{
		perror(path);
		exit(2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Loads a tokenizer from vocab.txt with the default (uncased) options. */
static void
load_tokenizer(BertTokenizer *tok, const char *path)
{
	size_t		len;
	char	   *data = read_file(path, &len);
	const char *err = BertTokenizerLoadVocabTxt(tok, data, len);

	if (err == NULL)
		err = BertTokenizerFinish(tok);
	if (err != NULL)
	{
		fprintf(stderr, "tokcheck: %s\n", err);
		exit(2);
	}
	pfree(data);
}

/* Value of one hex digit, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex digits s[0..n) in place; returns the byte count. */
static size_t
unhex(char *s, size_t n)
{
	size_t		o = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
	{
		int			hi = hexval((unsigned char) s[i]);
		int			lo = hexval((unsigned char) s[i + 1]);

		if (hi < 0 || lo < 0)
		{
			fprintf(stderr, "tokcheck: bad hex input\n");
			exit(2);
		}
		s[o++] = (char) (hi * 16 + lo);
	}
	return o;
}

/*
 * Splits an input line into text and optional pair (decoded in place).
 * Returns false for a blank line.
 */
static bool
parse_case(char *line, size_t n, char **a, size_t *alen, char **b,
		   size_t *blen)
{
	char	   *tab;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	line[n] = '\0';
	tab = memchr(line, '\t', n);
	*a = line;
	if (tab != NULL)
	{
		*alen = unhex(line, tab - line);
		*b = tab + 1;
		*blen = unhex(tab + 1, n - (tab + 1 - line));
	}
	else
	{
		*alen = unhex(line, n);
		*b = NULL;
		*blen = 0;
	}
	return true;
}

/* Checks the spans of one side of an encoding; returns the violations. */
static int
check_spans(const BertInput *in, int from, int to, size_t textlen,
			long lineno)
{
	int			bad = 0;

	for (int i = from; i < to; i++)
	{
		int32_t		s = in->start[i];
		int32_t		e = in->end[i];

		if (s < 0 || s >= e || (size_t) e > textlen ||
			(i > from && (s < in->start[i - 1] || e < in->end[i - 1])))
		{
			fprintf(stderr, "line %ld: token %d (id %d) has span %d:%d "
					"(text of %zu bytes, previous %d:%d)\n",
					lineno, i, in->input_ids[i], s, e, textlen,
					i > from ? in->start[i - 1] : -1,
					i > from ? in->end[i - 1] : -1);
			bad++;
		}
	}
	return bad;
}

/* Mode "cases": encode every input line and print ids (and spans). */
static int
run_cases(const BertTokenizer *tok, bool offsets)
{
	char	   *line = NULL;
	size_t		linecap = 0;
	ssize_t		n;
	long		lineno = 0;
	long		bad = 0;

	while ((n = getline(&line, &linecap, stdin)) >= 0)
	{
		char	   *a,
				   *b;
		size_t		alen,
					blen;
		BertInput	in;

		lineno++;
		parse_case(line, n, &a, &alen, &b, &blen);
		BertEncode(tok, a, alen, b, blen, UNLIMITED, &in);

		for (int i = 0; i < in.len; i++)
			printf(i ? " %d" : "%d", in.input_ids[i]);
		putchar('\t');
		for (int i = 0; i < in.len; i++)
			printf(i ? " %d" : "%d", in.token_type_ids[i]);
		if (offsets)
		{
			printf("\t%zu,%zu\t", alen, blen);
			for (int i = 0; i < in.len; i++)
				printf(i ? " %d:%d" : "%d:%d", in.start[i], in.end[i]);
		}
		putchar('\n');

		/* specials carry -1:-1, pieces lie inside their own text */
		if (in.start[0] != -1 || in.start[in.a_len + 1] != -1 ||
			in.start[in.len - 1] != -1)
		{
			fprintf(stderr, "line %ld: special token with a span\n", lineno);
			bad++;
		}
		bad += check_spans(&in, 1, 1 + in.a_len, alen, lineno);
		if (b != NULL)
			bad += check_spans(&in, in.a_len + 2, in.a_len + 2 + in.b_len,
							   blen, lineno);

		pfree(in.input_ids);
		pfree(in.token_type_ids);
		pfree(in.start);
		pfree(in.end);
	}
	free(line);
	if (bad > 0)
		fprintf(stderr, "tokcheck: %ld span violations\n", bad);
	return bad > 0 ? 1 : 0;
}

/* Mode "--trunc": BertEncode truncation against the untruncated encoding. */
static int
run_trunc(const BertTokenizer *tok)
{
	static const int lens[] = {2, 3, 4, 5, 7, 8, 16, 33, 128, 512};
	char	   *line = NULL;
	size_t		linecap = 0;
	ssize_t		n;
	long		lineno = 0;
	long		checked = 0;
	long		bad = 0;

	while ((n = getline(&line, &linecap, stdin)) >= 0)
	{
		char	   *a,
				   *b;
		size_t		alen,
					blen;
		BertInput	full;

		lineno++;
		parse_case(line, n, &a, &alen, &b, &blen);
		BertEncode(tok, a, alen, b, blen, UNLIMITED, &full);

		for (int li = 0; li < (int) lengthof(lens); li++)
		{
			int			max_len = lens[li];
			int			budget = max_len - (b ? 3 : 2);
			int			la = full.a_len;
			int			lb = full.b_len;
			BertInput	t;
			bool		ok;
			int			i = 0;

			if (budget < 0)
				continue;
			if (b == NULL)
				la = Min(la, budget);
			else
			{
				/* Hugging Face's loop, one token at a time */
				while (la + lb > budget)
				{
					if (la >= lb)
						la--;
					else
						lb--;
				}
			}
			BertEncode(tok, a, alen, b, blen, max_len, &t);
			ok = t.a_len == la && t.b_len == lb &&
				t.len == la + lb + (b ? 3 : 2) && t.len <= max_len;
			/* the kept tokens are the prefixes of the full sides */
			for (int k = 0; ok && k <= la; k++, i++)
				ok = t.input_ids[i] == full.input_ids[k] &&
					t.start[i] == full.start[k] && t.token_type_ids[i] == 0;
			ok = ok && t.input_ids[i++] == tok->sep_id;
			for (int k = 0; ok && b != NULL && k < lb; k++, i++)
				ok = t.input_ids[i] == full.input_ids[full.a_len + 2 + k] &&
					t.token_type_ids[i] == 1;
			if (ok && b != NULL)
				ok = t.input_ids[i] == tok->sep_id && t.token_type_ids[i] == 1;
			if (!ok)
			{
				fprintf(stderr, "line %ld: truncation to %d wrong "
						"(full %d+%d, expected %d+%d, got %d+%d)\n",
						lineno, max_len, full.a_len, full.b_len, la, lb,
						t.a_len, t.b_len);
				bad++;
			}
			checked++;
			pfree(t.input_ids);
			pfree(t.token_type_ids);
			pfree(t.start);
			pfree(t.end);
		}
		pfree(full.input_ids);
		pfree(full.token_type_ids);
		pfree(full.start);
		pfree(full.end);
	}
	free(line);
	printf("truncation: %ld checked, %ld wrong\n", checked, bad);
	return bad > 0 ? 1 : 0;
}

/*
 * Mode "--words": BertPreTokenize against BertTokenize.  The words are
 * ordered, non-empty, inside the text and disjoint; every token of the
 * text lies inside one word; and tokenizing the words one by one gives the
 * text's tokens and spans (what bert_finetune_entities trains on is what
 * bert_ner sees).  A text with a capital sigma may differ there (its final
 * form depends on the letters around the word, and so may its pieces): it
 * gets the first checks only.
 */
static int
run_words(const BertTokenizer *tok)
{
	char	   *line = NULL;
	size_t		linecap = 0;
	ssize_t		n;
	long		lineno = 0;
	long		checked = 0;
	long		sigma = 0;
	long		bad = 0;

	while ((n = getline(&line, &linecap, stdin)) >= 0)
	{
		char	   *texts[2];
		size_t		lens[2];

		lineno++;
		parse_case(line, n, &texts[0], &lens[0], &texts[1], &lens[1]);
		for (int side = 0; side < 2 && texts[side] != NULL; side++)
		{
			const char *t = texts[side];
			BertTokens	words = {0};
			BertTokens	full = {0};
			BertTokens	each = {0};
			bool		ok = true;
			bool		has_sigma = false;

			for (size_t i = 0; i + 1 < lens[side]; i++)
				has_sigma |= (unsigned char) t[i] == 0xCE && (unsigned char) t[i + 1] == 0xA3;
			BertPreTokenize(tok, t, lens[side], &words);
			BertTokenize(tok, t, lens[side], UNLIMITED, &full);
			for (int w = 0; w < words.n && ok; w++)
			{
				int			before = each.n;

				ok = words.start[w] < words.end[w] && words.end[w] <= (int32_t) lens[side] &&
					(w == 0 ? words.start[w] >= 0 : words.start[w] >= words.end[w - 1]);
				BertTokenize(tok, t + words.start[w], words.end[w] - words.start[w],
							 UNLIMITED, &each);
				ok = ok && each.n > before;
				for (int k = before; k < each.n; k++)
				{
					each.start[k] += words.start[w];
					each.end[k] += words.start[w];
				}
			}
			ok = ok && (has_sigma || each.n == full.n);
			for (int k = 0; ok && !has_sigma && k < full.n; k++)
				ok = each.start[k] == full.start[k] && each.end[k] == full.end[k] &&
					each.ids[k] == full.ids[k];
			if (!ok)
			{
				fprintf(stderr, "line %ld: %d words, %d tokens word by word, %d tokens\n",
						lineno, words.n, each.n, full.n);
				bad++;
			}
			checked++;
			sigma += has_sigma;
		}
	}
	free(line);
	printf("words: %ld texts checked (%ld with a capital sigma: the words only), %ld wrong\n",
		   checked, sigma, bad);
	return bad > 0 ? 1 : 0;
}

#define EXPECT(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "selftest: " __VA_ARGS__); \
			fputc('\n', stderr); \
			bad++; \
		} \
		checked++; \
	} while (0)

/* Same error message (or both NULL)? */
static bool
same_error(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Mode "--selftest": loaders, lookups and BertTokenize's contract. */
static int
run_selftest(const BertTokenizer *tok)
{
	BertTokenizer t2;
	char	  **toks = palloc(sizeof(char *) * tok->vocab_size);
	int32_t    *ids = palloc(sizeof(int32_t) * tok->vocab_size);
	long		checked = 0;
	long		bad = 0;
	const char *err;
	const char *text = "Hello, [MASK] world! ΟΔΟΣ unaffable";
	BertTokens	all;
	BertTokens	part;

	/* every token finds its id (the last one for a duplicate) */
	for (int id = 0; id < tok->vocab_size; id++)
	{
		int32_t		got = BertTokenizerLookup(tok, tok->tokens[id],
											  tok->token_lens[id]);

		EXPECT(got >= id && strcmp(tok->tokens[got], tok->tokens[id]) == 0,
			   "lookup of token %d gave %d", id, got);
	}
	EXPECT(BertTokenizerLookup(tok, "no-such-token-here", 18) == -1,
		   "lookup of a missing token");
	EXPECT(BertTokenizerLookup(tok, "[MASK]x", 6) == tok->mask_id,
		   "lookup uses the given length");

	/* the same vocabulary as (token, id) pairs in reverse order */
	for (int i = 0; i < tok->vocab_size; i++)
	{
		toks[i] = tok->tokens[tok->vocab_size - 1 - i];
		ids[i] = tok->vocab_size - 1 - i;
	}
	err = BertTokenizerLoadVocabPairs(&t2, tok->vocab_size, toks, ids);
	if (err == NULL)
		err = BertTokenizerFinish(&t2);
	EXPECT(err == NULL, "pairs loader: %s", err);
	for (int id = 0; err == NULL && id < tok->vocab_size; id++)
		EXPECT(BertTokenizerLookup(&t2, tok->tokens[id], tok->token_lens[id]) ==
			   BertTokenizerLookup(tok, tok->tokens[id], tok->token_lens[id]),
			   "pairs loader: token %d", id);
	EXPECT(t2.cls_id == tok->cls_id && t2.sep_id == tok->sep_id &&
		   t2.unk_id == tok->unk_id && t2.pad_id == tok->pad_id &&
		   t2.mask_id == tok->mask_id, "pairs loader: special ids");
	ids[0] = ids[1];
	EXPECT(same_error(BertTokenizerLoadVocabPairs(&t2, tok->vocab_size, toks, ids),
					  "A vocabulary id is used twice."), "pairs loader: duplicate id");
	ids[0] = tok->vocab_size;
	EXPECT(same_error(BertTokenizerLoadVocabPairs(&t2, tok->vocab_size, toks, ids),
					  "A vocabulary id is out of range."), "pairs loader: id range");
	EXPECT(same_error(BertTokenizerLoadVocabPairs(&t2, 0, toks, ids),
					  "The vocabulary is empty."), "pairs loader: empty");

	/* vocab.txt details: CRLF, no final line end, missing specials */
	{
		const char *v = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nab\r\n##c";

		err = BertTokenizerLoadVocabTxt(&t2, v, strlen(v));
		EXPECT(err == NULL && t2.vocab_size == 6, "crlf vocabulary: %s", err);
		EXPECT(same_error(BertTokenizerFinish(&t2), NULL), "no [MASK] is fine");
		EXPECT(t2.mask_id == -1 && t2.sep_id == 3, "crlf vocabulary ids");
		EXPECT(BertTokenizerLookup(&t2, "##c", 3) == 5, "last line without line end");
		err = BertTokenizerLoadVocabTxt(&t2, v + 7, strlen(v + 7));
		EXPECT(same_error(BertTokenizerFinish(&t2), "The vocabulary has no [PAD] token."),
			   "missing [PAD]");
		EXPECT(same_error(BertTokenizerLoadVocabTxt(&t2, "", 0), "The vocabulary is empty."),
			   "empty vocab.txt");
		err = BertTokenizerLoadVocabTxt(&t2, v, strlen(v));
		t2.max_input_chars_per_word = 0;
		EXPECT(BertTokenizerFinish(&t2) != NULL, "max_input_chars_per_word 0");
	}

	/* max_tokens: a prefix of the full result, appended after what is there */
	memset(&all, 0, sizeof(all));
	BertTokenize(tok, text, strlen(text), UNLIMITED, &all);
	for (int limit = 0; limit <= all.n + 1; limit++)
	{
		memset(&part, 0, sizeof(part));
		BertTokenize(tok, "a", 1, UNLIMITED, &part);	/* one token already */
		BertTokenize(tok, text, strlen(text), limit + 1, &part);
		EXPECT(part.n == 1 + Min(limit, all.n), "max_tokens %d: %d tokens", limit, part.n);
		for (int i = 1; i < part.n; i++)
			EXPECT(part.ids[i] == all.ids[i - 1] && part.start[i] == all.start[i - 1] &&
				   part.end[i] == all.end[i - 1], "max_tokens %d: token %d", limit, i);
		pfree(part.ids);
		pfree(part.start);
		pfree(part.end);
	}
	memset(&part, 0, sizeof(part));
	BertTokenize(tok, text, strlen(text), 0, &part);
	EXPECT(part.n == 0 && part.ids == NULL, "max_tokens 0");
	BertTokenize(tok, NULL, 0, 10, &part);
	EXPECT(part.n == 0, "empty text");

	/* an empty second text still makes a pair: [CLS] A [SEP] [SEP] */
	{
		BertInput	in;

		BertEncode(tok, "a", 1, "", 0, 512, &in);
		EXPECT(in.len == 4 && in.b_len == 0 && in.token_type_ids[3] == 1 &&
			   in.input_ids[3] == tok->sep_id, "empty pair");
		BertEncode(tok, text, strlen(text), NULL, 0, 2, &in);
		EXPECT(in.len == 2 && in.a_len == 0, "max_len 2");
		BertEncode(tok, text, strlen(text), text, strlen(text), 3, &in);
		EXPECT(in.len == 3 && in.a_len == 0 && in.b_len == 0, "pair max_len 3");
	}

	printf("selftest: %ld checks, %ld failed\n", checked, bad);
	return bad > 0 ? 1 : 0;
}

/* Seconds of CPU time. */
static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Mode "--bench": time BertEncode over the last column of a TSV file. */
static int
run_bench(const BertTokenizer *tok, const char *path, int repeat)
{
	size_t		len;
	char	   *data = read_file(path, &len);
	int			nrows = 0;
	const char **rows = palloc(sizeof(char *) * (len / 2 + 1));
	size_t	   *lens = palloc(sizeof(size_t) * (len / 2 + 1));
	size_t		pos = 0;
	size_t		bytes = 0;
	int			max_lens[2] = {512, UNLIMITED};

	while (pos < len)
	{
		char	   *nl = memchr(data + pos, '\n', len - pos);
		size_t		end = nl ? (size_t) (nl - data) : len;
		char	   *tab = NULL;

		for (size_t i = pos; i < end; i++)
			if (data[i] == '\t')
				tab = data + i;
		rows[nrows] = tab ? tab + 1 : data + pos;
		lens[nrows] = data + end - rows[nrows];
		bytes += lens[nrows];
		nrows++;
		pos = end + 1;
	}

	for (int m = 0; m < 2; m++)
	{
		double		t0 = cpu_seconds();
		long		tokens = 0;

		for (int r = 0; r < repeat; r++)
			for (int i = 0; i < nrows; i++)
			{
				BertInput	in;

				BertEncode(tok, rows[i], lens[i], NULL, 0, max_lens[m], &in);
				tokens += in.len;
				pfree(in.input_ids);
				pfree(in.token_type_ids);
				pfree(in.start);
				pfree(in.end);
			}
		{
			double		secs = cpu_seconds() - t0;

			printf("max_len %s: %d rows x %d, %.1f KB/row, %.1f tokens/row: "
				   "%.2f ms per 1,000 rows, %.1f MB/s\n",
				   max_lens[m] == UNLIMITED ? "unlimited" : "512",
				   nrows, repeat, bytes / 1024.0 / nrows,
				   (double) tokens / nrows / repeat,
				   secs * 1000.0 / ((double) nrows * repeat / 1000.0),
				   (double) bytes * repeat / secs / 1e6);
		}
	}
	return 0;
}

/* The class bits of a code point, as the tokenizer sees it. */
static int
class_bits(int32_t cp)
{
	int			cat = utf8proc_category(cp);
	int			bits = 0;
	bool		removed = is_removed(cp, cat);
	bool		ign = is_case_ignorable(cp, cat);

	if (removed)
		bits |= 1;
	if (!removed && is_white_space(cp))
		bits |= 2;
	if (is_punct(cp, cat))
		bits |= 4;
	if (cat == UTF8PROC_CATEGORY_MN)
		bits |= 8;
	if (!ign && is_cased(cp, cat))
		bits |= 16;
	if (ign)
		bits |= 32;
	if (cat != UTF8PROC_CATEGORY_CN)
		bits |= 64;
	return bits;
}

/* Mode "--dump-props": classes, lower-case and NFD mappings per code point. */
static int
run_dump_props(void)
{
	int32_t		run_start = 0;
	int32_t		prev = 0;
	int			run_bits = class_bits(0);

	for (int32_t cp = 1; cp < 0x110000; cp++)
	{
		int			bits;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		bits = class_bits(cp);
		if (bits != run_bits || cp != prev + 1)
		{
			printf("R %X %X %d\n", run_start, prev, run_bits);
			run_start = cp;
			run_bits = bits;
		}
		prev = cp;
	}
	printf("R %X %X %d\n", run_start, prev, run_bits);
	for (int32_t cp = 0; cp < 0x110000; cp++)
	{
		int32_t		buf[16];
		int			n;
		int			boundclass = 0;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = lower_char(cp, buf);
		if (n != 1 || buf[0] != cp)
		{
			printf("L %X", cp);
			for (int i = 0; i < n; i++)
				printf(" %X", buf[i]);
			putchar('\n');
		}
		n = (int) utf8proc_decompose_char(cp, buf, lengthof(buf),
										  UTF8PROC_DECOMPOSE, &boundclass);
		if (n != 1 || buf[0] != cp)
		{
			printf("D %X", cp);
			for (int i = 0; i < n; i++)
				printf(" %X", buf[i]);
			putchar('\n');
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	BertTokenizer tok;
	const char *mode = "cases";
	const char *bench_file = NULL;
	int			repeat = 1;
	int			max_chars = 0;
	const char *err;

	if (argc >= 2 && strcmp(argv[1], "--dump-props") == 0)
		return run_dump_props();
	for (int i = 2; i < argc; i++)
	{
		if (strcmp(argv[i], "-o") == 0)
			mode = "offsets";
		else if (strcmp(argv[i], "--trunc") == 0 || strcmp(argv[i], "--selftest") == 0 ||
				 strcmp(argv[i], "--words") == 0)
			mode = argv[i] + 2;
		else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc)
		{
			mode = "bench";
			bench_file = argv[++i];
			if (i + 1 < argc && argv[i + 1][0] != '-')
				repeat = atoi(argv[++i]);
		}
		else if (strcmp(argv[i], "--max-chars") == 0 && i + 1 < argc)
			max_chars = atoi(argv[++i]);
		else
			argc = 0;			/* usage */
	}
	if (argc < 2)
	{
		fprintf(stderr, "usage: tokcheck VOCAB [-o | --trunc | --words | --selftest | --bench FILE [N]]"
				" [--max-chars N] < cases\n       tokcheck --dump-props\n");
		return 2;
	}
	load_tokenizer(&tok, argv[1]);
	if (max_chars > 0)
	{
		tok.max_input_chars_per_word = max_chars;
		if ((err = BertTokenizerFinish(&tok)) != NULL)
		{
			fprintf(stderr, "tokcheck: %s\n", err);
			return 2;
		}
	}
	if (strcmp(mode, "trunc") == 0)
		return run_trunc(&tok);
	if (strcmp(mode, "selftest") == 0)
		return run_selftest(&tok);
	if (strcmp(mode, "words") == 0)
		return run_words(&tok);
	if (strcmp(mode, "bench") == 0)
		return run_bench(&tok, bench_file, repeat);
	return run_cases(&tok, strcmp(mode, "offsets") == 0);
}
