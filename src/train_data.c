/*
 * train_data.c
 *		Training examples and the input recipes of each task.
 *
 *	 - sequence classification: [CLS] A [SEP] (B [SEP]) from the tokenizer
 *	   (BertEncode), one label per example;
 *	 - token classification: words tokenized one by one; the first piece of
 *	   each word carries its tag, the other pieces and [CLS] / [SEP] -100,
 *	   as Hugging Face's run_ner example (label_all_tokens off); from text
 *	   with character-span entities, the words are the pre-tokenizer's and
 *	   their tags IOB2 (BertWordAt checks the span boundaries);
 *	 - pre-training (Devlin et al. 2019, section 3.1): sentence pairs whose
 *	   B is the true next sentence half of the time and a random sentence of
 *	   another document otherwise, and masked-LM targets on 15% of the
 *	   tokens, of which 80% become [MASK], 10% a random token and 10% stay,
 *	   drawn anew each epoch (Hugging Face's DataCollatorForLanguageModeling).
 *
 * Only token ids are kept, never the texts: a run over N rows of T tokens
 * holds 16 N + 4 N T bytes (8 N T with per-token labels).
 *
 * Pure C over palloc: no fmgr, no ereport.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "train_data.h"

/* A copy of old (used bytes) in a new block of `bytes`; NULL if no memory. */
static void *
grow(void *old, size_t used, size_t bytes)
{
	void	   *p = palloc_extended(bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);

	if (p == NULL)
		return NULL;
	if (old)
	{
		memcpy(p, old, used);
		pfree(old);
	}
	return p;
}

/* An empty set; token_labels: keep a label per token. */
void
BertExamplesInit(BertExampleSet *set, bool token_labels)
{
	memset(set, 0, sizeof(*set));
	set->with_token_labels = token_labels;
}

void
BertExamplesFree(BertExampleSet *set)
{
	bool		token_labels = set->with_token_labels;

	if (set->ex)
		pfree(set->ex);
	if (set->ids)
		pfree(set->ids);
	if (set->token_labels)
		pfree(set->token_labels);
	BertExamplesInit(set, token_labels);
}

/*
 * Appends one example of len tokens (ids, and token_labels when the set
 * keeps them).  Returns NULL or an error message (out of memory).
 */
const char *
BertExamplesAdd(BertExampleSet *set, const int32_t *ids,
				const int32_t *token_labels, int len, int b_start,
				int32_t label)
{
	BertExample *e;

	if (set->n == set->cap)
	{
		int			cap = set->cap ? 2 * set->cap : 1024;

		if ((set->ex = grow(set->ex, sizeof(BertExample) * set->n,
							sizeof(BertExample) * cap)) == NULL)
			return "Out of memory for the training examples.";
		set->cap = cap;
	}
	if (set->n_tokens + len > set->cap_tokens)
	{
		int64_t		cap = Max(set->cap_tokens * 2, set->n_tokens + len + 65536);

		if ((set->ids = grow(set->ids, sizeof(int32_t) * set->n_tokens,
							 sizeof(int32_t) * cap)) == NULL)
			return "Out of memory for the tokens of the training examples.";
		if (set->with_token_labels &&
			(set->token_labels = grow(set->token_labels, sizeof(int32_t) * set->n_tokens,
									  sizeof(int32_t) * cap)) == NULL)
			return "Out of memory for the token labels of the training examples.";
		set->cap_tokens = cap;
	}
	e = &set->ex[set->n++];
	e->offset = set->n_tokens;
	e->len = len;
	e->b_start = b_start;
	e->label = label;
	memcpy(set->ids + set->n_tokens, ids, sizeof(int32_t) * len);
	if (set->with_token_labels)
		memcpy(set->token_labels + set->n_tokens, token_labels, sizeof(int32_t) * len);
	set->n_tokens += len;
	return NULL;
}

/* Bytes the set holds. */
size_t
BertExamplesBytes(const BertExampleSet *set)
{
	return sizeof(BertExample) * set->cap +
		sizeof(int32_t) * set->cap_tokens * (set->with_token_labels ? 2 : 1);
}

/* A buffer of at least n int32s (old one freed), grown to the next size. */
static int32_t *
reserve_ints(int32_t *old, int *cap, int n)
{
	if (n <= *cap)
		return old;
	if (old)
		pfree(old);
	*cap = Max(n, 2 * *cap);
	return palloc_extended(sizeof(int32_t) * *cap, MCXT_ALLOC_HUGE);
}

