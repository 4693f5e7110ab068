/*
 * data_check.c
 *		Checks the input recipes of src/train_data.c with a real vocabulary.
 *
 *	 data_check MODEL_DIR
 *
 *	 - masked LM: over 200,000 tokens, 15% chosen (+-0.5%), of those 80%
 *	   [MASK], 10% random, 10% kept (+-1%); [CLS] / [SEP] never; labels are
 *	   the original ids;
 *	 - next sentence: every sentence with a successor in its document makes
 *	   one pair, half of them (+-3%) with a random B from another document,
 *	   the others with the true next sentence;
 *	 - pairs from word pieces truncate as BertEncode does;
 *	 - words and tags: the first piece of each word carries its tag, the
 *	   pieces are those of the whole sentence;
 *	 - sentence splitting and batch packing (token types).
 * Ends with "data_check: N passed, M failed".
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdio.h>

#include "check.h"
#include "standalone_model.h"
#include "train_data.h"

/* Word pieces of a text, no special tokens. */
static BertTokens
pieces(const BertTokenizer *tok, const char *text)
{
	BertTokens	t = {0};

	BertTokenize(tok, text, strlen(text), 1 << 20, &t);
	return t;
}

static void
check_masking(const BertTokenizer *tok, int vocab)
{
	int			len = 200000;
	int32_t    *ids = palloc(sizeof(int32_t) * len);
	int32_t    *orig = palloc(sizeof(int32_t) * len);
	int32_t    *labels = palloc(sizeof(int32_t) * len);
	BertRng		rng;
	int			chosen = 0,
				masked = 0,
				random = 0,
				kept = 0,
				specials_chosen = 0,
				bad_labels = 0,
				candidates = 0;

	BertRngSeed(&rng, 1);
	for (int i = 0; i < len; i++)
		orig[i] = ids[i] = i % 100 == 0 ? tok->cls_id : i % 100 == 99 ? tok->sep_id
			: 1000 + (int32_t) BertRngBelow(&rng, 20000);
	BertMaskTokens(ids, labels, len, tok, vocab, 0.15, &rng);
	for (int i = 0; i < len; i++)
	{
		bool		special = orig[i] == tok->cls_id || orig[i] == tok->sep_id;

		candidates += !special;
		if (labels[i] == BERT_IGNORE_INDEX)
		{
			bad_labels += ids[i] != orig[i];
			continue;
		}
		chosen++;
		specials_chosen += special;
		bad_labels += labels[i] != orig[i];
		if (ids[i] == tok->mask_id)
			masked++;
		else if (ids[i] == orig[i])
			kept++;
		else
			random++;
	}
	check(fabs((double) chosen / candidates - 0.15) < 0.005 && specials_chosen == 0 &&
		  bad_labels == 0, "masked LM: chosen tokens",
		  "%.4f of %d tokens (15%% +- 0.5%%), %d special tokens chosen, %d wrong labels",
		  (double) chosen / candidates, candidates, specials_chosen, bad_labels);
	check(fabs((double) masked / chosen - 0.8) < 0.01 &&
		  fabs((double) random / chosen - 0.1) < 0.01 &&
		  fabs((double) kept / chosen - 0.1) < 0.01, "masked LM: 80/10/10",
		  "[MASK] %.4f, random %.4f, kept %.4f (+- 1%%)",
		  (double) masked / chosen, (double) random / chosen, (double) kept / chosen);
}

static void
check_next_sentence(const BertTokenizer *tok)
{
	BertExampleSet sentences,
				pairs;
	BertRng		rng;
	int			docs = 200,
				per_doc = 6;
	int			random = 0,
				wrong = 0;
	const char *error;

	BertExamplesInit(&sentences, false);
	BertExamplesInit(&pairs, false);
	for (int d = 0; d < docs; d++)
		for (int s = 0; s < per_doc; s++)
		{
			/* sentence (d, s) is the ids d*10+s+1000 repeated s+1 times */
			int32_t		ids[8];

			for (int j = 0; j <= s; j++)
				ids[j] = 1000 + d * 10 + s;
			BertExamplesAdd(&sentences, ids, NULL, s + 1, s + 1, d);
		}
	BertRngSeed(&rng, 2);
	error = BertNextSentencePairs(&pairs, &sentences, tok, 64, &rng);
	for (int i = 0; i < pairs.n; i++)
	{
		const BertExample *e = &pairs.ex[i];
		const int32_t *x = pairs.ids + e->offset;
		int			a = x[1] - 1000,
					b = x[e->b_start] - 1000;

		random += e->label;
		if (x[0] != tok->cls_id || x[e->b_start - 1] != tok->sep_id ||
			x[e->len - 1] != tok->sep_id ||
			(e->label == 0 && b != a + 1) ||
			(e->label == 1 && b / 10 == a / 10))
			wrong++;
	}
	check(error == NULL && pairs.n == docs * (per_doc - 1) && wrong == 0 &&
		  fabs((double) random / pairs.n - 0.5) < 0.03, "next sentence pairs",
		  "%d pairs (%d expected), %.3f with a random B from another document (1/2 +- 0.03), %d malformed",
		  pairs.n, docs * (per_doc - 1), (double) random / pairs.n, wrong);
}

