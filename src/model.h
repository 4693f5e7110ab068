/*
 * model.h
 *		Loading model directories (model.c), the per-backend model cache
 *		(model_cache.c), and the guard of the weights mapping
 *		(sigbus_guard.c).  Model names and paths: model_path.h.
 */
#ifndef BERT_MODEL_H
#define BERT_MODEL_H

#include "bert.h"

/* model.c */
extern BertModel *BertModelLoad(const char *name, const char *path,
								const char *root);

/* model_cache.c */
extern void BertFileIdentityFromStat(const struct stat *st, BertFileIdentity *id);
extern BertModel *BertGetModel(const char *name, const char *setting);
extern int	BertCachedModels(BertModel **models, int max);
extern bool BertInCitusTask(void);
extern BertModel *BertLoadModelUncached(const char *name);

/* sigbus_guard.c */
extern void BertMappingRegister(BertMapping *mapping);
extern void BertMappingUnregister(BertMapping *mapping);
extern void BertMappingCheck(const struct BertModel *model);
extern void BertMappingRelease(void *arg);

#endif							/* BERT_MODEL_H */
