/*
 * model_write.c
 *		Writing a trained model as a Hugging Face model directory.
 *
 * model.safetensors: an 8-byte little-endian header length, the JSON
 * header {"__metadata__": {"format": "pt"}, name: {"dtype": "F32",
 * "shape": [...], "data_offsets": [begin, end]}, ...} padded with spaces to
 * a multiple of 8 bytes, then the tensors in header order (names sorted),
 * as safetensors' own writer lays them out.  The tied decoder of a masked-LM
 * head is not written, as Hugging Face saves BertForPreTraining.
 *
 * Files are created exclusively, written whole and fsync'ed; the caller
 * fsyncs the directory and renames it into place.
 *
 * Pure C over palloc: no fmgr, no ereport.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/stringinfo.h"

#include "model_write.h"

/* Writes all of buf to fd; false with errno set on failure. */
static bool
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, buf, Min(len, (size_t) 1 << 30));

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += n;
		len -= n;
	}
	return true;
}

/* Appends s as a JSON string literal. */
static void
append_quoted(StringInfo out, const char *s)
{
	appendStringInfoChar(out, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			appendStringInfoChar(out, '\\');
			appendStringInfoChar(out, (char) *p);
		}
		else if (*p < 0x20)
			appendStringInfo(out, "\\u%04x", *p);
		else
			appendStringInfoChar(out, (char) *p);
	}
	appendStringInfoChar(out, '"');
}

/* s as a JSON string literal (palloc'd). */
char *
BertJsonQuote(const char *s)
{
	StringInfoData out;

	initStringInfo(&out);
	append_quoted(&out, s);
	return out.data;
}

/* Index order of the tensors by name, for the sorted header. */
static const BertTrainer *sort_trainer;

static int
compare_names(const void *a, const void *b)
{
	return strcmp(sort_trainer->param[*(const int *) a].name,
				  sort_trainer->param[*(const int *) b].name);
}

/*
 * Writes every trainable tensor of t as F32 to a new file at path (which
 * must not exist), fsync'ed.
 */
