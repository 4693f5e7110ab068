/*
 * train.c
 *		Forward and backward pass of a whole model over a packed batch: the
 *		encoder (post-LayerNorm BERT / DistilBERT blocks) and the head of the
 *		task, with the activations the backward pass needs.
 *
 * Forward, per layer (R token rows, H hidden, I intermediate), the same
 * kernels in the same order as encoder.c's BertEncoderForward:
 *	 q, k, v  = x W_{q,k,v}^T + b				(R, H) each
 *	 ctx	  = attention(q, k, v)				(R, H), probs saved
 *	 s1		  = dropout(ctx W_o^T + b_o) + x	(R, H)
 *	 a		  = LayerNorm(s1)					(R, H)
 *	 u		  = a W_i^T + b_i					(R, I)
 *	 g		  = act(u)							(R, I)
 *	 s2		  = dropout(g W_out^T + b_out) + a	(R, H)
 *	 out	  = LayerNorm(s2)					(R, H)  next layer's x
 * Heads (S sequences, C labels, M masked positions, V vocabulary):
 *	 BERT sequence classifier:	logits (S, C) = W_c dropout(tanh(W_p h_[CLS] + b_p)) + b_c
 *	 DistilBERT:				logits (S, C) = W_c dropout(relu(W_pre h_0 + b_pre)) + b_c
 *	 token classifier:			logits (R, C) = W_c dropout(h) + b_c
 *	 pre-training:				MLM logits (M, V) = LayerNorm(act(W_t h_m + b_t)) E^T + b_v
 *								(E the word embeddings, tied), NSP logits (S, 2)
 *								= W_nsp tanh(W_p h_[CLS] + b_p) + b_nsp
 * A training pass of the sequence and pre-training heads runs the last
 * layer past its keys and values only on the rows the head reads (the
 * first of each sequence, the masked positions; find_head_rows()).
 * The sequence heads run one sequence at a time through the functions
 * inference uses (BertPoolerOutput, BertLinear on one row), so a trained
 * model's logits are those bert_sentiment computes.  The masked-LM head runs
 * over all M masked rows at once; only positions with a label contribute
 * to the loss, so the other rows are not computed at all.
 *
 * Memory: one arena holds every activation of the largest batch seen
 * (BertTrainActivationBytes); it is reallocated only when a batch needs
 * more.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#include "miscadmin.h"
#endif

#include <math.h>

#include "encoder.h"
#include "heads.h"
#include "nn_ops.h"
#include "train.h"
#include "train_ops.h"

#ifdef BERT_STANDALONE
#define TRAIN_CHECK_INTERRUPTS() ((void) 0)
#else
#define TRAIN_CHECK_INTERRUPTS() CHECK_FOR_INTERRUPTS()
#endif

/* What one batch needs; the arena is sized for the largest seen. */
typedef struct ActShape
{
	size_t		rows;			/* R */
	size_t		seqs;			/* S */
	size_t		probs;			/* heads * sum(len^2) */
	size_t		longest;		/* max len */
	size_t		masked;			/* M */
	size_t		logit_rows;		/* S or R (classifiers) */
} ActShape;

struct BertTrainActivations
{
	ActShape	cap;			/* what the arena holds */
	ActShape	cur;			/* the batch of the last forward pass */
	bool		dropout;		/* the arena has room for masks */
	bool		training;		/* last forward saved masks */
	void	   *arena;
	size_t		bytes;

	/* forward, saved (L layers) */
	float	   *emb;			/* (R, H) embedding sum, LayerNorm input */
	uint8_t    *emb_mask;		/* (R, H) */
	float	   *hs;				/* (L + 1, R, H) layer inputs; hs[L] output */
	float	   *q,
			   *k,
			   *v,
			   *ctx,
			   *s1,
			   *a,
			   *s2;				/* (L, R, H) each */
	uint8_t    *mask1,
			   *mask2;			/* (L, R, H) */
	float	   *u,
			   *g;				/* (L, R, I) */
	float	   *probs;			/* (L, heads * sum(len^2)) */
	uint8_t    *probs_mask;		/* (L, heads * sum(len^2)) */

	/*
	 * The rows the head reads (see head_rows()): with pruned set, the last
	 * layer ran on these N rows only, its per-layer arrays above hold N
	 * rows, and hs[L] is right at these rows only.
	 */
	bool		pruned;
	int			n_head;			/* N */
	int32_t    *head_rows;		/* (R) packed rows, ascending */
	int		   *head_start;		/* (S + 1) sequence s: head_rows[head_start[s]..] */
	float	   *last_x;			/* (N, H) the last layer's input at those rows */

	/* head */
	float	   *cls;			/* (S, H) [CLS] / first rows */
	float	   *pooled;			/* (S, H) tanh pooler, or DistilBERT
								 * pre_classifier before ReLU */
	float	   *feat;			/* (max(S, R), H) classifier input */
	uint8_t    *feat_mask;		/* (max(S, R), H) */
	float	   *logits;			/* (max(S, R), C) classifier / NSP logits */
	float	   *out_probs;		/* (max(S, R), C) softmax of logits */
	int32_t    *mlm_rows;		/* (M) packed rows of the masked positions */
	int32_t    *mlm_labels;		/* (M) */
	float	   *mlm_h,
			   *mlm_u,
			   *mlm_g,
			   *mlm_t;			/* (M, H) */
	float	   *mlm_logits;		/* (M, V), softmax then gradient in place */

