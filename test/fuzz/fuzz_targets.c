/*
 * fuzz_targets.c
 *		libFuzzer entry points for the parsers of bert's model files and for
 *		the tokenizer.  One source, four binaries; the target is chosen at
 *		compile time:
 *
 *	 -DFUZZ_TARGET_SAFETENSORS	input = a whole model.safetensors image:
 *								BertSafetensorsParse, then every tensor is
 *								found by name and its bytes read / upcast as
 *								the loader (src/model.c bind()) would.
 *	 -DFUZZ_TARGET_JSON			input = a JSON file: BertJsonParse, then every
 *								reader of config.c on the tree (config.json,
 *								tokenizer.json as options and as vocabulary,
 *								tokenizer_config.json, modules.json,
 *								1_Pooling/config.json,
 *								sentence_bert_config.json); a vocabulary it
 *								yields is used to tokenize fixed sentences.
 *	 -DFUZZ_TARGET_TOKENIZER	input = text (a pair when it holds a 0xFF
 *								byte: A before it, B after), tokenized with a
 *								real vocabulary: BertTokenize at several
 *								max_tokens, BertEncode at several max_len,
 *								BertDecodePieces of the result.
 *	 -DFUZZ_TARGET_VOCAB		input = a vocab.txt image:
 *								BertTokenizerLoadVocabTxt + Finish, then
 *								fixed and vocabulary-made sentences.
 *
 * Besides the sanitizers, the harnesses check the documented contracts
 * (FUZZ_CHECK aborts with a message, which libFuzzer reports as a crash):
 * a failing reader sets *error; a successful one leaves values in their
 * documented ranges; token ids are inside the vocabulary, spans inside the
 * text and monotone; BertTokenize with a limit yields a prefix of the
 * unlimited result; BertEncode truncates as documented.
 *
 * The tokenizer target reads its vocabulary from $BERT_FUZZ_VOCAB, or else
 * from ../shared/models/bert-mini-sentiment/vocab.txt beside the checkout
 * holding this file (test/fuzz/run.sh sets the variable).
 *
 * Memory: fuzz_palloc.c frees everything palloc'd during an input when the
 * input is done, so the harnesses run in bounded memory.
 */
#include "postgres_fe.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"
#include "config.h"
#include "decoder.h"
#include "json.h"
#include "safetensors.h"
#include "tokenizer.h"

#include "fuzz_palloc.h"

#define UNUSED __attribute__((unused))

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "\nFUZZ CHECK FAILED at %s:%d: %s\n  ", \
					__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
			abort(); \
		} \
	} while (0)

#define UNLIMITED (1 << 30)

/* A malloc'd copy of exactly `size` bytes (no terminator): reads past the
 * end of the input are caught even where the loader would have a NUL. */
static UNUSED char *
exact_copy(const uint8_t *data, size_t size)
{
	char	   *p = malloc(size ? size : 1);

	FUZZ_CHECK(p != NULL, "malloc(%zu)", size);
	if (size)
		memcpy(p, data, size);
	return p;
}

/* Reads a whole file into malloc'd memory (permanent); NULL if unreadable. */
static UNUSED char *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc(n + 1);
	if (buf == NULL || fread(buf, 1, n, f) != (size_t) n)
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t) n;
	return buf;
}


/* ----------------------------------------------------------------
 * Tokenizer checks, shared by the tokenizer, vocab and JSON targets
 * ----------------------------------------------------------------
 */

/* Ids inside the vocabulary; spans non-empty, inside the text, monotone. */
static UNUSED void
check_tokens(const BertTokenizer *tok, const BertTokens *t, size_t textlen,
			 int max_tokens)
{
	FUZZ_CHECK(t->n >= 0 && t->n <= max_tokens,
			   "%d tokens, limit %d", t->n, max_tokens);
	FUZZ_CHECK(t->n == 0 || (t->n <= t->cap && t->ids && t->start && t->end),
			   "%d tokens in arrays of %d", t->n, t->cap);
	for (int i = 0; i < t->n; i++)
	{
		int32_t		s = t->start[i];
		int32_t		e = t->end[i];

		FUZZ_CHECK(t->ids[i] >= 0 && t->ids[i] < tok->vocab_size,
				   "token %d has id %d, vocabulary of %d", i, t->ids[i],
				   tok->vocab_size);
		FUZZ_CHECK(s >= 0 && s < e && (size_t) e <= textlen,
				   "token %d (id %d) has span %d:%d, text of %zu bytes",
				   i, t->ids[i], s, e, textlen);
		FUZZ_CHECK(i == 0 || (s >= t->start[i - 1] && e >= t->end[i - 1]),
				   "token %d span %d:%d after %d:%d is not monotone",
				   i, s, e, t->start[i - 1], t->end[i - 1]);
	}
}

/* The first n tokens of x and y are the same. */
static UNUSED void
check_same_prefix(const BertTokens *x, int xoff, const BertTokens *y, int n,
				  const char *what)
{
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(x->ids[xoff + i] == y->ids[i] &&
				   x->start[xoff + i] == y->start[i] &&
				   x->end[xoff + i] == y->end[i],
				   "%s: token %d differs: id %d %d:%d vs id %d %d:%d", what, i,
				   x->ids[xoff + i], x->start[xoff + i], x->end[xoff + i],
				   y->ids[i], y->start[i], y->end[i]);
}

