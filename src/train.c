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
			   *dctx;			/* (R, H) */
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
	int			S = b->input.num_seqs;
	int			H = cfg->hidden_size;
	int			I = cfg->intermediate_size;
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

	/* embeddings: emb = word + position (+ type); hs[0] = dropout(LN(emb)) */
	BertEmbeddingForward(act->emb, &b->input, w->word_embeddings,
						 w->position_embeddings, w->token_type_embeddings, H);
	BertLayerNormForward(act->hs, act->emb, w->emb_ln_g, w->emb_ln_b, R, H,
						 cfg->layer_norm_eps);
	if (p_hidden > 0.0f)
		BertDropoutForward(act->hs, act->emb_mask, (size_t) R * H, p_hidden, &t->rng);

	for (int l = 0; l < L; l++)
	{
		const BertLayerWeights *lw = &w->layers[l];
		const float *x = LAYER_RH(act, hs, l, R, H);
		float	   *out = LAYER_RH(act, hs, l + 1, R, H);
		float	   *q = LAYER_RH(act, q, l, R, H);
		float	   *k = LAYER_RH(act, k, l, R, H);
		float	   *v = LAYER_RH(act, v, l, R, H);
		float	   *ctx = LAYER_RH(act, ctx, l, R, H);
		float	   *s1 = LAYER_RH(act, s1, l, R, H);
		float	   *a = LAYER_RH(act, a, l, R, H);
		float	   *s2 = LAYER_RH(act, s2, l, R, H);
		float	   *u = LAYER_RH(act, u, l, R, I);
		float	   *g = LAYER_RH(act, g, l, R, I);
		float	   *probs = act->probs + (size_t) l * shape.probs;

		TRAIN_CHECK_INTERRUPTS();
		BertLinear(q, x, lw->query_w, lw->query_b, R, H, H);
		BertLinear(k, x, lw->key_w, lw->key_b, R, H, H);
		BertLinear(v, x, lw->value_w, lw->value_b, R, H, H);
		BertAttentionForward(ctx, probs,
							 act->probs_mask ? act->probs_mask + (size_t) l * shape.probs : NULL,
							 act->scratch, q, k, v, &b->input, H,
							 cfg->num_attention_heads, p_attn, &t->rng);
		close_sub_block(s1, ctx, lw->attn_out_w, lw->attn_out_b, x, R, H, H, p_hidden,
						act->mask1 ? LAYER_RH(act, mask1, l, R, H) : NULL, &t->rng);
		BertLayerNormForward(a, s1, lw->attn_ln_g, lw->attn_ln_b, R, H,
							 cfg->layer_norm_eps);
		BertLinear(u, a, lw->inter_w, lw->inter_b, R, H, I);
		BertActivationForward(g, u, (size_t) R * I, cfg->hidden_act);
		close_sub_block(s2, g, lw->out_w, lw->out_b, a, R, I, H, p_hidden,
						act->mask2 ? LAYER_RH(act, mask2, l, R, H) : NULL, &t->rng);
		BertLayerNormForward(out, s2, lw->out_ln_g, lw->out_ln_b, R, H,
							 cfg->layer_norm_eps);
	}
	top = LAYER_RH(act, hs, L, R, H);

	switch (t->task)
	{
		case BERT_TASK_SEQUENCE_CLASSIFICATION:
		case BERT_TASK_PRETRAINING:
			{
				bool		distil = cfg->family == BERT_FAMILY_DISTILBERT;
				int			C = t->task == BERT_TASK_PRETRAINING ? 2 : cfg->num_labels;
				const float *out_w = t->task == BERT_TASK_PRETRAINING ? w->nsp_w : w->classifier_w;
				const float *out_b = t->task == BERT_TASK_PRETRAINING ? w->nsp_b : w->classifier_b;
				const int32_t *labels = t->task == BERT_TASK_PRETRAINING ?
					b->next_sentence_labels : b->labels;

				for (int s = 0; s < S; s++)
				{
					float	   *cls = act->cls + (size_t) s * H;
					float	   *pooled = act->pooled + (size_t) s * H;
					float	   *feat = act->feat + (size_t) s * H;

					memcpy(cls, top + (size_t) b->input.seq_start[s] * H, sizeof(float) * H);
					if (distil)
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
				if (p_cls > 0.0f && t->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
					BertDropoutForward(act->feat, act->feat_mask, (size_t) S * H, p_cls, &t->rng);
				for (int s = 0; s < S; s++)
					BertLinear(act->logits + (size_t) s * C, act->feat + (size_t) s * H,
							   out_w, out_b, 1, H, C);
				if (labels)
				{
					double		sum = BertCrossEntropyForward(act->out_probs, act->logits, labels,
															  S, C, &res->targets, &res->correct);

					res->loss = res->targets ? sum / res->targets : 0.0;
				}
				else
					for (int s = 0; s < S; s++)
						memcpy(act->out_probs + (size_t) s * C, act->logits + (size_t) s * C,
							   sizeof(float) * C);
				if (t->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
					break;

				/* pre-training: the masked-LM loss comes on top of NSP */
				res->nsp_loss = res->loss;
				{
					int			M = 0;
					int			V = cfg->vocab_size;
					int			targets = 0,
								correct = 0;
					double		sum;

					for (int i = 0; i < R; i++)
						if (b->labels[i] != BERT_IGNORE_INDEX)
						{
							act->mlm_rows[M] = i;
							act->mlm_labels[M] = b->labels[i];
							memcpy(act->mlm_h + (size_t) M * H, top + (size_t) i * H,
								   sizeof(float) * H);
							M++;
						}
					if (M == 0)
						break;
					BertLinear(act->mlm_u, act->mlm_h, w->mlm_dense_w, w->mlm_dense_b, M, H, H);
					BertActivationForward(act->mlm_g, act->mlm_u, (size_t) M * H, cfg->hidden_act);
					BertLayerNormForward(act->mlm_t, act->mlm_g, w->mlm_ln_g, w->mlm_ln_b, M, H,
										 cfg->layer_norm_eps);
					BertLinear(act->mlm_logits, act->mlm_t, w->mlm_decoder_w, w->mlm_decoder_b,
							   M, H, V);
					/* softmax in place: the logits are not needed afterwards */
					sum = BertCrossEntropyForward(act->mlm_logits, act->mlm_logits,
												  act->mlm_labels, M, V, &targets, &correct);
					res->mlm_loss = sum / M;
					res->loss = res->mlm_loss + res->nsp_loss;
					res->targets = targets;
					res->correct = correct;
				}
				break;
			}
		case BERT_TASK_TOKEN_CLASSIFICATION:
			{
				int			C = cfg->num_labels;

				memcpy(act->feat, top, sizeof(float) * (size_t) R * H);
				if (p_cls > 0.0f)
					BertDropoutForward(act->feat, act->feat_mask, (size_t) R * H, p_cls, &t->rng);
				BertTokenLogits(act->logits, cfg, w, act->feat, R);
				if (b->labels)
				{
					double		sum = BertCrossEntropyForward(act->out_probs, act->logits, b->labels,
															  R, C, &res->targets, &res->correct);

					res->loss = res->targets ? sum / res->targets : 0.0;
				}
				break;
			}
	}
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
		BertActivationBackward(dfeat, dfeat, act->pooled, (size_t) S * H, BERT_ACT_RELU);
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
	int			S = b->input.num_seqs;
	int			H = cfg->hidden_size;
	int			I = cfg->intermediate_size;
	int			L = cfg->num_hidden_layers;
	float		p_hidden = act->training ? t->hidden_dropout : 0.0f;
	float		p_attn = act->training ? t->attention_dropout : 0.0f;
	float		p_cls = act->training ? t->classifier_dropout : 0.0f;
	float	   *dtop = act->dx;	/* d hs[L] (R, H) */

	memset(dtop, 0, sizeof(float) * (size_t) R * H);
	BertTrainMarkRows(t, &b->input, t->task == BERT_TASK_PRETRAINING && act->cur.masked > 0);

	/* ---- head ---- */
	switch (t->task)
	{
		case BERT_TASK_SEQUENCE_CLASSIFICATION:
		case BERT_TASK_PRETRAINING:
			{
				bool		nsp = t->task == BERT_TASK_PRETRAINING;
				int			C = nsp ? 2 : cfg->num_labels;
				const float *out_w = nsp ? w->nsp_w : w->classifier_w;
				const float *out_b = nsp ? w->nsp_b : w->classifier_b;
				const int32_t *labels = nsp ? b->next_sentence_labels : b->labels;
				float	   *dlogits = act->out_probs;

				/* logits (S, C) = feat W^T + b, CE mean over S */
				BertCrossEntropyBackward(dlogits, act->out_probs, labels, S, C, 1.0f / S);
				BertLinearBackward(act->dhead, grad_of(t, out_w), grad_of(t, out_b), dlogits,
								   act->feat, out_w, S, H, C, false);
				if (p_cls > 0.0f && !nsp)
					BertDropoutBackward(act->dhead, act->feat_mask, (size_t) S * H, p_cls);
				pooler_backward(t, b, act->dhead, dtop);
				if (!nsp)
					break;

				/* masked LM over the M labelled rows */
				{
					int			M = (int) act->cur.masked;
					int			V = cfg->vocab_size;
					float	   *dlog = act->mlm_logits;	/* softmax, in place */

					if (M == 0)
						break;
					BertCrossEntropyBackward(dlog, dlog, act->mlm_labels, M, V, 1.0f / M);
					/* logits (M, V) = t E^T + b_v: dE (tied) += dlog^T t */
					BertLinearBackward(act->dhead, grad_of(t, w->mlm_decoder_w),
									   grad_of(t, w->mlm_decoder_b), dlog, act->mlm_t,
									   w->mlm_decoder_w, M, H, V, false);
					/* t = LN(g) */
					BertLayerNormBackward(act->dhead2, grad_of(t, w->mlm_ln_g),
										  grad_of(t, w->mlm_ln_b), act->dhead, act->mlm_g,
										  w->mlm_ln_g, M, H, cfg->layer_norm_eps);
					/* g = act(u) */
					BertActivationBackward(act->dhead2, act->dhead2, act->mlm_u,
										   (size_t) M * H, cfg->hidden_act);
					/* u = h W_t^T + b_t */
					BertLinearBackward(act->dhead, grad_of(t, w->mlm_dense_w),
									   grad_of(t, w->mlm_dense_b), act->dhead2, act->mlm_h,
									   w->mlm_dense_w, M, H, H, false);
					for (int m = 0; m < M; m++)
					{
						float	   *d = dtop + (size_t) act->mlm_rows[m] * H;
						const float *src = act->dhead + (size_t) m * H;

						for (int j = 0; j < H; j++)
							d[j] += src[j];
					}
				}
				break;
			}
		case BERT_TASK_TOKEN_CLASSIFICATION:
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
				break;
			}
	}

	/* ---- encoder layers, last to first; act->dx holds d hs[l + 1] ---- */
	for (int l = L - 1; l >= 0; l--)
	{
		const BertLayerWeights *lw = &w->layers[l];
		const float *x = LAYER_RH(act, hs, l, R, H);
		const float *q = LAYER_RH(act, q, l, R, H);
		const float *k = LAYER_RH(act, k, l, R, H);
		const float *v = LAYER_RH(act, v, l, R, H);
		const float *ctx = LAYER_RH(act, ctx, l, R, H);
		const float *s1 = LAYER_RH(act, s1, l, R, H);
		const float *a = LAYER_RH(act, a, l, R, H);
		const float *s2 = LAYER_RH(act, s2, l, R, H);
		const float *u = LAYER_RH(act, u, l, R, I);
		const float *g = LAYER_RH(act, g, l, R, I);
		const float *probs = act->probs + (size_t) l * act->cur.probs;
		const float *dt;

		TRAIN_CHECK_INTERRUPTS();
		/* out = LN2(s2): dc = d s2 */
		BertLayerNormBackward(act->dc, grad_of(t, lw->out_ln_g), grad_of(t, lw->out_ln_b),
							  act->dx, s2, lw->out_ln_g, R, H, cfg->layer_norm_eps);
		/* s2 = dropout(g W_out^T + b_out) + a */
		dt = dropout_branch_backward(act->dctx, act->dc,
									 act->mask2 ? LAYER_RH(act, mask2, l, R, H) : NULL,
									 (size_t) R * H, p_hidden);
		BertLinearBackward(act->dinter, grad_of(t, lw->out_w), grad_of(t, lw->out_b), dt, g,
						   lw->out_w, R, I, H, false);
		/* g = act(u) */
		BertActivationBackward(act->dinter, act->dinter, u, (size_t) R * I, cfg->hidden_act);
		/* u = a W_i^T + b_i; dc (d a) = residual + this */
		BertLinearBackward(act->dc, grad_of(t, lw->inter_w), grad_of(t, lw->inter_b),
						   act->dinter, a, lw->inter_w, R, H, I, true);
		/* a = LN1(s1): dx = d s1 */
		BertLayerNormBackward(act->dx, grad_of(t, lw->attn_ln_g), grad_of(t, lw->attn_ln_b),
							  act->dc, s1, lw->attn_ln_g, R, H, cfg->layer_norm_eps);
		/* s1 = dropout(ctx W_o^T + b_o) + x */
		dt = dropout_branch_backward(act->dq, act->dx,
									 act->mask1 ? LAYER_RH(act, mask1, l, R, H) : NULL,
									 (size_t) R * H, p_hidden);
		BertLinearBackward(act->dctx, grad_of(t, lw->attn_out_w), grad_of(t, lw->attn_out_b),
						   dt, ctx, lw->attn_out_w, R, H, H, false);
		/* attention */
		BertAttentionBackward(act->dq, act->dk, act->dv, act->dscores, act->scratch,
							  act->dctx, probs,
							  act->probs_mask ? act->probs_mask + (size_t) l * act->cur.probs : NULL,
							  q, k, v, &b->input, H, cfg->num_attention_heads, p_attn);
		/* q, k, v = x W^T + b; dx (d x) = residual + the three */
		BertLinearBackward(act->dx, grad_of(t, lw->query_w), grad_of(t, lw->query_b),
						   act->dq, x, lw->query_w, R, H, H, true);
		BertLinearBackward(act->dx, grad_of(t, lw->key_w), grad_of(t, lw->key_b),
						   act->dk, x, lw->key_w, R, H, H, true);
		BertLinearBackward(act->dx, grad_of(t, lw->value_w), grad_of(t, lw->value_b),
						   act->dv, x, lw->value_w, R, H, H, true);
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

/* last_hidden_state (R, H) of the last forward pass. */
const float *
BertTrainLastHidden(const BertTrainer *t)
{
	return t->act->hs + (size_t) t->config.num_hidden_layers *
		t->act->cur.rows * t->config.hidden_size;
}
