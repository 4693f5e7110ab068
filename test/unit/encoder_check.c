/*
 * encoder_check.c
 *		Every golden inference row of ../shared/testmodels/golden/ (*.jsonl)
 *		against the tokenizer, the encoder and the heads run without a
 *		server.
 *
 *	 encoder_check TESTMODELS_DIR
 *
 * Loads each tiny model of TESTMODELS_DIR with the fmgr-free readers
 * (test/unit/standalone_model.c, weights bound through the table of
 * src/weights.c as the extension's loader binds them), tokenizes the golden
 * text (and text_pair / context) with BertEncode at the model's maximum
 * length, and runs one sequence per forward pass (BertEncoderForward, then
 * the functions of src/heads.c), as the golden files were made.
 *
 * Checked per row, by the row's model and fields (../shared/README.md):
 *	 - input_ids (and token_type_ids where the row has them): equal;
 *	 - base models (F32, F16, BF16): mean_pooled, mean_pooled_l2, cls_token,
 *	   last_hidden_state, pooler_output;
 *	 - sequence classifiers: logits, probs, label;
 *	 - pre-training: top-5 ids (equal) and softmax scores at each [MASK],
 *	   nsp_logits and is_next_prob of pair rows;
 *	 - token classification: token_labels (equal) and token_scores;
 *	 - question answering: start_logits, end_logits, best span (start <= end
 *	   < start + 15 inside the context; positions equal) and its score;
 *	 - pair rows (bert-tiny-random-pairs.jsonl): pair logits; rerank scores
 *	   (sigmoid of the one logit); zero-shot labels (order equal) and scores.
 * Tolerances are those of the SQL parity suites (test/parity/parity.py and
 * pairs.py, the sql/ suites): 1e-4 absolute for every float, 1e-3 for the raw
 * logits of sequence classifiers on inputs over 128 tokens, where float32
 * sums in another order drift.
 *
 * One line per row ("ok" or "FAIL", the model, the row, its largest
 * difference or what differs), a line per model with its largest
 * difference, and a closing "encoder_check: N passed, M failed" (N, M =
 * rows).  The exit status is 0 when nothing failed.
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bert.h"
#include "blas.h"
#include "check.h"
#include "encoder.h"
#include "heads.h"
#include "json.h"
#include "nn_ops.h"
#include "standalone_model.h"

#define TOL 1e-4
#define TOL_LONG_LOGITS 1e-3
#define LONG_INPUT 128			/* tokens above which TOL_LONG_LOGITS holds */
#define QA_MAX_ANSWER 15		/* Hugging Face's default max_answer_len */
#define TOP_K 5

/* A loaded test model and its running figures. */
typedef struct Model
{
	const char *name;
	BertStandaloneModel sm;
	BertWeights w;
	BertActivations act;
	int			rows;
	int			failed;
	double		worst;			/* largest |diff| over every compared float */
	char		worst_what[64];
} Model;

/* The outcome of one row. */
typedef struct Row
{
	Model	   *model;
	bool		ok;
	double		worst;
	char		problems[1024];
} Row;

static void
problem(Row *r, const char *fmt,...) pg_attribute_printf(2, 3);

