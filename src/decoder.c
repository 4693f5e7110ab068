/*
 * decoder.c
 *		WordPiece decoder (Hugging Face tokenizers decoders::WordPiece and
 *		transformers' clean_up_tokenization).
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "lib/stringinfo.h"

#include "decoder.h"

/* The cleanup pairs, in the order both implementations apply them. */
static const char *const piece_cleanup[][2] = {
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
	{" 've", "'ve"}, {" 're", "'re"},
};
static const char *const string_cleanup[][2] = {
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"},
	{" 're", "'re"},
};

/* s with every occurrence of `from` replaced by `to`, left to right. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	StringInfoData out;
	size_t		from_len = strlen(from);
	const char *hit;

	if (strstr(s, from) == NULL)
		return (char *) s;
	initStringInfo(&out);
	while ((hit = strstr(s, from)) != NULL)
	{
		appendBinaryStringInfo(&out, s, hit - s);
		appendStringInfoString(&out, to);
		s = hit + from_len;
	}
	appendStringInfoString(&out, s);
	return out.data;
}

/* Joins word pieces into text (see decoder.h). */
char *
BertDecodePieces(const char *const *pieces, int n, const char *prefix,
				 bool clean_up_spaces)
{
	StringInfoData out;
	size_t		prefix_len = strlen(prefix);
	char	   *result;

	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		char	   *piece;

		if (i != 0 && prefix_len > 0 && strncmp(pieces[i], prefix, prefix_len) == 0)
			piece = pstrdup(pieces[i] + prefix_len);
		else if (i != 0)
			piece = psprintf(" %s", pieces[i]);
		else
			piece = pstrdup(pieces[i]);
		for (int c = 0; c < (int) lengthof(piece_cleanup); c++)
			piece = replace_all(piece, piece_cleanup[c][0], piece_cleanup[c][1]);
		appendStringInfoString(&out, piece);
	}
	result = out.data;
	if (clean_up_spaces)
		for (int c = 0; c < (int) lengthof(string_cleanup); c++)
			result = replace_all(result, string_cleanup[c][0], string_cleanup[c][1]);
	return result;
}
