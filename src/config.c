/*
 * config.c
 *		config.json, tokenizer_config.json, tokenizer.json, modules.json,
 *		1_Pooling/config.json and sentence_bert_config.json.
 *
 * Key names and defaults are those of Hugging Face's BertConfig /
 * DistilBertConfig, BertTokenizerFast and sentence-transformers.  Every
 * value is range-checked here, before it can size an allocation or index a
 * table.  Pure C over palloc (no ereport): failures return false with
 * *error set to a sentence for errdetail.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <limits.h>
#include <stdlib.h>

#include "config.h"

typedef struct ArchitectureSpec
{
	const char *name;
	BertFamily	family;
	BertHeadKind head;
} ArchitectureSpec;

static const ArchitectureSpec architectures[] = {
	{"BertModel", BERT_FAMILY_BERT, BERT_HEAD_NONE},
	{"BertForSequenceClassification", BERT_FAMILY_BERT, BERT_HEAD_SEQUENCE_CLASSIFICATION},
	{"BertForPreTraining", BERT_FAMILY_BERT, BERT_HEAD_PRETRAINING},
	{"BertForMaskedLM", BERT_FAMILY_BERT, BERT_HEAD_MASKED_LM},
	{"BertForTokenClassification", BERT_FAMILY_BERT, BERT_HEAD_TOKEN_CLASSIFICATION},
	{"BertForQuestionAnswering", BERT_FAMILY_BERT, BERT_HEAD_QUESTION_ANSWERING},
	{"DistilBertModel", BERT_FAMILY_DISTILBERT, BERT_HEAD_NONE},
	{"DistilBertForSequenceClassification", BERT_FAMILY_DISTILBERT, BERT_HEAD_SEQUENCE_CLASSIFICATION},
	{"DistilBertForMaskedLM", BERT_FAMILY_DISTILBERT, BERT_HEAD_MASKED_LM},
	{"DistilBertForTokenClassification", BERT_FAMILY_DISTILBERT, BERT_HEAD_TOKEN_CLASSIFICATION},
	{"DistilBertForQuestionAnswering", BERT_FAMILY_DISTILBERT, BERT_HEAD_QUESTION_ANSWERING},
};

/* Maps a hidden_act / activation name; false if unsupported. */
static bool
parse_activation(const char *name, BertActivation *act)
{
	if (strcmp(name, "gelu") == 0)
		*act = BERT_ACT_GELU;
	else if (strcmp(name, "gelu_new") == 0 ||
			 strcmp(name, "gelu_pytorch_tanh") == 0)
		*act = BERT_ACT_GELU_TANH;
	else if (strcmp(name, "relu") == 0)
		*act = BERT_ACT_RELU;
	else
		return false;
	return true;
}

/* id2label: {"0": "NEGATIVE", ...} with keys 0..n-1; absent: LABEL_0/1. */
static bool
parse_id2label(const BertJson *root, BertConfig *cfg, char **error)
{
	const BertJson *map = BertJsonGet(root, "id2label");

	if (map == NULL || map->type == BERT_JSON_NULL)
	{
		int			n = 2;

		if (BertJsonGetInt(root, "num_labels", 1, BERT_MAX_LABELS, &n, error) !=
			BERT_MEMBER_BAD)
		{
			cfg->num_labels = n;
			cfg->id2label = palloc(sizeof(char *) * n);
			for (int i = 0; i < n; i++)
				cfg->id2label[i] = psprintf("LABEL_%d", i);
			return true;
		}
		return false;
	}
	if (map->type != BERT_JSON_OBJECT || map->n < 1 || map->n > BERT_MAX_LABELS)
	{
		*error = psprintf("\"id2label\" must be an object with 1 to %d labels.",
						  BERT_MAX_LABELS);
		return false;
	}
	cfg->num_labels = map->n;
	cfg->id2label = palloc0(sizeof(char *) * map->n);
	for (int i = 0; i < map->n; i++)
	{
		const BertJson *item = map->items[i];
		char	   *end;
		long		id = strtol(item->key, &end, 10);

		if (*end != '\0' || end == item->key || id < 0 || id >= map->n ||
			cfg->id2label[id] != NULL || item->type != BERT_JSON_STRING)
		{
			*error = psprintf("\"id2label\" must map each id 0 to %d to one label string; \"%s\" does not fit.",
							  map->n - 1, item->key);
			return false;
		}
		cfg->id2label[id] = item->str;
	}
	return true;
}

/*
 * The architecture: "architectures"[0], or for a bare encoder saved
 * without it, "model_type"; sets cfg's architecture, family and head.
 */
