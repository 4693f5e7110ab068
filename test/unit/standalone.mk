# test/unit/standalone.mk: programs built from the extension's sources
# without a server (included by the Makefile).
#
#   make train_check        builds test/unit/train_check and test/unit/data_check
#   make encoder_check      builds test/unit/encoder_check
#
# The fmgr-free sources (tokenizer, JSON, config, safetensors, training
# engine) build with -DBERT_STANDALONE against postgres_fe.h and take
# palloc from libpgcommon; encoder.c, heads.c and blas.c build unchanged
# against the server headers, with test/unit/standalone.c standing in for
# the few server functions they call.

STANDALONE_BUILD = test/unit/build
STANDALONE_PGLIB = $(shell d=$$($(PG_CONFIG) --pkglibdir); [ -f $$d/libpgcommon.a ] || d=$$($(PG_CONFIG) --libdir); echo $$d)
STANDALONE_CFLAGS = -std=gnu99 -D_GNU_SOURCE -O2 -g -fopenmp-simd -Wall -Wextra \
	-isystem $(shell $(PG_CONFIG) --includedir-server) -Isrc -Itest/unit
STANDALONE_FE = src/json.c src/config.c src/safetensors.c src/tokenizer.c \
	src/optim.c src/train.c src/train_data.c src/train_ops.c src/train_params.c \
	src/model_write.c src/weights.c test/unit/standalone_model.c test/unit/check.c test/fuzz/fuzz_shims.c
STANDALONE_BE = src/encoder.c src/nn_ops.c src/gemm_plan.c src/heads.c src/blas.c \
	test/unit/standalone.c
STANDALONE_HEADERS = $(wildcard src/*.h) test/unit/standalone_model.h test/unit/check.h
STANDALONE_LIBS = $(STANDALONE_PGLIB)/libpgcommon.a $(STANDALONE_PGLIB)/libpgport.a \
	-lutf8proc -ldl -lm
STANDALONE_PROGRAMS = test/unit/train_check test/unit/data_check test/unit/encoder_check

train_check: test/unit/train_check test/unit/data_check

encoder_check: test/unit/encoder_check

$(STANDALONE_BUILD)/objects: $(STANDALONE_FE) $(STANDALONE_BE) $(STANDALONE_HEADERS) \
		test/unit/standalone.mk
	@mkdir -p $(STANDALONE_BUILD)
	@for f in $(STANDALONE_FE); do \
		$(CC) $(STANDALONE_CFLAGS) -DBERT_STANDALONE -c $$f \
			-o $(STANDALONE_BUILD)/fe_$$(basename $$f .c).o || exit 1; \
	done
	@for f in $(STANDALONE_BE); do \
		$(CC) $(STANDALONE_CFLAGS) -c $$f \
			-o $(STANDALONE_BUILD)/be_$$(basename $$f .c).o || exit 1; \
	done
	@touch $@

test/unit/%: test/unit/%.c $(STANDALONE_BUILD)/objects
	$(CC) $(STANDALONE_CFLAGS) -DBERT_STANDALONE -o $@ $< \
		$(STANDALONE_BUILD)/*.o $(STANDALONE_LIBS)

.PHONY: train_check encoder_check
EXTRA_CLEAN += $(STANDALONE_PROGRAMS) $(STANDALONE_BUILD)
