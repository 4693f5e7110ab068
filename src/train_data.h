/*
 * train_data.h
 *		Training examples: the tokenized rows kept for a run, packing them
 *		into batches, and the input recipes of the three tasks (sequence
 *		pairs, word-aligned token labels, masked LM + next sentence).
 *
 * Pure C over palloc (train_data.c): no fmgr, no ereport.
 */
#ifndef BERT_TRAIN_DATA_H
#define BERT_TRAIN_DATA_H

#include "train.h"

/* One example: its tokens in the set's arrays. */
typedef struct BertExample
{
	int64_t		offset;			/* first token in ids */
	int32_t		len;			/* tokens, [CLS] and [SEP] included */
	int32_t		b_start;		/* first token of segment B (token type 1);
								 * len when there is no B */
	int32_t		label;			/* sequence label, next-sentence label, or
								 * the document of a sentence */
} BertExample;

/*
 * Examples with their tokens packed one after another: 16 bytes per
 * example and 4 per token (8 with per-token labels).
 */
typedef struct BertExampleSet
{
	int			n;
	int			cap;
	BertExample *ex;			/* (cap) */
	int64_t		n_tokens;
	int64_t		cap_tokens;
	int32_t    *ids;			/* (cap_tokens) */
	bool		with_token_labels;	/* keeps a label per token */
	int32_t    *token_labels;	/* (cap_tokens) when with_token_labels */
} BertExampleSet;

/* Buffers of a packed batch, grown as needed (zero-initialise). */
typedef struct BertBatchBuffers
{
	int			cap[5];			/* capacity of each array below */
	int		   *seq_start;		/* (sequences + 1) */
	int32_t    *ids;			/* (tokens) */
	int32_t    *types;			/* (tokens) */
	int32_t    *labels;			/* (max(tokens, sequences)) */
	int32_t    *nsp;			/* (sequences) */
} BertBatchBuffers;

extern void BertExamplesInit(BertExampleSet *set, bool token_labels);
extern void BertExamplesFree(BertExampleSet *set);
extern const char *BertExamplesAdd(BertExampleSet *set, const int32_t *ids,
								   const int32_t *token_labels, int len,
								   int b_start, int32_t label);
extern size_t BertExamplesBytes(const BertExampleSet *set);

extern void BertExamplesBatch(const BertExampleSet *set, const int *order,
							  int n, BertTask task, BertBatchBuffers *buf,
							  BertTrainBatch *b);

extern int	BertPairIds(int32_t *out, int *b_start, const BertTokenizer *tok,
						const int32_t *a, int a_len, const int32_t *b,
						int b_len, int max_len);
extern int	BertAlignWords(int32_t *ids, int32_t *labels,
						   const BertTokenizer *tok, const char *const *words,
						   const int *word_lens, const int32_t *tags,
						   int n_words, int max_len, BertTokens *scratch);
extern int	BertWordAt(const int32_t *starts, const int32_t *ends, int n,
					   int32_t offset, bool at_end, int *inside);
extern void BertMaskTokens(int32_t *ids, int32_t *labels, int len,
						   const BertTokenizer *tok, int vocab_size,
						   double probability, BertRng *rng);
extern const char *BertNextSentencePairs(BertExampleSet *out,
										 const BertExampleSet *sentences,
										 const BertTokenizer *tok,
										 int max_len, BertRng *rng);
extern int	BertSplitSentences(const char *text, int len, int *starts,
							   int *ends, int max_sentences);

#endif							/* BERT_TRAIN_DATA_H */
