/*
 * safetensors.c
 *		Header parsing and validation for model.safetensors, and the
 *		half-precision upcasts.
 *
 * The file image is trusted for nothing: every offset is checked against
 * the file length before any tensor byte is read, so a corrupt or hostile
 * file yields an error message, never an out-of-bounds read.
 * Pure C over palloc (no ereport).
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <errno.h>
#include <stdlib.h>

#include "json.h"
#include "safetensors.h"

typedef struct DtypeSpec
{
	const char *name;
	int			size;
	BertDtype	dtype;
} DtypeSpec;

/* every dtype of the format (safetensors Dtype enum) */
static const DtypeSpec dtype_specs[] = {
	{"F32", 4, BERT_DTYPE_F32}, {"F16", 2, BERT_DTYPE_F16},
	{"BF16", 2, BERT_DTYPE_BF16}, {"F64", 8, BERT_DTYPE_OTHER},
	{"I64", 8, BERT_DTYPE_OTHER}, {"U64", 8, BERT_DTYPE_OTHER},
	{"I32", 4, BERT_DTYPE_OTHER}, {"U32", 4, BERT_DTYPE_OTHER},
	{"I16", 2, BERT_DTYPE_OTHER}, {"U16", 2, BERT_DTYPE_OTHER},
	{"I8", 1, BERT_DTYPE_OTHER}, {"U8", 1, BERT_DTYPE_OTHER},
	{"BOOL", 1, BERT_DTYPE_OTHER}, {"F8_E5M2", 1, BERT_DTYPE_OTHER},
	{"F8_E4M3", 1, BERT_DTYPE_OTHER},
};

static int
compare_names(const void *a, const void *b)
{
	return strcmp(((const BertTensorInfo *) a)->name,
				  ((const BertTensorInfo *) b)->name);
}

static int
compare_begin(const void *a, const void *b)
{
	const BertTensorInfo *x = *(const BertTensorInfo *const *) a;
	const BertTensorInfo *y = *(const BertTensorInfo *const *) b;

	/* by start, then end: an empty tensor sorts before one starting there */
	if (x->begin != y->begin)
		return (x->begin > y->begin) - (x->begin < y->begin);
	return (x->end > y->end) - (x->end < y->end);
}

/* Reads a non-negative integer JSON number no larger than max. */
static bool
read_uint(const BertJson *v, uint64_t max, uint64_t *out)
{
	char	   *end;
	unsigned long long u;

	if (v == NULL || v->type != BERT_JSON_NUMBER || v->str[0] == '-')
		return false;
	errno = 0;
	u = strtoull(v->str, &end, 10);
	if (errno != 0 || *end != '\0' || u > max)
		return false;
	*out = u;
	return true;
}

/* Fills one tensor entry from its header object; false with *error. */
static bool
parse_entry(const BertJson *entry, size_t data_len, BertTensorInfo *t,
			char **error)
{
	const BertJson *dtype = BertJsonGet(entry, "dtype");
	const BertJson *shape = BertJsonGet(entry, "shape");
	const BertJson *offsets = BertJsonGet(entry, "data_offsets");
	const DtypeSpec *spec = NULL;
	uint64_t	bytes,
				begin,
				end;

	if (entry->type != BERT_JSON_OBJECT || dtype == NULL ||
		dtype->type != BERT_JSON_STRING || shape == NULL ||
		shape->type != BERT_JSON_ARRAY || offsets == NULL ||
		offsets->type != BERT_JSON_ARRAY)
	{
		*error = psprintf("Tensor \"%s\" needs \"dtype\", \"shape\" and \"data_offsets\".",
						  t->name);
		return false;
	}
	for (int i = 0; i < (int) lengthof(dtype_specs); i++)
		if (strcmp(dtype->str, dtype_specs[i].name) == 0)
			spec = &dtype_specs[i];
	if (spec == NULL)
	{
		*error = psprintf("Tensor \"%s\" has unknown dtype \"%.20s\".",
						  t->name, dtype->str);
		return false;
	}
	strlcpy(t->dtype_name, spec->name, sizeof(t->dtype_name));
	t->dtype = spec->dtype;

	if (shape->n > BERT_ST_MAX_DIMS)
	{
		*error = psprintf("Tensor \"%s\" has %d dimensions; at most %d are supported.",
						  t->name, shape->n, BERT_ST_MAX_DIMS);
		return false;
	}
	t->ndim = shape->n;
	bytes = spec->size;
	for (int i = 0; i < shape->n; i++)
	{
		uint64_t	dim;

		if (!read_uint(shape->items[i], UINT64_C(1) << 40, &dim) ||
			__builtin_mul_overflow(bytes, dim, &bytes))
		{
			*error = psprintf("Tensor \"%s\" has an invalid shape.", t->name);
			return false;
		}
		t->shape[i] = (int64_t) dim;
	}

	if (offsets->n != 2 ||
		!read_uint(offsets->items[0], UINT64_MAX, &begin) ||
		!read_uint(offsets->items[1], UINT64_MAX, &end) ||
		begin > end || end > data_len)
	{
		*error = psprintf("Tensor \"%s\" has data_offsets outside the %zu-byte data section.",
						  t->name, data_len);
		return false;
	}
	if (end - begin != bytes)
	{
		*error = psprintf("Tensor \"%s\" holds %llu bytes but its dtype and shape need %llu.",
						  t->name, (unsigned long long) (end - begin),
						  (unsigned long long) bytes);
		return false;
	}
	t->begin = begin;
	t->end = end;
	return true;
}

