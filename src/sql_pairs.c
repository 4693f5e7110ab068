/*
 * sql_pairs.c
 *		SQL functions for sentence pairs and retrieval: pair classification,
 *		cross-encoder reranking, zero-shot classification, and cutting long
 *		documents into chunks that fit a model.
 *
 * A pair is encoded as bert_next_sentence encodes one: [CLS] A [SEP] B [SEP]
 * with token_type_ids 0/1, truncated longest-first to BertMaxLength().
 * Every function that scores pairs goes through BertPairLogits(), which
 * takes n pairs and returns n rows of logits, encoding and running them in
 * groups packed without padding (BertForwardBatched() in sql_common.c), so a call
 * with many pairs runs few forward passes and its memory stays bounded by
 * one group whatever the number of pairs.
 *
 * Memory: results and the arrays of the arguments live in the per-call
 * context fmgr gives; each group of pairs and each returned chunk works in
 * a child context reset after it.  Long loops check for interrupts per
 * pair, per group (the encoder also checks per layer) and per chunk.
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "bert.h"
#include "heads.h"
#include "model.h"
#include "retrieval.h"
#include "sql_common.h"

/* Token rows encoded per group of pairs (several forward passes' worth). */
#define BERT_PAIR_GROUP_TOKENS 8192
#define BERT_PAIR_GROUP_MAX 4096

/* Word pieces the chunker asks the tokenizer for at first, per call. */
#define BERT_CHUNK_TOKENIZE_STEP 4096

/* Labels an error message lists before "...". */
#define BERT_ERROR_MAX_LABELS 16

#define SEQUENCE_CLASSIFIER \
	"a sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification)"

/* Where BertForwardBatched() puts the logits of a group. */
typedef struct PairGroup
{
	const BertModel *model;
	float	   *logits;			/* (group size, num_labels) */
	float	   *scratch;		/* (hidden) for the head */
} PairGroup;

static void
emit_pair_logits(void *arg, int index, const float *hidden,
				 pg_attribute_unused() int len)
{
	PairGroup  *group = arg;
	const BertConfig *cfg = &group->model->config;

	BertSequenceLogits(group->logits + (size_t) index * cfg->num_labels,
					   group->scratch, cfg, &group->model->weights, hidden);
}

/*
 * logits (n, num_labels) of sequence classifier `model` for n inputs
 * [CLS] texts[i] [SEP] pairs[i] [SEP] ([CLS] texts[i] [SEP] where pairs[i]
 * is NULL), in input order.  The inputs are encoded and run in groups of
 * up to BERT_PAIR_GROUP_TOKENS token rows, each group packed into forward
 * passes of up to 1,024 tokens; a text that repeats (texts[i] ==
 * texts[i - 1], a query against many documents) is converted to UTF-8 once
 * per group.  The caller checks the head (BertRequireHead).
 */
void
BertPairLogits(BertModel *model, int n, text *const *texts,
			   text *const *pairs, float *logits)
{
	MemoryContext group_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"bert pair group",
													ALLOCSET_DEFAULT_SIZES);
	BertInput  *inputs = palloc(sizeof(BertInput) * Max(Min(n, BERT_PAIR_GROUP_MAX), 1));
	int			first = 0;

	while (first < n)
	{
		MemoryContext old = MemoryContextSwitchTo(group_cxt);
		const text *a_text = NULL;
		char	   *a = NULL;
		size_t		a_len = 0;
		int			count = 0;
		int			rows = 0;
		PairGroup	group;

		while (first + count < n && count < BERT_PAIR_GROUP_MAX &&
			   rows < BERT_PAIR_GROUP_TOKENS)
		{
			int			i = first + count;
			char	   *b = NULL;
			size_t		b_len = 0;

			CHECK_FOR_INTERRUPTS();
			if (texts[i] != a_text)
			{
				a_text = texts[i];
				a = BertTextToUtf8(texts[i], &a_len);
			}
			if (pairs[i])
			{
				BertRequirePairs(model);
				b = BertTextToUtf8(pairs[i], &b_len);
			}
			BertEncode(&model->tokenizer, a, a_len, b, b_len,
					   BertMaxLength(model), &inputs[count]);
			rows += inputs[count].len;
			count++;
		}
		group.model = model;
		group.logits = logits + (size_t) first * model->config.num_labels;
		group.scratch = palloc(sizeof(float) * model->config.hidden_size);
		BertForwardBatched(model, inputs, count, emit_pair_logits, &group);
		BertMappingCheck(model);
		MemoryContextSwitchTo(old);
		MemoryContextReset(group_cxt);
		first += count;
	}
	MemoryContextDelete(group_cxt);
	pfree(inputs);
}

