/*
 * sql_pipelines.c
 *		SQL functions for the pre-training and token-level heads: fill-mask,
 *		next-sentence prediction, named entities, extractive question
 *		answering, and raw per-token logits.
 *
 * Each follows the Hugging Face pipeline of the same task (FillMaskPipeline,
 * TokenClassificationPipeline with aggregation_strategy="simple",
 * QuestionAnsweringPipeline) so that results match what a transformers user
 * gets.  Character offsets are 0-based, end exclusive, in the units substr()
 * counts in the database encoding (characters; bytes in SQL_ASCII):
 * substr(text, start_char + 1, end_char - start_char) returns the span as
 * written.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "bert.h"
#include "decoder.h"
#include "guc.h"
#include "heads.h"
#include "model.h"
#include "nn_ops.h"
#include "sql_common.h"

#define BERT_QA_MAX_SEQ_LEN 384		/* QuestionAnsweringPipeline default */
#define BERT_QA_DOC_STRIDE 128
#define BERT_QA_MAX_CONTEXT_TOKENS 100000
#define BERT_QA_MAX_WINDOW_TOKENS 400000	/* windows x window length */

/* A byte offset and where it came from, for sorting. */
typedef struct OffsetRef
{
	int32		offset;
	int			index;
} OffsetRef;

static int
offset_ref_cmp(const void *a, const void *b)
{
	int32		x = ((const OffsetRef *) a)->offset;
	int32		y = ((const OffsetRef *) b)->offset;

	return (x > y) - (x < y);
}

/*
 * Turns byte offsets into the UTF-8 form of a text (what the tokenizer
 * reports) into offsets in the units substr() counts in the database
 * encoding, in place; -1 stays -1.  Those units are characters, except in
 * SQL_ASCII, where substr() counts bytes (and the tokenizer read the text's
 * own bytes, verified as UTF-8): there the offsets are already right.  In
 * UTF-8 and the single-byte encodings one character is one code point; in
 * the other multibyte encodings a character may stand for several code
 * points (EUC_JIS_2004), so the text between two offsets is converted and
 * its characters counted.  One pass over the text up to the largest offset
 * and memory for the offsets only, however far apart they are.
 */
