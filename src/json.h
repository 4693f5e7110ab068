/*
 * json.h
 *		A small read-only JSON tree built with PostgreSQL's JSON parser.
 *
 * Model directories hold several JSON files whose values are looked up by
 * key; the tree is built once at load time in the current memory context.
 */
#ifndef BERT_JSON_H
#define BERT_JSON_H

#include <stdbool.h>

#define BERT_JSON_MAX_DEPTH 64

typedef enum BertJsonType
{
	BERT_JSON_NULL,
	BERT_JSON_BOOL,
	BERT_JSON_NUMBER,
	BERT_JSON_STRING,
	BERT_JSON_ARRAY,
	BERT_JSON_OBJECT
} BertJsonType;

typedef struct BertJson BertJson;
struct BertJson
{
	BertJsonType type;
	char	   *key;			/* member name inside an object, else NULL */
	char	   *str;			/* string value (unescaped) or number text */
	bool		boolean;
	int			n;				/* items of an array or members of an object */
	int			cap;
	BertJson  **items;
};

/*
 * Parses `len` bytes of UTF-8 JSON.  Returns the root, or NULL with *error
 * set to a sentence saying what is wrong and where.
 */
extern BertJson *BertJsonParse(char *text, int len, char **error);

/* Member `key` of an object, or NULL (also when obj is not an object). */
extern const BertJson *BertJsonGet(const BertJson *obj, const char *key);

/* What a typed getter found. */
typedef enum BertMember
{
	BERT_MEMBER_ABSENT,			/* no such member, or null: *out untouched */
	BERT_MEMBER_OK,				/* a usable value, stored in *out */
	BERT_MEMBER_BAD				/* wrong type or out of range: *error set */
} BertMember;

/*
 * Typed getters.  A present member of the wrong type, or an integer out of
 * [min, max], is BERT_MEMBER_BAD and sets *error.
 */
extern BertMember BertJsonGetInt(const BertJson *obj, const char *key, int min,
								 int max, int *out, char **error);
extern BertMember BertJsonGetFloat(const BertJson *obj, const char *key,
								   float *out, char **error);
extern BertMember BertJsonGetBool(const BertJson *obj, const char *key,
								  bool *out, char **error);
extern const char *BertJsonGetString(const BertJson *obj, const char *key,
									 char **error);

#endif							/* BERT_JSON_H */