/* Records what differs in row r. */
static void
problem(Row *r, const char *fmt,...)
{
	va_list		ap;
	size_t		used = strlen(r->problems);

	r->ok = false;
	if (used + 3 >= sizeof(r->problems))
		return;
	if (used > 0)
	{
		strcat(r->problems, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->problems + used, sizeof(r->problems) - used, fmt, ap);
	va_end(ap);
}

/* A member the golden row must have. */
static const BertJson *
member(const BertJson *obj, const char *key)
{
	const BertJson *v = BertJsonGet(obj, key);

	if (v == NULL)
		fatal("golden row: \"%s\" is missing", key);
	return v;
}

static const char *
string_member(const BertJson *obj, const char *key)
{
	const BertJson *v = member(obj, key);

	if (v->type != BERT_JSON_STRING)
		fatal("golden row: \"%s\" is not a string", key);
	return v->str;
}

/* The numbers of a (nested) JSON array, flattened, in *n of them. */
static void
flatten(const BertJson *v, double *out, int *n, int cap)
{
	if (v->type == BERT_JSON_NUMBER)
	{
		if (*n >= cap)
			fatal("golden row: too many numbers");
		out[(*n)++] = strtod(v->str, NULL);
		return;
	}
	if (v->type != BERT_JSON_ARRAY)
		fatal("golden row: a number or an array was expected");
	for (int i = 0; i < v->n; i++)
		flatten(v->items[i], out, n, cap);
}

/*
 * Compares golden floats `g` (a possibly nested array) with n floats of
 * ours within tol, and keeps the largest difference.
 */
static void
close_to(Row *r, const char *what, const BertJson *g, const float *got, int n,
		 double tol)
{
	double	   *want = palloc(sizeof(double) * (n + 1));
	int			m = 0;
	double		d = 0.0;

	flatten(g, want, &m, n + 1);
	if (m != n)
	{
		problem(r, "%s: %d values, expected %d", what, n, m);
		return;
	}
	for (int i = 0; i < n; i++)
		d = Max(d, fabs(want[i] - got[i]));
	if (!(d <= tol))
		problem(r, "%s: max |diff| %.3g > %.0e", what, d, tol);
	r->worst = Max(r->worst, d);
	if (d > r->model->worst)
	{
		r->model->worst = d;
		strlcpy(r->model->worst_what, what, sizeof(r->model->worst_what));
	}
	pfree(want);
}

/* Compares golden integers with n of ours: equal. */
static bool
ids_equal(Row *r, const char *what, const BertJson *g, const int32_t *got, int n)
{
	double	   *want = palloc(sizeof(double) * (n + 1));
	int			m = 0;

	flatten(g, want, &m, n + 1);
	for (int i = 0; i < n && m == n; i++)
		if ((int32_t) want[i] != got[i])
		{
			problem(r, "%s differ at position %d: %d, expected %d", what, i,
					got[i], (int32_t) want[i]);
			return false;
		}
	if (m != n)
	{
		problem(r, "%s: %d ids, expected %d", what, n, m);
		return false;
	}
	return true;
}

/* Loads the model `name` of dir once; later calls return the same one. */
static Model *
model_get(const char *dir, const char *name)
{
	static Model *models[16];
	static int	n_models = 0;
	Model	   *m;

	for (int i = 0; i < n_models; i++)
		if (strcmp(models[i]->name, name) == 0)
			return models[i];
	if (n_models == lengthof(models))
		fatal("too many models");
	m = palloc0(sizeof(Model));
	m->name = pstrdup(name);
	check_load_model(psprintf("%s/%s", dir, name), &m->sm);
	BertStandaloneBindWeights(&m->sm, &m->w);
	models[n_models++] = m;
	return m;
}

/*
 * Tokenizes a (and b: a pair) at the model's maximum length, checks the ids
 * against the row's input_ids (and token_type_ids when present), and runs
 * the encoder over the one sequence.  Returns last_hidden_state (in->len,
 * hidden), or NULL when the ids differ (nothing more can be compared).
 */
static const float *
encode_forward(Row *r, const BertJson *row, const char *a, const char *b,
			   BertInput *in)
{
	Model	   *m = r->model;
	BertBatch	batch;
	int			seq_start[2];

	BertEncode(&m->sm.tokenizer, a, strlen(a), b, b ? strlen(b) : 0,
			   m->sm.config.model_max_length, in);
	if (row != NULL)
	{
		if (!ids_equal(r, "input_ids", member(row, "input_ids"), in->input_ids, in->len))
			return NULL;
		if (BertJsonGet(row, "token_type_ids") &&
			!ids_equal(r, "token_type_ids", BertJsonGet(row, "token_type_ids"),
					   in->token_type_ids, in->len))
			return NULL;
	}
	seq_start[0] = 0;
	seq_start[1] = in->len;
	batch.num_seqs = 1;
	batch.total_tokens = in->len;
	batch.seq_start = seq_start;
	batch.input_ids = in->input_ids;
	batch.token_type_ids = in->token_type_ids;
	BertEncoderForward(&m->sm.config, &m->w, &m->act, &batch);
	return m->act.hidden;
}

/* Index of the largest of n floats. */
static int
argmax(const float *x, int n)
{
	int			best = 0;

	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

/* BertModel: pooled outputs, hidden states, pooler. */
static void
check_base(Row *r, const BertJson *row)
{
	const BertConfig *cfg = &r->model->sm.config;
	int			H = cfg->hidden_size;
	BertInput	in;
	const float *hidden = encode_forward(r, row, string_member(row, "text"), NULL, &in);
	float	   *v = palloc(sizeof(float) * H);

	if (hidden == NULL)
		return;
	BertPool(v, hidden, in.len, H, BERT_POOLING_MEAN);
	close_to(r, "mean_pooled", member(row, "mean_pooled"), v, H, TOL);
	BertL2Normalize(v, H);
	close_to(r, "mean_pooled_l2", member(row, "mean_pooled_l2"), v, H, TOL);
	close_to(r, "cls_token", member(row, "cls_token"), hidden, H, TOL);
	if (BertJsonGet(row, "last_hidden_state"))
		close_to(r, "last_hidden_state", BertJsonGet(row, "last_hidden_state"),
				 hidden, in.len * H, TOL);
	if (BertJsonGet(row, "pooler_output"))
	{
		BertPoolerOutput(v, cfg, &r->model->w, hidden);
		close_to(r, "pooler_output", BertJsonGet(row, "pooler_output"), v, H, TOL);
	}
}

/* Sequence classification logits of one (pair) input; NULL if ids differ. */
static float *
sequence_logits(Row *r, const BertJson *row, const char *a, const char *b,
				int *len)
{
	const BertConfig *cfg = &r->model->sm.config;
	BertInput	in;
	const float *hidden = encode_forward(r, row, a, b, &in);
	float	   *logits = palloc(sizeof(float) * cfg->num_labels);
	float	   *scratch = palloc(sizeof(float) * cfg->hidden_size);

	if (hidden == NULL)
		return NULL;
	BertSequenceLogits(logits, scratch, cfg, &r->model->w, hidden);
	if (len)
		*len = in.len;
	return logits;
}

/* Sequence classifiers: logits, probs, label. */
static void
check_cls(Row *r, const BertJson *row)
{
	const BertConfig *cfg = &r->model->sm.config;
	int			len;
	float	   *logits = sequence_logits(r, row, string_member(row, "text"), NULL, &len);
	float	   *probs = palloc(sizeof(float) * cfg->num_labels);
	const char *label;

	if (logits == NULL)
		return;
	close_to(r, "logits", member(row, "logits"), logits, cfg->num_labels,
			 len > LONG_INPUT ? TOL_LONG_LOGITS : TOL);
	memcpy(probs, logits, sizeof(float) * cfg->num_labels);
	BertSoftmax(probs, cfg->num_labels);
	close_to(r, "probs", member(row, "probs"), probs, cfg->num_labels, TOL);
	label = cfg->id2label[argmax(logits, cfg->num_labels)];
	if (strcmp(label, string_member(row, "label")) != 0)
		problem(r, "label %s, expected %s", label, string_member(row, "label"));
}

/* Top-5 predictions at every [MASK]. */
static void
check_masks(Row *r, const BertJson *row, const BertInput *in, const float *hidden)
{
	const BertConfig *cfg = &r->model->sm.config;
	const BertJson *preds = member(row, "mask_predictions");
	int			V = cfg->vocab_size;
	float	   *probs = palloc(sizeof(float) * V);
	float	   *scratch = palloc(sizeof(float) * cfg->hidden_size);
	int			masks = 0;

	for (int i = 0; i < in->len; i++)
		masks += in->input_ids[i] == r->model->sm.tokenizer.mask_id;
	if (masks != preds->n)
		problem(r, "%d [MASK] tokens, expected %d", masks, preds->n);
	for (int k = 0; k < preds->n; k++)
	{
		const BertJson *p = preds->items[k];
		int			pos = (int) strtol(member(p, "position")->str, NULL, 10);
		int32_t		top[TOP_K];
		float		score[TOP_K];
		char		what[64];

		if (pos < 0 || pos >= in->len)
			fatal("golden row: mask position %d out of range", pos);
		BertMaskedLmLogits(probs, scratch, cfg, &r->model->w,
						   hidden + (size_t) pos * cfg->hidden_size);
		BertSoftmax(probs, V);
		/* top-k by selection, ties to the lower id as torch.topk on CPU */
		for (int j = 0; j < TOP_K; j++)
		{
			top[j] = -1;
			for (int v = 0; v < V; v++)
			{
				bool		taken = false;

				for (int t = 0; t < j; t++)
					taken |= top[t] == v;
				if (!taken && (top[j] < 0 || probs[v] > probs[top[j]]))
					top[j] = v;
			}
			score[j] = probs[top[j]];
		}
		snprintf(what, sizeof(what), "mask %d top-%d ids", pos, TOP_K);
		if (ids_equal(r, what, member(p, "token_ids"), top, TOP_K))
		{
			snprintf(what, sizeof(what), "mask %d scores", pos);
			close_to(r, what, member(p, "scores"), score, TOP_K, TOL);
		}
	}
}

/* BertForPreTraining: [MASK] predictions, or NSP of a pair. */
static void
check_pretrain(Row *r, const BertJson *row)
{
	const BertConfig *cfg = &r->model->sm.config;
	const BertJson *pair = BertJsonGet(row, "text_pair");
	BertInput	in;
	const float *hidden = encode_forward(r, row, string_member(row, "text"),
										 pair ? pair->str : NULL, &in);
	float		nsp[2];
	float	   *scratch = palloc(sizeof(float) * cfg->hidden_size);

	if (hidden == NULL)
		return;
	if (BertJsonGet(row, "mask_predictions"))
		check_masks(r, row, &in, hidden);
	if (BertJsonGet(row, "nsp_logits"))
	{
		BertNextSentenceLogits(nsp, scratch, cfg, &r->model->w, hidden);
		close_to(r, "nsp_logits", member(row, "nsp_logits"), nsp, 2, TOL);
		BertSoftmax(nsp, 2);
		close_to(r, "is_next_prob", member(row, "is_next_prob"), nsp, 1, TOL);
	}
}

/* Token classification: label and score of every token. */
static void
check_ner(Row *r, const BertJson *row)
{
	const BertConfig *cfg = &r->model->sm.config;
	const BertJson *labels = member(row, "token_labels");
	int			L = cfg->num_labels;
	BertInput	in;
	const float *hidden = encode_forward(r, row, string_member(row, "text"), NULL, &in);
	float	   *logits;
	float	   *scores;

	if (hidden == NULL)
		return;
	logits = palloc(sizeof(float) * in.len * L);
	scores = palloc(sizeof(float) * in.len);
	BertTokenLogits(logits, cfg, &r->model->w, hidden, in.len);
	if (labels->n != in.len)
		problem(r, "%d token labels, expected %d", in.len, labels->n);
	for (int i = 0; i < in.len; i++)
	{
		float	   *p = logits + (size_t) i * L;
		int			best;

		BertSoftmax(p, L);
		best = argmax(p, L);
		scores[i] = p[best];
		if (i < labels->n && strcmp(cfg->id2label[best], labels->items[i]->str) != 0)
			problem(r, "token %d: label %s, expected %s", i, cfg->id2label[best],
					labels->items[i]->str);
	}
	close_to(r, "token_scores", member(row, "token_scores"), scores, in.len, TOL);
}

/* Question answering: logits and the best span inside the context. */
static void
check_qa(Row *r, const BertJson *row)
{
	const BertConfig *cfg = &r->model->sm.config;
	BertInput	in;
	const float *hidden = encode_forward(r, row, string_member(row, "question"),
										 string_member(row, "context"), &in);
	float	   *start,
			   *end,
			   *scratch;
	int32_t		span[2] = {-1, -1};
	float		best = 0.0f;
	const BertJson *g_span = member(row, "best_span_token_positions");

	if (hidden == NULL)
		return;
	start = palloc(sizeof(float) * in.len);
	end = palloc(sizeof(float) * in.len);
	scratch = palloc(sizeof(float) * in.len * 2);
	BertQaLogits(start, end, scratch, cfg, &r->model->w, hidden, in.len);
	close_to(r, "start_logits", member(row, "start_logits"), start, in.len, TOL);
	close_to(r, "end_logits", member(row, "end_logits"), end, in.len, TOL);
	for (int i = 0; i < in.len; i++)
	{
		if (in.token_type_ids[i] != 1 || in.input_ids[i] == r->model->sm.tokenizer.sep_id)
			continue;
		for (int j = i; j < in.len && j < i + QA_MAX_ANSWER; j++)
		{
			if (in.token_type_ids[j] != 1 || in.input_ids[j] == r->model->sm.tokenizer.sep_id)
				continue;
			if (span[0] < 0 || start[i] + end[j] > best)
			{
				best = start[i] + end[j];
				span[0] = i;
				span[1] = j;
			}
		}
	}
	if (g_span->type == BERT_JSON_NULL)
	{
		if (span[0] >= 0)
			problem(r, "a span %d..%d, expected none", span[0], span[1]);
		return;
	}
	if (ids_equal(r, "best span positions", g_span, span, 2))
		close_to(r, "best_span_score", member(row, "best_span_score"), &best, 1, TOL);
}

/* Cross-encoder scores of a query and each document: sigmoid(logit). */
static void
check_rerank(Row *r, const BertJson *row)
{
	const BertJson *docs = member(row, "documents");
	const char *query = string_member(row, "query");
	float	   *scores = palloc(sizeof(float) * (docs->n + 1));

	for (int i = 0; i < docs->n; i++)
	{
		float	   *logit = sequence_logits(r, NULL, query, docs->items[i]->str, NULL);

		scores[i] = 1.0f / (1.0f + expf(-logit[0]));
	}
	close_to(r, "scores", member(row, "scores"), scores, docs->n, TOL);
}

/*
 * Zero-shot classification as transformers' pipeline: premise = text,
 * hypothesis = the template with {} = the label; single-label: softmax of
 * the entailment logits across labels; multi-label (or one label): softmax
 * of [contradiction, entailment] per label; sorted, highest first.
 */
static void
check_zero_shot(Row *r, const BertJson *row)
{
	const BertConfig *cfg = &r->model->sm.config;
	const BertJson *cands = member(row, "candidate_labels");
	const BertJson *want = member(row, "labels");
	const char *tmpl = string_member(row, "hypothesis_template");
	const char *brace = strstr(tmpl, "{}");
	const BertJson *multi_j = member(row, "multi_label");
	bool		multi = multi_j->type == BERT_JSON_BOOL && multi_j->boolean;
	int			n = cands->n;
	int			ent = -1,
				con;
	float	   *ent_logit = palloc(sizeof(float) * (n + 1));
	float	   *score = palloc(sizeof(float) * (n + 1));
	int		   *order = palloc(sizeof(int) * (n + 1));

	if (brace == NULL)
		fatal("golden row: hypothesis_template has no {}");
	for (int i = 0; i < cfg->num_labels; i++)
		if (ent < 0 && pg_strncasecmp(cfg->id2label[i], "entail", 6) == 0)
			ent = i;
	if (ent < 0)
		fatal("%s: no entailment label", r->model->name);
	con = ent == 0 ? cfg->num_labels - 1 : 0;
	for (int i = 0; i < n; i++)
	{
		char	   *hyp = psprintf("%.*s%s%s", (int) (brace - tmpl), tmpl,
								   cands->items[i]->str, brace + 2);
		float	   *logits = sequence_logits(r, NULL, string_member(row, "text"), hyp, NULL);

		ent_logit[i] = logits[ent];
		if (multi || n == 1)
		{
			float		two[2] = {logits[con], logits[ent]};

			BertSoftmax(two, 2);
			score[i] = two[1];
		}
	}
	if (!(multi || n == 1))
	{
		memcpy(score, ent_logit, sizeof(float) * n);
		BertSoftmax(score, n);
	}
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--)
		{
			int			t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int i = 0; i < n; i++)
	{
		ent_logit[i] = score[order[i]];
		if (i < want->n && strcmp(cands->items[order[i]]->str, want->items[i]->str) != 0)
			problem(r, "label %d is %s, expected %s", i, cands->items[order[i]]->str,
					want->items[i]->str);
	}
	close_to(r, "scores", member(row, "scores"), ent_logit, n, TOL);
}

/*
 * U+0000 written as \u0000 in a golden text: PostgreSQL's JSON parser does
 * not turn it into text, and a C string cannot hold it.  It becomes
 * \u0001, which the tokenizer's cleaning step drops just as it drops NUL
 * (category Cc); the input_ids check shows the two agree.
 */
static void
replace_nul_escapes(char *line)
{
	for (char *p = strstr(line, "\\u0000"); p; p = strstr(p + 1, "\\u0000"))
	{
		int			backslashes = 0;

		for (char *q = p; q > line && q[-1] == '\\'; q--)
			backslashes++;
		if (backslashes % 2 == 0)
			p[5] = '1';
	}
}

/* Checks one golden row with model m and prints its line. */
static void
check_row(Model *m, const BertJson *row, int lineno)
{
	Row			r = {.model = m, .ok = true};
	const BertJson *kind = BertJsonGet(row, "kind");
	const BertJson *text = BertJsonGet(row, "text");
	char		shown[48];
	char		what[160];

	if (text == NULL)
		text = BertJsonGet(row, "question") ? BertJsonGet(row, "question") : BertJsonGet(row, "query");
	if (kind && strcmp(kind->str, "rerank") == 0)
		check_rerank(&r, row);
	else if (kind && strcmp(kind->str, "zero_shot") == 0)
		check_zero_shot(&r, row);
	else if (kind && strcmp(kind->str, "pair") == 0)
	{
		const BertConfig *cfg = &m->sm.config;
		float	   *logits = sequence_logits(&r, row, string_member(row, "text"),
											 string_member(row, "text_pair"), NULL);

		if (logits)
			close_to(&r, "logits", member(row, "logits"), logits, cfg->num_labels, TOL);
	}
	else
		switch (m->sm.config.head)
		{
			case BERT_HEAD_NONE:
				check_base(&r, row);
				break;
			case BERT_HEAD_SEQUENCE_CLASSIFICATION:
				check_cls(&r, row);
				break;
			case BERT_HEAD_PRETRAINING:
				check_pretrain(&r, row);
				break;
			case BERT_HEAD_TOKEN_CLASSIFICATION:
				check_ner(&r, row);
				break;
			case BERT_HEAD_QUESTION_ANSWERING:
				check_qa(&r, row);
				break;
			default:
				fatal("%s: no golden check for architecture %s", m->name,
					  m->sm.config.architecture);
		}

	/* the row's text, cut at a character boundary, for the line */
	snprintf(shown, sizeof(shown), "%s", text && text->str ? text->str : "");
	if (strlen(shown) >= 40)
	{
		int			cut = 36;

		while (cut > 0 && (shown[cut] & 0xC0) == 0x80)
			cut--;
		strcpy(shown + cut, "...");
	}
	for (char *c = shown; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	snprintf(what, sizeof(what), "%s row %d \"%s\"", m->name, lineno, shown);
	if (r.ok)
		check(true, what, "max |diff| %.2g", r.worst);
	else
		check(false, what, "%s", r.problems);
	m->rows++;
	m->failed += !r.ok;
}

/* (golden file, model; NULL: each row names its model) */
static const struct
{
	const char *golden;
	const char *model;
}			suites[] = {
	{"bert-tiny-random.jsonl", "bert-tiny-random"},
	{"bert-tiny-random-f16.jsonl", "bert-tiny-random-f16"},
	{"bert-tiny-random-bf16.jsonl", "bert-tiny-random-bf16"},
	{"bert-tiny-random-cls.jsonl", "bert-tiny-random-cls"},
	{"distilbert-tiny-random-cls.jsonl", "distilbert-tiny-random-cls"},
	{"bert-tiny-random-pretrain.jsonl", "bert-tiny-random-pretrain"},
	{"bert-tiny-random-ner.jsonl", "bert-tiny-random-ner"},
	{"bert-tiny-random-qa.jsonl", "bert-tiny-random-qa"},
	{"bert-tiny-random-pairs.jsonl", NULL},
};

int
main(int argc, char **argv)
{
	const char *dir;
	Model	   *seen[32];
	int			n_seen = 0;

	check_begin("encoder_check", argc, argv, 1, "TESTMODELS_DIR");
	dir = argv[1];
	BertBlasEnsureLoaded();
	for (int s = 0; s < (int) lengthof(suites); s++)
	{
		char	   *path = psprintf("%s/golden/%s", dir, suites[s].golden);
		char	   *err = NULL;
		size_t		len;
		char	   *text = BertStandaloneReadFile(path, &len, &err);
		char	   *line;
		int			lineno = 0;

		if (text == NULL)
			fatal("%s", err);
		for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		{
			BertJson   *row;
			Model	   *m;
			bool		known = false;

			lineno++;
			replace_nul_escapes(line);
			if ((row = BertJsonParse(line, (int) strlen(line), &err)) == NULL)
				fatal("%s line %d: %s", path, lineno, err);
			m = model_get(dir, suites[s].model ? suites[s].model
						  : string_member(row, "model"));
			for (int i = 0; i < n_seen; i++)
				known |= seen[i] == m;
			if (!known && n_seen < (int) lengthof(seen))
				seen[n_seen++] = m;
			check_row(m, row, lineno);
		}
	}
	for (int i = 0; i < n_seen; i++)
		printf("model %s: %d rows, %d failed, largest |diff| %.3g (%s)\n",
			   seen[i]->name, seen[i]->rows, seen[i]->failed, seen[i]->worst,
			   seen[i]->worst_what[0] ? seen[i]->worst_what : "-");
	return check_finish();
}