/* Makes room for seqs sequences of tokens in total. */
static void
reserve_batch(BertBatchBuffers *buf, int seqs, int tokens)
{
	buf->seq_start = (int *) reserve_ints((int32_t *) buf->seq_start, &buf->cap[0], seqs + 1);
	buf->ids = reserve_ints(buf->ids, &buf->cap[1], tokens);
	buf->types = reserve_ints(buf->types, &buf->cap[2], tokens);
	buf->labels = reserve_ints(buf->labels, &buf->cap[3], Max(seqs, tokens));
	buf->nsp = reserve_ints(buf->nsp, &buf->cap[4], seqs);
}

/*
 * Packs examples order[0..n) into b (backed by buf): sequences row after
 * row, token types from b_start, targets as the task needs them
 * (sequence labels; token labels; pre-training: next-sentence labels, the
 * masked-LM labels left for BertMaskTokens to fill).
 */
void
BertExamplesBatch(const BertExampleSet *set, const int *order, int n,
				  BertTask task, BertBatchBuffers *buf, BertTrainBatch *b)
{
	int			rows = 0;

	for (int i = 0; i < n; i++)
		rows += set->ex[order[i]].len;
	reserve_batch(buf, n, rows);
	rows = 0;
	for (int i = 0; i < n; i++)
	{
		const BertExample *e = &set->ex[order[i]];

		buf->seq_start[i] = rows;
		memcpy(buf->ids + rows, set->ids + e->offset, sizeof(int32_t) * e->len);
		for (int j = 0; j < e->len; j++)
			buf->types[rows + j] = j >= e->b_start;
		if (task == BERT_TASK_TOKEN_CLASSIFICATION)
			memcpy(buf->labels + rows, set->token_labels + e->offset,
				   sizeof(int32_t) * e->len);
		else if (task == BERT_TASK_SEQUENCE_CLASSIFICATION)
			buf->labels[i] = e->label;
		buf->nsp[i] = e->label;
		rows += e->len;
	}
	buf->seq_start[n] = rows;
	memset(b, 0, sizeof(*b));
	b->input.num_seqs = n;
	b->input.total_tokens = rows;
	b->input.seq_start = buf->seq_start;
	b->input.input_ids = buf->ids;
	b->input.token_type_ids = buf->types;
	b->labels = buf->labels;
	b->next_sentence_labels = task == BERT_TASK_PRETRAINING ? buf->nsp : NULL;
}

/*
 * [CLS] A [SEP] B [SEP] from word-piece ids, truncated longest-first to
 * max_len (>= 3) tokens as BertEncode does; out: (max_len).  Returns the
 * length; *b_start: the first token of B.
 */
int
BertPairIds(int32_t *out, int *b_start, const BertTokenizer *tok,
			const int32_t *a, int a_len, const int32_t *b, int b_len,
			int max_len)
{
	int			n = 0;

	while (a_len + b_len > max_len - 3)
	{
		if (a_len >= b_len)
			a_len--;
		else
			b_len--;
	}
	out[n++] = tok->cls_id;
	memcpy(out + n, a, sizeof(int32_t) * a_len);
	n += a_len;
	out[n++] = tok->sep_id;
	*b_start = n;
	memcpy(out + n, b, sizeof(int32_t) * b_len);
	n += b_len;
	out[n++] = tok->sep_id;
	return n;
}

/*
 * Tokenizes words one by one into [CLS] pieces [SEP] of at most max_len
 * (>= 2) tokens: ids (max_len), labels (max_len) the tag of the word at its
 * first piece and -100 elsewhere.  A word that yields no piece (only
 * dropped characters) contributes nothing, as with Hugging Face's
 * word_ids().  Returns the length.  scratch: zeroed or reused BertTokens.
 */
int
BertAlignWords(int32_t *ids, int32_t *labels, const BertTokenizer *tok,
			   const char *const *words, const int *word_lens,
			   const int32_t *tags, int n_words, int max_len,
			   BertTokens *scratch)
{
	int			n = 0;

	ids[n] = tok->cls_id;
	labels[n++] = BERT_IGNORE_INDEX;
	for (int w = 0; w < n_words && n < max_len - 1; w++)
	{
		scratch->n = 0;
		BertTokenize(tok, words[w], word_lens[w], max_len - 1 - n, scratch);
		for (int p = 0; p < scratch->n; p++)
		{
			ids[n] = scratch->ids[p];
			labels[n++] = p == 0 ? tags[w] : BERT_IGNORE_INDEX;
		}
	}
	ids[n] = tok->sep_id;
	labels[n++] = BERT_IGNORE_INDEX;
	return n;
}

/*
 * Where a span boundary falls among n words of byte spans [starts[i],
 * ends[i]) in text order (BertPreTokenize): the index of the word that
 * starts at offset (at_end false) or ends at offset (at_end true), or -1
 * with *inside the word the offset falls strictly inside (-1 when it falls
 * between words: white space or dropped characters).  Binary search.
 */
