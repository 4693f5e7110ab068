/*
 * retrieval.h
 *		Pure post-processing for sentence pairs and retrieval: cross-encoder
 *		scores, zero-shot scores and ordering, and where to cut a document
 *		into chunks of word pieces.
 *
 * No fmgr code and no ereport: inputs are validated by the callers
 * (sql_pairs.c), these functions only compute.
 */
#ifndef BERT_RETRIEVAL_H
#define BERT_RETRIEVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tokenizer.h"

/*
 * Relevance score of one (query, document) pair from its logits
 * (num_labels), as sentence-transformers' CrossEncoder.predict: the sigmoid
 * of the logit of a one-label model, else the softmax probability of the
 * last label.
 */
extern float BertCrossEncoderScore(const float *logits, int num_labels);

/*
 * Label id of the entailment class of an NLI model: the first id whose
 * id2label name starts with "entail", in any case (transformers'
 * ZeroShotClassificationPipeline.entailment_id); -1 if none.
 */
extern int	BertEntailmentLabel(char *const *id2label, int num_labels);

/*
 * Zero-shot scores (n) of n candidate labels from the NLI logits
 * (n, num_labels) of their (text, hypothesis) pairs, as
 * ZeroShotClassificationPipeline.postprocess: with multi_label (or a single
 * candidate) the softmax of [contradiction, entailment] of each candidate,
 * contradiction being label 0 (the last label when entailment is 0); else
 * the softmax of the entailment logits across the candidates.  Needs
 * num_labels >= 2 and 0 <= entailment < num_labels.
 */
extern void BertZeroShotScores(float *scores, const float *logits, int n,
							   int num_labels, int entailment,
							   bool multi_label);

/* order (n): indices of scores (n), highest score first, ties by index. */
extern void BertOrderByScore(int *order, const float *scores, int n);

/*
 * How a document may be cut just before a word piece, worst to best.  A
 * cut inside a character happens where one character gives several pieces
 * (a Hangul syllable decomposes into its jamo); both chunks then contain
 * that character.
 */
typedef enum BertCut
{
	BERT_CUT_INSIDE_CHAR = 0,	/* the piece shares a character with the last */
	BERT_CUT_INSIDE_WORD = 1,	/* between pieces of a word, between characters */
	BERT_CUT_WORD = 2			/* between words */
} BertCut;

/*
 * True when word piece `id` begins a word: any piece that does not carry
 * the tokenizer's continuing_subword_prefix ("##"), and [UNK] and the
 * special tokens, which always stand for a whole word.  WordPiece looks up
 * every piece after a word's first with the prefix and the first without
 * it, and the pre-tokenizer splits the prefix's punctuation off into words
 * of its own, so no first piece carries it.
 */
extern bool BertPieceStartsWord(const BertTokenizer *tok, int32_t id);

/*
 * Cuts the next chunk from the word pieces that follow the previous one.
 * cut (n): how the document may be cut before each piece (BertCut; cut[0]
 * is not read: piece 0 is where the chunk begins, maybe inside a word
 * that the previous chunk split); at_end: the document has no pieces
 * after these n.  Unless at_end, n must be at least 2 * max_tokens + 1, so
 * that the word after the cut is seen whole or known to be longer than
 * max_tokens.
 *
 * The chunk is the longest run of whole words from piece 0 with at most
 * max_tokens pieces.  When the first word alone has more, the chunk is its
 * longest run of at most max_tokens pieces that ends between characters,
 * or its first max_tokens pieces when one character has more.  *len =
 * pieces in the chunk (1..max_tokens).  *next = first piece of the next
 * chunk: *len, or earlier by the longest run of whole words at the chunk's
 * end of at most `overlap` pieces that leaves room for the whole word that
 * follows (none after a cut inside a word, none that would start the next
 * chunk where this one starts).  When at_end and *next == n, the document
 * is done.  Requires 1 <= max_tokens and 0 <= overlap < max_tokens.
 */
extern void BertChunkCut(const uint8_t *cut, int n, bool at_end,
						 int max_tokens, int overlap, int *len, int *next);

#endif							/* BERT_RETRIEVAL_H */