const char *
BertWriteSafetensors(const char *path, const BertTrainer *t)
{
	StringInfoData header;
	int		   *order = palloc(sizeof(int) * t->num_params);
	size_t		offset = 0;
	uint64_t	header_len;
	unsigned char len_bytes[8];
	int			fd;
	bool		ok;

	for (int i = 0; i < t->num_params; i++)
		order[i] = i;
	sort_trainer = t;
	qsort(order, t->num_params, sizeof(int), compare_names);

	initStringInfo(&header);
	appendStringInfoString(&header, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (int k = 0; k < t->num_params; k++)
	{
		const BertParam *p = &t->param[order[k]];
		size_t		bytes = sizeof(float) * p->count;

		appendStringInfoChar(&header, ',');
		append_quoted(&header, p->name);
		appendStringInfoString(&header, ":{\"dtype\":\"F32\",\"shape\":[");
		appendStringInfo(&header, "%lld", (long long) p->shape[0]);
		if (p->ndim == 2)
			appendStringInfo(&header, ",%lld", (long long) p->shape[1]);
		appendStringInfo(&header, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
		offset += bytes;
	}
	appendStringInfoChar(&header, '}');
	while (header.len % 8 != 0)
		appendStringInfoChar(&header, ' ');
	header_len = header.len;
	for (int i = 0; i < 8; i++)
		len_bytes[i] = (unsigned char) (header_len >> (8 * i));

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return psprintf("could not create \"%s\": %s", path, strerror(errno));
	ok = write_all(fd, (const char *) len_bytes, 8) &&
		write_all(fd, header.data, header.len);
	for (int k = 0; ok && k < t->num_params; k++)
	{
		const BertParam *p = &t->param[order[k]];

		ok = write_all(fd, (const char *) (t->params + p->offset),
					   sizeof(float) * p->count);
	}
	if (ok)
		ok = fsync(fd) == 0;
	if (!ok)
	{
		int			save = errno;

		close(fd);
		return psprintf("could not write \"%s\": %s", path, strerror(save));
	}
	if (close(fd) != 0)
		return psprintf("could not close \"%s\": %s", path, strerror(errno));
	pfree(order);
	pfree(header.data);
	return NULL;
}

/* Appends a JSON value (the tree of json.c) as JSON text. */
static void
append_value(StringInfo out, const BertJson *v, int indent)
{
	switch (v->type)
	{
		case BERT_JSON_NULL:
			appendStringInfoString(out, "null");
			break;
		case BERT_JSON_BOOL:
			appendStringInfoString(out, v->boolean ? "true" : "false");
			break;
		case BERT_JSON_NUMBER:
			appendStringInfoString(out, v->str);
			break;
		case BERT_JSON_STRING:
			append_quoted(out, v->str);
			break;
		case BERT_JSON_ARRAY:
		case BERT_JSON_OBJECT:
			{
				bool		object = v->type == BERT_JSON_OBJECT;

				appendStringInfoChar(out, object ? '{' : '[');
				for (int i = 0; i < v->n; i++)
				{
					appendStringInfo(out, "%s\n%*s", i ? "," : "", indent + 2, "");
					if (object)
					{
						append_quoted(out, v->items[i]->key);
						appendStringInfoString(out, ": ");
					}
					append_value(out, v->items[i], indent + 2);
				}
				if (v->n > 0)
					appendStringInfo(out, "\n%*s", indent, "");
				appendStringInfoChar(out, object ? '}' : ']');
				break;
			}
	}
}

/*
 * The JSON object root as text, with edits applied: a member whose key an
 * edit names is replaced in place by the edit's JSON text (or dropped when
 * that is NULL); edits naming no member are appended in order.
 */
char *
BertJsonWithEdits(const BertJson *root, const BertJsonEdit *edits, int n_edits)
{
	StringInfoData out;
	bool	   *used = palloc0(sizeof(bool) * Max(n_edits, 1));
	bool		first = true;

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	for (int i = 0; root && i < root->n; i++)
	{
		const BertJson *m = root->items[i];
		int			e;

		for (e = 0; e < n_edits; e++)
			if (strcmp(edits[e].key, m->key) == 0)
				break;
		if (e < n_edits)
		{
			used[e] = true;
			if (edits[e].json == NULL)
				continue;
		}
		appendStringInfo(&out, "%s\n  ", first ? "" : ",");
		first = false;
		append_quoted(&out, m->key);
		appendStringInfoString(&out, ": ");
		if (e < n_edits)
			appendStringInfoString(&out, edits[e].json);
		else
			append_value(&out, m, 2);
	}
	for (int e = 0; e < n_edits; e++)
	{
		if (used[e] || edits[e].json == NULL)
			continue;
		appendStringInfo(&out, "%s\n  ", first ? "" : ",");
		first = false;
		append_quoted(&out, edits[e].key);
		appendStringInfo(&out, ": %s", edits[e].json);
	}
	appendStringInfoString(&out, "\n}\n");
	pfree(used);
	return out.data;
}

/* Writes a new file (it must not exist) and fsyncs it. */
const char *
BertWriteFile(const char *path, const char *data, size_t len)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return psprintf("could not create \"%s\": %s", path, strerror(errno));
	if (!write_all(fd, data, len) || fsync(fd) != 0)
	{
		int			save = errno;

		close(fd);
		return psprintf("could not write \"%s\": %s", path, strerror(save));
	}
	if (close(fd) != 0)
		return psprintf("could not close \"%s\": %s", path, strerror(errno));
	return NULL;
}

/* Copies a regular file to a new file, fsync'ed. */
const char *
BertCopyFile(const char *from, const char *to)
{
	int			fd = open(from, O_RDONLY | O_NONBLOCK);
	struct stat st;
	char	   *buf;
	size_t		done = 0;
	const char *error;

	if (fd < 0)
		return psprintf("could not open \"%s\": %s", from, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return psprintf("\"%s\" is not a regular file", from);
	}
	buf = palloc_extended(Max(st.st_size, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (buf == NULL)
	{
		close(fd);
		return psprintf("out of memory copying \"%s\"", from);
	}
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	error = BertWriteFile(to, buf, done);
	pfree(buf);
	return error;
}

/* fsync of a file or directory by path. */
const char *
BertFsyncPath(const char *path)
{
	int			fd = open(path, O_RDONLY);

	if (fd < 0)
		return psprintf("could not open \"%s\": %s", path, strerror(errno));
	if (fsync(fd) != 0)
	{
		int			save = errno;

		close(fd);
		return psprintf("could not fsync \"%s\": %s", path, strerror(save));
	}
	close(fd);
	return NULL;
}

/*
 * Removes a directory and everything in it; symbolic links are removed,
 * never followed.  A path that does not exist is not an error.
 */
const char *
BertRemoveTree(const char *path)
{
	DIR		   *dir;
	struct dirent *de;
	struct stat st;
	const char *error = NULL;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? NULL :
			psprintf("could not stat \"%s\": %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? NULL :
			psprintf("could not remove \"%s\": %s", path, strerror(errno));
	if ((dir = opendir(path)) == NULL)
		return psprintf("could not open directory \"%s\": %s", path, strerror(errno));
	while (error == NULL && (de = readdir(dir)) != NULL)
	{
		char	   *child;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = psprintf("%s/%s", path, de->d_name);
		error = BertRemoveTree(child);
		pfree(child);
	}
	closedir(dir);
	if (error == NULL && rmdir(path) != 0)
		error = psprintf("could not remove directory \"%s\": %s", path, strerror(errno));
	return error;
}