/* Decodes token ids; checks the result can only be shorter than the input. */
static UNUSED void
decode_ids(const BertTokenizer *tok, const int32_t *ids, int n)
{
	const char **pieces;
	size_t		total = 0;

	if (n <= 0)
		return;
	pieces = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		FUZZ_CHECK(ids[i] >= 0 && ids[i] < tok->vocab_size, "id %d", ids[i]);
		pieces[i] = tok->tokens[ids[i]];
		total += strlen(pieces[i]) + 1;
	}
	for (int clean = 0; clean <= 1; clean++)
	{
		char	   *s = BertDecodePieces(pieces, n, tok->continuing_subword_prefix,
										 clean);

		FUZZ_CHECK(s != NULL && strlen(s) <= total,
				   "decoded %zu bytes from %zu bytes of pieces",
				   s ? strlen(s) : 0, total);
	}
	/* the decoder's own edge cases: empty prefix, one piece */
	if (n <= 64)
		(void) BertDecodePieces(pieces, n, "", true);
	(void) BertDecodePieces(pieces, 1, "##", false);
}

/* BertEncode of (a, b) against the untruncated tokenizations fa, fb. */
static UNUSED void
check_encode(const BertTokenizer *tok, const char *a, size_t alen,
			 const char *b, size_t blen, const BertTokens *fa,
			 const BertTokens *fb, int max_len)
{
	BertInput	in;
	int			nspec = b ? 3 : 2;
	int			budget = Max(max_len - nspec, 0);
	int			la = fa->n;
	int			lb = b ? fb->n : 0;
	int			i;

	while (la + lb > budget)
	{
		if (la >= lb)
			la--;
		else
			lb--;
	}
	memset(&in, 0, sizeof(in));
	BertEncode(tok, a, alen, b, blen, max_len, &in);
	FUZZ_CHECK(in.len == la + lb + nspec && in.a_len == la && in.b_len == lb,
			   "max_len %d, pair %d: got len %d (a %d, b %d), expected a %d b %d "
			   "from untruncated %d + %d", max_len, b != NULL, in.len, in.a_len,
			   in.b_len, la, lb, fa->n, b ? fb->n : 0);
	FUZZ_CHECK(in.input_ids[0] == tok->cls_id && in.token_type_ids[0] == 0 &&
			   in.start[0] == -1 && in.end[0] == -1, "[CLS] slot");
	check_same_prefix(fa, 0, &(BertTokens) {
		.n = la, .ids = in.input_ids + 1, .start = in.start + 1,
		.end = in.end + 1}, la, "BertEncode A vs BertTokenize");
	for (i = 1; i <= la; i++)
		FUZZ_CHECK(in.token_type_ids[i] == 0, "type of A token %d", i);
	FUZZ_CHECK(in.input_ids[i] == tok->sep_id && in.token_type_ids[i] == 0 &&
			   in.start[i] == -1, "first [SEP] slot");
	if (b)
	{
		check_same_prefix(fb, 0, &(BertTokens) {
			.n = lb, .ids = in.input_ids + la + 2, .start = in.start + la + 2,
			.end = in.end + la + 2}, lb, "BertEncode B vs BertTokenize");
		for (i = la + 2; i < la + 2 + lb; i++)
			FUZZ_CHECK(in.token_type_ids[i] == 1, "type of B token %d", i);
		FUZZ_CHECK(in.input_ids[i] == tok->sep_id && in.token_type_ids[i] == 1 &&
				   in.end[i] == -1, "second [SEP] slot");
	}
	/* decoding is slow on long inputs; exercise_tokenizer decodes those */
	if (in.len <= 64)
		decode_ids(tok, in.input_ids, in.len);
}

/*
 * Everything the tokenizer offers on one text (and pair): unlimited and
 * limited BertTokenize, appending, BertEncode at several lengths, decoding.
 * `salt` varies the limits from one input to the next; `light` does only
 * the unlimited tokenization, one BertEncode and one decoding.
 */
static UNUSED void
exercise_tokenizer(const BertTokenizer *tok, const char *a, size_t alen,
				   const char *b, size_t blen, unsigned salt, bool light)
{
	static const int limits[] = {0, 1, 2, 3, 7, 31};
	BertTokens	fa,
				fb;
	BertTokens	acc;
	int			lim;

	memset(&fa, 0, sizeof(fa));
	memset(&fb, 0, sizeof(fb));
	BertTokenize(tok, a, alen, UNLIMITED, &fa);
	check_tokens(tok, &fa, alen, UNLIMITED);
	if (b)
	{
		BertTokenize(tok, b, blen, UNLIMITED, &fb);
		check_tokens(tok, &fb, blen, UNLIMITED);
	}
	if (light)
	{
		if (b)
			check_encode(tok, a, alen, b, blen, &fa, &fb, 4 + (int) (salt % 17));
		else
			check_encode(tok, a, alen, NULL, 0, &fa, NULL, 3 + (int) (salt % 13));
		decode_ids(tok, fa.ids, Min(fa.n, 64));
		return;
	}

	/* a limit yields a prefix of the unlimited result */
	for (int k = 0; k < (int) lengthof(limits); k++)
	{
		BertTokens	part;

		if (limits[k] > fa.n + 1)
			break;
		memset(&part, 0, sizeof(part));
		BertTokenize(tok, a, alen, limits[k], &part);
		check_tokens(tok, &part, alen, limits[k]);
		FUZZ_CHECK(part.n == Min(limits[k], fa.n),
				   "max_tokens %d gave %d tokens of %d", limits[k], part.n, fa.n);
		check_same_prefix(&fa, 0, &part, part.n, "limited vs unlimited");
	}

	/* appending B after A, under one limit */
	if (b)
	{
		lim = (int) (salt % (unsigned) (fa.n + fb.n + 2));
		memset(&acc, 0, sizeof(acc));
		BertTokenize(tok, a, alen, lim, &acc);
		BertTokenize(tok, b, blen, lim, &acc);
		FUZZ_CHECK(acc.n == Min(lim, fa.n + fb.n),
				   "appending: %d tokens, limit %d, sides %d + %d", acc.n, lim,
				   fa.n, fb.n);
		check_same_prefix(&acc, 0, &fa, Min(acc.n, fa.n), "appended A");
		if (acc.n > fa.n)
			check_same_prefix(&acc, fa.n, &fb, acc.n - fa.n, "appended B");
	}

	/* below the documented minimum (2, 3 for pairs): the specials only */
	check_encode(tok, a, alen, NULL, 0, &fa, NULL, 0);
	check_encode(tok, a, alen, NULL, 0, &fa, NULL, 2);
	check_encode(tok, a, alen, NULL, 0, &fa, NULL, 3 + (int) (salt % 13));
	check_encode(tok, a, alen, NULL, 0, &fa, NULL, 512);
	if (b)
	{
		check_encode(tok, a, alen, b, blen, &fa, &fb, 1);
		check_encode(tok, a, alen, b, blen, &fa, &fb, 3);
		check_encode(tok, a, alen, b, blen, &fa, &fb, 4 + (int) (salt % 17));
		check_encode(tok, a, alen, b, blen, &fa, &fb, 512);
	}
	decode_ids(tok, fa.ids, fa.n);
}

