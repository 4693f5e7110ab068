/*
 * standalone.c
 *		The few server functions that src/encoder.c, src/heads.c and
 *		src/blas.c call, for programs built from those sources without a
 *		server (test/unit/train_check).
 *
 * Those three files include postgres.h and compile unchanged against the
 * server headers; the fmgr-free files (tokenizer, JSON, config,
 * safetensors, the training engine) are built with -DBERT_STANDALONE
 * against postgres_fe.h, and palloc comes from libpgcommon.  What remains
 * is defined here: query-cancel checks that never fire, huge allocations
 * from malloc, and ereport, which prints the message and exits for ERROR
 * and above (below ERROR it prints nothing).
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "miscadmin.h"

volatile sig_atomic_t InterruptPending = false;
MemoryContext CurrentMemoryContext = NULL;	/* allocations go to malloc */

void
ProcessInterrupts(void)
{
}

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	void	   *p = malloc(size ? size : 1);

	(void) context;
	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", (size_t) size);
		exit(2);
	}
	return p;
}

static int	report_level;
static char report_message[1024];
static char report_detail[1024];

bool
errstart(int elevel, const char *domain)
{
	(void) domain;
	report_level = elevel;
	report_message[0] = report_detail[0] = '\0';
	return elevel >= ERROR;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	fprintf(stderr, "ERROR: %s%s%s (%s:%d, %s)\n", report_message,
			report_detail[0] ? "; " : "", report_detail, filename, lineno,
			funcname ? funcname : "?");
	exit(2);
}

int
errcode(int sqlerrcode)
{
	(void) sqlerrcode;
	return 0;
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(report_message, sizeof(report_message), fmt, ap);
	va_end(ap);
	return 0;
}

/* elog()'s message: errmsg's, without translation (there is none here) */
int
errmsg_internal(const char *fmt,...)
__attribute__((alias("errmsg")));

int
errdetail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(report_detail, sizeof(report_detail), fmt, ap);
	va_end(ap);
	return 0;
}

int
errhint(const char *fmt,...)
{
	(void) fmt;
	return 0;
}
