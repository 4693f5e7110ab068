/*
 * fuzz_palloc.c
 *		palloc and friends for the fuzz harnesses, replacing libpgcommon's
 *		fe_memutils.o (every symbol it exports is defined here, so the linker
 *		never pulls it from the archive).
 *
 * In a frontend build palloc is plain malloc and nothing is ever freed, so
 * a harness that runs millions of inputs would grow without bound.  Here
 * every block allocated while tracking is on (during one fuzz input) is
 * remembered in a hash set and freed by FuzzAllocReset() at the end of the
 * input; blocks allocated with tracking off (LLVMFuzzerInitialize: the
 * shared vocabulary) are permanent.  Each palloc is its own malloc, so
 * AddressSanitizer keeps exact bounds and redzones for every block, and a
 * block freed at the end of one input is reported if a later one uses it.
 *
 * Sizes above MaxAllocSize abort, as the backend's palloc would raise an
 * ERROR for them: an input that makes the code ask for a gigabyte is a
 * finding.  palloc(0) returns a block of no usable bytes (ASan reports any
 * access), which is stricter than both fe_memutils and the backend.
 */
#include "postgres_fe.h"

#include <stdio.h>
#include <stdlib.h>

#include "fuzz_palloc.h"

static bool tracking = false;

/* open-addressing set of live tracked blocks */
#define TOMBSTONE ((void *) 1)
#define MIN_TABLE 4096

static void **table;
static size_t table_size;
static size_t table_used;		/* live + tombstones */
static size_t table_live;

static size_t
slot_of(const void *p)
{
	uint64_t	x = (uint64_t) (uintptr_t) p;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return (size_t) x & (table_size - 1);
}

static void
table_init(size_t size)
{
	table = calloc(size, sizeof(void *));
	if (table == NULL)
	{
		fprintf(stderr, "fuzz_palloc: out of memory for the block table\n");
		abort();
	}
	table_size = size;
	table_used = table_live = 0;
}

static void table_add(void *p);

static void
table_rehash(void)
{
	void	  **old = table;
	size_t		old_size = table_size;
	size_t		size = MIN_TABLE;

	while (size < 4 * (table_live + 1))
		size *= 2;
	table_init(size);
	for (size_t i = 0; i < old_size; i++)
		if (old[i] != NULL && old[i] != TOMBSTONE)
			table_add(old[i]);
	free(old);
}

static void
table_add(void *p)
{
	size_t		i;

	if (table == NULL)
		table_init(MIN_TABLE);
	if (2 * (table_used + 1) > table_size)
		table_rehash();
	i = slot_of(p);
	while (table[i] != NULL && table[i] != TOMBSTONE)
		i = (i + 1) & (table_size - 1);
	if (table[i] == NULL)
		table_used++;
	table[i] = p;
	table_live++;
}

/* Removes p from the set; false when it is not there (a permanent block). */
static bool
table_remove(void *p)
{
	size_t		i;

	if (table == NULL || table_live == 0)
		return false;
	i = slot_of(p);
	while (table[i] != NULL)
	{
		if (table[i] == p)
		{
			table[i] = TOMBSTONE;
			table_live--;
			return true;
		}
		i = (i + 1) & (table_size - 1);
	}
	return false;
}

void
FuzzAllocBegin(void)
{
	tracking = true;
}

void
FuzzAllocReset(void)
{
	tracking = false;
	if (table == NULL)
		return;
	for (size_t i = 0; i < table_size; i++)
		if (table[i] != NULL && table[i] != TOMBSTONE)
			free(table[i]);
	if (table_size > 16 * MIN_TABLE)
	{
		free(table);
		table_init(MIN_TABLE);
	}
	else
	{
		memset(table, 0, table_size * sizeof(void *));
		table_used = table_live = 0;
	}
}

static void *
alloc_internal(size_t size, int flags)
{
	void	   *p;

	if (size > MaxAllocSize && !(flags & MCXT_ALLOC_HUGE))
	{
		fprintf(stderr, "fuzz_palloc: invalid memory alloc request size %zu "
				"(the backend raises an ERROR)\n", size);
		abort();
	}
	p = (flags & MCXT_ALLOC_ZERO) ? calloc(size ? size : 1, 1) : malloc(size);
	if (p == NULL && size == 0)
		p = malloc(1);
	if (p == NULL)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		fprintf(stderr, "fuzz_palloc: out of memory (%zu bytes)\n", size);
		abort();
	}
	if (tracking)
		table_add(p);
	return p;
}