	/* backward scratch */
	float	   *dx,
			   *dc,
			   *dq,
			   *dk,
			   *dv,
			   *dctx,
			   *dlast;			/* (R, H) */
	float	   *dinter;			/* (R, I) */
	float	   *dscores,
			   *scratch;		/* (longest^2) */
	float	   *dhead;			/* (max(S, M), H) */
	float	   *dhead2;			/* (max(S, M), H) */
};

static size_t
round_up(size_t n)
{
	return (n + 15) & ~(size_t) 15;
}

/* Lays out (and with base != NULL assigns) the arena; returns its bytes. */
static size_t
layout(BertTrainer *t, BertTrainActivations *act, const ActShape *c,
	   bool dropout, char *base)
{
	const BertConfig *cfg = &t->config;
	size_t		L = cfg->num_hidden_layers;
	size_t		H = cfg->hidden_size;
	size_t		I = cfg->intermediate_size;
	size_t		C = Max(cfg->num_labels, 2);
	size_t		V = cfg->vocab_size;
	size_t		R = c->rows;
	size_t		RS = Max(c->rows, c->seqs);
	size_t		SM = Max(c->seqs, c->masked);
	size_t		off = 0;

#define TAKE(field, type, n) \
	do { \
		if (base) \
			act->field = (type *) (base + off); \
		off += round_up(sizeof(type) * (n)); \
	} while (0)
#define TAKE_MASK(field, n) \
	do { \
		if (dropout) \
			TAKE(field, uint8_t, n); \
		else if (base) \
			act->field = NULL; \
	} while (0)

	TAKE(emb, float, R * H);
	TAKE_MASK(emb_mask, R * H);
	TAKE(hs, float, (L + 1) * R * H);
	TAKE(q, float, L * R * H);
	TAKE(k, float, L * R * H);
	TAKE(v, float, L * R * H);
	TAKE(ctx, float, L * R * H);
	TAKE(s1, float, L * R * H);
	TAKE(a, float, L * R * H);
	TAKE(s2, float, L * R * H);
	TAKE_MASK(mask1, L * R * H);
	TAKE_MASK(mask2, L * R * H);
	TAKE(u, float, L * R * I);
	TAKE(g, float, L * R * I);
	TAKE(probs, float, L * c->probs);
	TAKE_MASK(probs_mask, L * c->probs);
	TAKE(head_rows, int32_t, R);
	TAKE(head_start, int, c->seqs + 1);
	TAKE(last_x, float, R * H);

	TAKE(cls, float, c->seqs * H);
	TAKE(pooled, float, c->seqs * H);
	TAKE(feat, float, RS * H);
	TAKE_MASK(feat_mask, RS * H);
	TAKE(logits, float, RS * C);
	TAKE(out_probs, float, RS * C);
	TAKE(mlm_rows, int32_t, c->masked);
	TAKE(mlm_labels, int32_t, c->masked);
	TAKE(mlm_h, float, c->masked * H);
	TAKE(mlm_u, float, c->masked * H);
	TAKE(mlm_g, float, c->masked * H);
	TAKE(mlm_t, float, c->masked * H);
	TAKE(mlm_logits, float, c->masked * V);

	TAKE(dx, float, R * H);
	TAKE(dc, float, R * H);
	TAKE(dq, float, R * H);
	TAKE(dk, float, R * H);
	TAKE(dv, float, R * H);
	TAKE(dctx, float, R * H);
	TAKE(dlast, float, R * H);
	TAKE(dinter, float, R * I);
	TAKE(dscores, float, c->longest * c->longest);
	TAKE(scratch, float, c->longest * c->longest);
	TAKE(dhead, float, SM * H);
	TAKE(dhead2, float, SM * H);
#undef TAKE
#undef TAKE_MASK
	return off;
}

/* The shape of a batch. */
static void
batch_shape(const BertTrainer *t, const BertTrainBatch *b, ActShape *s)
{
	memset(s, 0, sizeof(*s));
	s->rows = b->input.total_tokens;
	s->seqs = b->input.num_seqs;
	for (int i = 0; i < b->input.num_seqs; i++)
	{
		size_t		len = b->input.seq_start[i + 1] - b->input.seq_start[i];

		s->probs += len * len;
		s->longest = Max(s->longest, len);
	}
	s->probs *= t->config.num_attention_heads;
	if (t->task == BERT_TASK_PRETRAINING)
		for (int i = 0; i < b->input.total_tokens; i++)
			s->masked += (b->labels[i] != BERT_IGNORE_INDEX);
	s->logit_rows = t->task == BERT_TASK_TOKEN_CLASSIFICATION ? s->rows : s->seqs;
}