/* Lookup of every token finds that token (its last duplicate). */
static UNUSED void
check_vocab_lookup(const BertTokenizer *tok, int max_checks)
{
	FUZZ_CHECK(tok->vocab_size >= 1 && tok->hash_size > 2 * tok->vocab_size &&
			   (tok->hash_size & (tok->hash_size - 1)) == 0,
			   "vocabulary %d, hash %d", tok->vocab_size, tok->hash_size);
	for (int i = 0; i < tok->vocab_size && i < max_checks; i++)
	{
		int32_t		len = tok->token_lens[i];
		int32_t		j = BertTokenizerLookup(tok, tok->tokens[i], len);

		FUZZ_CHECK(len >= 0 && len <= BERT_MAX_TOKEN_BYTES &&
				   len <= tok->max_token_bytes, "token %d of %d bytes", i, len);
		FUZZ_CHECK(j >= i && j < tok->vocab_size && tok->token_lens[j] == len &&
				   memcmp(tok->tokens[j], tok->tokens[i], len) == 0,
				   "lookup of token %d (\"%.*s\") gave %d", i, (int) len,
				   tok->tokens[i], j);
	}
}

/* Special ids set by a successful BertTokenizerFinish. */
static UNUSED void
check_finished(const BertTokenizer *tok)
{
	FUZZ_CHECK(tok->unk_id >= 0 && tok->cls_id >= 0 && tok->sep_id >= 0 &&
			   tok->pad_id >= 0 && tok->unk_id < tok->vocab_size &&
			   tok->cls_id < tok->vocab_size && tok->sep_id < tok->vocab_size &&
			   tok->pad_id < tok->vocab_size && tok->mask_id < tok->vocab_size,
			   "special ids %d %d %d %d %d", tok->unk_id, tok->cls_id,
			   tok->sep_id, tok->pad_id, tok->mask_id);
	FUZZ_CHECK(strcmp(tok->tokens[tok->unk_id], "[UNK]") == 0 &&
			   strcmp(tok->tokens[tok->cls_id], "[CLS]") == 0 &&
			   strcmp(tok->tokens[tok->sep_id], "[SEP]") == 0,
			   "special tokens are not what they say");
}

/* Fixed sentences: specials, accents, CJK, sigma, a 101-character word,
 * invalid UTF-8 and controls (with NUL bytes, hence the explicit lengths). */
#define SENTENCE(s) {s, sizeof(s) - 1}
static const struct
{
	const char *text;
	size_t		len;
}			fixed_sentences[] = {
	SENTENCE("Hello, World! [MASK] isn't un##affable; naïve café déjà-vu."),
	SENTENCE("[CLS] [SEP][PAD][UNK] [MASK][MASK] [MAS [mask]"),
	SENTENCE("東京タワー 你好世界 ΣΑΣ ΟΔΟΣ. İstanbul ǅemal ﬁne ẞ"),
	SENTENCE("a\xcc\x81\xcc\xa7\xcc\x81 e\xcd\x85\xcc\x81 \xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xb7 \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xef\xb8\x8f"),
	SENTENCE("\x00\x01\x7f\xc3\x28\xe2\x82\xef\xbf\xbd\xed\xa0\x80\xf4\x90\x80\x80 \xe2\x80\x8b\xe2\x80\xa8\xc2\xa0x\x00"),
	SENTENCE("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijk short"),
};

/* The fixed sentences, as singles and pairs, plus texts made from the
 * vocabulary itself (so that a fuzzed vocabulary gets real matches). */
