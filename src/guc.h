/*
 * guc.h
 *		The bert.* settings (guc.c).
 */
#ifndef BERT_GUC_H
#define BERT_GUC_H

extern char *bert_model_dir;
extern char *bert_sentiment_model;
extern char *bert_embed_model;
extern char *bert_fill_mask_model;
extern char *bert_ner_model;
extern char *bert_qa_model;
extern int	bert_max_length;
extern int	bert_threads;
extern bool bert_batch_queries;
extern char *bert_cache_dir;
extern int	bert_gemm_strategy;
extern void BertGucInit(void);

#endif							/* BERT_GUC_H */