static void
server_char_offsets(const char *utf8, int32 *offsets, int n)
{
	int			encoding = GetDatabaseEncoding();
	OffsetRef  *refs;
	int			m = 0;
	int64		chars = 0;
	int32		pos = 0;

	if (encoding == PG_SQL_ASCII)
		return;
	refs = palloc(sizeof(OffsetRef) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (offsets[i] >= 0)
		{
			refs[m].offset = offsets[i];
			refs[m++].index = i;
		}
	qsort(refs, m, sizeof(OffsetRef), offset_ref_cmp);
	for (int r = 0; r < m; r++)
	{
		int32		target = refs[r].offset;

		if (target > pos && (encoding == PG_UTF8 || pg_encoding_max_length(encoding) == 1))
		{
			for (; pos < target; pos++)
				chars += (((unsigned char) utf8[pos] & 0xC0) != 0x80);
		}
		else if (target > pos)
		{
			char	   *server = pg_any_to_server(utf8 + pos, target - pos, PG_UTF8);

			chars += pg_mbstrlen_with_len(server, server == utf8 + pos
										  ? target - pos : (int) strlen(server));
			if (server != utf8 + pos)
				pfree(server);
			pos = target;
		}
		offsets[refs[r].index] = (int32) chars;
	}
	pfree(refs);
}

/*
 * Offsets (server_char_offsets) of the tokens of segment `type` of an input
 * into their own text, utf8: start (len) and end (len), -1 for the tokens of
 * the other segment and for [CLS]/[SEP].  The arrays are filled, not
 * allocated, so the two segments of a pair can share them.
 */
static void
token_char_offsets(const char *utf8, const BertInput *input, int type,
				   int32 *start, int32 *end)
{
	int32	   *both = palloc(sizeof(int32) * 2 * Max(input->len, 1));

	for (int i = 0; i < input->len; i++)
	{
		bool		mine = (input->token_type_ids[i] == type && input->start[i] >= 0);

		both[i] = mine ? input->start[i] : -1;
		both[input->len + i] = mine ? input->end[i] : -1;
	}
	server_char_offsets(utf8, both, 2 * input->len);
	for (int i = 0; i < input->len; i++)
		if (both[i] >= 0)
		{
			start[i] = both[i];
			end[i] = both[input->len + i];
		}
	pfree(both);
}

/* True for [CLS], [SEP], [PAD] and [MASK]: tokens that are not text. */
static bool
is_special(const BertTokenizer *tok, int32 id)
{
	return id == tok->cls_id || id == tok->sep_id || id == tok->pad_id ||
		id == tok->mask_id;
}

/* Vocabulary text of a token id, in the database encoding. */
static Datum
token_datum(const BertTokenizer *tok, int32 id)
{
	const char *token = BertTokenText(tok, id);

	return PointerGetDatum(BertCStringToText(token));
}

/* True if x[a] ranks below x[b]: a lower score, or the same and a higher id. */
static inline bool
ranks_below(const float *x, int32 a, int32 b)
{
	return x[a] < x[b] || (x[a] == x[b] && a > b);
}

/* Restores the min-heap (root: lowest ranked) below slot i of heap (n). */
static void
sift_down(const float *x, int32 *heap, int n, int i)
{
	for (;;)
	{
		int			low = i,
					l = 2 * i + 1,
					r = 2 * i + 2;
		int32		t;

		if (l < n && ranks_below(x, heap[l], heap[low]))
			low = l;
		if (r < n && ranks_below(x, heap[r], heap[low]))
			low = r;
		if (low == i)
			return;
		t = heap[i];
		heap[i] = heap[low];
		heap[low] = t;
		i = low;
	}
}

/*
 * Indices of the k largest of x (n), largest first, equal values by lower
 * index first (k <= n).  One pass keeps the k best in a binary min-heap,
 * then the heap is sorted in place: O(n log k) time, k ints of memory.
 */
static int32 *
top_k(const float *x, int n, int k)
{
	int32	   *heap = palloc(sizeof(int32) * k);

	for (int i = 0; i < k; i++)
		heap[i] = i;
	for (int i = k / 2 - 1; i >= 0; i--)
		sift_down(x, heap, k, i);
	for (int i = k; i < n; i++)
	{
		if (!ranks_below(x, heap[0], i))
			continue;
		heap[0] = i;
		sift_down(x, heap, k, 0);
	}
	/* heapsort: the lowest ranked moves to the end, so the best is first */
	for (int last = k - 1; last > 0; last--)
	{
		int32		t = heap[0];

		heap[0] = heap[last];
		heap[last] = t;
		sift_down(x, heap, last, 0);
	}
	return heap;
}

/*
 * Text of input_ids decoded as FillMaskPipeline does: [PAD] dropped, other
 * special tokens (also [UNK]) dropped when skip_special, pieces joined as
 * tokenizer.decode().
 */
static char *
decode_ids(const BertTokenizer *tok, const int32 *ids, int n, bool skip_special)
{
	const char **pieces = palloc(sizeof(char *) * Max(n, 1));
	int			kept = 0;

	for (int i = 0; i < n; i++)
	{
		if (ids[i] == tok->pad_id)
			continue;			/* FillMaskPipeline filters padding out */
		if (!skip_special || !(is_special(tok, ids[i]) || ids[i] == tok->unk_id))
			pieces[kept++] = BertTokenText(tok, ids[i]);
	}
	return BertDecodePieces(pieces, kept, tok->continuing_subword_prefix, true);
}

/* bounds what one bert_fill_mask() call returns (see bert_fill_mask) */
#define BERT_FILL_MASK_MAX_OUTPUT_TOKENS (1 << 24)
/*
 * The [MASK] tokens of the input, counted; raises the errors of an input
 * without any and of a result over BERT_FILL_MASK_MAX_OUTPUT_TOKENS, before
 * any forward pass is spent on it.
 */
static int
fill_mask_count(const BertModel *model, const BertInput *input, int k)
{
	const BertTokenizer *tok = &model->tokenizer;
	int			masks = 0;
	int64		output_tokens;

	for (int i = 0; i < input->len; i++)
		masks += (input->input_ids[i] == tok->mask_id);
	if (tok->mask_id < 0 || masks == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input has no [MASK] token"),
				 errdetail("bert_fill_mask() predicts the word at each [MASK] written in the text (within the first %d tokens).",
						   BertMaxLength(model)),
				 errhint("Write [MASK] where a word is missing, e.g. 'The capital of France is [MASK].'")));
	output_tokens = (int64) masks * k * input->len;
	if (output_tokens > BERT_FILL_MASK_MAX_OUTPUT_TOKENS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bert_fill_mask() result would be too large"),
				 errdetail("The input has %d [MASK] tokens among %d tokens: with top_k %d that is %lld rows, each with a sequence of %d tokens, %lld tokens in all; the limit is %d.",
						   masks, input->len, k, (long long) masks * k,
						   input->len, (long long) output_tokens,
						   BERT_FILL_MASK_MAX_OUTPUT_TOKENS),
				 errhint("Lower top_k, or pass fewer [MASK] tokens or a shorter text per call.")));
	return masks;
}