static UNUSED void
exercise_fixed(const BertTokenizer *tok, unsigned salt, bool light)
{
	int			n = (int) lengthof(fixed_sentences);
	char	   *spaced;
	char	   *glued;
	size_t		sl = 0,
				gl = 0;

	for (int i = 0; i < n; i++)
	{
		int			j = (i + 1) % n;

		exercise_tokenizer(tok, fixed_sentences[i].text, fixed_sentences[i].len,
						   (i % 2) ? fixed_sentences[j].text : NULL,
						   fixed_sentences[j].len, salt + i, true);
	}

	/* up to 64 tokens, at most VOCAB_TEXT_BYTES (long tokens are skipped) */
#define VOCAB_TEXT_BYTES 2048
	spaced = palloc(VOCAB_TEXT_BYTES);
	glued = palloc(VOCAB_TEXT_BYTES);
	for (int i = 0; i < tok->vocab_size && i < 64; i++)
	{
		int			id = (int) ((i * 7919u + salt) % (unsigned) tok->vocab_size);
		int32_t		len = tok->token_lens[id];

		if (sl + len + 1 > VOCAB_TEXT_BYTES)
			continue;
		memcpy(spaced + sl, tok->tokens[id], len);
		sl += len;
		spaced[sl++] = ' ';
		memcpy(glued + gl, tok->tokens[id], len);
		gl += len;
	}
	exercise_tokenizer(tok, spaced, sl, glued, gl, salt, light);
}


/* ----------------------------------------------------------------
 * (a) safetensors
 * ----------------------------------------------------------------
 */
#ifdef FUZZ_TARGET_SAFETENSORS

