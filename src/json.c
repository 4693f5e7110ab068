/*
 * json.c
 *		JSON tree over PostgreSQL's JSON parser (common/jsonapi.h).
 *
 * pg_parse_json drives callbacks; a stack of open containers turns them
 * into a tree.  Nesting is bounded before parsing, since the recursive
 * descent parser has no depth check of its own outside the backend.
 * Pure C over palloc (no ereport), so harnesses can build it standalone.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "json.h"

typedef struct TreeBuilder
{
	BertJson   *root;
	BertJson   *stack[BERT_JSON_MAX_DEPTH + 2];
	int			depth;
	char	   *pending_key;
} TreeBuilder;

/* Appends a new node to the open container (or makes it the root). */
static BertJson *
add_node(TreeBuilder *tb, BertJsonType type)
{
	BertJson   *node = palloc0(sizeof(BertJson));

	node->type = type;
	node->key = tb->pending_key;
	tb->pending_key = NULL;
	if (tb->depth == 0)
	{
		if (tb->root == NULL)
			tb->root = node;
		return node;
	}
	else
	{
		BertJson   *parent = tb->stack[tb->depth - 1];

		if (parent->n == parent->cap)
		{
			parent->cap = parent->cap ? parent->cap * 2 : 8;
			parent->items = parent->items
				? repalloc(parent->items, parent->cap * sizeof(BertJson *))
				: palloc(parent->cap * sizeof(BertJson *));
		}
		parent->items[parent->n++] = node;
	}
	return node;
}

/* Appends a container node and makes it the open one. */
static void
push(TreeBuilder *tb, BertJsonType type)
{
	BertJson   *node = add_node(tb, type);

	/* depth was bounded by scan_depth(); the check keeps the stack safe */
	if (tb->depth < BERT_JSON_MAX_DEPTH + 1)
		tb->stack[tb->depth++] = node;
}

static void
on_object_start(void *state)
{
	push(state, BERT_JSON_OBJECT);
}

static void
on_array_start(void *state)
{
	push(state, BERT_JSON_ARRAY);
}

static void
on_end(void *state)
{
	TreeBuilder *tb = state;

	if (tb->depth > 0)
		tb->depth--;
}

static void
on_field_start(void *state, char *fname, pg_attribute_unused() bool isnull)
{
	((TreeBuilder *) state)->pending_key = fname;
}

static void
on_scalar(void *state, char *token, JsonTokenType tokentype)
{
	TreeBuilder *tb = state;
	BertJson   *node;

	switch (tokentype)
	{
		case JSON_TOKEN_STRING:
			node = add_node(tb, BERT_JSON_STRING);
			node->str = token;
			break;
		case JSON_TOKEN_NUMBER:
			node = add_node(tb, BERT_JSON_NUMBER);
			node->str = token;
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			node = add_node(tb, BERT_JSON_BOOL);
			node->boolean = (tokentype == JSON_TOKEN_TRUE);
			break;
		default:
			add_node(tb, BERT_JSON_NULL);
			break;
	}
}