/*
 * The k rows of the [MASK] at `pos`: its top k tokens by probability, each
 * with the input decoded with the mask filled by it (`filled`: the input's
 * ids, restored before returning).
 */
static void
fill_mask_rows(BertRows *rows, BertModel *model, const BertInput *input,
			   const float *hidden, int pos, int k, bool skip_special,
			   float *logits, float *scratch, int32 *filled)
{
	const BertTokenizer *tok = &model->tokenizer;
	int32	   *best;

	CHECK_FOR_INTERRUPTS();
	BertMaskedLmLogits(logits, scratch, &model->config, &model->weights,
					   hidden + (size_t) pos * model->config.hidden_size);
	BertMappingCheck(model);
	BertSoftmax(logits, model->config.vocab_size);
	best = top_k(logits, tok->vocab_size, k);
	for (int r = 0; r < k; r++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		char	   *sequence;

		BertRowStart(rows);
		filled[pos] = best[r];
		sequence = decode_ids(tok, filled, input->len, skip_special);
		values[0] = Int32GetDatum(pos);
		values[1] = token_datum(tok, best[r]);
		values[2] = Int32GetDatum(best[r]);
		values[3] = Float4GetDatum(logits[best[r]]);
		values[4] = PointerGetDatum(BertCStringToText(sequence));
		BertRowPut(rows, values, nulls);
	}
	filled[pos] = input->input_ids[pos];
	pfree(best);
}

/*
 * bert_fill_mask(text [, model] [, top_k int DEFAULT 5])
 *   -> TABLE(position int, token text, token_id int, score real, sequence text)
 * For every [MASK] in the text (position = its index in input_ids), the
 * top_k vocabulary entries by softmax probability of the masked-LM head
 * (BertLMPredictionHead: dense, activation, LayerNorm, decoder tied to the
 * word embeddings, bias).  `sequence` is the input with that mask filled,
 * decoded as FillMaskPipeline does (special tokens kept when the text has
 * several masks).
 *
 * The softmax runs over every row of the decoder (config.json vocab_size),
 * as transformers computes it; an embedding table may have more rows than
 * the tokenizer has entries (vocab_size padded to a round number), and those
 * ids, which have no text, are never returned, so top_k is capped at the
 * tokenizer's vocabulary.  A call returns masks x top_k rows, each carrying
 * a sequence of the input's length; their product (the tokens of all the
 * `sequence` values) is bounded by BERT_FILL_MASK_MAX_OUTPUT_TOKENS, checked
 * before the forward pass.
 */