/*
 * No two tensors may share bytes, and no name may appear twice; sorts
 * st->tensors by name, as BertSafetensorsFind expects.
 */
static bool
check_tensor_set(BertSafetensors *st, char **error)
{
	int			n = st->num_tensors;
	BertTensorInfo **by_offset = palloc(sizeof(BertTensorInfo *) * Max(n, 1));

	for (int i = 0; i < n; i++)
		by_offset[i] = &st->tensors[i];
	qsort(by_offset, n, sizeof(BertTensorInfo *), compare_begin);
	for (int i = 1; i < n; i++)
		if (by_offset[i]->begin < by_offset[i - 1]->end)
		{
			*error = psprintf("Tensors \"%s\" and \"%s\" overlap.",
							  by_offset[i - 1]->name, by_offset[i]->name);
			return false;
		}
	pfree(by_offset);

	qsort(st->tensors, n, sizeof(BertTensorInfo), compare_names);
	for (int i = 1; i < n; i++)
		if (strcmp(st->tensors[i].name, st->tensors[i - 1].name) == 0)
		{
			*error = psprintf("Tensor \"%s\" appears twice.", st->tensors[i].name);
			return false;
		}
	return true;
}

/* Validates the header of a whole file image (see safetensors.h). */
bool
BertSafetensorsParse(const char *file, size_t file_len, BertSafetensors *st,
					 char **error)
{
	uint64_t	header_len = 0;
	BertJson   *root;
	int			n = 0;

	if (file_len < 8)
	{
		*error = psprintf("The file is %zu bytes long, shorter than the 8-byte header length.",
						  file_len);
		return false;
	}
	for (int i = 7; i >= 0; i--)
		header_len = (header_len << 8) | (unsigned char) file[i];
	if (header_len > file_len - 8 || header_len > BERT_ST_MAX_HEADER)
	{
		*error = psprintf("The header length %llu does not fit in the %zu bytes after the length field, or exceeds the format's limit of 100 MB.",
						  (unsigned long long) header_len, file_len - 8);
		return false;
	}

	/* the parser needs a writable copy */
	{
		char	   *text = palloc(header_len + 1);
		char	   *json_error = NULL;

		memcpy(text, file + 8, header_len);
		text[header_len] = '\0';
		root = BertJsonParse(text, (int) header_len, &json_error);
		if (root == NULL)
		{
			*error = psprintf("The header is not valid JSON. %s", json_error);
			return false;
		}
	}
	if (root->type != BERT_JSON_OBJECT)
	{
		*error = pstrdup("The header is not a JSON object.");
		return false;
	}

	st->data = file + 8 + header_len;
	st->data_len = file_len - 8 - header_len;
	st->tensors = palloc0(sizeof(BertTensorInfo) * Max(root->n, 1));
	for (int i = 0; i < root->n; i++)
	{
		BertTensorInfo *t = &st->tensors[n];

		if (strcmp(root->items[i]->key, "__metadata__") == 0)
			continue;
		t->name = root->items[i]->key;
		if (!parse_entry(root->items[i], st->data_len, t, error))
			return false;
		n++;
	}
	st->num_tensors = n;
	return check_tensor_set(st, error);
}

/* Binary search by name. */
const BertTensorInfo *
BertSafetensorsFind(const BertSafetensors *st, const char *name)
{
	BertTensorInfo key = {0};

	if (st->num_tensors == 0)
		return NULL;
	key.name = (char *) name;
	return bsearch(&key, st->tensors, st->num_tensors, sizeof(BertTensorInfo),
				   compare_names);
}

/* Upcasts n IEEE half values; src need not be aligned. */
void
BertHalfToFloat(float *dst, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint16_t	h;
		uint32_t	sign,
					exp,
					mant,
					bits;

		memcpy(&h, (const char *) src + 2 * i, sizeof(h));
		sign = (uint32_t) (h & 0x8000) << 16;
		exp = (h >> 10) & 0x1f;
		mant = h & 0x3ff;

		if (exp == 0x1f)		/* inf / nan */
			bits = sign | 0x7f800000 | (mant << 13);
		else if (exp != 0)		/* normal */
			bits = sign | ((exp + 112) << 23) | (mant << 13);
		else if (mant == 0)		/* zero */
			bits = sign;
		else					/* subnormal: renormalise */
		{
			exp = 113;
			while ((mant & 0x400) == 0)
			{
				mant <<= 1;
				exp--;
			}
			bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
		}
		memcpy(&dst[i], &bits, sizeof(float));
	}
}

/* Upcasts n bfloat16 values (the high half of a float); src unaligned. */
void
BertBfloat16ToFloat(float *dst, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint16_t	b16;
		uint32_t	bits;

		memcpy(&b16, (const char *) src + 2 * i, sizeof(b16));
		bits = (uint32_t) b16 << 16;

		memcpy(&dst[i], &bits, sizeof(float));
	}
}
