/*
 * retrieval.c
 *		Post-processing for sentence pairs and retrieval: cross-encoder
 *		scores (sentence-transformers CrossEncoder), zero-shot scores
 *		(transformers ZeroShotClassificationPipeline) and chunk boundaries.
 *
 * Pure computation over arrays the caller owns; see retrieval.h.
 */
#include "postgres.h"

#include <math.h>

#include "retrieval.h"

/* Sigmoid of one logit, or softmax probability of the last of several. */
float
BertCrossEncoderScore(const float *logits, int num_labels)
{
	double		max = logits[0],
				sum = 0.0;

	if (num_labels == 1)
		return (float) (1.0 / (1.0 + exp(-(double) logits[0])));
	for (int i = 1; i < num_labels; i++)
		max = Max(max, logits[i]);
	for (int i = 0; i < num_labels; i++)
		sum += exp(logits[i] - max);
	return (float) (exp(logits[num_labels - 1] - max) / sum);
}

/* First label id named "entail..." (any case), or -1. */
int
BertEntailmentLabel(char *const *id2label, int num_labels)
{
	for (int i = 0; i < num_labels; i++)
		if (pg_strncasecmp(id2label[i], "entail", 6) == 0)
			return i;
	return -1;
}

/* Zero-shot scores of n candidates from their (n, num_labels) logits. */
void
BertZeroShotScores(float *scores, const float *logits, int n, int num_labels,
				   int entailment, bool multi_label)
{
	int			contradiction = (entailment == 0) ? num_labels - 1 : 0;

	if (multi_label || n == 1)
	{
		/* softmax of [contradiction, entailment], per candidate */
		for (int i = 0; i < n; i++)
		{
			double		c = logits[(size_t) i * num_labels + contradiction];
			double		e = logits[(size_t) i * num_labels + entailment];

			scores[i] = (float) (1.0 / (1.0 + exp(c - e)));
		}
	}
	else
	{
		/* softmax of the entailment logits across the candidates */
		double		max = logits[entailment],
					sum = 0.0;

		for (int i = 1; i < n; i++)
			max = Max(max, logits[(size_t) i * num_labels + entailment]);
		for (int i = 0; i < n; i++)
			sum += exp(logits[(size_t) i * num_labels + entailment] - max);
		for (int i = 0; i < n; i++)
			scores[i] = (float) (exp(logits[(size_t) i * num_labels + entailment] - max) / sum);
	}
}

typedef struct ScoredIndex
{
	float		score;
	int			index;
} ScoredIndex;

static int
compare_scored(const void *a, const void *b)
{
	const ScoredIndex *x = a;
	const ScoredIndex *y = b;

	if (x->score != y->score)
		return (x->score > y->score) ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Indices by score, highest first; equal scores keep their input order. */
void
BertOrderByScore(int *order, const float *scores, int n)
{
	ScoredIndex *s = palloc(sizeof(ScoredIndex) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		s[i].score = scores[i];
		s[i].index = i;
	}
	qsort(s, n, sizeof(ScoredIndex), compare_scored);
	for (int i = 0; i < n; i++)
		order[i] = s[i].index;
	pfree(s);
}

/* Whether a word piece begins a word (no continuing_subword_prefix). */
bool
BertPieceStartsWord(const BertTokenizer *tok, int32_t id)
{
	size_t		plen = strlen(tok->continuing_subword_prefix);

	if (id == tok->unk_id || id == tok->cls_id || id == tok->sep_id ||
		id == tok->pad_id || id == tok->mask_id || plen == 0)
		return true;
	return strncmp(tok->tokens[id], tok->continuing_subword_prefix, plen) != 0;
}

/* The last position in [1, max_tokens] where a cut of kind >= kind may go, or 0. */
static int
last_cut(const uint8_t *cut, int max_tokens, BertCut kind)
{
	for (int i = max_tokens; i >= 1; i--)
		if (cut[i] >= kind)
			return i;
	return 0;
}

/*
 * Next chunk of at most max_tokens pieces, cut between words (inside a
 * word only when it is longer than max_tokens), and where the chunk after
 * it starts so that it repeats at most `overlap` pieces of whole words.
 */
void
BertChunkCut(const uint8_t *cut, int n, bool at_end, int max_tokens,
			 int overlap, int *len, int *next)
{
	int			end;
	int			word;
	int			room;

	if (at_end && n <= max_tokens)
	{
		*len = *next = n;		/* the rest of the document */
		return;
	}
	end = last_cut(cut, max_tokens, BERT_CUT_WORD);
	if (end == 0)
	{
		/* the first word has more than max_tokens pieces: cut inside it */
		end = last_cut(cut, max_tokens, BERT_CUT_INSIDE_WORD);
		*len = *next = (end > 0) ? end : max_tokens;
		return;
	}
	*len = *next = end;
	if (overlap == 0)
		return;

	/*
	 * Pieces of the word after the cut (more than max_tokens if it runs to
	 * the end of what is seen and the document goes on), then the earliest
	 * word start after piece 0 whose words up to the cut fit in the overlap
	 * and leave room for that word.
	 */
	word = 1;
	while (end + word < n && cut[end + word] != BERT_CUT_WORD)
		word++;
	if (end + word == n && !at_end)
		word = max_tokens + 1;
	room = Min(overlap, max_tokens - word);
	for (int j = 1; j < end; j++)
		if (cut[j] == BERT_CUT_WORD && end - j <= room)
		{
			*next = j;
			break;
		}
}
