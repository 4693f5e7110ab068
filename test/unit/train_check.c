/*
 * train_check.c
 *		Runs the golden training steps of ../shared/testmodels/golden/train/
 *		with the training engine and compares every checked quantity.
 *
 *	 train_check MODEL_DIR GOLDEN.json GRADS.safetensors AFTER.safetensors
 *
 * GOLDEN.json (../shared/tools/ref/golden_train.py) holds the inputs (token
 * ids, labels), the batches (step s trains on batches[s % len(batches)]),
 * the optimizer's settings and the loss of every step; GRADS the gradient
 * of every parameter at step 0 (before clipping), AFTER every parameter
 * after the last step, all computed in float64 with dropout off.
 *
 * Checks, one output line each:
 *	 - the tokenizer turns every golden text into the golden input_ids (for
 *	   pre-training inputs: at every position that is not masked);
 *	 - the training forward pass equals the inference forward pass
 *	   (BertEncoderForward and the head functions of heads.c) on the first
 *	   batch, before training and after the last step;
 *	 - the loss of every step within 1e-4;
 *	 - the gradient norm before clipping and the learning rate of every step
 *	   (relative 1e-4 / absolute 1e-12);
 *	 - every gradient tensor at step 0 within 1e-3 x max(its largest |value|,
 *	   1e-3 x the largest gradient of the model);
 *	 - every parameter after the last step within 1e-3 absolute.
 * The last line is "train_check: N passed, M failed"; the exit status is 0
 * when nothing failed.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bert.h"
#include "blas.h"
#include "check.h"
#include "encoder.h"
#include "heads.h"
#include "json.h"
#include "safetensors.h"
#include "standalone_model.h"
#include "train.h"

/* A member that must exist. */
static const BertJson *
member(const BertJson *obj, const char *key)
{
	const BertJson *v = BertJsonGet(obj, key);

	if (v == NULL)
		fatal("golden file: \"%s\" is missing", key);
	return v;
}

static double
number(const BertJson *v)
{
	if (v == NULL || v->type != BERT_JSON_NUMBER)
		fatal("golden file: a number was expected");
	return strtod(v->str, NULL);
}

/* An array of integers as int32 (palloc'd); *n its length. */
static int32_t *
int_array(const BertJson *v, int *n)
{
	int32_t    *out;

	if (v == NULL || v->type != BERT_JSON_ARRAY)
		fatal("golden file: an array was expected");
	out = palloc(sizeof(int32_t) * Max(v->n, 1));
	for (int i = 0; i < v->n; i++)
		out[i] = (int32_t) number(v->items[i]);
	*n = v->n;
	return out;
}

/* One golden input: ids, types and targets. */
typedef struct GoldenInput
{
	const char *text;
	const char *text_pair;
	int			len;
	int32_t    *ids;
	int32_t    *types;			/* NULL: all 0 */
	int32_t    *token_labels;	/* token classifier: labels; pre-training:
								 * mlm_labels */
	int32_t		label;			/* sequence label / next_sentence_label */
} GoldenInput;

/* Packs the inputs of one batch (indices idx, n of them). */
static void
make_batch(const GoldenInput *in, const int32_t *idx, int n, BertTask task,
		   BertTrainBatch *b)
{
	int			rows = 0;
	int		   *seq_start = palloc(sizeof(int) * (n + 1));
	int32_t    *ids,
			   *types,
			   *labels,
			   *nsp;

	for (int i = 0; i < n; i++)
		rows += in[idx[i]].len;
	ids = palloc(sizeof(int32_t) * rows);
	types = palloc(sizeof(int32_t) * rows);
	labels = palloc(sizeof(int32_t) * Max(rows, n));
	nsp = palloc(sizeof(int32_t) * n);
	rows = 0;
	for (int i = 0; i < n; i++)
	{
		const GoldenInput *g = &in[idx[i]];

		seq_start[i] = rows;
		for (int j = 0; j < g->len; j++)
		{
			ids[rows + j] = g->ids[j];
			types[rows + j] = g->types ? g->types[j] : 0;
			if (task != BERT_TASK_SEQUENCE_CLASSIFICATION)
				labels[rows + j] = g->token_labels[j];
		}
		if (task == BERT_TASK_SEQUENCE_CLASSIFICATION)
			labels[i] = g->label;
		nsp[i] = g->label;
		rows += g->len;
	}
	seq_start[n] = rows;
	memset(b, 0, sizeof(*b));
	b->input.num_seqs = n;
	b->input.total_tokens = rows;
	b->input.seq_start = seq_start;
	b->input.input_ids = ids;
	b->input.token_type_ids = types;
	b->labels = labels;
	b->next_sentence_labels = task == BERT_TASK_PRETRAINING ? nsp : NULL;
}