static void
check_pairs(const BertTokenizer *tok)
{
	const char *a = "The quick brown fox jumps over the lazy dog near the river bank.";
	const char *b = "Angela Merkel met Emmanuel Macron in Paris on Monday.";
	BertTokens	ta = pieces(tok, a),
				tb = pieces(tok, b);
	int32_t		out[64];
	int			same = 0,
				cases = 0;

	for (int max_len = 3; max_len <= 40; max_len++)
	{
		BertInput	enc;
		int			b_start;
		int			n = BertPairIds(out, &b_start, tok, ta.ids, ta.n, tb.ids, tb.n, max_len);

		BertEncode(tok, a, strlen(a), b, strlen(b), max_len, &enc);
		cases++;
		same += n == enc.len && memcmp(out, enc.input_ids, sizeof(int32_t) * n) == 0 &&
			b_start == enc.a_len + 2;
	}
	check(same == cases, "pairs from word pieces",
		  "%d of %d lengths (3 to 40) truncate longest-first as BertEncode", same, cases);
}

static void
check_words(const BertTokenizer *tok)
{
	const char *words[] = {"Angela", "Merkel", "visited", "Zürich", "unbelievably", "."};
	int			lens[6];
	int32_t		tags[6] = {1, 2, 0, 3, 0, 0};
	int32_t		ids[64],
				labels[64];
	BertTokens	scratch = {0};
	BertInput	enc;
	const char *text = "Angela Merkel visited Zürich unbelievably .";
	int			n,
				w = 0,
				ok = 1;

	for (int i = 0; i < 6; i++)
		lens[i] = strlen(words[i]);
	n = BertAlignWords(ids, labels, tok, words, lens, tags, 6, 64, &scratch);
	BertEncode(tok, text, strlen(text), NULL, 0, 64, &enc);
	ok = n == enc.len && memcmp(ids, enc.input_ids, sizeof(int32_t) * n) == 0 &&
		labels[0] == BERT_IGNORE_INDEX && labels[n - 1] == BERT_IGNORE_INDEX;
	for (int i = 1; ok && i < n - 1; i++)
	{
		bool		first = strncmp(tok->tokens[ids[i]], "##", 2) != 0;

		if (first)
			ok = labels[i] == tags[w++];
		else
			ok = labels[i] == BERT_IGNORE_INDEX;
	}
	check(ok && w == 6 && n > 8, "words and tags",
		  "%d pieces for 6 words, as the sentence tokenizes; tags at first pieces only", n - 2);
	n = BertAlignWords(ids, labels, tok, words, lens, tags, 6, 5, &scratch);
	check(n == 5 && ids[4] == tok->sep_id && labels[1] == 1 && labels[2] == 2,
		  "words and tags truncated", "max_len 5: %d tokens, [SEP] last", n);
}

static void
check_split(void)
{
	const char *text = "  First one. Second (really!) \"Third?\" Done\nline two\n\n3.5 stays. U.S. too";
	/* a period inside a word stays; one before a space ends a sentence */
	const char *want[] = {"First one.", "Second (really!)", "\"Third?\"", "Done", "line two",
		"3.5 stays.", "U.S.", "too"};
	int			starts[16],
				ends[16];
	int			n = BertSplitSentences(text, strlen(text), starts, ends, 16);
	int			ok = n == 8;

	for (int i = 0; ok && i < n; i++)
		ok = (int) strlen(want[i]) == ends[i] - starts[i] &&
			strncmp(text + starts[i], want[i], ends[i] - starts[i]) == 0;
	check(ok, "sentence splitting", "%d sentences (8 expected), ends and white space as documented", n);
}

static void
check_batch(void)
{
	BertExampleSet set;
	BertBatchBuffers buf = {0};
	BertTrainBatch b;
	int32_t		a[5] = {101, 7, 8, 102, 0},
				c[7] = {101, 5, 102, 6, 6, 102, 0};
	int			order[2] = {1, 0};
	int			ok;

	BertExamplesInit(&set, false);
	BertExamplesAdd(&set, a, NULL, 4, 4, 3);
	BertExamplesAdd(&set, c, NULL, 6, 3, 1);
	BertExamplesBatch(&set, order, 2, BERT_TASK_SEQUENCE_CLASSIFICATION, &buf, &b);
	ok = b.input.num_seqs == 2 && b.input.total_tokens == 10 && b.input.seq_start[1] == 6 &&
		b.labels[0] == 1 && b.labels[1] == 3 && b.input.input_ids[6] == 101 &&
		b.input.token_type_ids[2] == 0 && b.input.token_type_ids[3] == 1 &&
		b.input.token_type_ids[5] == 1 && b.input.token_type_ids[9] == 0;
	check(ok, "batch packing", "2 sequences packed in order with token types from segment B");
}

int
main(int argc, char **argv)
{
	BertStandaloneModel model;

	check_begin("data_check", argc, argv, 1, "MODEL_DIR");
	check_load_model(argv[1], &model);
	check_masking(&model.tokenizer, model.config.vocab_size);
	check_next_sentence(&model.tokenizer);
	check_pairs(&model.tokenizer);
	check_words(&model.tokenizer);
	check_split();
	check_batch();
	return check_finish();
}