PG_FUNCTION_INFO_V1(bert_fill_mask);
Datum
bert_fill_mask(PG_FUNCTION_ARGS)
{
	bool		has_model = (PG_NARGS() == 3);
	int			k = PG_GETARG_INT32(has_model ? 2 : 1);
	BertModel  *model = BertModelArg(fcinfo, has_model ? 1 : -1,
									 bert_fill_mask_model, "bert.fill_mask_model");
	const BertTokenizer *tok = &model->tokenizer;
	BertInput	input;
	const float *hidden;
	float	   *logits;
	float	   *scratch;
	int			masks;
	int32	   *filled;
	BertRows	rows;

	BertRequireHead(model, BERT_HEAD_MASKED_LM, "bert_fill_mask",
					"a masked-language-model head (BertForMaskedLM, BertForPreTraining or DistilBertForMaskedLM)");
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be at least 1")));
	/* ids past the tokenizer's vocabulary have no text: never returned */
	k = Min(k, tok->vocab_size);
	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	masks = fill_mask_count(model, &input, k);

	hidden = BertForward(model, &input);
	logits = palloc(sizeof(float) * model->config.vocab_size);
	scratch = palloc(sizeof(float) * model->config.hidden_size);
	filled = palloc(sizeof(int32) * input.len);
	memcpy(filled, input.input_ids, sizeof(int32) * input.len);
	BertRowsBegin(fcinfo, &rows);
	/* special tokens are kept in the sequences when the text has several masks */
	for (int pos = 0; pos < input.len; pos++)
		if (input.input_ids[pos] == tok->mask_id)
			fill_mask_rows(&rows, model, &input, hidden, pos, k, masks == 1,
						   logits, scratch, filled);
	return (Datum) 0;
}

/*
 * bert_next_sentence(text, text [, model]) -> real
 * Probability that the second text follows the first: softmax of the
 * next-sentence head (cls.seq_relationship on pooler_output), label 0 =
 * "is next".  The pair is encoded [CLS] A [SEP] B [SEP] with
 * token_type_ids 0/1, truncated longest-first.
 */
PG_FUNCTION_INFO_V1(bert_next_sentence);
Datum
bert_next_sentence(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 2 ? 2 : -1, bert_fill_mask_model, "bert.fill_mask_model");
	BertInput	input;
	const float *hidden;
	float		logits[2];
	float	   *scratch = palloc(sizeof(float) * model->config.hidden_size);

	if (model->config.head != BERT_HEAD_PRETRAINING)
		BertRequireHead(model, BERT_HEAD_PRETRAINING, "bert_next_sentence",
						"a next-sentence-prediction head (BertForPreTraining)");
	BertEncodeText(model, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), &input);
	hidden = BertForward(model, &input);
	BertNextSentenceLogits(logits, scratch, &model->config, &model->weights, hidden);
	BertMappingCheck(model);
	BertSoftmax(logits, 2);
	PG_RETURN_FLOAT4(logits[0]);
}

/* One token's prediction, as TokenClassificationPipeline gathers it. */
typedef struct TokenEntity
{
	int			label;
	float		score;
	const char *word;
	int			start_char;
	int			end_char;
} TokenEntity;

/* B-/I- prefix and tag of a label; a label without one counts as I-. */
static const char *
entity_tag(const char *label, bool *is_begin)
{
	*is_begin = (strncmp(label, "B-", 2) == 0);
	if (*is_begin || strncmp(label, "I-", 2) == 0)
		return label + 2;
	return label;
}

/* Emits one grouped entity unless its group is "O". */
static void
emit_entity(BertRows *rows, const BertModel *model,
			const TokenEntity *group, int n, const char *prefix)
{
	const char *label = model->config.id2label[group[0].label];
	const char *dash = strchr(label, '-');
	const char *entity_group = dash ? dash + 1 : label;
	const char **words;
	double		score = 0.0;
	char	   *entity;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (strcmp(entity_group, "O") == 0)
		return;
	BertRowStart(rows);
	words = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		words[i] = group[i].word;
		score += group[i].score;
	}
	entity = BertDecodePieces(words, n, prefix, false);
	values[0] = PointerGetDatum(BertCStringToText(entity));
	values[1] = PointerGetDatum(BertCStringToText(entity_group));
	values[2] = Float4GetDatum((float4) (score / n));
	values[3] = Int32GetDatum(group[0].start_char);
	values[4] = Int32GetDatum(group[n - 1].end_char);
	BertRowPut(rows, values, nulls);
}

/*
 * bert_ner(text [, model])
 *   -> TABLE(entity text, label text, score real, start_char int, end_char int)
 * Named entities of a token classifier, grouped as Hugging Face's
 * TokenClassificationPipeline with aggregation_strategy="simple": each
 * token takes its argmax label; adjacent tokens with the same tag are
 * merged unless the later one is B-; groups labelled O are dropped; the
 * score is the mean of the tokens' probabilities; `entity` is the tokens
 * decoded (word pieces joined).
 */