static void
free_internal(void *p)
{
	if (p == NULL)
	{
		fprintf(stderr, "fuzz_palloc: pfree(NULL)\n");
		abort();
	}
	table_remove(p);
	free(p);
}

static void *
realloc_internal(void *p, size_t size)
{
	bool		was_tracked;
	void	   *q;

	if (size > MaxAllocSize)
	{
		fprintf(stderr, "fuzz_palloc: invalid memory alloc request size %zu "
				"(the backend raises an ERROR)\n", size);
		abort();
	}
	if (p == NULL)
	{
		fprintf(stderr, "fuzz_palloc: repalloc(NULL)\n");
		abort();
	}
	was_tracked = table_remove(p);
	q = realloc(p, size ? size : 1);
	if (q == NULL)
	{
		fprintf(stderr, "fuzz_palloc: out of memory (%zu bytes)\n", size);
		abort();
	}
	if (was_tracked)
		table_add(q);
	return q;
}

static size_t
mul_checked(size_t a, size_t b)
{
	size_t		r;

	if (__builtin_mul_overflow(a, b, &r))
	{
		fprintf(stderr, "fuzz_palloc: size overflow %zu * %zu\n", a, b);
		abort();
	}
	return r;
}

/* --- fe_memutils.h ------------------------------------------------------ */

char *
pg_strdup(const char *in)
{
	return pstrdup(in);
}

void *
pg_malloc(size_t size)
{
	return alloc_internal(size, 0);
}

void *
pg_malloc0(size_t size)
{
	return alloc_internal(size, MCXT_ALLOC_ZERO);
}

void *
pg_malloc_extended(size_t size, int flags)
{
	return alloc_internal(size, flags);
}

void *
pg_realloc(void *pointer, size_t size)
{
	return realloc_internal(pointer, size);
}

void
pg_free(void *pointer)
{
	free_internal(pointer);
}

Size
add_size(Size s1, Size s2)
{
	Size		r;

	if (__builtin_add_overflow(s1, s2, &r))
	{
		fprintf(stderr, "fuzz_palloc: size overflow %zu + %zu\n", s1, s2);
		abort();
	}
	return r;
}

Size
mul_size(Size s1, Size s2)
{
	return mul_checked(s1, s2);
}

void *
pg_malloc_mul(Size s1, Size s2)
{
	return alloc_internal(mul_checked(s1, s2), 0);
}

void *
pg_malloc0_mul(Size s1, Size s2)
{
	return alloc_internal(mul_checked(s1, s2), MCXT_ALLOC_ZERO);
}

void *
pg_malloc_mul_extended(Size s1, Size s2, int flags)
{
	return alloc_internal(mul_checked(s1, s2), flags);
}

void *
pg_realloc_mul(void *p, Size s1, Size s2)
{
	return realloc_internal(p, mul_checked(s1, s2));
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = alloc_internal(len + 1, 0);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size size)
{
	size_t		len = strnlen(in, size);
	char	   *out = alloc_internal(len + 1, 0);

	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

void *
palloc(Size size)
{
	return alloc_internal(size, 0);
}

void *
palloc0(Size size)
{
	return alloc_internal(size, MCXT_ALLOC_ZERO);
}

void *
palloc_extended(Size size, int flags)
{
	return alloc_internal(size, flags);
}

void *
repalloc(void *pointer, Size size)
{
	return realloc_internal(pointer, size);
}

void
pfree(void *pointer)
{
	free_internal(pointer);
}

void *
palloc_mul(Size s1, Size s2)
{
	return alloc_internal(mul_checked(s1, s2), 0);
}

void *
palloc0_mul(Size s1, Size s2)
{
	return alloc_internal(mul_checked(s1, s2), MCXT_ALLOC_ZERO);
}

void *
palloc_mul_extended(Size s1, Size s2, int flags)
{
	return alloc_internal(mul_checked(s1, s2), flags);
}

void *
repalloc_mul(void *p, Size s1, Size s2)
{
	return realloc_internal(p, mul_checked(s1, s2));
}
