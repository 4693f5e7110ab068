/*
 * decoder.h
 *		WordPiece decoding: word pieces back to text.
 */
#ifndef BERT_DECODER_H
#define BERT_DECODER_H

#include <stdbool.h>

/*
 * Joins word pieces as Hugging Face's decoders.WordPiece (cleanup=True):
 * a piece starting with `prefix` ("##") is glued to the previous one, every
 * other piece after the first is preceded by a space, and each piece gets
 * the tokenizer's cleanup (" ." -> "." ...).  With clean_up_spaces, the
 * whole string then gets transformers' clean_up_tokenization as
 * tokenizer.decode() applies it.  Returns a palloc'd string.
 */
extern char *BertDecodePieces(const char *const *pieces, int n,
							  const char *prefix, bool clean_up_spaces);

#endif							/* BERT_DECODER_H */