PG_FUNCTION_INFO_V1(bert_ner);
Datum
bert_ner(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_ner_model, "bert.ner_model");
	const BertTokenizer *tok = &model->tokenizer;
	text	   *t = PG_GETARG_TEXT_PP(0);
	int			labels = model->config.num_labels;
	size_t		len;
	char	   *utf8;
	int32	   *start_char,
			   *end_char;
	BertInput	input;
	const float *hidden;
	float	   *logits;
	TokenEntity *entities;
	int			n = 0,
				group_start = 0;
	BertRows	rows;

	BertRequireHead(model, BERT_HEAD_TOKEN_CLASSIFICATION, "bert_ner",
					"a token classifier (BertForTokenClassification or DistilBertForTokenClassification)");
	utf8 = BertTextToUtf8(t, &len);
	BertEncodeText(model, t, NULL, &input);
	start_char = palloc(sizeof(int32) * input.len);
	end_char = palloc(sizeof(int32) * input.len);
	token_char_offsets(utf8, &input, 0, start_char, end_char);
	hidden = BertForward(model, &input);
	logits = palloc(sizeof(float) * input.len * labels);
	BertTokenLogits(logits, &model->config, &model->weights, hidden, input.len);
	BertMappingCheck(model);

	entities = palloc(sizeof(TokenEntity) * input.len);
	for (int i = 0; i < input.len; i++)
	{
		float	   *p = logits + (size_t) i * labels;
		TokenEntity *e = &entities[n];
		int32		id = input.input_ids[i];

		if (is_special(tok, id) || input.start[i] < 0)
			continue;
		BertSoftmax(p, labels);
		e->label = 0;
		for (int l = 1; l < labels; l++)
			if (p[l] > p[e->label])
				e->label = l;
		e->score = p[e->label];
		e->start_char = start_char[i];
		e->end_char = end_char[i];
		/* an unknown word shows as written, as the pipeline does */
		e->word = (id == tok->unk_id)
			? pnstrdup(utf8 + input.start[i], input.end[i] - input.start[i])
			: BertTokenText(tok, id);
		n++;
	}

	BertRowsBegin(fcinfo, &rows);
	for (int i = 1; i <= n; i++)
	{
		bool		begin,
					last_begin;
		const char *tag,
				   *last_tag;

		if (i < n)
		{
			tag = entity_tag(model->config.id2label[entities[i].label], &begin);
			last_tag = entity_tag(model->config.id2label[entities[i - 1].label], &last_begin);
			if (strcmp(tag, last_tag) == 0 && !begin)
				continue;
		}
		emit_entity(&rows, model, entities + group_start, i - group_start,
					tok->continuing_subword_prefix);
		group_start = i;
	}
	return (Datum) 0;
}

/* Best answer span of one window, as QuestionAnsweringPipeline scores it. */
typedef struct QaSpan
{
	double		score;
	int			start_token;	/* index into the context's word pieces */
	int			end_token;
} QaSpan;

/*
 * Scores one window: softmax of start and end logits over [CLS] and the
 * context tokens (everything else masked), [CLS] then zeroed; the best
 * start <= end < start + max_answer_len maximises p_start * p_end.
 */
static void
score_window(const float *start_logits, const float *end_logits,
			 int ctx_first, int ctx_count, int ctx_offset,
			 int max_answer_len, QaSpan *best)
{
	double		max_s = start_logits[0],
				max_e = end_logits[0],
				sum_s = 0.0,
				sum_e = 0.0;
	double	   *ps = palloc(sizeof(double) * ctx_count);
	double	   *pe = palloc(sizeof(double) * ctx_count);

	for (int i = 0; i < ctx_count; i++)
	{
		max_s = Max(max_s, start_logits[ctx_first + i]);
		max_e = Max(max_e, end_logits[ctx_first + i]);
	}
	sum_s = exp(start_logits[0] - max_s);
	sum_e = exp(end_logits[0] - max_e);
	for (int i = 0; i < ctx_count; i++)
	{
		ps[i] = exp(start_logits[ctx_first + i] - max_s);
		pe[i] = exp(end_logits[ctx_first + i] - max_e);
		sum_s += ps[i];
		sum_e += pe[i];
	}
	for (int i = 0; i < ctx_count; i++)
		for (int j = i; j < ctx_count && j - i < max_answer_len; j++)
		{
			double		score = (ps[i] / sum_s) * (pe[j] / sum_e);

			if (score > best->score)
			{
				best->score = score;
				best->start_token = ctx_offset + i;
				best->end_token = ctx_offset + j;
			}
		}
	pfree(ps);
	pfree(pe);
}