/* Makes the arena fit the batch; NULL or an error message. */
static const char *
reserve(BertTrainer *t, const ActShape *need, bool dropout)
{
	BertTrainActivations *act = t->act;
	ActShape	c;
	size_t		bytes;
	char	   *base;

	if (act == NULL)
		act = t->act = palloc0(sizeof(BertTrainActivations));
	if (act->arena && need->rows <= act->cap.rows && need->seqs <= act->cap.seqs &&
		need->probs <= act->cap.probs && need->longest <= act->cap.longest &&
		need->masked <= act->cap.masked && (!dropout || act->dropout))
		return NULL;
	c.rows = Max(need->rows, act->cap.rows);
	c.seqs = Max(need->seqs, act->cap.seqs);
	c.probs = Max(need->probs, act->cap.probs);
	c.longest = Max(need->longest, act->cap.longest);
	c.masked = Max(need->masked, act->cap.masked);
	c.logit_rows = 0;
	dropout = dropout || act->dropout;
	if (act->arena)
	{
		pfree(act->arena);
		act->arena = NULL;
	}
	bytes = layout(t, act, &c, dropout, NULL);
	base = palloc_extended(Max(bytes, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (base == NULL)
	{
		act->cap = (ActShape) {0};
		return psprintf("Out of memory for the activations of a batch (%zu MB); use a smaller batch size or max_length.",
						bytes >> 20);
	}
	layout(t, act, &c, dropout, base);
	act->arena = base;
	act->bytes = bytes;
	act->cap = c;
	act->dropout = dropout;
	return NULL;
}

/* Bytes the activation arena holds now. */
size_t
BertTrainActivationBytes(const BertTrainer *t)
{
	return t->act ? t->act->bytes : 0;
}

/* Per-layer slices of the saved activations. */
#define LAYER_RH(act, field, l, R, H) ((act)->field + (size_t) (l) * (R) * (H))

/*
 * y (rows, out) = dropout(x W^T + b) + residual, the closing projection of
 * a sub-block; without dropout the inference kernel BertLinearResidual.
 */
static void
close_sub_block(float *y, const float *x, const float *w, const float *b,
				const float *residual, int rows, int in, int out, float p,
				uint8_t *mask, BertRng *rng)
{
	size_t		n = (size_t) rows * out;

	if (p <= 0.0f)
	{
		BertLinearResidual(y, x, w, b, residual, rows, in, out);
		return;
	}
	BertLinear(y, x, w, b, rows, in, out);
	BertDropoutForward(y, mask, n, p, rng);
	for (size_t i = 0; i < n; i++)
		y[i] += residual[i];
}

/* dst (n, h) = the rows rows[0..n-1] of src (., h). */
static void
gather_rows(float *dst, const float *src, const int32_t *rows, int n, int h)
{
	for (int i = 0; i < n; i++)
		memcpy(dst + (size_t) i * h, src + (size_t) rows[i] * h, sizeof(float) * h);
}

/*
 * The rows of the last layer's output that the head reads, into
 * act->head_rows / head_start: the first row of every sequence (pooler,
 * pre_classifier, next sentence) and in pre-training the masked positions.
 * In a training pass of those tasks no other row of the last layer
 * reaches the loss, so that layer runs its queries, output projections,
 * feed-forward block and LayerNorms on these N rows only (keys and values
 * still on all rows): the same loss and gradients with about a fifth less
 * arithmetic in a 4-layer model.  Sets act->pruned when N < R.  Evaluation
 * passes run every row, so BertTrainLastHidden is whole after them.
 */
static void
find_head_rows(BertTrainer *t, const BertTrainBatch *b, bool training)
{
	BertTrainActivations *act = t->act;
	const BertBatch *in = &b->input;
	bool		mlm = t->task == BERT_TASK_PRETRAINING;
	int			n = 0;

	act->pruned = false;
	act->n_head = in->total_tokens;
	if (!training || t->task == BERT_TASK_TOKEN_CLASSIFICATION ||
		t->config.num_hidden_layers < 1)
		return;
	for (int s = 0; s < in->num_seqs; s++)
	{
		act->head_start[s] = n;
		for (int i = in->seq_start[s]; i < in->seq_start[s + 1]; i++)
			if (i == in->seq_start[s] || (mlm && b->labels[i] != BERT_IGNORE_INDEX))
				act->head_rows[n++] = i;
	}
	act->head_start[in->num_seqs] = n;
	act->n_head = n;
	act->pruned = n < in->total_tokens;
}

/* The rows layer l runs on past its keys and values: N, or R when not pruned. */
static int
layer_rows(const BertTrainer *t, int l, int R)
{
	return t->act->pruned && l == t->config.num_hidden_layers - 1 ? t->act->n_head : R;
}

/*
 * Encoder layer l (see the file header) from hs[l] (R, H) into hs[l + 1].
 * The last layer of a pruned pass computes k, v on all R rows and the rest
 * on the N head rows (input rows x_q (N, H) saved in last_x; q, ctx, s1, a,
 * s2 (N, H), u, g (N, I) in the layer's slices); its output rows go to their
 * places in hs[L].
 */
static void
layer_forward(BertTrainer *t, const BertTrainBatch *b, int l, float p_hidden,
			  float p_attn)
{
	const BertConfig *cfg = &t->config;
	const BertLayerWeights *lw = &t->weights.layers[l];
	BertTrainActivations *act = t->act;
	int			R = b->input.total_tokens;
	int			H = cfg->hidden_size;
	int			I = cfg->intermediate_size;
	int			N = layer_rows(t, l, R);
	bool		prune = N < R;
	const float *x = LAYER_RH(act, hs, l, R, H);
	const float *xq = x;
	float	   *out = LAYER_RH(act, hs, l + 1, R, H);
	float	   *q = LAYER_RH(act, q, l, R, H);
	float	   *ctx = LAYER_RH(act, ctx, l, R, H);
	float	   *s1 = LAYER_RH(act, s1, l, R, H);
	float	   *a = LAYER_RH(act, a, l, R, H);
	float	   *s2 = LAYER_RH(act, s2, l, R, H);
	float	   *u = LAYER_RH(act, u, l, R, I);
	float	   *g = LAYER_RH(act, g, l, R, I);

	if (prune)
	{
		gather_rows(act->last_x, x, act->head_rows, N, H);
		xq = act->last_x;
		out = act->dq;			/* (N, H), backward scratch until then */
	}
	BertLinear(q, xq, lw->query_w, lw->query_b, N, H, H);
	BertLinear(LAYER_RH(act, k, l, R, H), x, lw->key_w, lw->key_b, R, H, H);
	BertLinear(LAYER_RH(act, v, l, R, H), x, lw->value_w, lw->value_b, R, H, H);
	BertAttentionForward(ctx, act->probs + (size_t) l * act->cur.probs,
						 act->probs_mask ? act->probs_mask + (size_t) l * act->cur.probs : NULL,
						 act->scratch, q, LAYER_RH(act, k, l, R, H), LAYER_RH(act, v, l, R, H),
						 &b->input, prune ? act->head_start : NULL, H,
						 cfg->num_attention_heads, p_attn, &t->rng);
	close_sub_block(s1, ctx, lw->attn_out_w, lw->attn_out_b, xq, N, H, H, p_hidden,
					act->mask1 ? LAYER_RH(act, mask1, l, R, H) : NULL, &t->rng);
	BertLayerNormForward(a, s1, lw->attn_ln_g, lw->attn_ln_b, N, H, cfg->layer_norm_eps);
	BertLinear(u, a, lw->inter_w, lw->inter_b, N, H, I);
	BertActivationForward(g, u, (size_t) N * I, cfg->hidden_act);
	close_sub_block(s2, g, lw->out_w, lw->out_b, a, N, I, H, p_hidden,
					act->mask2 ? LAYER_RH(act, mask2, l, R, H) : NULL, &t->rng);
	BertLayerNormForward(out, s2, lw->out_ln_g, lw->out_ln_b, N, H, cfg->layer_norm_eps);
	if (prune)
		for (int i = 0; i < N; i++)
			memcpy(LAYER_RH(act, hs, l + 1, R, H) + (size_t) act->head_rows[i] * H,
				   out + (size_t) i * H, sizeof(float) * H);
}

/*
 * Softmax and loss of logits (rows, C) into res, or without labels the
 * logits copied as they are (inference reads them from out_probs).
 */
static void
classifier_loss(BertTrainActivations *act, const int32_t *labels, int rows,
				int C, BertTrainResult *res)
{
	double		sum;

	if (labels == NULL)
	{
		memcpy(act->out_probs, act->logits, sizeof(float) * (size_t) rows * C);
		return;
	}
	sum = BertCrossEntropyForward(act->out_probs, act->logits, labels, rows, C,
								  &res->targets, &res->correct);
	res->loss = res->targets ? sum / res->targets : 0.0;
}

/*
 * Sequence head on the first row of every sequence of top (R, H): BERT's
 * pooler or DistilBERT's pre_classifier + ReLU, then the classifier
 * (sequence classification, with dropout p_cls) or the next-sentence
 * layer (pre-training), with its cross-entropy.
 */
static void
sequence_head_forward(BertTrainer *t, const BertTrainBatch *b, const float *top,
					  float p_cls, BertTrainResult *res)
{
	const BertConfig *cfg = &t->config;
	const BertWeights *w = &t->weights;
	BertTrainActivations *act = t->act;
	bool		nsp = t->task == BERT_TASK_PRETRAINING;
	int			S = b->input.num_seqs;
	int			H = cfg->hidden_size;
	int			C = nsp ? 2 : cfg->num_labels;
	const float *out_w = nsp ? w->nsp_w : w->classifier_w;
	const float *out_b = nsp ? w->nsp_b : w->classifier_b;

	for (int s = 0; s < S; s++)
	{
		float	   *cls = act->cls + (size_t) s * H;
		float	   *pooled = act->pooled + (size_t) s * H;
		float	   *feat = act->feat + (size_t) s * H;

		memcpy(cls, top + (size_t) b->input.seq_start[s] * H, sizeof(float) * H);
		if (cfg->family == BERT_FAMILY_DISTILBERT)
		{
			BertLinear(pooled, cls, w->pre_classifier_w, w->pre_classifier_b, 1, H, H);
			BertActivationForward(feat, pooled, H, BERT_ACT_RELU);
		}
		else
		{
			BertPoolerOutput(pooled, cfg, w, cls);
			memcpy(feat, pooled, sizeof(float) * H);
		}
	}
	if (p_cls > 0.0f && !nsp)
		BertDropoutForward(act->feat, act->feat_mask, (size_t) S * H, p_cls, &t->rng);
	for (int s = 0; s < S; s++)
		BertLinear(act->logits + (size_t) s * C, act->feat + (size_t) s * H,
				   out_w, out_b, 1, H, C);
	classifier_loss(act, nsp ? b->next_sentence_labels : b->labels, S, C, res);
}

/*
 * Masked-LM head over the M labelled rows of top (R, H); adds its mean loss
 * to res, whose loss so far is the next-sentence loss.
 */
static void
mlm_head_forward(BertTrainer *t, const BertTrainBatch *b, const float *top,
				 BertTrainResult *res)
{
	const BertConfig *cfg = &t->config;
	const BertWeights *w = &t->weights;
	BertTrainActivations *act = t->act;
	int			H = cfg->hidden_size;
	int			M = 0;
	int			targets = 0,
				correct = 0;
	double		sum;

	res->nsp_loss = res->loss;
	for (int i = 0; i < b->input.total_tokens; i++)
		if (b->labels[i] != BERT_IGNORE_INDEX)
		{
			act->mlm_rows[M] = i;
			act->mlm_labels[M] = b->labels[i];
			M++;
		}
	if (M == 0)
		return;
	gather_rows(act->mlm_h, top, act->mlm_rows, M, H);
	BertLinear(act->mlm_u, act->mlm_h, w->mlm_dense_w, w->mlm_dense_b, M, H, H);
	BertActivationForward(act->mlm_g, act->mlm_u, (size_t) M * H, cfg->hidden_act);
	BertLayerNormForward(act->mlm_t, act->mlm_g, w->mlm_ln_g, w->mlm_ln_b, M, H,
						 cfg->layer_norm_eps);
	BertLinear(act->mlm_logits, act->mlm_t, w->mlm_decoder_w, w->mlm_decoder_b,
			   M, H, cfg->vocab_size);
	/* softmax in place: the logits are not needed afterwards */
	sum = BertCrossEntropyForward(act->mlm_logits, act->mlm_logits,
								  act->mlm_labels, M, cfg->vocab_size, &targets, &correct);
	res->mlm_loss = sum / M;
	res->loss = res->mlm_loss + res->nsp_loss;
	res->targets = targets;
	res->correct = correct;
}

/*
 * The forward pass of one batch.  training: dropout on (when the trainer's
 * probabilities say so) and activations kept for BertTrainBackward; else
 * evaluation.  Fills res with the loss and the count of correct argmax
 * predictions when the batch has labels.  NULL or an error message.
 */
const char *
BertTrainForward(BertTrainer *t, const BertTrainBatch *b, bool training,
				 BertTrainResult *res)
{
	const BertConfig *cfg = &t->config;
	const BertWeights *w = &t->weights;
	BertTrainActivations *act;
	ActShape	shape;
	const char *error;
	int			R = b->input.total_tokens;
	int			H = cfg->hidden_size;
	int			L = cfg->num_hidden_layers;
	float		p_hidden = training ? t->hidden_dropout : 0.0f;
	float		p_attn = training ? t->attention_dropout : 0.0f;
	float		p_cls = training ? t->classifier_dropout : 0.0f;
	bool		dropout = p_hidden > 0.0f || p_attn > 0.0f || p_cls > 0.0f;
	const float *top;

	memset(res, 0, sizeof(*res));
	batch_shape(t, b, &shape);
	if ((error = reserve(t, &shape, dropout)) != NULL)
		return error;
	act = t->act;
	act->cur = shape;
	act->training = training;
	find_head_rows(t, b, training);

	/* embeddings: emb = word + position (+ type); hs[0] = dropout(LN(emb)) */
	BertEmbeddingForward(act->emb, &b->input, w->word_embeddings,
						 w->position_embeddings, w->token_type_embeddings, H);
	BertLayerNormForward(act->hs, act->emb, w->emb_ln_g, w->emb_ln_b, R, H,
						 cfg->layer_norm_eps);
	if (p_hidden > 0.0f)
		BertDropoutForward(act->hs, act->emb_mask, (size_t) R * H, p_hidden, &t->rng);

	for (int l = 0; l < L; l++)
	{
		TRAIN_CHECK_INTERRUPTS();
		layer_forward(t, b, l, p_hidden, p_attn);
	}
	top = LAYER_RH(act, hs, L, R, H);

	if (t->task == BERT_TASK_TOKEN_CLASSIFICATION)
	{
		memcpy(act->feat, top, sizeof(float) * (size_t) R * H);
		if (p_cls > 0.0f)
			BertDropoutForward(act->feat, act->feat_mask, (size_t) R * H, p_cls, &t->rng);
		BertTokenLogits(act->logits, cfg, w, act->feat, R);
		if (b->labels)
			classifier_loss(act, b->labels, R, cfg->num_labels, res);
		return NULL;
	}
	sequence_head_forward(t, b, top, p_cls, res);
	if (t->task == BERT_TASK_PRETRAINING)
		mlm_head_forward(t, b, top, res);
	return NULL;
}

/*
 * Sets every gradient to zero (before a backward pass): all tensors but the
 * word embeddings in full, of those the rows the last backward pass wrote.
 */
void
BertTrainZeroGrad(BertTrainer *t)
{
	const BertParam *we = &t->param[t->word_param];
	size_t		h = t->config.hidden_size;

	memset(t->grads, 0, sizeof(float) * we->offset);
	memset(t->grads + we->offset + we->count, 0,
		   sizeof(float) * (t->size - we->offset - we->count));
	for (int r = 0; r < t->config.vocab_size; r++)
		if (t->row_dirty[r])
		{
			memset(t->grads + we->offset + r * h, 0, sizeof(float) * h);
			t->row_dirty[r] = 0;
		}
}

/*
 * Marks the word-embedding rows the batch's tokens read (all rows: the tied
 * masked-LM decoder gives every row a gradient) as having a gradient now.
 */
void
BertTrainMarkRows(BertTrainer *t, const BertBatch *b, bool all)
{
	if (all)
	{
		memset(t->row_dirty, 1, t->config.vocab_size);
		memset(t->row_used, 1, t->config.vocab_size);
		return;
	}
	for (int i = 0; i < b->total_tokens; i++)
		if (b->input_ids[i] != t->pad_id)
			t->row_dirty[b->input_ids[i]] = t->row_used[b->input_ids[i]] = 1;
}

/* The gradient slot of a weight pointer of the trainer's view. */
static float *
grad_of(BertTrainer *t, const float *weight)
{
	return t->grads + (weight - t->params);
}

/*
 * Backward of the pooler (BERT) or pre_classifier + ReLU (DistilBERT) for
 * every sequence: dfeat (S, H) is the gradient at the head's feature (it
 * is overwritten); adds d h_[CLS] into dtop's first rows.
 */
static void
pooler_backward(BertTrainer *t, const BertTrainBatch *b, float *dfeat,
				float *dtop)
{
	const BertWeights *w = &t->weights;
	BertTrainActivations *act = t->act;
	int			S = b->input.num_seqs;
	int			H = t->config.hidden_size;
	bool		distil = t->config.family == BERT_FAMILY_DISTILBERT;
	const float *pw = distil ? w->pre_classifier_w : w->pooler_w;
	const float *pb = distil ? w->pre_classifier_b : w->pooler_b;

	if (distil)
		BertActivationBackward(dfeat, dfeat, act->pooled, NULL, (size_t) S * H, BERT_ACT_RELU);
	else
		BertTanhBackward(dfeat, dfeat, act->pooled, (size_t) S * H);
	BertLinearBackward(act->dhead2, grad_of(t, pw), grad_of(t, pb), dfeat,
					   act->cls, pw, S, H, H, false);
	for (int s = 0; s < S; s++)
	{
		float	   *d = dtop + (size_t) b->input.seq_start[s] * H;
		const float *src = act->dhead2 + (size_t) s * H;

		for (int j = 0; j < H; j++)
			d[j] += src[j];
	}
}

/*
 * The gradient at the dropped-out branch of close_sub_block from the
 * gradient ds (n) at its sum: ds itself without dropout, else a masked
 * copy in scratch (n); ds stays the residual's gradient.
 */
static const float *
dropout_branch_backward(float *scratch, const float *ds, const uint8_t *mask,
						size_t n, float p)
{
	if (p <= 0.0f)
		return ds;
	memcpy(scratch, ds, sizeof(float) * n);
	BertDropoutBackward(scratch, mask, n, p);
	return scratch;
}

/* Adds src (n, h) to the rows rows[0..n-1] of dst (., h). */
static void
scatter_add_rows(float *dst, const float *src, const int32_t *rows, int n, int h)
{
	for (int i = 0; i < n; i++)
	{
		float	   *d = dst + (size_t) rows[i] * h;
		const float *s = src + (size_t) i * h;

		for (int j = 0; j < h; j++)
			d[j] += s[j];
	}
}

/*
 * Backward of the sequence head (and in pre-training of the masked-LM
 * head): adds d top into dtop (R, H), which is zero on entry.
 */
static void
sequence_head_backward(BertTrainer *t, const BertTrainBatch *b, float p_cls,
					   float *dtop)
{
	const BertConfig *cfg = &t->config;
	const BertWeights *w = &t->weights;
	BertTrainActivations *act = t->act;
	bool		nsp = t->task == BERT_TASK_PRETRAINING;
	int			S = b->input.num_seqs;
	int			H = cfg->hidden_size;
	int			C = nsp ? 2 : cfg->num_labels;
	const float *out_w = nsp ? w->nsp_w : w->classifier_w;
	const float *out_b = nsp ? w->nsp_b : w->classifier_b;
	int			M = (int) act->cur.masked;
	int			V = cfg->vocab_size;
	float	   *dlog = act->mlm_logits; /* softmax, in place */

	/* logits (S, C) = feat W^T + b, CE mean over S */
	BertCrossEntropyBackward(act->out_probs, act->out_probs,
							 nsp ? b->next_sentence_labels : b->labels, S, C, 1.0f / S);
	BertLinearBackward(act->dhead, grad_of(t, out_w), grad_of(t, out_b), act->out_probs,
					   act->feat, out_w, S, H, C, false);
	if (p_cls > 0.0f && !nsp)
		BertDropoutBackward(act->dhead, act->feat_mask, (size_t) S * H, p_cls);
	pooler_backward(t, b, act->dhead, dtop);
	if (!nsp || M == 0)
		return;

	/* masked LM over the M labelled rows */
	BertCrossEntropyBackward(dlog, dlog, act->mlm_labels, M, V, 1.0f / M);
	/* logits (M, V) = t E^T + b_v: dE (tied) += dlog^T t */
	BertLinearBackward(act->dhead, grad_of(t, w->mlm_decoder_w),
					   grad_of(t, w->mlm_decoder_b), dlog, act->mlm_t,
					   w->mlm_decoder_w, M, H, V, false);
	/* t = LN(g) */
	BertLayerNormBackward(act->dhead2, grad_of(t, w->mlm_ln_g), grad_of(t, w->mlm_ln_b),
						  act->dhead, act->mlm_g, w->mlm_ln_g, M, H, cfg->layer_norm_eps);
	/* g = act(u) */
	BertActivationBackward(act->dhead2, act->dhead2, act->mlm_u, act->mlm_g,
						   (size_t) M * H, cfg->hidden_act);
	/* u = h W_t^T + b_t */
	BertLinearBackward(act->dhead, grad_of(t, w->mlm_dense_w), grad_of(t, w->mlm_dense_b),
					   act->dhead2, act->mlm_h, w->mlm_dense_w, M, H, H, false);
	scatter_add_rows(dtop, act->dhead, act->mlm_rows, M, H);
}

/*
 * Backward of encoder layer l: act->dx holds d hs[l + 1] (R, H) on entry and
 * d hs[l] on return.  In the last layer of a pruned pass (layer_forward)
 * dx_q (N, H) in dlast is the gradient at the head rows, added into dx's
 * rows at the end.
 */
static void
layer_backward(BertTrainer *t, const BertTrainBatch *b, int l, float p_hidden,
			   float p_attn)
{
	const BertConfig *cfg = &t->config;
	const BertLayerWeights *lw = &t->weights.layers[l];
	BertTrainActivations *act = t->act;
	int			R = b->input.total_tokens;
	int			H = cfg->hidden_size;
	int			I = cfg->intermediate_size;
	int			N = layer_rows(t, l, R);
	bool		prune = N < R;
	const float *x = LAYER_RH(act, hs, l, R, H);
	const float *xq = prune ? act->last_x : x;
	const float *q = LAYER_RH(act, q, l, R, H);
	const float *a = LAYER_RH(act, a, l, R, H);
	float	   *dxq = prune ? act->dlast : act->dx;
	const float *dt;

	if (prune)
		gather_rows(dxq, act->dx, act->head_rows, N, H);
	/* out = LN2(s2): dc = d s2 */
	BertLayerNormBackward(act->dc, grad_of(t, lw->out_ln_g), grad_of(t, lw->out_ln_b),
						  dxq, LAYER_RH(act, s2, l, R, H), lw->out_ln_g, N, H,
						  cfg->layer_norm_eps);
	/* s2 = dropout(g W_out^T + b_out) + a */
	dt = dropout_branch_backward(act->dctx, act->dc,
								 act->mask2 ? LAYER_RH(act, mask2, l, R, H) : NULL,
								 (size_t) N * H, p_hidden);
	BertLinearBackward(act->dinter, grad_of(t, lw->out_w), grad_of(t, lw->out_b), dt,
					   LAYER_RH(act, g, l, R, I), lw->out_w, N, I, H, false);
	/* g = act(u) */
	BertActivationBackward(act->dinter, act->dinter, LAYER_RH(act, u, l, R, I),
						   LAYER_RH(act, g, l, R, I), (size_t) N * I, cfg->hidden_act);
	/* u = a W_i^T + b_i; dc (d a) = residual + this */
	BertLinearBackward(act->dc, grad_of(t, lw->inter_w), grad_of(t, lw->inter_b),
					   act->dinter, a, lw->inter_w, N, H, I, true);
	/* a = LN1(s1): dx_q = d s1 */
	BertLayerNormBackward(dxq, grad_of(t, lw->attn_ln_g), grad_of(t, lw->attn_ln_b),
						  act->dc, LAYER_RH(act, s1, l, R, H), lw->attn_ln_g, N, H,
						  cfg->layer_norm_eps);
	/* s1 = dropout(ctx W_o^T + b_o) + x_q */
	dt = dropout_branch_backward(act->dq, dxq,
								 act->mask1 ? LAYER_RH(act, mask1, l, R, H) : NULL,
								 (size_t) N * H, p_hidden);
	BertLinearBackward(act->dctx, grad_of(t, lw->attn_out_w), grad_of(t, lw->attn_out_b),
					   dt, LAYER_RH(act, ctx, l, R, H), lw->attn_out_w, N, H, H, false);
	/* attention */
	BertAttentionBackward(act->dq, act->dk, act->dv, act->dscores, act->scratch,
						  act->dctx, act->probs + (size_t) l * act->cur.probs,
						  act->probs_mask ? act->probs_mask + (size_t) l * act->cur.probs : NULL,
						  q, LAYER_RH(act, k, l, R, H), LAYER_RH(act, v, l, R, H), &b->input,
						  prune ? act->head_start : NULL, H, cfg->num_attention_heads, p_attn);
	/* q = x_q W_q^T + b, k, v = x W^T + b; dx = residual + the three */
	BertLinearBackward(dxq, grad_of(t, lw->query_w), grad_of(t, lw->query_b),
					   act->dq, xq, lw->query_w, N, H, H, true);
	BertLinearBackward(act->dx, grad_of(t, lw->key_w), grad_of(t, lw->key_b),
					   act->dk, x, lw->key_w, R, H, H, !prune);
	BertLinearBackward(act->dx, grad_of(t, lw->value_w), grad_of(t, lw->value_b),
					   act->dv, x, lw->value_w, R, H, H, true);
	if (prune)
		scatter_add_rows(act->dx, dxq, act->head_rows, N, H);
}

/*
 * Gradients of the loss of the last forward pass (which must have been a
 * training pass over the same batch) added to t->grads.
 */
void
BertTrainBackward(BertTrainer *t, const BertTrainBatch *b)
{
	const BertConfig *cfg = &t->config;
	const BertWeights *w = &t->weights;
	BertTrainActivations *act = t->act;
	int			R = b->input.total_tokens;
	int			H = cfg->hidden_size;
	float		p_hidden = act->training ? t->hidden_dropout : 0.0f;
	float		p_attn = act->training ? t->attention_dropout : 0.0f;
	float		p_cls = act->training ? t->classifier_dropout : 0.0f;
	float	   *dtop = act->dx;	/* d hs[L] (R, H) */

	memset(dtop, 0, sizeof(float) * (size_t) R * H);
	BertTrainMarkRows(t, &b->input, t->task == BERT_TASK_PRETRAINING && act->cur.masked > 0);

	/* ---- head ---- */
	if (t->task == BERT_TASK_TOKEN_CLASSIFICATION)
	{
		int			C = cfg->num_labels;
		int			n = 0;

		for (int i = 0; i < R; i++)
			n += b->labels[i] != BERT_IGNORE_INDEX;
		BertCrossEntropyBackward(act->out_probs, act->out_probs, b->labels, R, C,
								 n ? 1.0f / n : 0.0f);
		BertLinearBackward(dtop, grad_of(t, w->classifier_w), grad_of(t, w->classifier_b),
						   act->out_probs, act->feat, w->classifier_w, R, H, C, false);
		if (p_cls > 0.0f)
			BertDropoutBackward(dtop, act->feat_mask, (size_t) R * H, p_cls);
	}
	else
		sequence_head_backward(t, b, p_cls, dtop);

	/* ---- encoder layers, last to first; act->dx holds d hs[l + 1] ---- */
	for (int l = cfg->num_hidden_layers - 1; l >= 0; l--)
	{
		TRAIN_CHECK_INTERRUPTS();
		layer_backward(t, b, l, p_hidden, p_attn);
	}

	/* ---- embeddings: hs[0] = dropout(LN(emb)) ---- */
	if (p_hidden > 0.0f)
		BertDropoutBackward(act->dx, act->emb_mask, (size_t) R * H, p_hidden);
	BertLayerNormBackward(act->dc, grad_of(t, w->emb_ln_g), grad_of(t, w->emb_ln_b),
						  act->dx, act->emb, w->emb_ln_g, R, H, cfg->layer_norm_eps);
	BertEmbeddingBackward(grad_of(t, w->word_embeddings), grad_of(t, w->position_embeddings),
						  w->token_type_embeddings ? grad_of(t, w->token_type_embeddings) : NULL,
						  act->dc, &b->input, H, t->pad_id);
}

/*
 * Logits of the last forward pass: sequence classifier (S, C), token
 * classifier (R, C), pre-training the NSP logits (S, 2).
 */
const float *
BertTrainLogits(const BertTrainer *t, int *rows, int *cols)
{
	*rows = (int) t->act->cur.logit_rows;
	*cols = t->task == BERT_TASK_PRETRAINING ? 2 : t->config.num_labels;
	return t->act->logits;
}

/*
 * last_hidden_state (R, H) of the last forward pass; after a training pass
 * of the sequence or pre-training task only the head rows are set.
 */
const float *
BertTrainLastHidden(const BertTrainer *t)
{
	return t->act->hs + (size_t) t->config.num_hidden_layers *
		t->act->cur.rows * t->config.hidden_size;
}
