/*
 * weight_cache.h
 *		One prepared copy of each model file, shared by every backend
 *		(weight_cache.c).
 */
#ifndef BERT_WEIGHT_CACHE_H
#define BERT_WEIGHT_CACHE_H

#include <sys/stat.h>

#include "bert.h"
#include "gemm_plan.h"
#include "safetensors.h"

typedef struct BertPrepared BertPrepared;

/*
 * Opens, or first builds, the prepared copy of the weights of `model`,
 * whose model.safetensors is mapped at model->mapping (parsed into `st`;
 * `src` is its fstat when mapped), and fills *plan, the model's matrix
 * product plan.
 *
 * Returns the copy, mapped shared and guarded against SIGBUS, unmapped when
 * the current memory context goes; BertPreparedFind() then gives its
 * tensors.  For F32 weights read in place with a measured plan, the copy
 * holds no file, only the plan file's identity (BertPreparedUnchanged).
 * Returns NULL when the model needs no copy (F32 weights with the plan
 * forced), when bert.cache_dir is empty, or when the copy cannot be
 * written (one WARNING; the caller converts into private memory and *plan
 * is the prior rule).  A cache file that is stale (another source file, CPU
 * or OpenBLAS), truncated or damaged is never used: it is built again and
 * renamed over.  Concurrent first loads are serialised by a lock file: one
 * backend builds, the others wait and map its result.
 */
extern BertPrepared *BertPreparedOpen(BertModel *model, const BertSafetensors *st,
									  const struct stat *src, BertGemmPlan *plan);

/*
 * The prepared F32 data of source tensor `name`, as stored or (transposed)
 * as W^T; NULL if the copy does not hold it so.
 */
extern const float *BertPreparedFind(const BertPrepared *prep, const char *name,
									 bool transposed);

/*
 * False if the model's cache file, or the plan file its plan was read from,
 * was removed, replaced or changed since it was loaded (stat(), for the
 * model cache's check before each call): the model is then loaded again,
 * with the plan every other backend now reads.
 */
extern bool BertPreparedUnchanged(const BertModel *model);

/* True for the 2-D weights of the encoder layers' linear maps. */
extern bool BertIsLayerLinear(const BertTensorInfo *t);

#endif							/* BERT_WEIGHT_CACHE_H */