static bool
parse_architecture(const BertJson *root, BertConfig *cfg, char **error)
{
	const BertJson *archs = BertJsonGet(root, "architectures");
	const char *arch = NULL;

	if (archs && archs->type == BERT_JSON_ARRAY && archs->n > 0 &&
		archs->items[0]->type == BERT_JSON_STRING)
		arch = archs->items[0]->str;
	else
	{
		const char *model_type = BertJsonGetString(root, "model_type", error);

		if (model_type && strcmp(model_type, "bert") == 0)
			arch = "BertModel";
		else if (model_type && strcmp(model_type, "distilbert") == 0)
			arch = "DistilBertModel";
	}
	if (arch == NULL)
	{
		*error = pstrdup("Neither \"architectures\" nor a \"model_type\" of \"bert\" or \"distilbert\" is given.");
		return false;
	}
	for (int i = 0; i < (int) lengthof(architectures); i++)
		if (strcmp(arch, architectures[i].name) == 0)
		{
			cfg->family = architectures[i].family;
			cfg->head = architectures[i].head;
			strlcpy(cfg->architecture, arch, sizeof(cfg->architecture));
		}
	if (cfg->architecture[0] == '\0')
	{
		*error = psprintf("Architecture \"%.60s\" is not supported; supported are BertModel, DistilBertModel and their ForSequenceClassification, ForPreTraining (BERT), ForMaskedLM, ForTokenClassification and ForQuestionAnswering heads.",
						  arch);
		return false;
	}
	return true;
}

/*
 * The sizes, under BertConfig's names or DistilBertConfig's, with
 * Hugging Face's defaults (bert-base) and range checks: each of them later
 * sizes an allocation or bounds an index.
 */
static bool
parse_sizes(const BertJson *root, BertConfig *cfg, char **error)
{
	bool		distil = (cfg->family == BERT_FAMILY_DISTILBERT);

	cfg->hidden_size = 768;
	cfg->num_hidden_layers = 12;
	cfg->num_attention_heads = 12;
	cfg->intermediate_size = 3072;
	cfg->vocab_size = 30522;
	cfg->max_position_embeddings = 512;
	cfg->type_vocab_size = distil ? 0 : 2;
	cfg->layer_norm_eps = 1e-12f;
	if ((BertJsonGetInt(root, "vocab_size", 1, BERT_MAX_VOCAB, &cfg->vocab_size, error) == BERT_MEMBER_BAD) ||
		(BertJsonGetInt(root, distil ? "dim" : "hidden_size", 1, BERT_MAX_HIDDEN, &cfg->hidden_size, error) == BERT_MEMBER_BAD) ||
		(BertJsonGetInt(root, distil ? "n_layers" : "num_hidden_layers", 1, BERT_MAX_LAYERS, &cfg->num_hidden_layers, error) == BERT_MEMBER_BAD) ||
		(BertJsonGetInt(root, distil ? "n_heads" : "num_attention_heads", 1, BERT_MAX_HIDDEN, &cfg->num_attention_heads, error) == BERT_MEMBER_BAD) ||
		(BertJsonGetInt(root, distil ? "hidden_dim" : "intermediate_size", 1, 4 * BERT_MAX_HIDDEN, &cfg->intermediate_size, error) == BERT_MEMBER_BAD) ||
		(BertJsonGetInt(root, "max_position_embeddings", 2, BERT_MAX_POSITIONS, &cfg->max_position_embeddings, error) == BERT_MEMBER_BAD))
		return false;
	if (!distil &&
		((BertJsonGetInt(root, "type_vocab_size", 1, 1024, &cfg->type_vocab_size, error) == BERT_MEMBER_BAD) ||
		 (BertJsonGetFloat(root, "layer_norm_eps", &cfg->layer_norm_eps, error) == BERT_MEMBER_BAD)))
		return false;
	if (cfg->hidden_size % cfg->num_attention_heads != 0)
	{
		*error = psprintf("The hidden size %d is not a multiple of the number of attention heads %d.",
						  cfg->hidden_size, cfg->num_attention_heads);
		return false;
	}
	if (!(cfg->layer_norm_eps > 0.0f))
	{
		*error = pstrdup("\"layer_norm_eps\" must be positive.");
		return false;
	}
	return true;
}

/*
 * The activation (default exact GELU) and the position embedding type:
 * anything we would compute differently from the model is refused.
 */
static bool
parse_encoder_options(const BertJson *root, BertConfig *cfg, char **error)
{
	bool		distil = (cfg->family == BERT_FAMILY_DISTILBERT);
	const char *act;
	const char *pos_type;

	cfg->hidden_act = BERT_ACT_GELU;
	act = BertJsonGetString(root, distil ? "activation" : "hidden_act", error);
	if (*error)
		return false;
	if (act && !parse_activation(act, &cfg->hidden_act))
	{
		*error = psprintf("Activation \"%.40s\" is not supported; supported are gelu, gelu_new, gelu_pytorch_tanh and relu.",
						  act);
		return false;
	}
	pos_type = BertJsonGetString(root, "position_embedding_type", error);
	if (*error)
		return false;
	if (pos_type && strcmp(pos_type, "absolute") != 0)
	{
		*error = psprintf("position_embedding_type \"%.40s\" is not supported; only \"absolute\" is.",
						  pos_type);
		return false;
	}
	return true;
}

