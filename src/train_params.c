/*
 * train_params.c
 *		The trainable tensors of a model: Hugging Face names, shapes, which
 *		take weight decay, where they sit in the flat parameter array, and
 *		how they are filled (from a loaded model, from a safetensors file,
 *		or initialised as Hugging Face initialises new modules).
 *
 * A table entry also names the BertWeights field it binds, so the
 * trainer's BertWeights view, loading from an inference model, and
 * loading from a safetensors file all follow one list.  The decoder of a
 * masked-LM head is tied to the word embeddings and has no entry.
 *
 * Pure C over palloc: no fmgr, no ereport.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>
#include <stdio.h>

#include "train.h"

#define WFIELD(f) offsetof(BertWeights, f)
#define LFIELD(f) offsetof(BertLayerWeights, f)

/* The table under construction. */
typedef struct TableBuilder
{
	BertParam  *param;
	int			n;
	int			cap;
	size_t		size;
	const char *prefix;			/* "bert.", "distilbert." or "" */
} TableBuilder;

/* No weight decay on biases and LayerNorm weights (golden_train.py's rule). */
static bool
takes_decay(const char *name)
{
	size_t		len = strlen(name);

	return !(len >= 4 && strcmp(name + len - 4, "bias") == 0) &&
		strstr(name, "LayerNorm") == NULL && strstr(name, "layer_norm") == NULL;
}