/* Largest |a - b| over n floats. */
static double
max_diff(const float *a, const float *b, size_t n)
{
	double		m = 0.0;

	for (size_t i = 0; i < n; i++)
		m = Max(m, fabs((double) a[i] - b[i]));
	return m;
}

/* A golden tensor as floats (F32 only, as golden_train.py writes). */
static const float *
golden_tensor(const BertSafetensors *st, const BertParam *p, const char *file)
{
	const BertTensorInfo *ti = BertSafetensorsFind(st, p->name);

	if (ti == NULL)
		return NULL;
	if (ti->dtype != BERT_DTYPE_F32 || ti->ndim != p->ndim ||
		ti->shape[0] != p->shape[0] || (p->ndim == 2 && ti->shape[1] != p->shape[1]))
		fatal("%s: tensor \"%s\" is not F32 of the expected shape", file, p->name);
	return (const float *) (st->data + ti->begin);
}

/*
 * Inference forward pass on the batch with the trainer's current weights,
 * compared with the trainer's last forward pass (same batch, evaluation).
 */
static void
check_parity(BertTrainer *t, const BertTrainBatch *b, const char *when)
{
	const BertConfig *cfg = &t->config;
	BertActivations act = {0};
	BertTrainResult res;
	const char *error;
	int			H = cfg->hidden_size;
	int			rows,
				cols;
	const float *train_logits;
	float	   *logits;
	float	   *scratch;
	double		d_hidden,
				d_logits = 0.0;
	char		what[128];

	if ((error = BertTrainForward(t, b, false, &res)) != NULL)
		fatal("%s", error);
	BertEncoderForward(cfg, &t->weights, &act, &b->input);
	d_hidden = max_diff(act.hidden, BertTrainLastHidden(t),
						(size_t) b->input.total_tokens * H);
	train_logits = BertTrainLogits(t, &rows, &cols);
	logits = palloc(sizeof(float) * (size_t) rows * cols);
	scratch = palloc(sizeof(float) * H);
	for (int s = 0; s < b->input.num_seqs; s++)
	{
		const float *h = act.hidden + (size_t) b->input.seq_start[s] * H;
		int			len = b->input.seq_start[s + 1] - b->input.seq_start[s];

		switch (t->task)
		{
			case BERT_TASK_SEQUENCE_CLASSIFICATION:
				BertSequenceLogits(logits + (size_t) s * cols, scratch, cfg, &t->weights, h);
				break;
			case BERT_TASK_TOKEN_CLASSIFICATION:
				BertTokenLogits(logits + (size_t) b->input.seq_start[s] * cols, cfg,
								&t->weights, h, len);
				break;
			case BERT_TASK_PRETRAINING:
				BertNextSentenceLogits(logits + (size_t) s * cols, scratch, cfg, &t->weights, h);
				break;
		}
	}
	d_logits = max_diff(logits, train_logits, (size_t) rows * cols);
	snprintf(what, sizeof(what), "inference parity %s", when);
	check(d_hidden <= 1e-6 && d_logits <= 1e-6, what,
		  "training vs inference forward: last_hidden_state max |diff| %.3g, %s logits max |diff| %.3g (<= 1e-6)",
		  d_hidden, t->task == BERT_TASK_PRETRAINING ? "NSP" : "head", d_logits);
}

/*
 * The gradient with dropout on (golden files have it off): the derivative
 * of the loss along the normalised gradient, by central differences with
 * the same dropout masks (the generator reseeded), must equal the
 * gradient's norm.  Leaves the parameters and gradients as they were.
 */