/* Reads config.json (Hugging Face BertConfig / DistilBertConfig). */
bool
BertConfigFromJson(const BertJson *root, BertConfig *cfg, char **error)
{
	*error = NULL;
	if (root == NULL || root->type != BERT_JSON_OBJECT)
	{
		*error = pstrdup("The file is not a JSON object.");
		return false;
	}
	if (!parse_architecture(root, cfg, error) ||
		!parse_sizes(root, cfg, error) ||
		!parse_encoder_options(root, cfg, error))
		return false;
	if ((cfg->head == BERT_HEAD_SEQUENCE_CLASSIFICATION ||
		 cfg->head == BERT_HEAD_TOKEN_CLASSIFICATION) &&
		!parse_id2label(root, cfg, error))
		return false;
	cfg->pooling = BERT_POOLING_MEAN;
	cfg->normalize = true;
	cfg->model_max_length = cfg->max_position_embeddings;
	return true;
}

/* Reads a length limit that may be absent, null or huge ("no limit"). */
static bool
lower_limit(const BertJson *root, const char *key, int *limit, char **error)
{
	const BertJson *v = BertJsonGet(root, key);
	double		d;

	if (v == NULL || v->type == BERT_JSON_NULL)
		return true;
	if (v->type != BERT_JSON_NUMBER)
	{
		*error = psprintf("\"%s\" must be a number.", key);
		return false;
	}
	d = strtod(v->str, NULL);
	if (!(d >= 2))
	{
		*error = psprintf("\"%s\" is %s; it must be at least 2.", key, v->str);
		return false;
	}
	if (d < *limit)
		*limit = (int) d;
	return true;
}

/* Tokenizer options (see config.h). */
bool
BertTokenizerOptionsFromJson(const BertJson *tokenizer_json,
							 const BertJson *tokenizer_config,
							 BertTokenizer *tok, BertConfig *cfg,
							 char **error)
{
	bool		strip_set = false;
	const BertJson *strip;

	*error = NULL;
	if (tokenizer_json)
	{
		const BertJson *norm = BertJsonGet(tokenizer_json, "normalizer");
		const BertJson *model = BertJsonGet(tokenizer_json, "model");
		const char *prefix;

		if (norm && norm->type == BERT_JSON_OBJECT)
		{
			BertJsonGetBool(norm, "lowercase", &tok->do_lower_case, error);
			BertJsonGetBool(norm, "handle_chinese_chars", &tok->tokenize_chinese_chars, error);
			strip = BertJsonGet(norm, "strip_accents");
			if (strip && strip->type == BERT_JSON_BOOL)
			{
				tok->strip_accents = strip->boolean;
				strip_set = true;
			}
		}
		if (model && model->type == BERT_JSON_OBJECT)
		{
			BertJsonGetInt(model, "max_input_chars_per_word", 1, 1 << 20,
						   &tok->max_input_chars_per_word, error);
			prefix = BertJsonGetString(model, "continuing_subword_prefix", error);
			if (prefix && strlen(prefix) < sizeof(tok->continuing_subword_prefix))
				strlcpy(tok->continuing_subword_prefix, prefix,
						sizeof(tok->continuing_subword_prefix));
		}
		if (*error)
			return false;
	}
	if (tokenizer_config)
	{
		if (tokenizer_config->type != BERT_JSON_OBJECT)
		{
			*error = pstrdup("The file is not a JSON object.");
			return false;
		}
		BertJsonGetBool(tokenizer_config, "do_lower_case", &tok->do_lower_case, error);
		BertJsonGetBool(tokenizer_config, "tokenize_chinese_chars", &tok->tokenize_chinese_chars, error);
		strip = BertJsonGet(tokenizer_config, "strip_accents");
		if (strip && strip->type == BERT_JSON_BOOL)
		{
			tok->strip_accents = strip->boolean;
			strip_set = true;
		}
		else if (strip && strip->type == BERT_JSON_NULL)
			strip_set = false;
		if (*error || !lower_limit(tokenizer_config, "model_max_length",
								   &cfg->model_max_length, error))
			return false;
	}
	/* strip_accents: None means "same as lowercase" */
	if (!strip_set)
		tok->strip_accents = tok->do_lower_case;
	return true;
}