int
BertWordAt(const int32_t *starts, const int32_t *ends, int n, int32_t offset,
		   bool at_end, int *inside)
{
	int			lo = 0,
				hi = n;

	/* the first word whose end is past offset (at_end: at or past) */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (at_end ? ends[mid] < offset : ends[mid] <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	*inside = -1;
	if (lo == n)
		return -1;
	if (at_end ? ends[lo] == offset : starts[lo] == offset)
		return lo;
	if (starts[lo] < offset && offset < ends[lo])
		*inside = lo;
	return -1;
}

/*
 * Masked-LM targets for one packed sequence of len tokens, in place: each
 * token other than [CLS], [SEP] and [PAD] is chosen with `probability`;
 * a chosen token's label is its id, and it becomes [MASK] (80%), a token
 * drawn uniformly from the vocabulary (10%) or stays (10%).  labels of the
 * others: -100.
 */
void
BertMaskTokens(int32_t *ids, int32_t *labels, int len, const BertTokenizer *tok,
			   int vocab_size, double probability, BertRng *rng)
{
	for (int i = 0; i < len; i++)
	{
		double		r;

		labels[i] = BERT_IGNORE_INDEX;
		if (ids[i] == tok->cls_id || ids[i] == tok->sep_id || ids[i] == tok->pad_id ||
			BertRngUniform(rng) >= probability)
			continue;
		labels[i] = ids[i];
		r = BertRngUniform(rng);
		if (r < 0.8)
			ids[i] = tok->mask_id;
		else if (r < 0.9)
			ids[i] = (int32_t) BertRngBelow(rng, (uint32_t) vocab_size);
	}
}

/*
 * Next-sentence pairs of one epoch.  sentences: word pieces of every
 * sentence (no special tokens), label = its document, the sentences of a
 * document consecutive.  For every sentence followed by another of its
 * document: A = it, and B = the next sentence (label 0) or, with
 * probability 1/2, a random sentence of another document (label 1; of the
 * same document but not the next when there is only one document).
 * Appends [CLS] A [SEP] B [SEP] (truncated to max_len) to out.
 */
const char *
BertNextSentencePairs(BertExampleSet *out, const BertExampleSet *sentences,
					  const BertTokenizer *tok, int max_len, BertRng *rng)
{
	int32_t    *buf = palloc(sizeof(int32_t) * max_len);
	int			n = sentences->n;
	bool		one_document = n == 0 || sentences->ex[0].label == sentences->ex[n - 1].label;
	const char *error = NULL;

	for (int i = 0; i + 1 < n && error == NULL; i++)
	{
		const BertExample *a = &sentences->ex[i];
		const BertExample *b = &sentences->ex[i + 1];
		int			is_random = 0;
		int			len,
					b_start;

		if (b->label != a->label)
			continue;
		if (n > 2 && BertRngUniform(rng) < 0.5)
		{
			int			j;

			do
				j = (int) BertRngBelow(rng, (uint32_t) n);
			while (one_document ? (j == i + 1 || j == i)
				   : sentences->ex[j].label == a->label);
			b = &sentences->ex[j];
			is_random = 1;
		}
		len = BertPairIds(buf, &b_start, tok, sentences->ids + a->offset, a->len,
						  sentences->ids + b->offset, b->len, max_len);
		error = BertExamplesAdd(out, buf, NULL, len, b_start, is_random);
	}
	pfree(buf);
	return error;
}

/*
 * Splits text into sentences: at line breaks, and after '.', '!' or '?'
 * (and any closing quotes or brackets right after them) followed by
 * white space.  Leading and trailing white space is not part of a
 * sentence; empty ones are skipped.  starts / ends: byte offsets, room for
 * max_sentences.  Returns the number found (at most max_sentences).
 */
int
BertSplitSentences(const char *text, int len, int *starts, int *ends,
				   int max_sentences)
{
	int			n = 0;
	int			start = 0;

	for (int i = 0; i <= len && n < max_sentences; i++)
	{
		bool		cut = false;
		int			end = i;

		if (i == len || text[i] == '\n' || text[i] == '\r')
			cut = true;
		else if (text[i] == '.' || text[i] == '!' || text[i] == '?')
		{
			int			j = i + 1;

			while (j < len && strchr("\"')]", text[j]) != NULL && text[j] != '\0')
				j++;
			if (j < len && (text[j] == ' ' || text[j] == '\t'))
			{
				cut = true;
				end = j;
				i = j;
			}
		}
		if (!cut)
			continue;
		while (start < end && (text[start] == ' ' || text[start] == '\t' ||
							   text[start] == '\n' || text[start] == '\r'))
			start++;
		while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
			end--;
		if (end > start)
		{
			starts[n] = start;
			ends[n++] = end;
		}
		start = i + 1;
	}
	return n;
}