static void
check_dropout_gradient(BertTrainer *t, const BertTrainBatch *b)
{
	float	   *saved = palloc(sizeof(float) * t->size);
	float	   *dir = palloc(sizeof(float) * t->size);
	double		norm = 0.0,
				loss[2],
				loss_off,
				fd;
	double		eps = 1e-2;
	BertTrainResult res;
	const char *error;

	memcpy(saved, t->params, sizeof(float) * t->size);
	if ((error = BertTrainForward(t, b, true, &res)) != NULL)
		fatal("%s", error);
	loss_off = res.loss;
	t->hidden_dropout = t->attention_dropout = t->classifier_dropout = 0.1f;
	BertRngSeed(&t->rng, 20240607);
	if ((error = BertTrainForward(t, b, true, &res)) != NULL)
		fatal("%s", error);
	BertTrainZeroGrad(t);
	BertTrainBackward(t, b);
	for (size_t i = 0; i < t->size; i++)
		norm += (double) t->grads[i] * t->grads[i];
	norm = sqrt(norm);
	for (size_t i = 0; i < t->size; i++)
		dir[i] = (float) (t->grads[i] / norm);
	for (int k = 0; k < 2; k++)
	{
		double		sign = k == 0 ? 1.0 : -1.0;

		for (size_t i = 0; i < t->size; i++)
			t->params[i] = saved[i] + (float) (sign * eps) * dir[i];
		BertRngSeed(&t->rng, 20240607);
		if ((error = BertTrainForward(t, b, true, &res)) != NULL)
			fatal("%s", error);
		loss[k] = res.loss;
	}
	fd = (loss[0] - loss[1]) / (2 * eps);
	check(fabs(fd - norm) <= 1e-2 * norm && fabs(loss[0] + loss[1] - 2 * loss_off) > 1e-3,
		  "gradient with dropout 0.1",
		  "finite difference along the gradient %.6f, gradient norm %.6f (relative |diff| %.2g <= 1e-2); loss %.5f with dropout, %.5f without",
		  fd, norm, fabs(fd - norm) / norm, (loss[0] + loss[1]) / 2, loss_off);
	memcpy(t->params, saved, sizeof(float) * t->size);
	t->hidden_dropout = t->attention_dropout = t->classifier_dropout = 0.0f;
	BertTrainZeroGrad(t);
	pfree(saved);
	pfree(dir);
}