/* Vocabulary of a tokenizer.json WordPiece model. */
bool
BertVocabFromTokenizerJson(const BertJson *root, BertTokenizer *tok,
						   char **error)
{
	const BertJson *model = BertJsonGet(root, "model");
	const BertJson *vocab = BertJsonGet(model, "vocab");
	const char *type;
	char	  **tokens;
	int32_t    *ids;
	const char *load_error;

	*error = NULL;
	type = BertJsonGetString(model, "type", error);
	if (type && strcmp(type, "WordPiece") != 0)
	{
		*error = psprintf("The tokenizer model is \"%.40s\"; only WordPiece is supported.",
						  type);
		return false;
	}
	if (vocab == NULL || vocab->type != BERT_JSON_OBJECT || vocab->n == 0)
	{
		*error = pstrdup("\"model\".\"vocab\" must be a non-empty object of token: id.");
		return false;
	}
	tokens = palloc(sizeof(char *) * vocab->n);
	ids = palloc(sizeof(int32_t) * vocab->n);
	for (int i = 0; i < vocab->n; i++)
	{
		const BertJson *item = vocab->items[i];
		double		d;

		if (item->type != BERT_JSON_NUMBER)
		{
			*error = psprintf("The id of token \"%.40s\" is not a number.", item->key);
			return false;
		}
		d = strtod(item->str, NULL);
		if (!(d >= 0 && d < vocab->n))
		{
			*error = psprintf("The id of token \"%.40s\" is outside 0..%d.",
							  item->key, vocab->n - 1);
			return false;
		}
		tokens[i] = item->key;
		ids[i] = (int32_t) d;
	}
	load_error = BertTokenizerLoadVocabPairs(tok, vocab->n, tokens, ids);
	if (load_error)
	{
		*error = pstrdup(load_error);
		return false;
	}
	return true;
}

/* modules.json of sentence-transformers (see config.h). */
bool
BertModulesFromJson(const BertJson *root, BertConfig *cfg,
					const char **pooling_path, char **error)
{
	*error = NULL;
	*pooling_path = NULL;
	if (root == NULL || root->type != BERT_JSON_ARRAY)
	{
		*error = pstrdup("The file is not a JSON array of modules.");
		return false;
	}
	cfg->normalize = false;
	for (int i = 0; i < root->n; i++)
	{
		const char *type = BertJsonGetString(root->items[i], "type", error);
		const char *path = BertJsonGetString(root->items[i], "path", error);

		if (*error)
			return false;
		if (type == NULL)
			continue;
		if (strcmp(type, "sentence_transformers.models.Pooling") == 0)
		{
			if (path == NULL || path[0] == '\0' || path[0] == '/' ||
				strstr(path, "..") != NULL)
			{
				*error = psprintf("The Pooling module's path \"%.60s\" must be a directory inside the model directory.",
								  path ? path : "");
				return false;
			}
			*pooling_path = path;
		}
		else if (strcmp(type, "sentence_transformers.models.Normalize") == 0)
			cfg->normalize = true;
	}
	return true;
}

/* 1_Pooling/config.json: exactly one of CLS, mean or max. */
bool
BertPoolingFromJson(const BertJson *root, BertConfig *cfg, char **error)
{
	static const struct
	{
		const char *key;
		int			pooling;	/* -1: not supported */
	}			modes[] = {
		{"pooling_mode_cls_token", BERT_POOLING_CLS},
		{"pooling_mode_mean_tokens", BERT_POOLING_MEAN},
		{"pooling_mode_max_tokens", BERT_POOLING_MAX},
		{"pooling_mode_mean_sqrt_len_tokens", -1},
		{"pooling_mode_weightedmean_tokens", -1},
		{"pooling_mode_lasttoken", -1},
	};
	int			chosen = 0;

	*error = NULL;
	if (root == NULL || root->type != BERT_JSON_OBJECT)
	{
		*error = pstrdup("The file is not a JSON object.");
		return false;
	}
	for (int i = 0; i < (int) lengthof(modes); i++)
	{
		bool		on = false;

		if (BertJsonGetBool(root, modes[i].key, &on, error) == BERT_MEMBER_BAD)
			return false;
		if (!on)
			continue;
		if (modes[i].pooling < 0)
		{
			*error = psprintf("Pooling mode \"%s\" is not supported; use CLS, mean or max pooling.",
							  modes[i].key);
			return false;
		}
		cfg->pooling = (BertPooling) modes[i].pooling;
		chosen++;
	}
	if (chosen != 1)
	{
		*error = pstrdup("Exactly one pooling mode must be enabled (concatenated poolings are not supported).");
		return false;
	}
	return true;
}

/* sentence_bert_config.json: max_seq_length. */
bool
BertSentenceConfigFromJson(const BertJson *root, BertConfig *cfg, char **error)
{
	*error = NULL;
	if (root == NULL || root->type != BERT_JSON_OBJECT)
	{
		*error = pstrdup("The file is not a JSON object.");
		return false;
	}
	return lower_limit(root, "max_seq_length", &cfg->model_max_length, error);
}