/* The sequence classifier named by argument argno. */
static BertModel *
classifier_arg(FunctionCallInfo fcinfo, int argno, const char *function)
{
	BertModel  *model = BertModelArg(fcinfo, argno, NULL, NULL);

	BertRequireHead(model, BERT_HEAD_SEQUENCE_CLASSIFICATION, function,
					SEQUENCE_CLASSIFIER);
	return model;
}

/* logits (num_labels) of the pair (argument 0, argument 1), model argument 2. */
static float *
one_pair_logits(FunctionCallInfo fcinfo, const char *function,
				BertModel **model)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	float	   *logits;

	*model = classifier_arg(fcinfo, 2, function);
	logits = palloc(sizeof(float) * (*model)->config.num_labels);
	BertPairLogits(*model, 1, &a, &b, logits);
	return logits;
}

/* A text datum of a label (UTF-8 in the model files). */
static Datum
label_datum(const BertModel *model, int label)
{
	const char *s = model->config.id2label[label];

	return PointerGetDatum(BertCStringToText(s));
}

/*
 * bert_classify(text, text_pair, model) -> text
 * The id2label label of the highest logit of a sequence classifier on the
 * pair [CLS] text [SEP] text_pair [SEP] (transformers' text-classification
 * pipeline given {"text", "text_pair"}, top_k=1).
 */
PG_FUNCTION_INFO_V1(bert_classify);
Datum
bert_classify(PG_FUNCTION_ARGS)
{
	BertModel  *model;
	float	   *logits = one_pair_logits(fcinfo, "bert_classify", &model);

	return label_datum(model, BertArgmax(logits, model->config.num_labels));
}

/*
 * bert_classify_scores(text, text_pair, model)
 *   -> TABLE(label text, score real)
 * The probability of every label for the pair, in label-id order: softmax
 * of the logits, or the sigmoid of a single-label model's logit.
 */
PG_FUNCTION_INFO_V1(bert_classify_scores);
Datum
bert_classify_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BertModel  *model;
	float	   *probs = one_pair_logits(fcinfo, "bert_classify_scores", &model);

	InitMaterializedSRF(fcinfo, 0);
	BertLabelProbabilities(probs, model->config.num_labels);
	for (int i = 0; i < model->config.num_labels; i++)
	{
		Datum		values[2] = {label_datum(model, i), Float4GetDatum(probs[i])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bert_logits(text, text_pair, model) -> real[] (num_labels)
 * Raw logits of a sequence classifier on the pair, in label-id order.
 */
PG_FUNCTION_INFO_V1(bert_logits_pair);
Datum
bert_logits_pair(PG_FUNCTION_ARGS)
{
	BertModel  *model;
	float	   *logits = one_pair_logits(fcinfo, "bert_logits", &model);

	PG_RETURN_ARRAYTYPE_P(BertFloatArray(logits, model->config.num_labels));
}

/*
 * bert_rerank_score(query, document, model) -> real
 * Relevance of the document to the query by a cross-encoder, as
 * CrossEncoder.predict: sigmoid of the logit of a one-label model, else
 * the softmax probability of the last label.
 */
PG_FUNCTION_INFO_V1(bert_rerank_score);
Datum
bert_rerank_score(PG_FUNCTION_ARGS)
{
	BertModel  *model;
	float	   *logits = one_pair_logits(fcinfo, "bert_rerank_score", &model);

	PG_RETURN_FLOAT4(BertCrossEncoderScore(logits, model->config.num_labels));
}

/* Elements of a one-dimensional text[] argument (NULL elements flagged). */
static void
text_array_arg(FunctionCallInfo fcinfo, int argno, const char *argname,
			   Datum **elems, bool **nulls, int *n)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(argno);

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional text[]", argname),
				 errdetail("The array has %d dimensions.", ARR_NDIM(array)),
				 errhint("Pass a one-dimensional array, such as array_agg() builds.")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, elems, nulls, n);
}

/*
 * bert_rerank(query, documents text[], model)
 *   -> TABLE(ordinality int, score real)
 * bert_rerank_score of the query against every document, in array order
 * (ordinality from 1); a NULL document gets a NULL score.  All pairs of the
 * call run as one batch (BertPairLogits).
 */