/*
 * The context tokens a window holds besides [CLS], the question and two
 * [SEP]; raises the errors of a question that leaves no room, of windows
 * that would not advance and of a context that needs too many windows
 * (see bert_answer).
 */
static int
qa_window_room(int max_len, int stride, int question_len, int context_len)
{
	int			window_len = max_len - question_len - 3;

	if (window_len < 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("question is too long"),
				 errdetail("A window holds %d tokens besides [CLS] and two [SEP], and the question fills them all, leaving no room for the context.",
						   max_len - 3),
				 errhint("Shorten the question.")));

	if (context_len > window_len)
	{
		int64		step = window_len - stride;
		int64		windows;
		int			max_windows = BERT_QA_MAX_WINDOW_TOKENS / max_len;

		if (step < 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("question leaves too little room for the context"),
					 errdetail("A window of %d tokens holds [CLS], the question's %d tokens and two [SEP], leaving %d for the context; consecutive windows share %d context tokens (doc_stride), so windows over the context's %d tokens would not advance.",
							   max_len, question_len, window_len, stride, context_len),
					 errhint("Shorten the question to at most %d tokens, or the context to at most %d.",
							 max_len - 3 - stride - 1, window_len)));
		windows = 1 + (context_len - window_len + step - 1) / step;
		if (windows > max_windows)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("context needs too many windows"),
					 errdetail("The question leaves %d context tokens per window of %d and windows share %d, so the context's %d tokens need %lld windows; the limit is %d windows of %d tokens.",
							   window_len, max_len, stride, context_len,
							   (long long) windows, max_windows, max_len),
					 errhint("Shorten the question or the context.")));
	}
	return window_len;
}

/* The windows of one question over one context, and the best span so far. */
typedef struct QaWindows
{
	int			n;
	BertInput  *inputs;			/* (n) [CLS] question [SEP] part [SEP] */
	int		   *first;			/* (n) context token each part starts at */
	int		   *count;			/* (n) context tokens in each part */
	int			question_len;
	int			max_answer_len;
	const BertModel *model;
	float	   *start_logits;	/* (max window length) */
	float	   *end_logits;
	float	   *scratch;		/* (2 x max window length) */
	QaSpan		best;
} QaWindows;

/*
 * Builds the windows over context c: parts of window_len tokens, each
 * starting window_len - stride after the previous one, the last one ending
 * the context (qa_window_room has bounded their number).
 */
static void
qa_build_windows(QaWindows *qw, const BertTokenizer *tok, const BertTokens *q,
				 const BertTokens *c, int window_len, int stride)
{
	int			cap = 1 + (c->n > window_len ? (c->n - window_len) / (window_len - stride) + 1 : 0);

	qw->n = 0;
	qw->inputs = palloc(sizeof(BertInput) * cap);
	qw->first = palloc(sizeof(int) * cap);
	qw->count = palloc(sizeof(int) * cap);
	for (int first = 0;; first += window_len - stride)
	{
		int			count = Min(window_len, c->n - first);
		BertInput  *in = &qw->inputs[qw->n];
		int			pos = 0;

		Assert(qw->n < cap);
		memset(in, 0, sizeof(*in));
		in->input_ids = palloc(sizeof(int32) * (q->n + count + 3));
		in->token_type_ids = palloc(sizeof(int32) * (q->n + count + 3));
		in->input_ids[pos] = tok->cls_id;
		in->token_type_ids[pos++] = 0;
		for (int i = 0; i < q->n; i++)
		{
			in->input_ids[pos] = q->ids[i];
			in->token_type_ids[pos++] = 0;
		}
		in->input_ids[pos] = tok->sep_id;
		in->token_type_ids[pos++] = 0;
		for (int i = 0; i < count; i++)
		{
			in->input_ids[pos] = c->ids[first + i];
			in->token_type_ids[pos++] = 1;
		}
		in->input_ids[pos] = tok->sep_id;
		in->token_type_ids[pos++] = 1;
		in->len = pos;
		qw->first[qw->n] = first;
		qw->count[qw->n++] = count;
		if (first + count >= c->n)
			break;
	}
}

