/*
 * model_path.c
 *		Model names and the paths they stand for under bert.model_dir.
 *
 * A model name is one directory entry of bert.model_dir; every path read
 * (a model's directory and each of its files) or written (a trained model)
 * is resolved (symbolic links, "..") and must lie strictly inside the
 * resolved bert.model_dir, so that a link planted in the directory cannot
 * expose or overwrite files elsewhere.  The checks live here and nowhere
 * else: the loader (model.c), the cache (model_cache.c) and training
 * (train_sql.c) call them.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "guc.h"
#include "model.h"
#include "model_path.h"

/* True if resolved path `path` lies strictly inside resolved directory `root`. */
bool
BertPathInside(const char *path, const char *root)
{
	size_t		len = strlen(root);

	if (len > 0 && root[len - 1] == '/')
		len--;					/* root is "/" */
	return strncmp(path, root, len) == 0 && path[len] == '/' && path[len + 1] != '\0';
}

/*
 * Resolves `path` into real (PATH_MAX) and says whether it lies strictly
 * inside the resolved directory real_root.  BERT_PATH_ERROR leaves errno
 * as realpath() set it (ENOENT: no such file).
 */
BertPathCheck
BertResolveInside(const char *path, const char *real_root, char *real)
{
	if (realpath(path, real) == NULL)
		return BERT_PATH_ERROR;
	return BertPathInside(real, real_root) ? BERT_PATH_INSIDE : BERT_PATH_OUTSIDE;
}

/*
 * Checks a model name as every model name is checked, for models read and
 * models about to be written: bert.model_dir set, the name not empty (with
 * `setting`, the setting that names the default model, in the error when
 * it is; NULL when there is no default), no "/", not "." or "..", at most
 * BERT_MAX_MODEL_NAME bytes.  Sets path (MAXPGPATH) to bert.model_dir/name.
 * Raises the errors.
 */
void
BertModelPath(const char *name, const char *setting, char *path)
{
	if (bert_model_dir == NULL || bert_model_dir[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bert.model_dir is not set"),
				 errdetail("Models are loaded from sub-directories of bert.model_dir."),
				 errhint("A superuser can run: ALTER SYSTEM SET bert.model_dir = '/path/to/models'; SELECT pg_reload_conf();")));
	if ((name == NULL || name[0] == '\0') && setting != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no model given and %s is not set", setting),
				 BertInCitusTask()
				 ? errhint("Pass the model name as the last argument, or set %s on every node (ALTER DATABASE ... SET): a session SET on the coordinator does not reach the workers.",
						   setting)
				 : errhint("Pass the model name as the last argument, or SET %s = 'model_name'.",
						   setting)));
	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty"),
				 errhint("Pass the name of a sub-directory of bert.model_dir.")));
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
		strcmp(name, "..") == 0 || strlen(name) > BERT_MAX_MODEL_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name is the name of a sub-directory of bert.model_dir: no \"/\", not \".\" or \"..\", at most %d bytes.",
						   BERT_MAX_MODEL_NAME),
				 errhint("Call SELECT * FROM bert_models() or list bert.model_dir to see the names.")));
	if (strlen(bert_model_dir) + strlen(name) + 2 > MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model path is too long")));
	snprintf(path, MAXPGPATH, "%s/%s", bert_model_dir, name);
}

/*
 * Resolves bert.model_dir into real_root and model directory `path` (from
 * BertModelPath) into real (both PATH_MAX), and checks that the model
 * directory exists and lies inside the root: a symbolic link to a directory
 * elsewhere is refused.  Raises the errors.
 */
void
BertModelResolve(const char *name, const char *path, char *real, char *real_root)
{
	struct stat st;
	BertPathCheck check;

	if (realpath(bert_model_dir, real_root) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access bert.model_dir \"%s\": %m", bert_model_dir),
				 errhint("Set bert.model_dir to an existing directory readable by the server.")));
	if (stat(path, &st) != 0 && errno != ENOENT && errno != ENOTDIR)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access model \"%s\": %m", name),
				 errhint("The server's operating-system user must be able to enter bert.model_dir and read the model directory.")));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errdetail("bert.model_dir has no sub-directory \"%s\".", name),
				 errhint("Models are sub-directories of bert.model_dir; SELECT * FROM bert_models() lists the loaded ones.")));
	check = BertResolveInside(path, real_root, real);
	if (check == BERT_PATH_ERROR)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access model directory \"%s\": %m", name)));
	if (check == BERT_PATH_OUTSIDE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("model \"%s\" is outside bert.model_dir", name),
				 errdetail("It is a symbolic link to a directory elsewhere."),
				 errhint("Put the model directory itself inside bert.model_dir instead of a link to it.")));
}