int
main(int argc, char **argv)
{
	BertStandaloneModel model;
	BertTrainer trainer;
	BertTrainer *t = &trainer;
	BertTask	task;
	const char *error;
	char	   *err = NULL;
	char	   *text;
	size_t		len;
	BertJson   *golden;
	BertSafetensors grads_st,
				after_st;
	char	   *grads_file,
			   *after_file;
	const BertJson *inputs,
			   *batches;
	GoldenInput *in;
	BertTrainBatch *batch;
	int			steps,
				warmup;
	double		learning_rate;
	BertAdamW	opt;
	double		max_grad_norm;
	const BertJson *losses,
			   *norms,
			   *lrs;
	int			n_ok;

	check_begin("train_check", argc, argv, 4,
				"MODEL_DIR GOLDEN.json GRADS.safetensors AFTER.safetensors");
	BertBlasEnsureLoaded();

	check_load_model(argv[1], &model);
	switch (model.config.head)
	{
		case BERT_HEAD_SEQUENCE_CLASSIFICATION:
			task = BERT_TASK_SEQUENCE_CLASSIFICATION;
			break;
		case BERT_HEAD_TOKEN_CLASSIFICATION:
			task = BERT_TASK_TOKEN_CLASSIFICATION;
			break;
		case BERT_HEAD_PRETRAINING:
			task = BERT_TASK_PRETRAINING;
			break;
		default:
			fatal("%s: architecture %s has no training task", argv[1],
				  model.config.architecture);
	}
	if ((error = BertTrainerCreate(t, &model.config, task)) != NULL)
		fatal("%s", error);
	if ((error = BertTrainerLoadSafetensors(t, &model.st, true)) != NULL)
		fatal("%s: %s", argv[1], error);
	for (int i = 0; i < t->num_params; i++)
		if (!t->param[i].loaded)
			fatal("%s: tensor \"%s\" is missing", argv[1], t->param[i].name);
	t->pad_id = model.tokenizer.pad_id;
	printf("model %s: %s, %d tensors, %zu parameters\n", argv[1],
		   t->config.architecture, t->num_params, t->size);

	if ((text = BertStandaloneReadFile(argv[2], &len, &err)) == NULL)
		fatal("%s", err);
	if ((golden = BertJsonParse(text, (int) len, &err)) == NULL)
		fatal("%s: %s", argv[2], err);
	if ((grads_file = BertStandaloneReadFile(argv[3], &len, &err)) == NULL ||
		!BertSafetensorsParse(grads_file, len, &grads_st, &err))
		fatal("%s: %s", argv[3], err);
	if ((after_file = BertStandaloneReadFile(argv[4], &len, &err)) == NULL ||
		!BertSafetensorsParse(after_file, len, &after_st, &err))
		fatal("%s: %s", argv[4], err);

	/* inputs */
	inputs = member(golden, "inputs");
	in = palloc0(sizeof(GoldenInput) * Max(inputs->n, 1));
	n_ok = 0;
	for (int i = 0; i < inputs->n; i++)
	{
		const BertJson *g = inputs->items[i];
		GoldenInput *x = &in[i];
		BertInput enc;
		int			n;
		bool		same;

		x->text = BertJsonGetString(g, "text", &err);
		x->text_pair = BertJsonGetString(g, "text_pair", &err);
		x->ids = int_array(member(g, "input_ids"), &x->len);
		if (BertJsonGet(g, "token_type_ids"))
			x->types = int_array(BertJsonGet(g, "token_type_ids"), &n);
		if (task == BERT_TASK_SEQUENCE_CLASSIFICATION)
			x->label = (int32_t) number(member(g, "label"));
		else if (task == BERT_TASK_TOKEN_CLASSIFICATION)
			x->token_labels = int_array(member(g, "labels"), &n);
		else
		{
			x->token_labels = int_array(member(g, "mlm_labels"), &n);
			x->label = (int32_t) number(member(g, "next_sentence_label"));
		}
		if (x->text == NULL)
			fatal("golden file: input %d has no text", i);
		BertEncode(&model.tokenizer, x->text, strlen(x->text), x->text_pair,
				   x->text_pair ? strlen(x->text_pair) : 0, 512, &enc);
		same = enc.len == x->len;
		for (int j = 0; same && j < x->len; j++)
		{
			bool		masked = task == BERT_TASK_PRETRAINING &&
				x->token_labels[j] != BERT_IGNORE_INDEX;

			same = masked ? enc.input_ids[j] == x->token_labels[j]
				: enc.input_ids[j] == x->ids[j];
			if (x->types)
				same = same && enc.token_type_ids[j] == x->types[j];
		}
		n_ok += same;
	}
	check(n_ok == inputs->n, "tokenizer",
		  "%d of %d golden texts encode to the golden input_ids%s", n_ok, inputs->n,
		  task == BERT_TASK_PRETRAINING ? " (masked positions: to their labels)" : "");

	batches = member(golden, "batches");
	batch = palloc(sizeof(BertTrainBatch) * Max(batches->n, 1));
	for (int i = 0; i < batches->n; i++)
	{
		int			n;
		int32_t    *idx = int_array(batches->items[i], &n);

		for (int j = 0; j < n; j++)
			if (idx[j] < 0 || idx[j] >= inputs->n)
				fatal("golden file: batch %d names input %d", i, idx[j]);
		make_batch(in, idx, n, task, &batch[i]);
	}
	if (batches->n < 1)
		fatal("golden file: no batches");

	steps = (int) number(member(golden, "steps"));
	warmup = (int) number(member(golden, "warmup_steps"));
	learning_rate = number(member(golden, "learning_rate"));
	opt.weight_decay = number(member(golden, "weight_decay"));
	opt.beta1 = number(member(golden, "adam_betas")->items[0]);
	opt.beta2 = number(member(golden, "adam_betas")->items[1]);
	opt.eps = number(member(golden, "adam_eps"));
	max_grad_norm = number(member(golden, "max_grad_norm"));
	losses = member(golden, "losses");
	norms = member(golden, "grad_norms_before_clip");
	lrs = member(golden, "learning_rates");
	if (losses->n < steps || norms->n < steps || lrs->n < steps)
		fatal("golden file: fewer losses, norms or learning rates than steps");

	check_parity(t, &batch[0], "before training");
	check_dropout_gradient(t, &batch[0]);

	for (int step = 0; step < steps; step++)
	{
		const BertTrainBatch *b = &batch[step % batches->n];
		BertTrainResult res;
		double		golden_loss = number(losses->items[step]);
		double		golden_norm = number(norms->items[step]);
		double		golden_lr = number(lrs->items[step]);
		double		norm,
					lr;
		char		what[64];

		if ((error = BertTrainForward(t, b, true, &res)) != NULL)
			fatal("%s", error);
		snprintf(what, sizeof(what), "loss step %d", step);
		check(fabs(res.loss - golden_loss) <= 1e-4, what,
			  "%.7f (golden %.7f, |diff| %.2g <= 1e-4)", res.loss, golden_loss,
			  fabs(res.loss - golden_loss));
		BertTrainZeroGrad(t);
		BertTrainBackward(t, b);

		if (step == 0)
		{
			double		top = 0.0;

			for (int i = 0; i < t->num_params; i++)
			{
				const float *g = golden_tensor(&grads_st, &t->param[i], argv[3]);

				if (g == NULL)
					fatal("%s: tensor \"%s\" is missing", argv[3], t->param[i].name);
				for (size_t j = 0; j < t->param[i].count; j++)
					top = Max(top, fabs(g[j]));
			}
			for (int i = 0; i < t->num_params; i++)
			{
				const BertParam *p = &t->param[i];
				const float *g = golden_tensor(&grads_st, p, argv[3]);
				double		own = 0.0,
							d = max_diff(t->grads + p->offset, g, p->count),
							tol;

				for (size_t j = 0; j < p->count; j++)
					own = Max(own, fabs(g[j]));
				tol = 1e-3 * Max(own, 1e-3 * top);
				snprintf(what, sizeof(what), "grad %s", p->name);
				check(d <= tol, what, "max |diff| %.3g <= %.3g (largest |golden| %.3g)",
					  d, tol, own);
			}
		}

		norm = BertClipGradNorm(t, max_grad_norm);
		snprintf(what, sizeof(what), "grad norm step %d", step);
		check(fabs(norm - golden_norm) <= 1e-4 * golden_norm, what,
			  "%.6f before clipping (golden %.6f, relative |diff| %.2g <= 1e-4)",
			  norm, golden_norm, fabs(norm - golden_norm) / golden_norm);
		lr = BertLinearSchedule(step, warmup, steps, learning_rate);
		snprintf(what, sizeof(what), "learning rate step %d", step);
		check(fabs(lr - golden_lr) <= 1e-12, what, "%.6g (golden %.6g)", lr, golden_lr);
		BertAdamWUpdate(t, &opt, lr);
	}

	{
		double		worst = 0.0,
					worst_rest = 0.0;
		const char *worst_name = "";

		for (int i = 0; i < t->num_params; i++)
		{
			const BertParam *p = &t->param[i];
			const float *g = golden_tensor(&after_st, p, argv[4]);
			double		d;
			char		what[128];

			if (g == NULL)
				fatal("%s: tensor \"%s\" is missing", argv[4], p->name);
			d = max_diff(t->params + p->offset, g, p->count);
			snprintf(what, sizeof(what), "after %d steps %s", steps, p->name);
			check(d <= 1e-3, what, "max |diff| %.3g <= 1e-3", d);
			if (d >= worst)
			{
				worst = d;
				worst_name = p->name;
			}
			if (strstr(p->name, "key.bias") == NULL && strstr(p->name, "k_lin.bias") == NULL)
				worst_rest = Max(worst_rest, d);
		}
		printf("largest |diff| of a parameter after %d steps: %.3g (%s)\n", steps,
			   worst, worst_name);

		/*
		 * The attention key biases have a true gradient of zero, and AdamW
		 * turns its float32 noise into steps of up to the learning rate; every
		 * other tensor lands far closer, close enough to show a mistake as
		 * small as weight decay applied to biases and LayerNorm weights
		 * (about 3e-5 here).
		 */
		check(worst_rest <= 1e-5, "after training, all but the key biases",
			  "max |diff| %.3g <= 1e-5 over every tensor except the attention key biases",
			  worst_rest);
	}
	check_parity(t, &batch[0], "after training");

	return check_finish();
}