PG_FUNCTION_INFO_V1(bert_rerank);
Datum
bert_rerank(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *query = PG_GETARG_TEXT_PP(0);
	BertModel  *model = classifier_arg(fcinfo, 2, "bert_rerank");
	int			labels = model->config.num_labels;
	Datum	   *docs;
	bool	   *nulls;
	int			n;
	int			count = 0;
	text	  **texts;
	text	  **pairs;
	float	   *logits;

	text_array_arg(fcinfo, 1, "documents", &docs, &nulls, &n);
	texts = palloc(sizeof(text *) * Max(n, 1));
	pairs = palloc(sizeof(text *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
		{
			texts[count] = query;
			pairs[count++] = DatumGetTextPP(docs[i]);
		}
	logits = palloc(mul_size(mul_size(Max(count, 1), labels), sizeof(float)));
	BertPairLogits(model, count, texts, pairs, logits);

	InitMaterializedSRF(fcinfo, 0);
	count = 0;
	for (int i = 0; i < n; i++)
	{
		Datum		values[2] = {Int32GetDatum(i + 1), (Datum) 0};
		bool		isnull[2] = {false, nulls[i]};

		if (!nulls[i])
			values[1] = Float4GetDatum(BertCrossEncoderScore(logits + (size_t) count++ * labels,
															 labels));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/* "a", "b", ... of the model's labels, for error messages. */
static char *
label_list(const BertModel *model)
{
	StringInfoData s;
	int			shown = Min(model->config.num_labels, BERT_ERROR_MAX_LABELS);

	initStringInfo(&s);
	for (int i = 0; i < shown; i++)
	{
		const char *label = model->config.id2label[i];

		appendStringInfo(&s, "%s\"%s\"", i ? ", " : "",
						 pg_any_to_server(label, strlen(label), PG_UTF8));
	}
	if (shown < model->config.num_labels)
		appendStringInfo(&s, " and %d more", model->config.num_labels - shown);
	return s.data;
}

/* The entailment label of NLI model `model`, or an error. */
static int
entailment_label(const BertModel *model)
{
	int			entailment = BertEntailmentLabel(model->config.id2label,
												 model->config.num_labels);

	if (entailment < 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" has no entailment label", model->name),
				 errdetail("Its labels are %s; bert_zero_shot() needs a label whose name starts with \"entail\".",
						   label_list(model)),
				 errhint("Use a model trained for natural language inference (NLI), whose config.json names its entailment label.")));
	if (model->config.num_labels < 2)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" has only one label", model->name),
				 errdetail("bert_zero_shot() compares the entailment logit with the contradiction logit or with other candidates' entailment logits."),
				 errhint("Use a model trained for natural language inference (NLI), with contradiction and entailment labels.")));
	return entailment;
}

/* The template with every "{}" replaced by the label (database encoding). */
static text *
hypothesis(const char *template, text *label)
{
	StringInfoData s;
	const char *p = template;
	const char *hit;

	initStringInfo(&s);
	while ((hit = strstr(p, "{}")) != NULL)
	{
		appendBinaryStringInfo(&s, p, hit - p);
		appendBinaryStringInfo(&s, VARDATA_ANY(label), VARSIZE_ANY_EXHDR(label));
		p = hit + 2;
	}
	appendStringInfoString(&s, p);
	return cstring_to_text_with_len(s.data, s.len);
}

/*
 * bert_zero_shot(text, candidate_labels text[], model
 *				  [, hypothesis_template text DEFAULT 'This example is {}.']
 *				  [, multi_label boolean DEFAULT false])
 *   -> TABLE(label text, score real)
 * Zero-shot classification with an NLI model, as transformers'
 * ZeroShotClassificationPipeline: each candidate becomes the hypothesis
 * (the template with {} replaced by it), paired with the text as premise;
 * scores from the entailment logits (BertZeroShotScores), highest first.
 * NULL candidates are skipped; the candidates run as one batch.
 */
