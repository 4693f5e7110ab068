/*
 * config.h
 *		Reading a Hugging Face model directory's JSON files into BertConfig
 *		and tokenizer options.
 */
#ifndef BERT_CONFIG_H
#define BERT_CONFIG_H

#include "bert.h"
#include "json.h"

/* config.json: architecture, sizes, activation, id2label. */
extern bool BertConfigFromJson(const BertJson *root, BertConfig *cfg,
							   char **error);

/*
 * Tokenizer options: the "normalizer" and "model" of tokenizer.json (root
 * may be NULL), then tokenizer_config.json (may be NULL), which wins as it
 * does for Hugging Face's BertTokenizerFast.  Also lowers
 * cfg->model_max_length to model_max_length.
 */
extern bool BertTokenizerOptionsFromJson(const BertJson *tokenizer_json,
										 const BertJson *tokenizer_config,
										 BertTokenizer *tok, BertConfig *cfg,
										 char **error);

/* The WordPiece vocabulary of tokenizer.json ("model": {"vocab": ...}). */
extern bool BertVocabFromTokenizerJson(const BertJson *root,
									   BertTokenizer *tok, char **error);

/*
 * sentence-transformers modules.json: sets *pooling_path to the Pooling
 * module's directory (NULL if none) and cfg->normalize to whether a
 * Normalize module follows.
 */
extern bool BertModulesFromJson(const BertJson *root, BertConfig *cfg,
								const char **pooling_path, char **error);

/* 1_Pooling/config.json: one of CLS, mean or max pooling. */
extern bool BertPoolingFromJson(const BertJson *root, BertConfig *cfg,
								char **error);

/* sentence_bert_config.json: lowers cfg->model_max_length to max_seq_length. */
extern bool BertSentenceConfigFromJson(const BertJson *root, BertConfig *cfg,
									   char **error);

#endif							/* BERT_CONFIG_H */
