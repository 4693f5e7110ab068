/*
 * safetensors.h
 *		Reader of the safetensors format: an 8-byte little-endian header
 *		length, a JSON header {name: {dtype, shape, data_offsets}}, then the
 *		raw tensor bytes.
 */
#ifndef BERT_SAFETENSORS_H
#define BERT_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BERT_ST_MAX_HEADER (100 * 1024 * 1024)	/* the format's own limit */
#define BERT_ST_MAX_DIMS 8

typedef enum BertDtype
{
	BERT_DTYPE_F32,
	BERT_DTYPE_F16,
	BERT_DTYPE_BF16,
	BERT_DTYPE_OTHER			/* valid in the format, not usable as weights */
} BertDtype;

typedef struct BertTensorInfo
{
	char	   *name;
	char		dtype_name[8];
	BertDtype	dtype;
	int			ndim;
	int64_t		shape[BERT_ST_MAX_DIMS];
	size_t		begin;			/* byte offsets in the data section */
	size_t		end;
} BertTensorInfo;

typedef struct BertSafetensors
{
	const char *data;			/* start of the data section */
	size_t		data_len;
	int			num_tensors;
	BertTensorInfo *tensors;	/* sorted by name */
} BertSafetensors;

/*
 * Parses and validates the header of a whole file image: header length
 * within the file, valid JSON, known dtypes, shapes matching byte sizes,
 * offsets inside the data section and not overlapping.  Returns false with
 * *error set on any defect.
 */
extern bool BertSafetensorsParse(const char *file, size_t file_len,
								 BertSafetensors *st, char **error);

/* The tensor of that exact name, or NULL. */
extern const BertTensorInfo *BertSafetensorsFind(const BertSafetensors *st,
												 const char *name);

/* Upcasts n IEEE half / bfloat16 values to float. */
extern void BertHalfToFloat(float *dst, const void *src, size_t n);
extern void BertBfloat16ToFloat(float *dst, const void *src, size_t n);

#endif							/* BERT_SAFETENSORS_H */
