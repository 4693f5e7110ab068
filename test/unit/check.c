/*
 * check.c
 *		The report of the standalone check programs (see check.h).
 */
#include "postgres_fe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static const char *program = "check";
static int	passed = 0;
static int	failed = 0;

void
check_begin(const char *name, int argc, char **argv, int nargs,
			const char *usage)
{
	program = name;
	if (argc != nargs + 1)
	{
		fprintf(stderr, "usage: %s %s\n", argv[0], usage);
		exit(2);
	}
}

void
check(bool ok, const char *what, const char *fmt,...)
{
	va_list		ap;

	printf("%-4s %s: ", ok ? "ok" : "FAIL", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

void
fatal(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("%s: %d passed, %d failed\n", program, passed, failed + 1);
	exit(1);
}

void
check_load_model(const char *dir, BertStandaloneModel *model)
{
	const char *error = BertStandaloneLoad(dir, model);

	if (error != NULL)
		fatal("%s: %s", dir, error);
}

int
check_finish(void)
{
	printf("%s: %d passed, %d failed\n", program, passed, failed);
	return failed != 0;
}
