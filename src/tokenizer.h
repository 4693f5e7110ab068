/*
 * tokenizer.h
 *		WordPiece tokenizer with Hugging Face BertTokenizer(Fast) semantics.
 *
 * Pure C over palloc: no fmgr code and no ereport, so the same source builds
 * into standalone harnesses (oracle comparison, fuzzing).  Functions that can
 * fail return an error message (NULL on success) and leave reporting to the
 * caller.
 *
 * Pipeline (Hugging Face `tokenizers`: AddedVocabulary split on special
 * tokens, BertNormalizer, BertPreTokenizer, WordPiece model):
 *	 1. special tokens written in the text ("[MASK]", "[SEP]", ...) are cut out
 *		and kept whole (matched case-sensitively on the raw text);
 *	 2. clean: drop NUL, U+FFFD and categories Cc/Cf/Co except \t \n \r;
 *		Unicode White_Space becomes ' ';
 *	 3. CJK ideographs get spaces around them (tokenize_chinese_chars);
 *	 4. lower-case when do_lower_case (full mapping, as the oracle: U+0130
 *		becomes "i" + U+0307, capital sigma at a word end final sigma); then
 *		strip accents (NFD, drop Mn) when strip_accents, which defaults to
 *		do_lower_case;
 *	 5. split on whitespace, then split out every punctuation character;
 *	 6. WordPiece: greedy longest match, continuation pieces prefixed by
 *		continuing_subword_prefix ("##"); a word longer than
 *		max_input_chars_per_word (100) code points, or one with no match,
 *		becomes [UNK].
 * Every token carries the byte span [start, end) of the original text it
 * came from, so callers can return offsets into what the user wrote.
 */
#ifndef BERT_TOKENIZER_H
#define BERT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BERT_MAX_INPUT_CHARS_PER_WORD 100
#define BERT_MAX_TOKEN_BYTES 1024	/* longest vocabulary entry accepted */

typedef struct BertTokenizer
{
	/* vocabulary: id -> token text (NUL-terminated UTF-8) */
	int			vocab_size;
	char	  **tokens;
	int32_t    *token_lens;		/* (vocab_size) byte length of each token */
	int			max_token_bytes;	/* longest token; bounds WordPiece candidates */
	/* open-addressing hash: token text -> id */
	int			hash_size;		/* power of two, > 2 * vocab_size */
	int32_t    *hash_ids;		/* (hash_size), -1 = empty */

	/* special-token ids, read from the vocabulary */
	int32_t		cls_id;
	int32_t		sep_id;
	int32_t		unk_id;
	int32_t		pad_id;
	int32_t		mask_id;		/* -1 when the vocabulary has no [MASK] */

	/* tokenizer_config.json */
	bool		do_lower_case;
	bool		strip_accents;
	bool		tokenize_chinese_chars;
	int			max_input_chars_per_word;
	char		continuing_subword_prefix[16];
} BertTokenizer;

/* Word pieces of one text, without [CLS]/[SEP]. */
typedef struct BertTokens
{
	int			n;				/* tokens produced */
	int			cap;			/* allocated length of the arrays */
	int32_t    *ids;			/* (cap) vocabulary ids */
	int32_t    *start;			/* (cap) byte offset of the first source byte */
	int32_t    *end;			/* (cap) byte offset one past the last */
} BertTokens;

/* A model input: [CLS] A [SEP] or [CLS] A [SEP] B [SEP]. */
typedef struct BertInput
{
	int			len;			/* sequence length (tokens) */
	int32_t    *input_ids;		/* (len) */
	int32_t    *token_type_ids;	/* (len) 0 for A and its specials, 1 for B */
	int32_t    *start;			/* (len) byte offsets into its own text, */
	int32_t    *end;			/* (len) -1 for [CLS]/[SEP] */
	int			a_len;			/* word pieces kept from A */
	int			b_len;			/* word pieces kept from B (0 if none) */
} BertInput;

/*
 * Sets defaults (lower case, strip accents, CJK split, 100 chars, "##") and
 * loads a vocab.txt image: one token per line, id = line number, "\n" or
 * "\r\n" line ends.  Returns NULL or an error message.
 */
extern const char *BertTokenizerLoadVocabTxt(BertTokenizer *tok,
											 const char *data, size_t len);

/*
 * Sets defaults and loads a vocabulary from parallel arrays (as read from
 * tokenizer.json "model": {"vocab": {token: id}}).  Ids must be a
 * permutation of 0..n-1.  Returns NULL or an error message.
 */
extern const char *BertTokenizerLoadVocabPairs(BertTokenizer *tok, int n,
											   char *const *tokens,
											   const int32_t *ids);

/*
 * Finds the special tokens in the vocabulary.  Call after loading and after
 * setting the options.  Returns NULL or an error naming the missing token.
 */
extern const char *BertTokenizerFinish(BertTokenizer *tok);

/* Id of a token (exact bytes), or -1. */
extern int32_t BertTokenizerLookup(const BertTokenizer *tok,
								   const char *s, size_t len);

/*
 * Text of vocabulary entry `id`, or NULL when the vocabulary has no such id.
 * Every id-to-text lookup goes through here: a model's embedding table may
 * have more rows (config.json vocab_size) than its tokenizer has entries.
 */
static inline const char *
BertTokenizerToken(const BertTokenizer *tok, int32_t id)
{
	return (id >= 0 && id < tok->vocab_size) ? tok->tokens[id] : NULL;
}

/*
 * Tokenizes UTF-8 text of `len` bytes into word pieces, appending to `out`
 * (zeroed, or holding palloc'd arrays; they are grown with repalloc).  Stops as soon as `max_tokens` pieces are in
 * `out`, so the cost is bounded by the limit and not by the text length
 * beyond the point reached.  Invalid UTF-8 bytes are treated as U+FFFD
 * (dropped).
 */
extern void BertTokenize(const BertTokenizer *tok, const char *text,
						 size_t len, int max_tokens, BertTokens *out);

/*
 * The words of UTF-8 text as the pre-tokenizer (BertPreTokenizer after
 * BertNormalizer) cuts them, appended to `words`: id -1 (or the id of a
 * special token written in the text) and the word's byte span [start, end).
 * Tokenizing a word's span alone gives the pieces of that one word.
 */
extern void BertPreTokenize(const BertTokenizer *tok, const char *text,
							size_t len, BertTokens *words);

/*
 * Builds [CLS] A [SEP] (b == NULL) or [CLS] A [SEP] B [SEP] truncated to
 * max_len tokens; pairs are truncated longest-first as Hugging Face's
 * TruncationStrategy.LONGEST_FIRST.  max_len must be >= 2 (>= 3 for pairs).
 */
extern void BertEncode(const BertTokenizer *tok,
					   const char *a, size_t a_len,
					   const char *b, size_t b_len,
					   int max_len, BertInput *out);

#endif							/* BERT_TOKENIZER_H */