/* BertForwardBatched's emit: the QA logits of one window, scored. */
static void
qa_score_window(void *arg, int index, const float *hidden, int len)
{
	QaWindows  *qw = (QaWindows *) arg;

	BertQaLogits(qw->start_logits, qw->end_logits, qw->scratch,
				 &qw->model->config, &qw->model->weights, hidden, len);
	score_window(qw->start_logits, qw->end_logits, qw->question_len + 2,
				 qw->count[index], qw->first[index], qw->max_answer_len,
				 &qw->best);
}

/*
 * bert_answer(question text, context text [, model] [, max_answer_len int
 * DEFAULT 15]) -> TABLE(answer text, score real, start_char int, end_char int)
 * Extractive question answering (BertForQuestionAnswering /
 * DistilBertForQuestionAnswering, qa_outputs), as QuestionAnsweringPipeline
 * with its defaults: windows of at most max_seq_len = min(384, the model's
 * limit) tokens over the context, consecutive windows sharing doc_stride =
 * min(128, max_seq_len / 2) tokens; in each window the best span inside the
 * context by p_start * p_end; the best window wins.  `answer` is the
 * context text of that span, as written.
 *
 * A window holds [CLS] question [SEP] context-part [SEP], so the question
 * leaves `room` = max_seq_len - 3 - question tokens for the context, and a
 * window advances by room - doc_stride.  When the context needs more than
 * one window and room <= doc_stride, windows would not advance: the fast
 * tokenizer transformers uses refuses that (its truncation requires the
 * stride to be less than the room), and so do we.  Windows are also bounded
 * in number: windows x max_seq_len <= BERT_QA_MAX_WINDOW_TOKENS (1,041
 * passes of 384 tokens), checked before the first pass; contexts are cut
 * after BERT_QA_MAX_CONTEXT_TOKENS word pieces.  The windows are packed
 * without padding into forward passes of up to BERT_BATCH_TOKENS rows
 * (BertForwardBatched), which changes the scores by float rounding only.
 */
