/*
 * sigbus_guard.c
 *		Guard against model files that shrink under their memory mapping.
 *
 * F32 weights are read straight from a read-only shared mapping of
 * model.safetensors.  If someone truncates or rewrites that file in place
 * (cp new old, truncate) while a forward pass runs, touching a page past the
 * new end of file raises SIGBUS, which would kill the backend and make the
 * postmaster restart every connection.  The model cache re-checks the file
 * before every call, but not during one; this handler covers the rest.
 *
 * On SIGBUS at an address inside a registered mapping, the handler maps
 * anonymous zero pages over the rest of that mapping (so the interrupted
 * instruction, and every later read, succeeds) and flags the mapping.  The
 * computation then finishes on zeros, and BertMappingCheck(), called before
 * any result leaves the SQL function, turns the flag into an ERROR; the cache
 * drops the model and loads the file anew on the next call.  The cache file
 * of prepared weights (weight_cache.c) is guarded the same way and flags
 * the model's own mapping too (also_faulted), so that the model is dropped
 * as well.  A SIGBUS anywhere else is not ours: the previous disposition is
 * restored and the fault repeats with it.  No longjmp leaves OpenBLAS
 * half-way.
 */
#include "postgres.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bert.h"
#include "model.h"

#define BERT_MAX_MAPPINGS 32

static BertMapping *volatile registered[BERT_MAX_MAPPINGS];
static struct sigaction previous_action;
static bool handler_installed = false;
static size_t page_size = 4096;

/* The SIGBUS handler (see the file header). */
static void
sigbus_handler(pg_attribute_unused() int signo, siginfo_t *info,
			   pg_attribute_unused() void *context)
{
	uintptr_t	addr = (uintptr_t) info->si_addr;

	for (int i = 0; i < BERT_MAX_MAPPINGS; i++)
	{
		BertMapping *m = registered[i];
		uintptr_t	base,
					end,
					page;

		if (m == NULL || m->base == NULL)
			continue;
		base = (uintptr_t) m->base;
		end = base + m->length;
		if (addr < base || addr >= end)
			continue;
		page = addr & ~(uintptr_t) (page_size - 1);
		if (mmap((void *) page, end - page, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			break;
		m->faulted = 1;
		if (m->also_faulted)
			*m->also_faulted = 1;
		return;
	}
	sigaction(SIGBUS, &previous_action, NULL);
}

/*
 * Starts guarding a new mapping; installs the handler on first use.
 *
 * Also asks for transparent huge pages on it (MADV_HUGEPAGE; ignored where
 * the kernel or filesystem has none): pages the kernel reads from the file
 * through this mapping then enter the page cache as 2 MB folios, and every
 * backend that maps the file later maps them 2 MB at a time.  Touching
 * all 438 MB of a BERT base file in a new process costs about 210 faults
 * and 2 ms of CPU then, against 600-6,700 faults and 4-24 ms for the
 * 4-320 kB folios of a file read or written by ordinary I/O (Linux 6.18,
 * ext4).
 */
void
BertMappingRegister(BertMapping *mapping)
{
#ifdef MADV_HUGEPAGE
	(void) madvise(mapping->base, mapping->length, MADV_HUGEPAGE);
#endif
	if (!handler_installed)
	{
		struct sigaction action;

		memset(&action, 0, sizeof(action));
		action.sa_sigaction = sigbus_handler;
		action.sa_flags = SA_SIGINFO;
		sigemptyset(&action.sa_mask);
		if (sigaction(SIGBUS, &action, &previous_action) != 0)
			elog(ERROR, "could not install SIGBUS handler: %m");
		page_size = (size_t) sysconf(_SC_PAGESIZE);
		handler_installed = true;
	}
	mapping->faulted = 0;
	for (int i = 0; i < BERT_MAX_MAPPINGS; i++)
		if (registered[i] == NULL)
		{
			registered[i] = mapping;
			return;
		}
	elog(ERROR, "too many model files mapped");
}

/* Stops guarding a mapping (before it is unmapped). */
void
BertMappingUnregister(BertMapping *mapping)
{
	for (int i = 0; i < BERT_MAX_MAPPINGS; i++)
		if (registered[i] == mapping)
			registered[i] = NULL;
}

/*
 * Raises an ERROR if the model's weights file, or its cache file, shrank
 * under its mapping since it was loaded; call before returning anything
 * computed from it.
 */
void
BertMappingCheck(const BertModel *model)
{
	if (model->cache_mapping.faulted)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("cache file of model \"%s\" changed while in use",
						model->name),
				 errdetail("The prepared weights in bert.cache_dir were truncated or rewritten in place during the call; its result is discarded."),
				 errhint("Never write into the files of bert.cache_dir; deleting them is safe (they are prepared again).")));
	if (!model->mapping.faulted)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model file \"%s/model.safetensors\" changed while in use",
					model->name),
			 errdetail("The file was truncated or rewritten in place during the call; its result is discarded."),
			 errhint("Replace model files by renaming a complete new file over the old one (mv), never by writing into it.")));
}

/*
 * Stops guarding a mapping and unmaps it; a memory context reset callback
 * (arg: the BertMapping) for the context that owns the mapping.
 */
void
BertMappingRelease(void *arg)
{
	BertMapping *mapping = arg;

	BertMappingUnregister(mapping);
	if (mapping->base != NULL)
		munmap(mapping->base, mapping->length);
	mapping->base = NULL;
}