PG_FUNCTION_INFO_V1(bert_zero_shot);
Datum
bert_zero_shot(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *premise = PG_GETARG_TEXT_PP(0);
	BertModel  *model = classifier_arg(fcinfo, 2, "bert_zero_shot");
	char	   *template = text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		multi_label = PG_GETARG_BOOL(4);
	int			labels = model->config.num_labels;
	int			entailment = entailment_label(model);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			count = 0;
	text	  **texts;
	text	  **hypotheses;
	Datum	   *candidates;
	float	   *logits;
	float	   *scores;
	int		   *order;

	if (strstr(template, "{}") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hypothesis_template has no \"{}\""),
				 errdetail("Each candidate label is put where the template says {}, as in 'This example is {}.'."),
				 errhint("Write {} where the label goes.")));
	text_array_arg(fcinfo, 1, "candidate_labels", &elems, &nulls, &n);
	texts = palloc(sizeof(text *) * Max(n, 1));
	hypotheses = palloc(sizeof(text *) * Max(n, 1));
	candidates = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			continue;
		texts[count] = premise;
		hypotheses[count] = hypothesis(template, DatumGetTextPP(elems[i]));
		candidates[count++] = elems[i];
	}
	logits = palloc(mul_size(mul_size(Max(count, 1), labels), sizeof(float)));
	BertPairLogits(model, count, texts, hypotheses, logits);
	scores = palloc(sizeof(float) * Max(count, 1));
	order = palloc(sizeof(int) * Max(count, 1));
	BertZeroShotScores(scores, logits, count, labels, entailment, multi_label);
	BertOrderByScore(order, scores, count);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < count; i++)
	{
		Datum		values[2] = {candidates[order[i]], Float4GetDatum(scores[order[i]])};
		bool		isnull[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/*
 * Word pieces of a document, tokenized a window at a time so that memory
 * follows the window, not the document.  Tokenizing resumes at a piece that
 * starts right after ASCII whitespace: the tokenizer's state there (no word
 * begun, no cased letter before) is its state at the start of a text, so
 * the pieces are those of tokenizing the whole document at once.
 */
typedef struct PieceStream
{
	const BertTokenizer *tok;
	const char *text;			/* UTF-8 */
	size_t		len;
	size_t		pos;			/* byte where tokenizing resumes */
	bool		at_end;			/* no pieces after the window */
	int			step;			/* pieces asked of the tokenizer per call */
	int			head;			/* first piece of the window */
	int			n;				/* pieces held; the window is [head, n) */
	int			cap;
	int32	   *start;			/* (cap) byte span of each piece in text */
	int32	   *end;			/* (cap) */
	uint8	   *cut;			/* (cap) BertCut before each piece */
	int32		last_end;		/* end of the last piece appended */
} PieceStream;

/* Index of the last piece after the first that follows ASCII whitespace, or 0. */
static int
last_restart(const char *text, const BertTokens *got)
{
	for (int i = got->n - 1; i > 0; i--)
	{
		char		c;

		if (got->start[i] == 0)
			break;
		c = text[got->start[i] - 1];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			return i;
	}
	return 0;
}

/* Makes the window hold at least `want` pieces, or all that are left. */
static void
stream_fill(PieceStream *ps, int want)
{
	while (!ps->at_end && ps->n - ps->head < want)
	{
		BertTokens	got = {0};
		int			keep;

		BertTokenize(ps->tok, ps->text + ps->pos, ps->len - ps->pos, ps->step, &got);
		if (got.n < ps->step)
		{
			keep = got.n;
			ps->at_end = true;
		}
		else if ((keep = last_restart(ps->text + ps->pos, &got)) == 0)
		{
			/* no whitespace in `step` pieces: ask for more at once */
			ps->step = (ps->step > INT_MAX / 2) ? INT_MAX : 2 * ps->step;
			pfree(got.ids);
			pfree(got.start);
			pfree(got.end);
			continue;
		}

		/* drop the pieces before the window, then append */
		memmove(ps->start, ps->start + ps->head, sizeof(int32) * (ps->n - ps->head));
		memmove(ps->end, ps->end + ps->head, sizeof(int32) * (ps->n - ps->head));
		memmove(ps->cut, ps->cut + ps->head, sizeof(uint8) * (ps->n - ps->head));
		ps->n -= ps->head;
		ps->head = 0;
		if (ps->n + keep > ps->cap)
		{
			ps->cap = ps->n + keep;
			ps->start = repalloc_huge(ps->start, sizeof(int32) * ps->cap);
			ps->end = repalloc_huge(ps->end, sizeof(int32) * ps->cap);
			ps->cut = repalloc_huge(ps->cut, sizeof(uint8) * ps->cap);
		}
		for (int i = 0; i < keep; i++)
		{
			int32		start = (int32) ps->pos + got.start[i];

			if (BertPieceStartsWord(ps->tok, got.ids[i]))
				ps->cut[ps->n] = BERT_CUT_WORD;
			else if (start >= ps->last_end)
				ps->cut[ps->n] = BERT_CUT_INSIDE_WORD;
			else
				ps->cut[ps->n] = BERT_CUT_INSIDE_CHAR;
			ps->start[ps->n] = start;
			ps->end[ps->n] = ps->last_end = (int32) ps->pos + got.end[i];
			ps->n++;
		}
		if (!ps->at_end)
			ps->pos += got.start[keep];
		if (got.ids)
		{
			pfree(got.ids);
			pfree(got.start);
			pfree(got.end);
		}
	}
}

/* A forward-only byte -> character offset cursor over UTF-8 text. */
typedef struct CharCursor
{
	size_t		byte;
	int32		chars;
} CharCursor;

/* Character offset of byte offset `byte` (not before the last one asked). */
static int32
char_offset(CharCursor *c, const char *utf8, size_t byte)
{
	Assert(byte >= c->byte);
	for (; c->byte < byte; c->byte++)
		if (((unsigned char) utf8[c->byte] & 0xC0) != 0x80)
			c->chars++;
	return c->chars;
}

/*
 * bert_chunk(text, max_tokens int, model [, overlap int DEFAULT 0])
 *   -> TABLE(chunk_no int, chunk text, start_char int, end_char int,
 *			  tokens int)
 * Cuts a document into chunks of at most max_tokens word pieces of the
 * model's tokenizer ([CLS]/[SEP] not counted), between words, with
 * consecutive chunks sharing up to `overlap` pieces of whole words
 * (BertChunkCut).  chunk is the text at 0-based character offsets
 * [start_char, end_char), as written; tokens is its number of pieces;
 * chunk_no counts from 1.  A text without tokens gives no rows.
 */
PG_FUNCTION_INFO_V1(bert_chunk);
Datum
bert_chunk(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			max_tokens = PG_GETARG_INT32(1);
	BertModel  *model = BertModelArg(fcinfo, 2, NULL, NULL);
	int			overlap = PG_GETARG_INT32(3);
	int			limit = BertMaxLength(model) - 2;
	PieceStream ps = {0};
	CharCursor	starts = {0},
				ends = {0};
	MemoryContext row_cxt;

	if (max_tokens < 1 || max_tokens > limit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens must be between 1 and %d", limit),
				 errdetail("Model \"%s\" takes at most %d tokens per sequence, [CLS] and [SEP] included.",
						   model->name, limit + 2),
				 errhint("Pass a max_tokens that leaves room for [CLS] and [SEP].")));
	if (overlap < 0 || overlap >= max_tokens)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("overlap must be at least 0 and less than max_tokens"),
				 errdetail("overlap is %d and max_tokens is %d.", overlap, max_tokens),
				 errhint("Consecutive chunks share up to overlap tokens, and each chunk needs at least one token of its own.")));

	ps.tok = &model->tokenizer;
	ps.text = BertTextToUtf8(PG_GETARG_TEXT_PP(0), &ps.len);
	ps.step = Max(BERT_CHUNK_TOKENIZE_STEP, 4 * max_tokens + 2);
	ps.cap = 1;
	ps.start = palloc(sizeof(int32));
	ps.end = palloc(sizeof(int32));
	ps.cut = palloc(sizeof(uint8));
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "bert_chunk row",
									ALLOCSET_SMALL_SIZES);

	InitMaterializedSRF(fcinfo, 0);
	for (int chunk_no = 1;; chunk_no++)
	{
		int			len;
		int			next;
		int32		start,
					end;
		Datum		values[5];
		bool		nulls[5] = {0};
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		stream_fill(&ps, 2 * max_tokens + 1);
		if (ps.head == ps.n)
			break;
		BertChunkCut(ps.cut + ps.head, ps.n - ps.head, ps.at_end,
					 max_tokens, overlap, &len, &next);
		start = ps.start[ps.head];
		end = ps.end[ps.head + len - 1];

		old = MemoryContextSwitchTo(row_cxt);
		values[0] = Int32GetDatum(chunk_no);
		values[1] = PointerGetDatum(BertUtf8ToText(ps.text + start, end - start));
		values[2] = Int32GetDatum(char_offset(&starts, ps.text, start));
		values[3] = Int32GetDatum(char_offset(&ends, ps.text, end));
		values[4] = Int32GetDatum(len);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
		ps.head += next;
	}
	MemoryContextDelete(row_cxt);
	return (Datum) 0;
}