PG_FUNCTION_INFO_V1(bert_answer);
Datum
bert_answer(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		has_model = (PG_NARGS() == 4);
	int			max_answer_len = PG_GETARG_INT32(has_model ? 3 : 2);
	BertModel  *model = BertModelArg(fcinfo, has_model ? 2 : -1,
									 bert_qa_model, "bert.qa_model");
	const BertTokenizer *tok = &model->tokenizer;
	size_t		q_len,
				c_len;
	char	   *question = BertTextToUtf8(PG_GETARG_TEXT_PP(0), &q_len);
	char	   *context = BertTextToUtf8(PG_GETARG_TEXT_PP(1), &c_len);
	int			max_len = Min(BERT_QA_MAX_SEQ_LEN, BertMaxLength(model));
	int			stride = Min(BERT_QA_DOC_STRIDE, max_len / 2);
	BertTokens	q = {0},
				c = {0};
	QaWindows	qw = {0};
	int32		span[2];
	Datum		values[4];
	bool		nulls[4] = {0};

	BertRequireHead(model, BERT_HEAD_QUESTION_ANSWERING, "bert_answer",
					"a question-answering head (BertForQuestionAnswering or DistilBertForQuestionAnswering)");
	/* each window is a pair: question (type 0), context (type 1) */
	BertRequirePairs(model);
	if (max_answer_len < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_answer_len must be at least 1")));
	BertTokenize(tok, question, q_len, max_len - 3, &q);
	BertTokenize(tok, context, c_len, BERT_QA_MAX_CONTEXT_TOKENS, &c);
	if (c.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context is empty"),
				 errdetail("The context has no tokens to take an answer from."),
				 errhint("Pass the text that contains the answer as the second argument.")));

	/* every window packed into as few forward passes as fit, in order */
	qa_build_windows(&qw, tok, &q, &c, qa_window_room(max_len, stride, q.n, c.n),
					 stride);
	qw.question_len = q.n;
	qw.max_answer_len = max_answer_len;
	qw.model = model;
	qw.best.score = -1.0;
	qw.start_logits = palloc(sizeof(float) * max_len);
	qw.end_logits = palloc(sizeof(float) * max_len);
	qw.scratch = palloc(sizeof(float) * 2 * max_len);
	BertForwardBatched(model, qw.inputs, qw.n, qa_score_window, &qw);

	/* the answer: the best span's text and its character offsets */
	span[0] = c.start[qw.best.start_token];
	span[1] = c.end[qw.best.end_token];
	values[0] = PointerGetDatum(BertUtf8ToText(context + span[0], span[1] - span[0]));
	server_char_offsets(context, span, 2);
	InitMaterializedSRF(fcinfo, 0);
	values[1] = Float4GetDatum((float4) qw.best.score);
	values[2] = Int32GetDatum(span[0]);
	values[3] = Int32GetDatum(span[1]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * bert_token_logits(text [, text_pair], model)
 *   -> TABLE(position int, token text, token_type_id int, start_char int,
 *			  end_char int, logits real[])
 * Raw per-token output of a token classifier (num_labels logits) or a
 * question-answering model ([start_logit, end_logit]), for every token of
 * [CLS] A [SEP] (B [SEP]); offsets are NULL for [CLS]/[SEP] and index the
 * token's own text.
 */
PG_FUNCTION_INFO_V1(bert_token_logits);
Datum
bert_token_logits(PG_FUNCTION_ARGS)
{
	bool		pair = (PG_NARGS() == 3);
	BertModel  *model = BertModelArg(fcinfo, pair ? 2 : 1, NULL, NULL);
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = pair ? PG_GETARG_TEXT_PP(1) : NULL;
	size_t		a_len,
				b_len = 0;
	int32	   *start_char,
			   *end_char;
	char	   *utf8;
	BertInput	input;
	const float *hidden;
	int			width;
	float	   *logits;
	BertRows	rows;

	if (model->config.head == BERT_HEAD_QUESTION_ANSWERING)
		width = 2;
	else
	{
		BertRequireHead(model, BERT_HEAD_TOKEN_CLASSIFICATION, "bert_token_logits",
						"a token classifier or a question-answering model");
		width = model->config.num_labels;
	}
	BertEncodeText(model, a, b, &input);
	start_char = palloc(sizeof(int32) * input.len);
	end_char = palloc(sizeof(int32) * input.len);
	utf8 = BertTextToUtf8(a, &a_len);
	token_char_offsets(utf8, &input, 0, start_char, end_char);
	if (b)
	{
		utf8 = BertTextToUtf8(b, &b_len);
		token_char_offsets(utf8, &input, 1, start_char, end_char);
	}
	hidden = BertForward(model, &input);
	logits = palloc(sizeof(float) * input.len * width);
	if (width == 2 && model->config.head == BERT_HEAD_QUESTION_ANSWERING)
	{
		float	   *s = palloc(sizeof(float) * input.len);
		float	   *e = palloc(sizeof(float) * input.len);
		float	   *scratch = palloc(sizeof(float) * 2 * input.len);

		BertQaLogits(s, e, scratch, &model->config, &model->weights, hidden,
					 input.len);
		for (int i = 0; i < input.len; i++)
		{
			logits[2 * i] = s[i];
			logits[2 * i + 1] = e[i];
		}
	}
	else
		BertTokenLogits(logits, &model->config, &model->weights, hidden, input.len);
	BertMappingCheck(model);

	BertRowsBegin(fcinfo, &rows);
	for (int i = 0; i < input.len; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};
		BertRowStart(&rows);
		values[0] = Int32GetDatum(i);
		values[1] = token_datum(&model->tokenizer, input.input_ids[i]);
		values[2] = Int32GetDatum(input.token_type_ids[i]);
		if (input.start[i] < 0)
			nulls[3] = nulls[4] = true;
		else
		{
			values[3] = Int32GetDatum(start_char[i]);
			values[4] = Int32GetDatum(end_char[i]);
		}
		values[5] = PointerGetDatum(BertFloatArray(logits + (size_t) i * width, width));
		BertRowPut(&rows, values, nulls);
	}
	return (Datum) 0;
}