/* IEEE half to float, written independently of src/safetensors.c. */
static float
ref_half(uint16_t h)
{
	int			e = (h >> 10) & 0x1f;
	int			m = h & 0x3ff;
	float		v;

	if (e == 0)
		v = ldexpf((float) m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexpf((float) (m | 0x400), e - 25);
	return (h & 0x8000) ? -v : v;
}

static int
dtype_size(const char *name)
{
	static const struct
	{
		const char *name;
		int			size;
	}			sizes[] = {
		{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
		{"U64", 8}, {"I32", 4}, {"U32", 4}, {"I16", 2}, {"U16", 2},
		{"I8", 1}, {"U8", 1}, {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
	};

	for (int i = 0; i < (int) lengthof(sizes); i++)
		if (strcmp(name, sizes[i].name) == 0)
			return sizes[i].size;
	return -1;
}

static int
cmp_range(const void *a, const void *b)
{
	const size_t *x = a;
	const size_t *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/*
 * Do two tensors overlap?  Two non-empty ones overlap when they share a
 * byte; a zero-size one overlaps a non-empty one when it lies strictly
 * inside it (at its first byte or just past its end it does not: there the
 * reference implementation, which orders by (begin, end), accepts it).
 */
static bool
overlapping_pair(const BertSafetensors *st)
{
	size_t	   *r = malloc(sizeof(size_t) * 2 * (st->num_tensors + 1));
	size_t	   *reach = malloc(sizeof(size_t) * (st->num_tensors + 1));
	int			n = 0;
	bool		found = false;

	for (int i = 0; i < st->num_tensors; i++)
		if (st->tensors[i].begin < st->tensors[i].end)
		{
			r[2 * n] = st->tensors[i].begin;
			r[2 * n + 1] = st->tensors[i].end;
			n++;
		}
	qsort(r, n, 2 * sizeof(size_t), cmp_range);
	/* reach[i]: the largest end among the first i + 1 ranges */
	for (int i = 0; i < n; i++)
	{
		if (i > 0 && r[2 * i] < reach[i - 1])
			found = true;
		reach[i] = Max(i > 0 ? reach[i - 1] : 0, r[2 * i + 1]);
	}
	for (int i = 0; i < st->num_tensors && !found && n > 0; i++)
	{
		size_t		p = st->tensors[i].begin;
		int			lo = 0,
					hi = n;

		if (st->tensors[i].begin != st->tensors[i].end)
			continue;
		/* the ranges with begin < p are r[0 .. lo) */
		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (r[2 * mid] < p)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && reach[lo - 1] > p)
			found = true;
	}
	free(r);
	free(reach);
	return found;
}

static void
fuzz_one(const uint8_t *data, size_t size)
{
	/* the loader maps the file; an exact-size copy catches reads past it */
	char	   *image = exact_copy(data, size);
	BertSafetensors st;
	char	   *error = NULL;

	memset(&st, 0, sizeof(st));
	if (!BertSafetensorsParse(image, size, &st, &error))
	{
		FUZZ_CHECK(error != NULL && error[0] != '\0',
				   "BertSafetensorsParse failed without a message");
		/*
		 * finding 2: "overlap" must mean that tensors overlap; a zero-size
		 * tensor starting where a non-empty one starts (listed after it)
		 * was refused.  The entries are filled at that point.
		 */
		if (strncmp(error, "Tensors \"", 9) == 0 && st.tensors != NULL)
			FUZZ_CHECK(overlapping_pair(&st),
								"\"%s\" but no two tensors overlap", error);
		free(image);
		return;
	}
	FUZZ_CHECK(!overlapping_pair(&st), "accepted a file whose tensors overlap");

	FUZZ_CHECK(size >= 8 && st.data >= image + 8 && st.data <= image + size &&
			   st.data + st.data_len == image + size,
			   "data section %p+%zu outside the image %p+%zu",
			   (const void *) st.data, st.data_len, (void *) image, size);
	FUZZ_CHECK(st.num_tensors >= 0, "%d tensors", st.num_tensors);
	for (int i = 0; i < st.num_tensors; i++)
	{
		const BertTensorInfo *t = &st.tensors[i];
		const BertTensorInfo *found;
		uint64_t	count = 1;
		int			es;
		size_t		nbytes;

		FUZZ_CHECK(t->name != NULL && strcmp(t->name, "__metadata__") != 0,
				   "tensor %d has name %s", i, t->name ? t->name : "(null)");
		FUZZ_CHECK(i == 0 || strcmp(st.tensors[i - 1].name, t->name) < 0,
				   "tensors not sorted or duplicated: \"%s\", \"%s\"",
				   st.tensors[i - 1].name, t->name);
		found = BertSafetensorsFind(&st, t->name);
		FUZZ_CHECK(found == t, "Find(\"%s\") gave %p, expected %p", t->name,
				   (const void *) found, (const void *) t);

		FUZZ_CHECK(t->ndim >= 0 && t->ndim <= BERT_ST_MAX_DIMS, "ndim %d",
				   t->ndim);
		FUZZ_CHECK(t->begin <= t->end && t->end <= st.data_len,
				   "tensor \"%s\" at [%zu, %zu) in a %zu-byte data section",
				   t->name, t->begin, t->end, st.data_len);
		es = dtype_size(t->dtype_name);
		FUZZ_CHECK(es > 0, "dtype \"%s\"", t->dtype_name);
		FUZZ_CHECK((t->dtype == BERT_DTYPE_F32) == (strcmp(t->dtype_name, "F32") == 0) &&
				   (t->dtype == BERT_DTYPE_F16) == (strcmp(t->dtype_name, "F16") == 0) &&
				   (t->dtype == BERT_DTYPE_BF16) == (strcmp(t->dtype_name, "BF16") == 0),
				   "dtype %d vs name %s", (int) t->dtype, t->dtype_name);
		for (int d = 0; d < t->ndim; d++)
		{
			FUZZ_CHECK(t->shape[d] >= 0, "dimension %d is %lld", d,
					   (long long) t->shape[d]);
			FUZZ_CHECK(!__builtin_mul_overflow(count, (uint64_t) t->shape[d], &count),
					   "element count of \"%s\" overflows", t->name);
		}
		FUZZ_CHECK(count <= SIZE_MAX / 8 && count * es == t->end - t->begin,
				   "tensor \"%s\": %llu elements of %d bytes in [%zu, %zu)",
				   t->name, (unsigned long long) count, es, t->begin, t->end);

		/* read it as bind() in src/model.c does: data + begin, count */
		{
			const char *bytes = st.data + t->begin;

			nbytes = (size_t) count * es;
			switch (t->dtype)
			{
				case BERT_DTYPE_F32:
					{
						float	   *copy = malloc(nbytes ? nbytes : 1);

						memcpy(copy, bytes, nbytes);
						free(copy);
						break;
					}
				case BERT_DTYPE_F16:
					{
						float	   *copy = malloc(count * sizeof(float) + 1);

						BertHalfToFloat(copy, bytes, count);
						for (uint64_t k = 0; k < count; k++)
						{
							uint16_t	h;
							float		ref;

							memcpy(&h, bytes + 2 * k, 2);
							ref = ref_half(h);
							FUZZ_CHECK(isnan(ref) ? isnan(copy[k])
									   : memcmp(&ref, &copy[k], sizeof(float)) == 0,
									   "half 0x%04x became %g, expected %g", h,
									   (double) copy[k], (double) ref);
						}
						free(copy);
						break;
					}
				case BERT_DTYPE_BF16:
					{
						float	   *copy = malloc(count * sizeof(float) + 1);

						BertBfloat16ToFloat(copy, bytes, count);
						for (uint64_t k = 0; k < count; k++)
						{
							uint16_t	h;
							uint32_t	bits;

							memcpy(&h, bytes + 2 * k, 2);
							memcpy(&bits, &copy[k], 4);
							FUZZ_CHECK(bits == (uint32_t) h << 16,
									   "bfloat16 0x%04x became 0x%08x", h, bits);
						}
						free(copy);
						break;
					}
				default:
					{
						/* the loader refuses these; their bytes still lie inside */
						char	   *copy = malloc(nbytes ? nbytes : 1);

						memcpy(copy, bytes, nbytes);
						free(copy);
						break;
					}
			}
		}
	}

	/* names that are not there */
	FUZZ_CHECK(BertSafetensorsFind(&st, "") == NULL ||
			   st.num_tensors > 0, "Find(\"\") in an empty file");
	FUZZ_CHECK(BertSafetensorsFind(&st, "__metadata__") == NULL,
			   "Find(\"__metadata__\") found a tensor");
	if (st.num_tensors > 0)
	{
		char	   *longer = psprintf("%s.", st.tensors[0].name);

		FUZZ_CHECK(BertSafetensorsFind(&st, longer) == NULL ||
				   strcmp(BertSafetensorsFind(&st, longer)->name, longer) == 0,
				   "Find of a name that is not there");
	}
	free(image);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	return 0;
}

#endif							/* FUZZ_TARGET_SAFETENSORS */


/* ----------------------------------------------------------------
 * (b) JSON configuration files
 * ----------------------------------------------------------------
 */
#ifdef FUZZ_TARGET_JSON

/* a small vocabulary for the tokenizer options read from the input */
static const char small_vocab[] =
	"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nhello\nworld\n,\n!\n.\n'\n;\n-\n"
	"un\n##aff\n##able\n##s\nis\n##n\nt\nna\n##ive\ncafe\ndeja\nvu\n東\n京\n"
	"σ\nς\ni\n##̇\nfine\na\n##b\n##c\nab\nabc\n";
static BertTokenizer base_tok;

/* Structure of the tree: counts, keys, values, depth. */
static void
check_tree(const BertJson *node, int depth, bool in_object)
{
	FUZZ_CHECK(depth <= BERT_JSON_MAX_DEPTH + 1, "depth %d", depth);
	FUZZ_CHECK(in_object == (node->key != NULL), "key %s in_object %d",
			   node->key ? node->key : "(null)", in_object);
	switch (node->type)
	{
		case BERT_JSON_NULL:
		case BERT_JSON_BOOL:
			break;
		case BERT_JSON_NUMBER:
		case BERT_JSON_STRING:
			FUZZ_CHECK(node->str != NULL, "scalar without text");
			(void) strlen(node->str);
			break;
		case BERT_JSON_ARRAY:
		case BERT_JSON_OBJECT:
			FUZZ_CHECK(node->n >= 0 && node->n <= node->cap &&
					   (node->n == 0 || node->items != NULL),
					   "container of %d items, capacity %d", node->n, node->cap);
			for (int i = 0; i < node->n; i++)
			{
				FUZZ_CHECK(node->items[i] != NULL, "item %d is NULL", i);
				check_tree(node->items[i], depth + 1,
						   node->type == BERT_JSON_OBJECT);
			}
			break;
		default:
			FUZZ_CHECK(false, "node type %d", (int) node->type);
	}
}

/* The typed getters on every member of every object. */
static void
exercise_getters(const BertJson *node, int depth)
{
	if (depth > BERT_JSON_MAX_DEPTH + 1 ||
		(node->type != BERT_JSON_ARRAY && node->type != BERT_JSON_OBJECT))
		return;
	for (int i = 0; i < node->n; i++)
	{
		const BertJson *item = node->items[i];

		if (node->type == BERT_JSON_OBJECT)
		{
			char	   *error = NULL;
			int			iv;
			float		fv;
			bool		bv;
			const BertJson *got = BertJsonGet(node, item->key);

			FUZZ_CHECK(got != NULL && strcmp(got->key, item->key) == 0,
					   "BertJsonGet(\"%s\") missed", item->key);
			if (BertJsonGetInt(node, item->key, INT_MIN, INT_MAX, &iv, &error) == BERT_MEMBER_OK)
				FUZZ_CHECK(got->type == BERT_JSON_NUMBER, "int from a non-number");
			error = NULL;
			(void) BertJsonGetInt(node, item->key, 1, 1024, &iv, &error);
			error = NULL;
			if (BertJsonGetFloat(node, item->key, &fv, &error) == BERT_MEMBER_OK)
				FUZZ_CHECK(got->type == BERT_JSON_NUMBER, "float from a non-number");
			error = NULL;
			if (BertJsonGetBool(node, item->key, &bv, &error) == BERT_MEMBER_OK)
				FUZZ_CHECK(got->type == BERT_JSON_BOOL, "bool from a non-bool");
			error = NULL;
			if (BertJsonGetString(node, item->key, &error) != NULL)
				FUZZ_CHECK(got->type == BERT_JSON_STRING, "string from a non-string");
		}
		exercise_getters(item, depth + 1);
	}
}

/* config.json reader: on success every value is in its documented range. */
static void
check_config(const BertConfig *cfg)
{
	FUZZ_CHECK(cfg->architecture[0] != '\0', "no architecture");
	FUZZ_CHECK(cfg->vocab_size >= 1 && cfg->vocab_size <= BERT_MAX_VOCAB,
			   "vocab_size %d", cfg->vocab_size);
	FUZZ_CHECK(cfg->hidden_size >= 1 && cfg->hidden_size <= BERT_MAX_HIDDEN,
			   "hidden_size %d", cfg->hidden_size);
	FUZZ_CHECK(cfg->num_hidden_layers >= 1 &&
			   cfg->num_hidden_layers <= BERT_MAX_LAYERS, "layers %d",
			   cfg->num_hidden_layers);
	FUZZ_CHECK(cfg->num_attention_heads >= 1 &&
			   cfg->hidden_size % cfg->num_attention_heads == 0,
			   "heads %d, hidden %d", cfg->num_attention_heads, cfg->hidden_size);
	FUZZ_CHECK(cfg->intermediate_size >= 1, "intermediate %d",
			   cfg->intermediate_size);
	FUZZ_CHECK(cfg->max_position_embeddings >= 2 &&
			   cfg->max_position_embeddings <= BERT_MAX_POSITIONS,
			   "positions %d", cfg->max_position_embeddings);
	FUZZ_CHECK(cfg->type_vocab_size >= 0 && cfg->type_vocab_size <= 1024,
			   "type_vocab_size %d", cfg->type_vocab_size);
	FUZZ_CHECK(cfg->layer_norm_eps > 0.0f, "layer_norm_eps %g",
			   (double) cfg->layer_norm_eps);
	/* finding 1: a finite double beyond FLT_MAX became +inf */
	FUZZ_CHECK(isfinite(cfg->layer_norm_eps),
						"layer_norm_eps %g is not finite", (double) cfg->layer_norm_eps);
	FUZZ_CHECK(cfg->model_max_length == cfg->max_position_embeddings,
			   "model_max_length %d", cfg->model_max_length);
	if (cfg->head == BERT_HEAD_SEQUENCE_CLASSIFICATION ||
		cfg->head == BERT_HEAD_TOKEN_CLASSIFICATION)
	{
		FUZZ_CHECK(cfg->num_labels >= 1 && cfg->num_labels <= BERT_MAX_LABELS &&
				   cfg->id2label != NULL, "num_labels %d", cfg->num_labels);
		for (int i = 0; i < cfg->num_labels; i++)
			FUZZ_CHECK(cfg->id2label[i] != NULL, "label %d is missing", i);
	}
}

/* A tokenizer with options from the input: Finish, then tokenize. */
static void
try_tokenizer(BertTokenizer *tok, unsigned salt)
{
	const char *msg = BertTokenizerFinish(tok);

	if (msg != NULL)
		return;
	check_finished(tok);
	FUZZ_CHECK(tok->max_input_chars_per_word >= 1 &&
			   strlen(tok->continuing_subword_prefix) <
			   sizeof(tok->continuing_subword_prefix),
			   "options after Finish");
	exercise_fixed(tok, salt, true);
}

static void
fuzz_one(const uint8_t *data, size_t size)
{
	char	   *text = exact_copy(data, size);
	char	   *error = NULL;
	BertJson   *root;
	BertConfig	cfg;
	BertTokenizer tok;
	const char *pooling_path;
	bool		ok;

	if (size > INT_MAX)
	{
		free(text);
		return;
	}
	root = BertJsonParse(text, (int) size, &error);
	if (root == NULL)
	{
		FUZZ_CHECK(error != NULL && error[0] != '\0',
				   "BertJsonParse failed without a message");
		free(text);
		return;
	}
	check_tree(root, 0, false);
	exercise_getters(root, 0);

	/* config.json */
	memset(&cfg, 0, sizeof(cfg));
	ok = BertConfigFromJson(root, &cfg, &error);
	FUZZ_CHECK(ok || error != NULL, "BertConfigFromJson failed without a message");
	if (ok)
		check_config(&cfg);

	/* the model's limit before the tokenizer files lower it */
	if (!ok)
	{
		memset(&cfg, 0, sizeof(cfg));
		cfg.model_max_length = 512;
	}

	/* tokenizer options: as tokenizer.json, as tokenizer_config.json, both */
	for (int mode = 0; mode < 3; mode++)
	{
		int			before = cfg.model_max_length;

		tok = base_tok;
		error = NULL;
		ok = BertTokenizerOptionsFromJson(mode != 1 ? root : NULL,
										  mode != 0 ? root : NULL,
										  &tok, &cfg, &error);
		FUZZ_CHECK(ok || error != NULL,
				   "BertTokenizerOptionsFromJson failed without a message");
		FUZZ_CHECK(cfg.model_max_length <= before &&
				   (cfg.model_max_length == before || cfg.model_max_length >= 2),
				   "model_max_length %d -> %d", before, cfg.model_max_length);
		if (ok)
			try_tokenizer(&tok, (unsigned) size + mode);
	}

	/* tokenizer.json as the vocabulary, then its options */
	memset(&tok, 0, sizeof(tok));
	error = NULL;
	ok = BertVocabFromTokenizerJson(root, &tok, &error);
	FUZZ_CHECK(ok || error != NULL,
			   "BertVocabFromTokenizerJson failed without a message");
	if (ok)
	{
		check_vocab_lookup(&tok, 4096);
		error = NULL;
		if (BertTokenizerOptionsFromJson(root, root, &tok, &cfg, &error))
			try_tokenizer(&tok, (unsigned) size);
	}

	/* modules.json */
	error = NULL;
	pooling_path = NULL;
	ok = BertModulesFromJson(root, &cfg, &pooling_path, &error);
	FUZZ_CHECK(ok || error != NULL, "BertModulesFromJson failed without a message");
	if (ok && pooling_path)
		FUZZ_CHECK(pooling_path[0] != '\0' && pooling_path[0] != '/' &&
				   strstr(pooling_path, "..") == NULL,
				   "pooling path \"%s\" leaves the model directory", pooling_path);

	/* 1_Pooling/config.json */
	error = NULL;
	cfg.pooling = (BertPooling) -1;
	ok = BertPoolingFromJson(root, &cfg, &error);
	FUZZ_CHECK(ok || error != NULL, "BertPoolingFromJson failed without a message");
	if (ok)
		FUZZ_CHECK(cfg.pooling == BERT_POOLING_MEAN || cfg.pooling == BERT_POOLING_CLS ||
				   cfg.pooling == BERT_POOLING_MAX, "pooling %d", (int) cfg.pooling);

	/* sentence_bert_config.json */
	{
		int			before;

		error = NULL;
		cfg.model_max_length = 512;
		before = cfg.model_max_length;
		ok = BertSentenceConfigFromJson(root, &cfg, &error);
		FUZZ_CHECK(ok || error != NULL,
				   "BertSentenceConfigFromJson failed without a message");
		FUZZ_CHECK(cfg.model_max_length >= 2 && cfg.model_max_length <= before,
				   "model_max_length %d -> %d", before, cfg.model_max_length);
	}
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *msg;

	(void) argc;
	(void) argv;
	msg = BertTokenizerLoadVocabTxt(&base_tok, small_vocab, strlen(small_vocab));
	if (msg == NULL)
		msg = BertTokenizerFinish(&base_tok);
	if (msg != NULL)
	{
		fprintf(stderr, "fuzz_json: built-in vocabulary: %s\n", msg);
		exit(2);
	}
	return 0;
}

#endif							/* FUZZ_TARGET_JSON */


/* ----------------------------------------------------------------
 * (c) tokenizer on a real vocabulary
 * ----------------------------------------------------------------
 */
#ifdef FUZZ_TARGET_TOKENIZER

#define NUM_VARIANTS 6
static BertTokenizer variants[NUM_VARIANTS];

static void
fuzz_one(const uint8_t *data, size_t size)
{
	char	   *text = exact_copy(data, size);
	const char *sep = memchr(text, 0xFF, size);
	size_t		alen = sep ? (size_t) (sep - text) : size;
	char	   *b = NULL;
	size_t		blen = 0;
	unsigned	salt = (unsigned) size;
	const BertTokenizer *extra = &variants[1 + size % (NUM_VARIANTS - 1)];
	char	   *a;

	/* each side in its own exact-size block */
	a = exact_copy((const uint8_t *) text, alen);
	if (sep)
	{
		blen = size - alen - 1;
		b = exact_copy((const uint8_t *) sep + 1, blen);
	}

	/* the whole input as one text, then as a pair, default options */
	exercise_tokenizer(&variants[0], text, size, NULL, 0, salt, false);
	if (sep)
		exercise_tokenizer(&variants[0], a, alen, b, blen, salt, false);
	/* one other set of options, chosen by the input length */
	exercise_tokenizer(extra, a, alen, b, blen, salt, true);
	(void) BertTokenizerLookup(&variants[0], text, size);

	free(a);
	free(b);
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("BERT_FUZZ_VOCAB");
	char	   *fallback = NULL;
	char	   *vocab;
	size_t		len = 0;
	const char *msg;

	(void) argc;
	(void) argv;
	if (path == NULL || path[0] == '\0')
	{
		/* this file is test/fuzz/fuzz_targets.c; shared/ is beside the repo */
		const char *here = __FILE__;
		const char *slash = strrchr(here, '/');
		int			dirlen = slash ? (int) (slash - here) : 1;

		fallback = malloc(strlen(here) + 64);
		sprintf(fallback, "%.*s/../../../shared/models/bert-mini-sentiment/vocab.txt",
				dirlen, slash ? here : ".");
		path = fallback;
	}
	vocab = slurp(path, &len);
	if (vocab == NULL)
	{
		fprintf(stderr, "fuzz_tokenizer: cannot read the vocabulary %s "
				"(set BERT_FUZZ_VOCAB)\n", path);
		exit(2);
	}
	msg = BertTokenizerLoadVocabTxt(&variants[0], vocab, len);
	if (msg == NULL)
		msg = BertTokenizerFinish(&variants[0]);
	if (msg != NULL)
	{
		fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, msg);
		exit(2);
	}
	free(fallback);

	/* the same vocabulary under other options (shallow copies) */
	for (int i = 1; i < NUM_VARIANTS; i++)
		variants[i] = variants[0];
	/* cased: no lower-casing, accents kept */
	variants[1].do_lower_case = false;
	variants[1].strip_accents = false;
	/* lower-case without accent stripping, no CJK split */
	variants[2].strip_accents = false;
	variants[2].tokenize_chinese_chars = false;
	/* short words, no continuation prefix */
	variants[3].max_input_chars_per_word = 3;
	variants[3].continuing_subword_prefix[0] = '\0';
	/* the longest prefix, one-character words */
	strcpy(variants[4].continuing_subword_prefix, "@@@@@@@@@@@@@@@");
	variants[4].max_input_chars_per_word = 1;
	/* the largest word limit: word buffers grow past their first size */
	variants[5].max_input_chars_per_word = 1 << 20;
	variants[5].strip_accents = true;
	variants[5].do_lower_case = false;
	for (int i = 1; i < NUM_VARIANTS; i++)
	{
		msg = BertTokenizerFinish(&variants[i]);
		if (msg != NULL)
		{
			fprintf(stderr, "fuzz_tokenizer: variant %d: %s\n", i, msg);
			exit(2);
		}
	}
	return 0;
}

#endif							/* FUZZ_TARGET_TOKENIZER */


/* ----------------------------------------------------------------
 * (d) vocab.txt loader
 * ----------------------------------------------------------------
 */
#ifdef FUZZ_TARGET_VOCAB

static void
fuzz_one(const uint8_t *data, size_t size)
{
	char	   *image = exact_copy(data, size);
	BertTokenizer tok;
	const char *msg;

	msg = BertTokenizerLoadVocabTxt(&tok, image, size);
	if (msg == NULL)
	{
		size_t		lines = 0;

		for (size_t i = 0; i < size; i++)
			lines += (image[i] == '\n');
		if (size > 0 && image[size - 1] != '\n')
			lines++;
		FUZZ_CHECK(tok.vocab_size == (int) lines, "%d tokens from %zu lines",
				   tok.vocab_size, lines);
		check_vocab_lookup(&tok, INT_MAX);
		msg = BertTokenizerFinish(&tok);
		if (msg == NULL)
		{
			BertTokenizer cased = tok;

			check_finished(&tok);
			exercise_fixed(&tok, (unsigned) size, false);

			cased.do_lower_case = false;
			cased.strip_accents = false;
			cased.continuing_subword_prefix[0] = '\0';
			cased.max_input_chars_per_word = 8;
			exercise_fixed(&cased, (unsigned) size + 1, true);
		}
	}
	else
		FUZZ_CHECK(msg[0] != '\0', "empty error message");
	free(image);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	return 0;
}

#endif							/* FUZZ_TARGET_VOCAB */


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzAllocBegin();
	fuzz_one(data, size);
	FuzzAllocReset();
	return 0;
}
