/*
 * weights.h
 *		Which tensors of model.safetensors fill which BertWeights fields
 *		(weights.c): one table, read by the extension's loader (model.c)
 *		and by the standalone test programs.
 */
#ifndef BERT_WEIGHTS_H
#define BERT_WEIGHTS_H

#include <stdint.h>

#include "bert.h"

/* flags passed to a BertTensorBinder */
#define BERT_TENSOR_PREFIXED 0x01	/* may carry the model prefix ("bert.") */
#define BERT_TENSOR_REQUIRED 0x02	/* missing is an error, not NULL */
#define BERT_TENSOR_1D (-1)		/* d1 of a 1-D tensor */

/*
 * Returns tensor `name` as (d0) or (d0, d1) floats (d1 = BERT_TENSOR_1D
 * for 1-D), or NULL when it is absent and `flags` lacks
 * BERT_TENSOR_REQUIRED; reports a missing required tensor, a wrong shape
 * or dtype itself (never returns then).  `transposed` is NULL except for
 * the layer weights that nn_ops.c may read transposed (the *_wt fields of
 * BertLayerWeights): the binder sets *transposed to a prepared (d1, d0)
 * copy, returning NULL for the stored one, or to NULL.
 */
typedef const float *(*BertTensorBinder) (void *arg, const char *name,
										  int flags, int64_t d0, int64_t d1,
										  const float **transposed);

/*
 * Fills w (zeroed; w->layers allocated here with palloc0) for cfg's family
 * and head: embeddings, every encoder layer, then the head tensors, in the
 * order of the table in weights.c, so the first missing tensor reported is
 * always the same one.  The masked-LM decoder falls back to the word
 * embeddings (tied, as Hugging Face saves it).
 */
extern void BertBindWeights(const BertConfig *cfg, BertWeights *w,
							BertTensorBinder bind, void *arg);

#endif							/* BERT_WEIGHTS_H */