/* Deepest nesting of [ and { outside strings. */
static int
scan_depth(const char *text, int len)
{
	int			depth = 0,
				deepest = 0;
	bool		in_string = false;

	for (int i = 0; i < len; i++)
	{
		char		c = text[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			depth++;
			deepest = Max(deepest, depth);
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return deepest;
}

/* Parses UTF-8 JSON into a tree (see json.h). */
BertJson *
BertJsonParse(char *text, int len, char **error)
{
	TreeBuilder tb = {0};
	JsonSemAction sem = {0};
	JsonLexContext *lex;
	JsonParseErrorType result;

	if (memchr(text, '\0', len) != NULL)
	{
		*error = pstrdup("The file contains a NUL byte.");
		return NULL;
	}
	if (scan_depth(text, len) > BERT_JSON_MAX_DEPTH)
	{
		*error = psprintf("JSON nesting is deeper than %d levels.",
						  BERT_JSON_MAX_DEPTH);
		return NULL;
	}
	sem.semstate = &tb;
	sem.object_start = on_object_start;
	sem.object_end = on_end;
	sem.array_start = on_array_start;
	sem.array_end = on_end;
	sem.object_field_start = on_field_start;
	sem.scalar = on_scalar;
	lex = makeJsonLexContextCstringLen(text, len, PG_UTF8, true);
	result = pg_parse_json(lex, &sem);
	if (result != JSON_SUCCESS)
	{
		*error = psprintf("Invalid JSON at line %d: %s",
						  lex->line_number, json_errdetail(result, lex));
		return NULL;
	}
	return tb.root;
}

/* Member lookup by key. */
const BertJson *
BertJsonGet(const BertJson *obj, const char *key)
{
	if (obj == NULL || obj->type != BERT_JSON_OBJECT)
		return NULL;
	/* the last of duplicate keys wins, as in Python's json module */
	for (int i = obj->n - 1; i >= 0; i--)
		if (obj->items[i]->key && strcmp(obj->items[i]->key, key) == 0)
			return obj->items[i];
	return NULL;
}

/* Integer member within [min, max]. */
BertMember
BertJsonGetInt(const BertJson *obj, const char *key, int min, int max,
			   int *out, char **error)
{
	const BertJson *v = BertJsonGet(obj, key);
	double		d;
	char	   *end;

	if (v == NULL || v->type == BERT_JSON_NULL)
		return BERT_MEMBER_ABSENT;
	if (v->type != BERT_JSON_NUMBER)
	{
		*error = psprintf("\"%s\" must be a number.", key);
		return BERT_MEMBER_BAD;
	}
	errno = 0;
	d = strtod(v->str, &end);
	if (errno != 0 || *end != '\0' || d != floor(d) || d < min || d > max)
	{
		*error = psprintf("\"%s\" is %s; expected an integer from %d to %d.",
						  key, v->str, min, max);
		return BERT_MEMBER_BAD;
	}
	*out = (int) d;
	return BERT_MEMBER_OK;
}

/* Finite number member. */
BertMember
BertJsonGetFloat(const BertJson *obj, const char *key, float *out,
				 char **error)
{
	const BertJson *v = BertJsonGet(obj, key);
	char	   *end;
	double		d;

	if (v == NULL || v->type == BERT_JSON_NULL)
		return BERT_MEMBER_ABSENT;
	if (v->type != BERT_JSON_NUMBER)
	{
		*error = psprintf("\"%s\" must be a number.", key);
		return BERT_MEMBER_BAD;
	}
	errno = 0;
	d = strtod(v->str, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || fabs(d) > FLT_MAX)
	{
		*error = psprintf("\"%s\" is not a finite float: %s.", key, v->str);
		return BERT_MEMBER_BAD;
	}
	*out = (float) d;
	return BERT_MEMBER_OK;
}

/* Boolean member. */
BertMember
BertJsonGetBool(const BertJson *obj, const char *key, bool *out, char **error)
{
	const BertJson *v = BertJsonGet(obj, key);

	if (v == NULL || v->type == BERT_JSON_NULL)
		return BERT_MEMBER_ABSENT;
	if (v->type != BERT_JSON_BOOL)
	{
		*error = psprintf("\"%s\" must be true or false.", key);
		return BERT_MEMBER_BAD;
	}
	*out = v->boolean;
	return BERT_MEMBER_OK;
}

/* String member. */
const char *
BertJsonGetString(const BertJson *obj, const char *key, char **error)
{
	const BertJson *v = BertJsonGet(obj, key);

	if (v == NULL || v->type == BERT_JSON_NULL)
		return NULL;
	if (v->type != BERT_JSON_STRING)
	{
		*error = psprintf("\"%s\" must be a string.", key);
		return NULL;
	}
	return v->str;
}
