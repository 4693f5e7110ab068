#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

/*
 * tokenizer.c
 *		WordPiece tokenizer with Hugging Face BertTokenizerFast semantics.
 *
 * The text is read once, left to right, in a single pass that fuses every
 * stage of the Hugging Face pipeline:
 *
 *	 raw bytes --decode--> code point --special?--> [MASK] ... kept whole
 *			   --clean--> dropped / ' ' --CJK?--> word of its own
 *			   --lower-case--> 1..2 code points --NFD, drop Mn--> 0..n code points
 *			   --whitespace / punctuation?--> word boundaries --> WordPiece
 *
 * Every normalized code point carries the byte span [start, end) of the
 * source character it came from, so that a piece maps back to the first and
 * last source characters behind it.  Words are collected in a buffer that
 * grows to at most max_input_chars_per_word + 1 code points (a longer word is
 * [UNK] whatever it holds, so only its length and span are tracked), and
 * WordPiece hashes candidate pieces in place, in that buffer, without
 * allocating.  Scratch memory is one palloc per BertTokenize call (more only
 * for words over 63 code points when max_input_chars_per_word allows them);
 * the only other allocations are the output arrays, grown geometrically.
 *
 * Unicode properties (general category, canonical decomposition and
 * combining classes, simple lower-case mappings) come from utf8proc.  The
 * reference is the project's tokenizer oracle (the JavaScript port of
 * Hugging Face tokenizers, test/tokenizer/run.sh), which the golden files
 * agree with; where it goes beyond a per-character mapping, so does this:
 *	- lower-casing is full lower-casing in the root locale: U+0130 becomes
 *	  "i" + U+0307 and a capital sigma at the end of a word becomes final
 *	  sigma (Unicode's Final_Sigma context, with Cased and Case_Ignorable
 *	  derived from utf8proc's categories and case mappings; the Rust
 *	  tokenizer lower-cases character by character and keeps medial sigma);
 *	- lower-casing happens before accent stripping;
 *	- NFD includes canonical reordering of combining marks, which matters
 *	  only for the spacing marks (Mc) that survive accent stripping.
 *
 * Memory: the vocabulary arrays belong to the memory context current when
 * the tokenizer is loaded; BertTokens / BertInput arrays to the context
 * current at the call.  Nothing here reports errors: loaders return a
 * message and leave ereport to the caller.
 */

#include <string.h>

#include <utf8proc.h>

#ifndef BERT_STANDALONE
#include "miscadmin.h"
#endif

#include "tokenizer.h"

/*
 * Text that never reaches the token limit (whitespace, one giant word) is
 * read to its end; query cancel is honoured every so many characters.
 */
#ifdef BERT_STANDALONE
#define TOKENIZER_CHECK_INTERRUPTS() ((void) 0)
#else
#define TOKENIZER_CHECK_INTERRUPTS() CHECK_FOR_INTERRUPTS()
#endif
#define INTERRUPT_INTERVAL 65536

/* bytes reserved in front of a word's UTF-8 so a prefix fits before any piece */
#define PREFIX_ROOM 16

/*
 * Canonical reordering moves a mark past at most this many others: real
 * text has a handful of marks per base character (Unicode's stream-safe
 * format allows 30), and the bound keeps a hostile run of thousands linear.
 */
#define MAX_REORDER 64

/* initial word buffer length (code points); grows up to the word limit */
#define WORD_INITIAL_CAP 64

/* largest max_input_chars_per_word accepted */
#define MAX_WORD_CHARS_LIMIT (1 << 20)

/* largest vocabulary accepted (the hash table has 2-4 slots per token) */
#define VOCAB_SIZE_LIMIT (1 << 22)

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static const char *const special_names[] = {
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
};

#define NUM_SPECIALS (int) (sizeof(special_names) / sizeof(special_names[0]))

/* Per-call state of BertTokenize: the output, the word being built, scratch. */
typedef struct TokState
{
	const BertTokenizer *tok;
	BertTokens *out;
	int			max_tokens;
	bool		done;			/* max_tokens reached */
	bool		prev_cased;		/* Final_Sigma: last relevant char cased */
	bool		words_only;		/* BertPreTokenize: a token per word */

	/* current word */
	int			count;			/* code points seen (may exceed n) */
	int			n;				/* code points stored */
	int			cap;			/* allocated length of the arrays below */
	int			run_start;		/* first index a combining mark may move to */
	int32_t		word_start;		/* source span of the whole word */
	int32_t		word_end;
	int32_t    *cps;			/* (cap) normalized code points */
	int32_t    *src_start;		/* (cap) source byte span of each */
	int32_t    *src_end;		/* (cap) */
	uint8_t    *ccc;			/* (cap) canonical combining classes */

	/* WordPiece scratch */
	char	   *bytes;			/* (PREFIX_ROOM + 4 * cap) word as UTF-8 */
	int32_t    *boff;			/* (cap + 1) byte offset of each code point */
	uint32_t   *hashes;			/* (cap + 1) hash of candidate pieces */
	int32_t    *piece_ids;		/* (cap) pieces of the word */
	int32_t    *piece_ends;		/* (cap) code point index ending each */
} TokState;