/* Appends one tensor; prefixed: the name takes the encoder's prefix. */
static void
add(TableBuilder *tb, bool prefixed, const char *name, int layer, size_t field,
	int64_t d0, int64_t d1, bool head)
{
	BertParam  *p;

	if (tb->n == tb->cap)
	{
		tb->cap = tb->cap ? 2 * tb->cap : 64;
		tb->param = tb->param ? repalloc(tb->param, sizeof(BertParam) * tb->cap)
			: palloc(sizeof(BertParam) * tb->cap);
	}
	p = &tb->param[tb->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s%s", prefixed ? tb->prefix : "", name);
	p->ndim = d1 > 0 ? 2 : 1;
	p->shape[0] = d0;
	p->shape[1] = d1 > 0 ? d1 : 0;
	p->count = (size_t) d0 * (d1 > 0 ? (size_t) d1 : 1);
	/* 16-float alignment keeps every tensor on a cache-line boundary */
	p->offset = tb->size;
	tb->size += (p->count + 15) & ~(size_t) 15;
	p->decay = takes_decay(p->name);
	p->head = head;
	p->layer = layer;
	p->field = field;
}

/* Embeddings and encoder layers of a BERT or DistilBERT model. */
static void
add_encoder(TableBuilder *tb, const BertConfig *cfg)
{
	bool		distil = cfg->family == BERT_FAMILY_DISTILBERT;
	int			h = cfg->hidden_size;
	int			in = cfg->intermediate_size;
	char		name[96];

	add(tb, true, "embeddings.word_embeddings.weight", -1, WFIELD(word_embeddings), cfg->vocab_size, h, false);
	add(tb, true, "embeddings.position_embeddings.weight", -1, WFIELD(position_embeddings), cfg->max_position_embeddings, h, false);
	if (!distil)
		add(tb, true, "embeddings.token_type_embeddings.weight", -1, WFIELD(token_type_embeddings), cfg->type_vocab_size, h, false);
	add(tb, true, "embeddings.LayerNorm.weight", -1, WFIELD(emb_ln_g), h, 0, false);
	add(tb, true, "embeddings.LayerNorm.bias", -1, WFIELD(emb_ln_b), h, 0, false);

	for (int l = 0; l < cfg->num_hidden_layers; l++)
	{
#define LAYER(bert_name, distil_name, f, d0, d1) \
		(snprintf(name, sizeof(name), distil ? "transformer.layer.%d.%s" : "encoder.layer.%d.%s", \
				  l, distil ? distil_name : bert_name), \
		 add(tb, true, name, l, LFIELD(f), d0, d1, false))

		LAYER("attention.self.query.weight", "attention.q_lin.weight", query_w, h, h);
		LAYER("attention.self.query.bias", "attention.q_lin.bias", query_b, h, 0);
		LAYER("attention.self.key.weight", "attention.k_lin.weight", key_w, h, h);
		LAYER("attention.self.key.bias", "attention.k_lin.bias", key_b, h, 0);
		LAYER("attention.self.value.weight", "attention.v_lin.weight", value_w, h, h);
		LAYER("attention.self.value.bias", "attention.v_lin.bias", value_b, h, 0);
		LAYER("attention.output.dense.weight", "attention.out_lin.weight", attn_out_w, h, h);
		LAYER("attention.output.dense.bias", "attention.out_lin.bias", attn_out_b, h, 0);
		LAYER("attention.output.LayerNorm.weight", "sa_layer_norm.weight", attn_ln_g, h, 0);
		LAYER("attention.output.LayerNorm.bias", "sa_layer_norm.bias", attn_ln_b, h, 0);
		LAYER("intermediate.dense.weight", "ffn.lin1.weight", inter_w, in, h);
		LAYER("intermediate.dense.bias", "ffn.lin1.bias", inter_b, in, 0);
		LAYER("output.dense.weight", "ffn.lin2.weight", out_w, h, in);
		LAYER("output.dense.bias", "ffn.lin2.bias", out_b, h, 0);
		LAYER("output.LayerNorm.weight", "output_layer_norm.weight", out_ln_g, h, 0);
		LAYER("output.LayerNorm.bias", "output_layer_norm.bias", out_ln_b, h, 0);
#undef LAYER
	}
}

/* The tensors of a head, under Hugging Face's names. */
static void
add_head(TableBuilder *tb, const BertConfig *cfg, BertHeadKind head)
{
	bool		distil = cfg->family == BERT_FAMILY_DISTILBERT;
	int			h = cfg->hidden_size;

	if (!distil && (head == BERT_HEAD_SEQUENCE_CLASSIFICATION ||
					head == BERT_HEAD_PRETRAINING))
	{
		add(tb, true, "pooler.dense.weight", -1, WFIELD(pooler_w), h, h, false);
		add(tb, true, "pooler.dense.bias", -1, WFIELD(pooler_b), h, 0, false);
	}
	switch (head)
	{
		case BERT_HEAD_NONE:
			break;
		case BERT_HEAD_SEQUENCE_CLASSIFICATION:
			if (distil)
			{
				add(tb, false, "pre_classifier.weight", -1, WFIELD(pre_classifier_w), h, h, false);
				add(tb, false, "pre_classifier.bias", -1, WFIELD(pre_classifier_b), h, 0, false);
			}
			/* FALLTHROUGH */
		case BERT_HEAD_TOKEN_CLASSIFICATION:
			add(tb, false, "classifier.weight", -1, WFIELD(classifier_w), cfg->num_labels, h, true);
			add(tb, false, "classifier.bias", -1, WFIELD(classifier_b), cfg->num_labels, 0, true);
			break;
		case BERT_HEAD_QUESTION_ANSWERING:
			add(tb, false, "qa_outputs.weight", -1, WFIELD(qa_w), 2, h, true);
			add(tb, false, "qa_outputs.bias", -1, WFIELD(qa_b), 2, 0, true);
			break;
		case BERT_HEAD_PRETRAINING:
		case BERT_HEAD_MASKED_LM:
			if (distil)
			{
				add(tb, false, "vocab_transform.weight", -1, WFIELD(mlm_dense_w), h, h, false);
				add(tb, false, "vocab_transform.bias", -1, WFIELD(mlm_dense_b), h, 0, false);
				add(tb, false, "vocab_layer_norm.weight", -1, WFIELD(mlm_ln_g), h, 0, false);
				add(tb, false, "vocab_layer_norm.bias", -1, WFIELD(mlm_ln_b), h, 0, false);
				add(tb, false, "vocab_projector.bias", -1, WFIELD(mlm_decoder_b), cfg->vocab_size, 0, false);
				break;
			}
			add(tb, false, "cls.predictions.transform.dense.weight", -1, WFIELD(mlm_dense_w), h, h, false);
			add(tb, false, "cls.predictions.transform.dense.bias", -1, WFIELD(mlm_dense_b), h, 0, false);
			add(tb, false, "cls.predictions.transform.LayerNorm.weight", -1, WFIELD(mlm_ln_g), h, 0, false);
			add(tb, false, "cls.predictions.transform.LayerNorm.bias", -1, WFIELD(mlm_ln_b), h, 0, false);
			add(tb, false, "cls.predictions.bias", -1, WFIELD(mlm_decoder_b), cfg->vocab_size, 0, false);
			if (head == BERT_HEAD_PRETRAINING)
			{
				add(tb, false, "cls.seq_relationship.weight", -1, WFIELD(nsp_w), 2, h, false);
				add(tb, false, "cls.seq_relationship.bias", -1, WFIELD(nsp_b), 2, 0, false);
			}
			break;
	}
}

/* The weight pointer a table entry binds in w. */
static const float **
field_of(BertWeights *w, const BertParam *p)
{
	char	   *base = p->layer < 0 ? (char *) w : (char *) &w->layers[p->layer];

	return (const float **) (base + p->field);
}

/*
 * The head a task trains and its architecture name; an error for a task
 * the family has no head for.
 */
const char *
BertTaskHead(BertTask task, BertFamily family, BertHeadKind *head)
{
	switch (task)
	{
		case BERT_TASK_SEQUENCE_CLASSIFICATION:
			*head = BERT_HEAD_SEQUENCE_CLASSIFICATION;
			return NULL;
		case BERT_TASK_TOKEN_CLASSIFICATION:
			*head = BERT_HEAD_TOKEN_CLASSIFICATION;
			return NULL;
		case BERT_TASK_PRETRAINING:
			*head = BERT_HEAD_PRETRAINING;
			if (family == BERT_FAMILY_DISTILBERT)
				return "DistilBERT has no next-sentence head; pre-training needs a BERT model.";
			return NULL;
	}
	return "unknown training task";
}

/* Allocates n floats of zeros, NULL when memory is short. */
static float *
alloc_floats(size_t n)
{
	return palloc_extended(sizeof(float) * Max(n, 1),
						   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
}

/*
 * Sets up a trainer for `task` on a model of configuration cfg (sizes,
 * family, activation; num_labels for the classifiers): the parameter table,
 * parameters, gradients and AdamW moments (all zero), and the BertWeights
 * view.  cfg->head, architecture and id2label of t->config follow the task.
 * Dropout starts off.  Returns NULL or an error message.
 */
const char *
BertTrainerCreate(BertTrainer *t, const BertConfig *cfg, BertTask task)
{
	TableBuilder tb = {0};
	BertHeadKind head;
	const char *error;
	bool		distil = cfg->family == BERT_FAMILY_DISTILBERT;

	memset(t, 0, sizeof(*t));
	if ((error = BertTaskHead(task, cfg->family, &head)) != NULL)
		return error;
	if (task != BERT_TASK_PRETRAINING && cfg->num_labels < 1)
		return "A classifier needs at least one label.";
	t->config = *cfg;
	t->config.head = head;
	t->task = task;
	snprintf(t->config.architecture, sizeof(t->config.architecture), "%s%s",
			 distil ? "DistilBert" : "Bert",
			 task == BERT_TASK_SEQUENCE_CLASSIFICATION ? "ForSequenceClassification" :
			 task == BERT_TASK_TOKEN_CLASSIFICATION ? "ForTokenClassification" :
			 "ForPreTraining");
	if (task == BERT_TASK_PRETRAINING)
	{
		t->config.num_labels = 0;
		t->config.id2label = NULL;
	}

	tb.prefix = distil ? "distilbert." : "bert.";
	add_encoder(&tb, cfg);
	add_head(&tb, cfg, head);
	t->param = tb.param;
	t->num_params = tb.n;
	t->size = tb.size;

	t->params = alloc_floats(t->size);
	t->grads = alloc_floats(t->size);
	t->adam_m = alloc_floats(t->size);
	t->adam_v = alloc_floats(t->size);
	t->weights.layers = palloc0(sizeof(BertLayerWeights) * cfg->num_hidden_layers);
	if (!t->params || !t->grads || !t->adam_m || !t->adam_v)
	{
		BertTrainerFree(t);
		return "Out of memory for the parameters, gradients and optimizer state.";
	}
	for (int i = 0; i < t->num_params; i++)
		*field_of(&t->weights, &t->param[i]) = t->params + t->param[i].offset;
	t->word_param = 0;			/* add_encoder's first tensor */
	t->row_used = palloc0(cfg->vocab_size);
	t->row_dirty = palloc0(cfg->vocab_size);
	if (head == BERT_HEAD_PRETRAINING)
		t->weights.mlm_decoder_w = t->weights.word_embeddings;	/* tied */
	return NULL;
}

/* Frees what BertTrainerCreate and the forward pass allocated. */
void
BertTrainerFree(BertTrainer *t)
{
	void	   *blocks[] = {t->params, t->grads, t->adam_m, t->adam_v};

	for (int i = 0; i < (int) lengthof(blocks); i++)
		if (blocks[i])
			pfree(blocks[i]);
	t->params = t->grads = t->adam_m = t->adam_v = NULL;
}

/* Index of the tensor called name, or -1. */
int
BertTrainerFind(const BertTrainer *t, const char *name)
{
	for (int i = 0; i < t->num_params; i++)
		if (strcmp(t->param[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * The transposed copy W^T (in, out) of a layer weight that a loaded model
 * holds instead of W when its prepared weights chose that layout
 * (gemm_plan.c), or NULL.
 */
static const float *
transposed_of(const BertWeights *w, const BertParam *p)
{
	static const struct
	{
		size_t		w;
		size_t		wt;
	}			pairs[] = {
		{LFIELD(query_w), LFIELD(query_wt)},
		{LFIELD(key_w), LFIELD(key_wt)},
		{LFIELD(value_w), LFIELD(value_wt)},
		{LFIELD(attn_out_w), LFIELD(attn_out_wt)},
		{LFIELD(inter_w), LFIELD(inter_wt)},
		{LFIELD(out_w), LFIELD(out_wt)},
	};

	if (p->layer < 0)
		return NULL;
	for (int i = 0; i < (int) lengthof(pairs); i++)
		if (pairs[i].w == p->field)
			return *(const float **) ((const char *) &w->layers[p->layer] + pairs[i].wt);
	return NULL;
}

/*
 * Copies every tensor that src (a loaded model of the same sizes and
 * family, with src_layers layers) has into the parameters and marks it
 * loaded; head tensors (classifier, qa_outputs) only when with_head.
 * Returns the number of tensors copied.
 */
int
BertTrainerLoadWeights(BertTrainer *t, const BertWeights *src, int src_layers,
					   bool with_head)
{
	int			copied = 0;

	for (int i = 0; i < t->num_params; i++)
	{
		BertParam  *p = &t->param[i];
		const float *from;

		if ((p->head && !with_head) || p->layer >= src_layers)
			continue;
		from = *field_of((BertWeights *) src, p);
		if (from == NULL && (from = transposed_of(src, p)) != NULL)
		{
			/* W (out, in) from W^T (in, out) */
			int64_t		out = p->shape[0];
			int64_t		in = p->shape[1];
			float	   *to = t->params + p->offset;

			for (int64_t r = 0; r < out; r++)
				for (int64_t c = 0; c < in; c++)
					to[r * in + c] = from[c * out + r];
			p->loaded = true;
			copied++;
			continue;
		}
		if (from == NULL)
			continue;
		memcpy(t->params + p->offset, from, sizeof(float) * p->count);
		p->loaded = true;
		copied++;
	}
	return copied;
}

/*
 * Copies tensors by name from a parsed safetensors file: the table's name,
 * or the name without the encoder prefix ("bert.", "distilbert.") as a
 * BertModel saves it.  F32, F16 and BF16 are read; a tensor of another
 * shape or dtype is an error; an absent one stays unloaded.
 */
const char *
BertTrainerLoadSafetensors(BertTrainer *t, const BertSafetensors *st,
						   bool with_head)
{
	for (int i = 0; i < t->num_params; i++)
	{
		BertParam  *p = &t->param[i];
		const BertTensorInfo *ti = BertSafetensorsFind(st, p->name);
		const char *dot = strchr(p->name, '.');
		const char *bytes;
		float	   *to = t->params + p->offset;

		if (p->head && !with_head)
			continue;
		if (ti == NULL && dot && (strncmp(p->name, "bert.", 5) == 0 ||
								  strncmp(p->name, "distilbert.", 11) == 0))
			ti = BertSafetensorsFind(st, dot + 1);
		if (ti == NULL)
			continue;
		if (ti->ndim != p->ndim || ti->shape[0] != p->shape[0] ||
			(p->ndim == 2 && ti->shape[1] != p->shape[1]))
			return psprintf("Tensor \"%s\" has another shape than the configuration implies.",
							ti->name);
		bytes = st->data + ti->begin;
		switch (ti->dtype)
		{
			case BERT_DTYPE_F32:
				memcpy(to, bytes, sizeof(float) * p->count);
				break;
			case BERT_DTYPE_F16:
				BertHalfToFloat(to, bytes, p->count);
				break;
			case BERT_DTYPE_BF16:
				BertBfloat16ToFloat(to, bytes, p->count);
				break;
			default:
				return psprintf("Tensor \"%s\" has dtype %s; weights must be F32, F16 or BF16.",
								ti->name, ti->dtype_name);
		}
		p->loaded = true;
	}
	return NULL;
}

/*
 * Initialises every tensor not loaded as Hugging Face's _init_weights does
 * for a new module: linear and embedding weights N(0, initializer_range),
 * biases 0, LayerNorm weights 1.
 */
void
BertTrainerInitMissing(BertTrainer *t, BertRng *rng, double initializer_range)
{
	for (int i = 0; i < t->num_params; i++)
	{
		BertParam  *p = &t->param[i];
		float	   *w = t->params + p->offset;
		size_t		len = strlen(p->name);
		bool		is_bias = len >= 4 && strcmp(p->name + len - 4, "bias") == 0;

		if (p->loaded)
			continue;
		if (is_bias)
			memset(w, 0, sizeof(float) * p->count);
		else if (!p->decay)		/* LayerNorm weight */
			for (size_t j = 0; j < p->count; j++)
				w[j] = 1.0f;
		else
			for (size_t j = 0; j < p->count; j++)
				w[j] = (float) (BertRngNormal(rng) * initializer_range);
	}
}

/*
 * Reorders the classifier's rows: new label i takes the row of old label
 * perm[i] (weight and bias), so a kept head follows a new id2label order.
 */
void
BertTrainerPermuteLabels(BertTrainer *t, const int *perm)
{
	int			n = t->config.num_labels;
	int			h = t->config.hidden_size;
	float	   *w = (float *) t->weights.classifier_w;
	float	   *b = (float *) t->weights.classifier_b;
	float	   *w_old = palloc(sizeof(float) * n * h);
	float	   *b_old = palloc(sizeof(float) * n);

	memcpy(w_old, w, sizeof(float) * n * h);
	memcpy(b_old, b, sizeof(float) * n);
	for (int i = 0; i < n; i++)
	{
		memcpy(w + (size_t) i * h, w_old + (size_t) perm[i] * h, sizeof(float) * h);
		b[i] = b_old[perm[i]];
	}
	pfree(w_old);
	pfree(b_old);
}