/* ----------------------------------------------------------------
 * Unicode helpers
 * ----------------------------------------------------------------
 */

/*
 * Decodes one UTF-8 character at s (avail > 0 bytes).  Returns the bytes
 * consumed; an invalid or truncated sequence consumes one byte and yields
 * U+FFFD.  Overlong forms, surrogates and values above U+10FFFF are invalid.
 */
static inline int
utf8_decode(const unsigned char *s, size_t avail, int32_t *cp)
{
	unsigned char c = s[0];

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		if (avail >= 2 && (s[1] & 0xC0) == 0x80)
		{
			*cp = ((c & 0x1F) << 6) | (s[1] & 0x3F);
			return 2;
		}
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		unsigned char lo = (c == 0xE0) ? 0xA0 : 0x80;
		unsigned char hi = (c == 0xED) ? 0x9F : 0xBF;

		if (avail >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80)
		{
			*cp = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
			return 3;
		}
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		unsigned char lo = (c == 0xF0) ? 0x90 : 0x80;
		unsigned char hi = (c == 0xF4) ? 0x8F : 0xBF;

		if (avail >= 4 && s[1] >= lo && s[1] <= hi &&
			(s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
		{
			*cp = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) |
				((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
			return 4;
		}
	}
	*cp = 0xFFFD;
	return 1;
}

/* Encodes a code point as UTF-8 into dst; returns the byte count. */
static inline int
utf8_encode(int32_t cp, char *dst)
{
	unsigned char *d = (unsigned char *) dst;

	if (cp < 0x80)
	{
		d[0] = (unsigned char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		d[0] = 0xC0 | (cp >> 6);
		d[1] = 0x80 | (cp & 0x3F);
		return 2;
	}
	if (cp < 0x10000)
	{
		d[0] = 0xE0 | (cp >> 12);
		d[1] = 0x80 | ((cp >> 6) & 0x3F);
		d[2] = 0x80 | (cp & 0x3F);
		return 3;
	}
	d[0] = 0xF0 | (cp >> 18);
	d[1] = 0x80 | ((cp >> 12) & 0x3F);
	d[2] = 0x80 | ((cp >> 6) & 0x3F);
	d[3] = 0x80 | (cp & 0x3F);
	return 4;
}

/* Is the character dropped by the cleaning step (NUL, U+FFFD, Cc/Cf/Co)? */
static inline bool
is_removed(int32_t cp, int cat)
{
	if (cp == '\t' || cp == '\n' || cp == '\r')
		return false;
	return cp == 0 || cp == 0xFFFD ||
		cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
		cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS;
}

/* Has the character the Unicode White_Space property? */
static inline bool
is_white_space(int32_t cp)
{
	if (cp < 0x80)
		return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
	return cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
		(cp >= 0x2000 && cp <= 0x200A) ||
		cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
		cp == 0x3000;
}

/* Letters, marks and decimal digits: characters that never split a word. */
static inline bool
is_word_category(int cat)
{
	switch (cat)
	{
		case UTF8PROC_CATEGORY_LU:
		case UTF8PROC_CATEGORY_LL:
		case UTF8PROC_CATEGORY_LT:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_LO:
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ND:
			return true;
		default:
			return false;
	}
}

/* Is the code point a CJK ideograph (the ranges of BERT's _is_chinese_char)? */
static inline bool
is_cjk(int32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) ||
		(cp >= 0x3400 && cp <= 0x4DBF) ||
		(cp >= 0x20000 && cp <= 0x2A6DF) ||
		(cp >= 0x2A700 && cp <= 0x2B73F) ||
		(cp >= 0x2B740 && cp <= 0x2B81F) ||
		(cp >= 0x2B820 && cp <= 0x2CEAF) ||
		(cp >= 0xF900 && cp <= 0xFAFF) ||
		(cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Is the character punctuation for BERT (ASCII symbols or category P*)? */
static inline bool
is_punct(int32_t cp, int cat)
{
	if (cp < 0x80)
		return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
			(cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
	return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

/*
 * Is the character Case_Ignorable?  That is Mn, Me, Cf, Lm, Sk, or
 * Word_Break MidLetter, MidNumLet or Single_Quote (listed here).
 */
static inline bool
is_case_ignorable(int32_t cp, int cat)
{
	switch (cat)
	{
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_ME:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_LM:
		case UTF8PROC_CATEGORY_SK:
			return true;
		default:
			break;
	}
	switch (cp)
	{
		case 0x0027:			/* Single_Quote */
		case 0x002E:			/* MidNumLet */
		case 0x2018:
		case 0x2019:
		case 0x2024:
		case 0xFE52:
		case 0xFF07:
		case 0xFF0E:
		case 0x003A:			/* MidLetter */
		case 0x00B7:
		case 0x0387:
		case 0x055F:
		case 0x05F4:
		case 0x2027:
		case 0xFE13:
		case 0xFE55:
		case 0xFF1A:
			return true;
		default:
			return false;
	}
}

/*
 * Is the character Cased (Lowercase, Uppercase or Lt)?  Letters of categories
 * Lu/Ll/Lt and characters with a case mapping are; the few Other_Lowercase /
 * Other_Uppercase characters that are neither, nor Case_Ignorable (where the
 * distinction never matters), are listed.
 */
static inline bool
is_cased(int32_t cp, int cat)
{
	if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
		cat == UTF8PROC_CATEGORY_LT)
		return true;
	if (utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp)
		return true;
	return cp == 0x00AA || cp == 0x00BA ||
		(cp >= 0x1F130 && cp <= 0x1F149) ||
		(cp >= 0x1F150 && cp <= 0x1F169) ||
		(cp >= 0x1F170 && cp <= 0x1F189);
}

/*
 * Full lower-case mapping of one character, without context (the caller
 * handles final sigma).  Writes one or two code points; returns the count.
 */
static inline int
lower_char(int32_t cp, int32_t *dst)
{
	if (cp == 0x0130)
	{
		/* the only unconditional multi-character lower-case mapping */
		dst[0] = 'i';
		dst[1] = 0x0307;
		return 2;
	}
	dst[0] = utf8proc_tolower(cp);
	return 1;
}

/*
 * Looks for one of the special tokens at text[0..avail); returns its id and
 * sets *len, or returns -1.
 */
static inline int32_t
special_at(const BertTokenizer *tok, const char *text, size_t avail,
		   size_t *len)
{
	int32_t		ids[NUM_SPECIALS];

	ids[0] = tok->pad_id;
	ids[1] = tok->unk_id;
	ids[2] = tok->cls_id;
	ids[3] = tok->sep_id;
	ids[4] = tok->mask_id;
	for (int i = 0; i < NUM_SPECIALS; i++)
	{
		size_t		l = strlen(special_names[i]);

		if (ids[i] >= 0 && l <= avail && memcmp(text, special_names[i], l) == 0)
		{
			*len = l;
			return ids[i];
		}
	}
	return -1;
}

/*
 * Final_Sigma, second half: is the character after text[0..avail) (the rest
 * of the section) a cased letter, skipping removed and case-ignorable ones?
 */
static bool
followed_by_cased(const BertTokenizer *tok, const char *text, size_t avail)
{
	size_t		pos = 0;

	while (pos < avail)
	{
		int32_t		cp;
		int			cat;
		size_t		l;

		if (text[pos] == '[' && special_at(tok, text + pos, avail - pos, &l) >= 0)
			return false;		/* end of the section */
		pos += utf8_decode((const unsigned char *) text + pos, avail - pos, &cp);
		cat = utf8proc_category(cp);
		if (is_removed(cp, cat) || is_case_ignorable(cp, cat))
			continue;
		return is_cased(cp, cat);
	}
	return false;
}


/* ----------------------------------------------------------------
 * Vocabulary
 * ----------------------------------------------------------------
 */

/* FNV-1a step over one byte. */
static inline uint32_t
hash_step(uint32_t h, unsigned char b)
{
	return (h ^ b) * FNV_PRIME;
}

/* Final mix of an FNV-1a hash into a table slot. */
static inline uint32_t
hash_slot(uint32_t h, int hash_size)
{
	h ^= h >> 15;
	h *= 0x2C1B3C6Du;
	h ^= h >> 12;
	return h & (uint32_t) (hash_size - 1);
}

/* Hash of a byte string. */
static inline uint32_t
hash_bytes(const char *s, size_t len)
{
	uint32_t	h = FNV_OFFSET;

	for (size_t i = 0; i < len; i++)
		h = hash_step(h, (unsigned char) s[i]);
	return h;
}

/* Looks up a token given its hash; returns its id or -1. */
static inline int32_t
lookup_hashed(const BertTokenizer *tok, uint32_t h, const char *s, size_t len)
{
	uint32_t	mask = (uint32_t) (tok->hash_size - 1);
	uint32_t	slot = hash_slot(h, tok->hash_size);

	for (;;)
	{
		int32_t		id = tok->hash_ids[slot];

		if (id < 0)
			return -1;
		if ((size_t) tok->token_lens[id] == len &&
			memcmp(tok->tokens[id], s, len) == 0)
			return id;
		slot = (slot + 1) & mask;
	}
}

/* Id of a token (exact bytes), or -1. */
int32_t
BertTokenizerLookup(const BertTokenizer *tok, const char *s, size_t len)
{
	if (tok->hash_ids == NULL || len > (size_t) tok->max_token_bytes)
		return -1;
	return lookup_hashed(tok, hash_bytes(s, len), s, len);
}

/* Resets the options to Hugging Face's defaults for an uncased BERT. */
static void
set_defaults(BertTokenizer *tok)
{
	memset(tok, 0, sizeof(*tok));
	tok->cls_id = tok->sep_id = tok->unk_id = tok->pad_id = tok->mask_id = -1;
	tok->do_lower_case = true;
	tok->strip_accents = true;
	tok->tokenize_chinese_chars = true;
	tok->max_input_chars_per_word = BERT_MAX_INPUT_CHARS_PER_WORD;
	strcpy(tok->continuing_subword_prefix, "##");
}

/*
 * Builds the hash table over tok->tokens[0..vocab_size).  A token listed
 * twice maps to its last id, as when Hugging Face reads vocab.txt.
 */
static void
build_hash(BertTokenizer *tok)
{
	int			size = 16;
	uint32_t	mask;

	while (size <= 2 * tok->vocab_size)
		size *= 2;
	tok->hash_size = size;
	tok->hash_ids = palloc(sizeof(int32_t) * size);
	memset(tok->hash_ids, 0xFF, sizeof(int32_t) * size);
	mask = (uint32_t) (size - 1);

	for (int id = 0; id < tok->vocab_size; id++)
	{
		const char *s = tok->tokens[id];
		size_t		len = tok->token_lens[id];
		uint32_t	slot = hash_slot(hash_bytes(s, len), size);

		for (;;)
		{
			int32_t		other = tok->hash_ids[slot];

			if (other < 0 ||
				((size_t) tok->token_lens[other] == len &&
				 memcmp(tok->tokens[other], s, len) == 0))
			{
				tok->hash_ids[slot] = id;
				break;
			}
			slot = (slot + 1) & mask;
		}
	}
}

/*
 * Sets defaults and loads a vocab.txt image: one token per line, id = line
 * number, "\n" or "\r\n" line ends.  Returns NULL or an error message.
 */
const char *
BertTokenizerLoadVocabTxt(BertTokenizer *tok, const char *data, size_t len)
{
	size_t		nlines = 0;
	size_t		pos;
	char	   *text;
	int			id;

	set_defaults(tok);

	for (pos = 0; pos < len; pos++)
		if (data[pos] == '\n')
			nlines++;
	if (len > 0 && data[len - 1] != '\n')
		nlines++;				/* last line without a line end */
	if (nlines == 0)
		return "The vocabulary is empty.";
	if (nlines > (size_t) VOCAB_SIZE_LIMIT)
		return "The vocabulary has too many tokens.";

	tok->vocab_size = (int) nlines;
	tok->tokens = palloc(sizeof(char *) * nlines);
	tok->token_lens = palloc(sizeof(int32_t) * nlines);
	text = palloc(len + 1);		/* every line end becomes a NUL */

	pos = 0;
	for (id = 0; id < tok->vocab_size; id++)
	{
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t		end = nl ? (size_t) (nl - data) : len;
		size_t		l = end - pos;

		if (l > 0 && data[pos + l - 1] == '\r')
			l--;
		if (l > BERT_MAX_TOKEN_BYTES)
			return "A vocabulary token is longer than 1024 bytes.";
		memcpy(text, data + pos, l);
		text[l] = '\0';
		tok->tokens[id] = text;
		tok->token_lens[id] = (int32_t) l;
		if ((int) l > tok->max_token_bytes)
			tok->max_token_bytes = (int) l;
		text += l + 1;
		pos = end + 1;
	}

	build_hash(tok);
	return NULL;
}

/*
 * Sets defaults and loads a vocabulary from parallel arrays (as read from
 * tokenizer.json "model": {"vocab": {token: id}}).  Ids must be a
 * permutation of 0..n-1.  Returns NULL or an error message.
 */
const char *
BertTokenizerLoadVocabPairs(BertTokenizer *tok, int n, char *const *tokens,
							const int32_t *ids)
{
	set_defaults(tok);

	if (n <= 0)
		return "The vocabulary is empty.";
	if (n > VOCAB_SIZE_LIMIT)
		return "The vocabulary has too many tokens.";

	tok->vocab_size = n;
	tok->tokens = palloc0(sizeof(char *) * n);
	tok->token_lens = palloc(sizeof(int32_t) * n);
	for (int i = 0; i < n; i++)
	{
		int32_t		id = ids[i];
		size_t		l = strlen(tokens[i]);
		char	   *copy;

		if (id < 0 || id >= n)
			return "A vocabulary id is out of range.";
		if (tok->tokens[id] != NULL)
			return "A vocabulary id is used twice.";
		if (l > BERT_MAX_TOKEN_BYTES)
			return "A vocabulary token is longer than 1024 bytes.";
		copy = palloc(l + 1);
		memcpy(copy, tokens[i], l + 1);
		tok->tokens[id] = copy;
		tok->token_lens[id] = (int32_t) l;
		if ((int) l > tok->max_token_bytes)
			tok->max_token_bytes = (int) l;
	}

	build_hash(tok);
	return NULL;
}

/*
 * Finds the special tokens in the vocabulary and checks the options.  Call
 * after loading and after setting the options.  Returns NULL or an error.
 */
const char *
BertTokenizerFinish(BertTokenizer *tok)
{
	if (tok->hash_ids == NULL)
		return "The vocabulary is not loaded.";
	tok->pad_id = BertTokenizerLookup(tok, "[PAD]", 5);
	tok->unk_id = BertTokenizerLookup(tok, "[UNK]", 5);
	tok->cls_id = BertTokenizerLookup(tok, "[CLS]", 5);
	tok->sep_id = BertTokenizerLookup(tok, "[SEP]", 5);
	tok->mask_id = BertTokenizerLookup(tok, "[MASK]", 6);
	if (tok->unk_id < 0)
		return "The vocabulary has no [UNK] token.";
	if (tok->cls_id < 0)
		return "The vocabulary has no [CLS] token.";
	if (tok->sep_id < 0)
		return "The vocabulary has no [SEP] token.";
	if (tok->pad_id < 0)
		return "The vocabulary has no [PAD] token.";
	if (tok->max_input_chars_per_word < 1 ||
		tok->max_input_chars_per_word > MAX_WORD_CHARS_LIMIT)
		return "max_input_chars_per_word must be between 1 and 1048576.";
	if (strnlen(tok->continuing_subword_prefix,
				sizeof(tok->continuing_subword_prefix)) >=
		sizeof(tok->continuing_subword_prefix))
		return "The continuing_subword_prefix is too long.";
	return NULL;
}


/* ----------------------------------------------------------------
 * Tokenizing
 * ----------------------------------------------------------------
 */

/* Appends one token to the output; sets st->done once max_tokens is reached. */
static void
emit_token(TokState *st, int32_t id, int32_t start, int32_t end)
{
	BertTokens *out = st->out;

	if (out->n >= st->max_tokens)
	{
		st->done = true;
		return;
	}
	if (out->n >= out->cap)
	{
		int			cap = 64;

		if (out->cap >= st->max_tokens / 2)
			cap = st->max_tokens;
		else if (out->cap > 0)
			cap = out->cap * 2;
		if (cap > st->max_tokens)
			cap = st->max_tokens;
		if (out->ids == NULL)
		{
			out->ids = palloc(sizeof(int32_t) * cap);
			out->start = palloc(sizeof(int32_t) * cap);
			out->end = palloc(sizeof(int32_t) * cap);
		}
		else
		{
			out->ids = repalloc(out->ids, sizeof(int32_t) * cap);
			out->start = repalloc(out->start, sizeof(int32_t) * cap);
			out->end = repalloc(out->end, sizeof(int32_t) * cap);
		}
		out->cap = cap;
	}
	out->ids[out->n] = id;
	out->start[out->n] = start;
	out->end[out->n] = end;
	out->n++;
	if (out->n >= st->max_tokens)
		st->done = true;
}

/*
 * Allocates the word buffer and WordPiece scratch for `cap` code points in
 * one block, keeping the code points of the word built so far.
 */
static void
word_alloc(TokState *st, int cap)
{
	size_t		c = (size_t) cap;
	char	   *mem;

	mem = palloc(c * (5 * sizeof(int32_t) + sizeof(uint8_t)) +
				 2 * (c + 1) * sizeof(int32_t) + PREFIX_ROOM + 4 * c);
	if (st->cps != NULL)
	{
		memcpy(mem, st->cps, sizeof(int32_t) * st->n);
		memcpy(mem + c * sizeof(int32_t), st->src_start,
			   sizeof(int32_t) * st->n);
		memcpy(mem + 2 * c * sizeof(int32_t), st->src_end,
			   sizeof(int32_t) * st->n);
		memcpy(mem + 5 * c * sizeof(int32_t) + 2 * (c + 1) * sizeof(int32_t),
			   st->ccc, st->n);
		pfree(st->cps);
	}
	st->cps = (int32_t *) mem;
	st->src_start = st->cps + c;
	st->src_end = st->src_start + c;
	st->piece_ids = st->src_end + c;
	st->piece_ends = st->piece_ids + c;
	st->boff = st->piece_ends + c;	/* c + 1 */
	st->hashes = (uint32_t *) (st->boff + c + 1);	/* c + 1 */
	st->ccc = (uint8_t *) (st->hashes + c + 1);
	st->bytes = (char *) (st->ccc + c); /* PREFIX_ROOM + 4 c */
	st->cap = cap;
}

/*
 * Adds a normalized code point from source bytes [start, end) to the current
 * word.  A combining mark (ccc > 0) moves before preceding marks of a higher
 * class, which is NFD's canonical ordering; the marks it passes and itself
 * then share the union of their spans, which keeps spans monotone.
 */
static inline void
word_push(TokState *st, int32_t cp, int32_t start, int32_t end, int ccc)
{
	int			j;

	if (st->count == 0)
		st->word_start = start;
	st->word_end = end;
	if (++st->count > st->tok->max_input_chars_per_word)
		return;					/* [UNK] anyway: track the span only */
	if (st->n == st->cap)
	{
		int			cap = st->cap * 2;

		if (cap > st->tok->max_input_chars_per_word + 1)
			cap = st->tok->max_input_chars_per_word + 1;
		word_alloc(st, cap);
	}

	j = st->n;
	if (ccc > 0)
	{
		while (j > st->run_start && st->n - j < MAX_REORDER &&
			   st->ccc[j - 1] > ccc)
		{
			st->cps[j] = st->cps[j - 1];
			st->ccc[j] = st->ccc[j - 1];
			j--;
		}
		if (j < st->n)
		{
			/* spans are monotone, so the union starts at the first passed */
			start = st->src_start[j];
			for (int k = j + 1; k <= st->n; k++)
			{
				st->src_start[k] = start;
				st->src_end[k] = end;
			}
		}
	}
	st->cps[j] = cp;
	st->src_start[j] = start;
	st->src_end[j] = end;
	st->ccc[j] = (uint8_t) ccc;
	st->n++;
	if (ccc == 0)
		st->run_start = st->n;
}

/*
 * The longest vocabulary entry that starts at code point s of the current
 * word (with the continuation prefix when s > 0), or -1; *end is the code
 * point after it.  The word's bytes are in st->bytes at st->boff[], with
 * PREFIX_ROOM spare bytes before the first, so the prefix can be written
 * just before any code point; candidates are hashed incrementally and
 * never longer than the vocabulary's longest entry.
 */
static int32_t
longest_piece(TokState *st, int s, int *end)
{
	const BertTokenizer *tok = st->tok;
	const char *prefix = tok->continuing_subword_prefix;
	int			plen = (int) strlen(prefix);
	int			base = st->boff[s];
	int			p = base;
	uint32_t	h = FNV_OFFSET;
	int			kmax = s;

	if (s > 0)
	{
		/* bytes before base belong to pieces already taken */
		p = base - plen;
		memcpy(st->bytes + p, prefix, plen);
		for (int i = p; i < base; i++)
			h = hash_step(h, (unsigned char) st->bytes[i]);
	}
	for (int k = s + 1; k <= st->n && st->boff[k] - p <= tok->max_token_bytes; k++)
	{
		for (int i = st->boff[k - 1]; i < st->boff[k]; i++)
			h = hash_step(h, (unsigned char) st->bytes[i]);
		st->hashes[k] = h;
		kmax = k;
	}
	for (int k = kmax; k > s; k--)
	{
		int32_t		id = lookup_hashed(tok, st->hashes[k], st->bytes + p,
									   st->boff[k] - p);

		if (id >= 0)
		{
			*end = k;
			return id;
		}
	}
	return -1;
}

/*
 * WordPiece over the current word: greedy longest match, left to right,
 * into st->piece_ids / piece_ends.  Returns the number of pieces, or -1
 * when some part of the word matches nothing (the word is then [UNK]).
 */
static int
word_pieces(TokState *st)
{
	int			npieces = 0;
	int			b = PREFIX_ROOM;

	/* the word as UTF-8, after PREFIX_ROOM spare bytes */
	for (int k = 0; k < st->n; k++)
	{
		st->boff[k] = b;
		b += utf8_encode(st->cps[k], st->bytes + b);
	}
	st->boff[st->n] = b;

	for (int s = 0; s < st->n;)
	{
		int			end;
		int32_t		id = longest_piece(st, s, &end);

		if (id < 0)
			return -1;
		st->piece_ids[npieces] = id;
		st->piece_ends[npieces] = end;
		npieces++;
		s = end;
	}
	return npieces;
}

/*
 * Runs WordPiece over the current word and emits its pieces (or [UNK]: a
 * word over max_input_chars_per_word code points, or one with a part that
 * matches nothing; with words_only, the word itself as one token), then
 * empties the word.
 */
static void
word_flush(TokState *st)
{
	const BertTokenizer *tok = st->tok;
	int			npieces;

	if (st->count == 0)
		return;
	npieces = (st->words_only || st->count > tok->max_input_chars_per_word) ?
		-1 : word_pieces(st);
	if (st->words_only)
		emit_token(st, -1, st->word_start, st->word_end);
	else if (npieces < 0)
		emit_token(st, tok->unk_id, st->word_start, st->word_end);
	else
	{
		/* spans are monotone along the word: a piece runs first to last */
		int			s = 0;

		for (int i = 0; i < npieces && !st->done; i++)
		{
			emit_token(st, st->piece_ids[i], st->src_start[s],
					   st->src_end[st->piece_ends[i] - 1]);
			s = st->piece_ends[i];
		}
	}
	st->count = 0;
	st->n = 0;
	st->run_start = 0;
}

/*
 * A character that is a word by itself (punctuation): it ends the word
 * before it, and nothing joins it.
 */
static void
push_alone(TokState *st, int32_t cp, int32_t start, int32_t end)
{
	word_flush(st);
	word_push(st, cp, start, end, 0);
	word_flush(st);
}

/*
 * Adds a lower-cased code point from source bytes [start, end): decomposes
 * and strips accents when asked, splits out punctuation, fills the word.
 */
static void
push_normalized(TokState *st, int32_t cp, int32_t start, int32_t end)
{
	int32_t		dec[16];
	int			ndec = 1;

	if (st->tok->strip_accents && cp >= 0xC0)
	{
		int			boundclass = 0;
		utf8proc_ssize_t r;

		r = utf8proc_decompose_char(cp, dec, lengthof(dec),
									UTF8PROC_DECOMPOSE, &boundclass);
		if (r < 1 || r > (utf8proc_ssize_t) lengthof(dec))
		{
			dec[0] = cp;
			r = 1;
		}
		ndec = (int) r;
	}
	else
		dec[0] = cp;

	for (int i = 0; i < ndec; i++)
	{
		int32_t		c = dec[i];
		const utf8proc_property_t *prop;
		int			ccc = 0;

		if (c < 0x80)
		{
			if (is_punct(c, 0))
				push_alone(st, c, start, end);
			else
				word_push(st, c, start, end, 0);
			continue;
		}
		prop = utf8proc_get_property(c);
		if (st->tok->strip_accents)
		{
			if (prop->category == UTF8PROC_CATEGORY_MN)
			{
				/* dropped; a starter still ends the reordering run */
				if (prop->combining_class == 0)
					st->run_start = st->n;
				continue;
			}
			ccc = prop->combining_class;
		}
		if (is_punct(c, prop->category))
			push_alone(st, c, start, end);
		else
			word_push(st, c, start, end, ccc);
	}
}

/*
 * One ASCII byte at text[pos] (the fast path: no decoding, no Unicode
 * tables): letters and digits join the word (lower-cased when
 * do_lower_case), whitespace ends it, controls are dropped, and any other
 * character is punctuation, a word by itself, unless it opens a special
 * token written in the text ("[MASK]"), which is emitted whole.  Returns
 * the position after what was consumed.
 */
static size_t
tokenize_ascii(TokState *st, const char *text, size_t len, size_t pos)
{
	unsigned char c = (unsigned char) text[pos];
	int32_t		start = (int32_t) pos;
	size_t		l;
	int32_t		id;

	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
	{
		word_push(st, c, start, start + 1, 0);
		st->prev_cased = (c >= 'a');
	}
	else if (c >= 'A' && c <= 'Z')
	{
		word_push(st, st->tok->do_lower_case ? c + ('a' - 'A') : c, start, start + 1, 0);
		st->prev_cased = true;
	}
	else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
	{
		word_flush(st);
		st->prev_cased = false;
	}
	else if (c >= 0x20 && c != 0x7F)	/* controls are dropped */
	{
		id = c == '[' ? special_at(st->tok, text + pos, len - pos, &l) : -1;
		if (id >= 0)
		{
			/* a special token written in the text; a new section */
			word_flush(st);
			emit_token(st, id, start, start + (int32_t) l);
			st->prev_cased = false;
			return pos + l;
		}
		push_alone(st, c, start, start + 1);
		if (!is_case_ignorable(c, 0))
			st->prev_cased = false;
	}
	return pos + 1;
}

/*
 * Lower-cases code point cp (category cat) into low[], as the oracle does:
 * full mappings (U+0130 is "i" + U+0307), and capital sigma final (U+03C2)
 * after a cased letter when no cased letter follows in `rest`.  Updates
 * st->prev_cased.  Returns the number of code points in low[].
 */
static int
lowercase(TokState *st, int32_t cp, int cat, const char *rest, size_t rest_len,
		  int32_t low[2])
{
	int			nlow;

	if (!st->tok->do_lower_case)
	{
		low[0] = cp;
		return 1;
	}
	if (cp == 0x03A3)
	{
		low[0] = (st->prev_cased && !followed_by_cased(st->tok, rest, rest_len))
			? 0x03C2 : 0x03C3;
		nlow = 1;
	}
	else
		nlow = lower_char(cp, low);
	if (!is_case_ignorable(cp, cat))
		st->prev_cased = is_cased(cp, cat);
	return nlow;
}

/*
 * One non-ASCII character at text[pos]: decoded, cleaned (dropped, or
 * whitespace ending the word), a CJK ideograph made a word by itself, or
 * lower-cased and normalized into the word.  Returns the position after it.
 */
static size_t
tokenize_char(TokState *st, const char *text, size_t len, size_t pos)
{
	const BertTokenizer *tok = st->tok;
	int32_t		start = (int32_t) pos;
	int32_t		cp;
	int			cat;
	int32_t		low[2];
	int			nlow;

	pos += utf8_decode((const unsigned char *) text + pos, len - pos, &cp);
	cat = utf8proc_category(cp);
	if (is_removed(cp, cat))
		return pos;
	if (is_white_space(cp))
	{
		word_flush(st);
		st->prev_cased = false;
		return pos;
	}
	if (tok->tokenize_chinese_chars && is_cjk(cp))
	{
		word_flush(st);
		push_normalized(st, cp, start, (int32_t) pos);
		word_flush(st);
		st->prev_cased = false;
		return pos;
	}

	/*
	 * A word already longer than max_input_chars_per_word is [UNK] whatever
	 * follows; a character that cannot end it only extends its span, so
	 * skip normalizing it.  Letters, marks and digits lower-case and
	 * decompose to letters, marks and digits; another character can end the
	 * word only if it is punctuation or decomposes (U+2260 has '=' inside).
	 */
	if (st->count > tok->max_input_chars_per_word && !is_punct(cp, cat) &&
		(is_word_category(cat) ||
		 utf8proc_get_property(cp)->decomp_seqindex == UINT16_MAX))
	{
		st->count++;
		st->word_end = (int32_t) pos;
		if (tok->do_lower_case && !is_case_ignorable(cp, cat))
			st->prev_cased = is_cased(cp, cat);
		return pos;
	}

	nlow = lowercase(st, cp, cat, text + pos, len - pos, low);
	for (int i = 0; i < nlow; i++)
		push_normalized(st, low[i], start, (int32_t) pos);
	return pos;
}

/*
 * BertTokenize, or with words_only BertPreTokenize: one token per word
 * (id -1) instead of its pieces.
 */
static void
tokenize(const BertTokenizer *tok, const char *text, size_t len,
		 int max_tokens, BertTokens *out, bool words_only)
{
	TokState	st;
	size_t		pos = 0;
	uint32_t	steps = 0;

	if (out->n >= max_tokens || len == 0)
		return;

	memset(&st, 0, sizeof(st));
	st.tok = tok;
	st.out = out;
	st.max_tokens = max_tokens;
	st.words_only = words_only;
	word_alloc(&st, Min(WORD_INITIAL_CAP, tok->max_input_chars_per_word + 1));

	while (pos < len && !st.done)
	{
		if (++steps % INTERRUPT_INTERVAL == 0)
			TOKENIZER_CHECK_INTERRUPTS();
		if ((unsigned char) text[pos] < 0x80)
			pos = tokenize_ascii(&st, text, len, pos);
		else
			pos = tokenize_char(&st, text, len, pos);
	}
	word_flush(&st);
	pfree(st.cps);
}

/*
 * Tokenizes UTF-8 text of `len` bytes into word pieces, appending to `out`
 * (zeroed, or holding palloc'd arrays; grown with repalloc).  Stops as soon
 * as `max_tokens` pieces are in `out`.  Invalid UTF-8 bytes are treated as
 * U+FFFD (dropped).
 */
void
BertTokenize(const BertTokenizer *tok, const char *text, size_t len,
			 int max_tokens, BertTokens *out)
{
	tokenize(tok, text, len, max_tokens, out, false);
}

/*
 * The words of UTF-8 text as the pre-tokenizer cuts them (steps 1-5 of the
 * pipeline: special tokens, white space, punctuation, CJK ideographs, after
 * normalization), appended to `words` (as for BertTokenize): one entry per
 * word, id -1 (a special token's id for a special token), start / end the
 * word's source byte span.  Every word yields at least one word piece
 * ([UNK] at worst), and tokenizing a word's span alone yields one word.
 */
void
BertPreTokenize(const BertTokenizer *tok, const char *text, size_t len,
				BertTokens *words)
{
	tokenize(tok, text, len, INT32_MAX, words, true);
}

/*
 * Builds [CLS] A [SEP] (b == NULL) or [CLS] A [SEP] B [SEP] truncated to
 * max_len tokens; pairs are truncated longest-first (ties cut A).
 */
void
BertEncode(const BertTokenizer *tok, const char *a, size_t a_len,
		   const char *b, size_t b_len, int max_len, BertInput *out)
{
	BertTokens	ta;
	BertTokens	tb;
	int			budget = max_len - (b != NULL ? 3 : 2);
	int			la;
	int			lb = 0;
	int			len;
	int			i = 0;

	memset(&ta, 0, sizeof(ta));
	memset(&tb, 0, sizeof(tb));
	if (budget < 0)
		budget = 0;

	/* no side keeps more than the budget, so no side needs more */
	BertTokenize(tok, a, a_len, budget, &ta);
	la = ta.n;
	if (b != NULL)
	{
		BertTokenize(tok, b, b_len, budget, &tb);
		lb = tb.n;
		while ((int64_t) la + lb > budget)
		{
			if (la >= lb)
				la--;
			else
				lb--;
		}
	}

	len = la + lb + (b != NULL ? 3 : 2);
	out->len = len;
	out->a_len = la;
	out->b_len = lb;
	out->input_ids = palloc(sizeof(int32_t) * len);
	out->token_type_ids = palloc(sizeof(int32_t) * len);
	out->start = palloc(sizeof(int32_t) * len);
	out->end = palloc(sizeof(int32_t) * len);

#define PUT(id_, type_, start_, end_) \
	do { \
		out->input_ids[i] = (id_); \
		out->token_type_ids[i] = (type_); \
		out->start[i] = (start_); \
		out->end[i] = (end_); \
		i++; \
	} while (0)

	PUT(tok->cls_id, 0, -1, -1);
	for (int k = 0; k < la; k++)
		PUT(ta.ids[k], 0, ta.start[k], ta.end[k]);
	PUT(tok->sep_id, 0, -1, -1);
	if (b != NULL)
	{
		for (int k = 0; k < lb; k++)
			PUT(tb.ids[k], 1, tb.start[k], tb.end[k]);
		PUT(tok->sep_id, 1, -1, -1);
	}
#undef PUT

	if (ta.ids != NULL)
	{
		pfree(ta.ids);
		pfree(ta.start);
		pfree(ta.end);
	}
	if (tb.ids != NULL)
	{
		pfree(tb.ids);
		pfree(tb.start);
		pfree(tb.end);
	}
}
