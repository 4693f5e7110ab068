#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets (test/fuzz/corpus/<target>/).

Usage: python3 test/fuzz/make_seeds.py [SHARED_DIR]

The outputs are committed; test/fuzz/run.sh does not run this script.  Run it
again after changing it: it rewrites the seed files it owns (names starting
with "seed-") and leaves every other file alone, in particular the
regression inputs named "crash-*" that reproduce bugs the fuzzer found.
SHARED_DIR (default: ../shared beside the checkout) supplies the real model
files (config.json, tokenizer_config.json, modules.json, ...), a slice of the
real vocabulary and a few review sentences; without it those seeds are kept
as they are.  Python 3 standard library only.

Targets:
  safetensors  whole model.safetensors images (8-byte little-endian header
               length, JSON header, data section)
  json         config.json, tokenizer_config.json, tokenizer.json,
               modules.json, 1_Pooling/config.json, sentence_bert_config.json
               and broken variants
  tokenizer    texts; a 0xFF byte splits a pair (A before it, B after)
  vocab        vocab.txt images
"""
import json
import math
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def out(target, name, data):
    """Writes corpus/<target>/seed-<name> (bytes or str)."""
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


KEEP_COPIES = False     # set when SHARED_DIR is missing


def clean(target):
    """Removes the seeds this script writes (not crash-* regressions; not the
    copies from SHARED_DIR when it is missing)."""
    d = os.path.join(CORPUS, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith("seed-") and not (KEEP_COPIES and n.startswith("seed-copy_")):
                os.remove(os.path.join(d, n))


# --------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------

def st_file(header, data, pad=True, header_len=None):
    """A safetensors image from a header (dict or raw bytes) and data."""
    if isinstance(header, (bytes, bytearray)):
        h = bytes(header)
    else:
        h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + data


def st_pack(entries, meta=None, pad=True):
    """entries: (name, dtype, shape, raw bytes) laid out back to back."""
    header, blobs, off = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    return st_file(header, b"".join(blobs), pad)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def f16(values):
    return struct.pack("<%de" % len(values), *values)


def bf16(values):
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def safetensors_seeds():
    t = "safetensors"
    clean(t)
    meta = {"format": "pt"}
    # valid files
    out(t, "valid_f32.st", st_pack([
        ("embeddings.word_embeddings.weight", "F32", [2, 3], f32([0, 1, -2, 3.5, 1e-30, -0.0])),
        ("embeddings.LayerNorm.bias", "F32", [3], f32([0.5, -0.5, 2])),
    ], meta))
    specials = [0.0, -0.0, 1.0, -2.0, 65504.0, -65504.0, 6.1e-05, 5.96e-08,
                float("inf"), float("-inf"), float("nan"), 0.333]
    out(t, "valid_f16.st", st_pack([
        ("w", "F16", [3, 4], f16(specials)),
        ("b", "F16", [1], f16([1.5])),
    ], meta))
    out(t, "valid_f16_subnormals.st", st_pack([
        ("sub", "F16", [8], b"".join(struct.pack("<H", h) for h in
                                     (0x0001, 0x0002, 0x03ff, 0x0200, 0x8001, 0x83ff, 0x7c01, 0xfe00))),
    ]))
    out(t, "valid_bf16.st", st_pack([
        ("w", "BF16", [2, 2], bf16([1.0, -3.25, 1e38, float("inf")])),
        ("bert.pooler.dense.bias", "BF16", [2], bf16([0.0, float("nan")])),
    ], meta))
    out(t, "valid_mixed_dtypes.st", st_pack([
        ("a_f32", "F32", [1, 1], f32([1])),
        ("b_f16", "F16", [2], f16([1, 2])),
        ("c_bf16", "BF16", [2], bf16([1, 2])),
        ("d_i64", "I64", [2], struct.pack("<2q", 1, -1)),
        ("e_u8", "U8", [3], b"\x01\x02\x03"),
        ("f_bool", "BOOL", [1], b"\x01"),
        ("g_f64", "F64", [1], struct.pack("<d", 2.5)),
        ("h_f8", "F8_E4M3", [2], b"\x38\xb8"),
        ("i_f8", "F8_E5M2", [1], b"\x3c"),
        ("j_i32", "I32", [1], struct.pack("<i", 7)),
        ("k_u16", "U16", [1], struct.pack("<H", 7)),
        ("l_i16", "I16", [1], struct.pack("<h", -7)),
        ("m_u32", "U32", [1], struct.pack("<I", 7)),
        ("n_u64", "U64", [1], struct.pack("<Q", 7)),
        ("o_i8", "I8", [1], b"\xff"),
        ("scalar", "F32", [], f32([42])),
        ("zero_size", "F32", [0, 3], b""),
    ], meta))
    out(t, "valid_i64_only.st", st_pack([
        ("position_ids", "I64", [1, 4], struct.pack("<4q", 0, 1, 2, 3))]))
    # unaligned data section: the header is not padded to 8 bytes
    out(t, "valid_unaligned.st", st_pack([
        ("x", "F32", [3], f32([1, 2, 3])), ("y", "F16", [1], f16([1]))], pad=False))
    out(t, "valid_metadata_only.st", st_file({"__metadata__": meta}, b""))
    out(t, "valid_empty_header.st", st_file({}, b""))
    out(t, "valid_trailing_bytes.st", st_pack([("x", "U8", [1], b"\x00")]) + b"\xde\xad")
    out(t, "valid_gap_between.st", st_file(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},
         "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32([1, 2, 3])))
    # broken files
    out(t, "short_file.st", b"\x10\x00\x00")
    out(t, "only_length.st", struct.pack("<Q", 0))
    good = st_pack([("x", "F32", [2], f32([1, 2]))])
    out(t, "header_len_beyond_file.st", struct.pack("<Q", len(good)) + good[8:])
    out(t, "header_len_huge.st", struct.pack("<Q", 1 << 63) + good[8:])
    out(t, "header_len_all_ones.st", b"\xff" * 8 + good[8:])
    out(t, "header_len_short.st", struct.pack("<Q", 5) + good[8:])
    out(t, "overlap.st", st_file(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32([1, 2, 3])))
    out(t, "same_range.st", st_file(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32([1])))
    out(t, "zero_size_inside_other.st", st_file(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}}, f32([1, 2])))
    out(t, "unknown_dtype.st", st_file(
        {"x": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}}, f32([1])))
    out(t, "dtype_not_string.st", st_file(
        {"x": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}}, f32([1])))
    out(t, "dtype_long_name.st", st_file(
        {"x": {"dtype": "F32F32F32F32F32F32F32F32F32", "shape": [1], "data_offsets": [0, 4]}}, f32([1])))
    out(t, "shape_bytes_mismatch.st", st_file(
        {"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, f32([1, 2, 3])))
    out(t, "offsets_beyond_data.st", st_file(
        {"x": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32([1, 2])))
    out(t, "begin_after_end.st", st_file(
        {"x": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}, f32([1, 2])))
    out(t, "offsets_huge.st", st_file(
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": [18446744073709551615, 0]}}, b"\x00"))
    out(t, "offsets_overflow.st", st_file(
        b'{"x":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551616,18446744073709551617]}}',
        b"\x00"))
    out(t, "offsets_wrap.st", st_file(
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": [18446744073709551615, 0]},
         "y": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"))
    out(t, "offsets_exponent.st", st_file(
        b'{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}', b"\x00"))
    out(t, "offsets_negative.st", st_file(
        b'{"x":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', b"\x00"))
    out(t, "offsets_three.st", st_file(
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}}, b"\x00\x00"))
    out(t, "offsets_strings.st", st_file(
        {"x": {"dtype": "U8", "shape": [1], "data_offsets": ["0", "1"]}}, b"\x00"))
    out(t, "shape_negative.st", st_file(
        b'{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32([1])))
    out(t, "shape_float.st", st_file(
        b'{"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', f32([1])))
    out(t, "shape_nine_dims.st", st_file(
        {"x": {"dtype": "U8", "shape": [1] * 9, "data_offsets": [0, 1]}}, b"\x00"))
    out(t, "shape_eight_dims.st", st_file(
        {"x": {"dtype": "U8", "shape": [1] * 8, "data_offsets": [0, 1]}}, b"\x00"))
    out(t, "shape_overflow.st", st_file(
        {"x": {"dtype": "F32", "shape": [1 << 40, 1 << 40, 1 << 40], "data_offsets": [0, 0]}}, b""))
    out(t, "shape_dim_too_big.st", st_file(
        {"x": {"dtype": "U8", "shape": [(1 << 40) + 1], "data_offsets": [0, 1]}}, b"\x00"))
    out(t, "shape_zero_times_huge.st", st_file(
        {"x": {"dtype": "F32", "shape": [0, 1 << 40, 1 << 40], "data_offsets": [0, 0]}}, b""))
    out(t, "shape_not_array.st", st_file(
        {"x": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}}, f32([1])))
    out(t, "missing_fields.st", st_file({"x": {"dtype": "F32"}}, b""))
    out(t, "entry_not_object.st", st_file({"x": [1, 2, 3]}, b""))
    out(t, "header_array.st", st_file([{"dtype": "F32"}], b""))
    out(t, "header_string.st", st_file("F32", b""))
    out(t, "header_invalid_json.st", st_file(b'{"x": {"dtype": "F32", ', b""))
    out(t, "header_nul.st", st_file(b'{"x\x00": {}}', b""))
    out(t, "header_deep.st", st_file(b"{\"x\":" + b"[" * 70 + b"]" * 70 + b"}", b""))
    out(t, "header_depth_64.st", st_file(b"{\"__metadata__\":" + b"[" * 63 + b"]" * 63 + b"}", b""))
    out(t, "duplicate_names.st", st_file(
        b'{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        b'"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00"))
    out(t, "duplicate_metadata.st", st_file(
        b'{"__metadata__":{},"__metadata__":[1],"x":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}',
        b"\x00"))
    out(t, "escaped_names.st", st_file(
        b'{"\\u0062ert.\\ud83d\\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        b'"":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00"))
    out(t, "metadata_as_tensor.st", st_file(
        {"__metadata__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 99]}}, b""))
    many = [("t%03d" % i, "U8", [1], bytes([i])) for i in range(200)]
    out(t, "many_tensors.st", st_pack(many))


# --------------------------------------------------------------------------
# JSON files
# --------------------------------------------------------------------------

def js(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False)


BASE_CONFIG = {
    "vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
    "max_position_embeddings": 512, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
    "model_type": "bert", "architectures": ["BertForSequenceClassification"],
    "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
}


def cfg(**changes):
    c = dict(BASE_CONFIG)
    for k, v in changes.items():
        if v is DELETE:
            c.pop(k, None)
        else:
            c[k] = v
    return js(c)


DELETE = object()

SMALL_VOCAB = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
               "!", ",", ".", "'", "the", "a", "hello", "world", "un", "##aff",
               "##able", "##s", "is", "##n", "t", "na", "##ive", "cafe", "東",
               "京", "σ", "ς", "i", "##̇", "fine", "##ing", "play", "movie",
               "good", "bad", "[", "]", "##e", "##d"]


def tokenizer_json(vocab=None, **model_changes):
    vocab = SMALL_VOCAB if vocab is None else vocab
    model = {"type": "WordPiece", "unk_token": "[UNK]",
             "continuing_subword_prefix": "##",
             "max_input_chars_per_word": 100,
             "vocab": {tok: i for i, tok in enumerate(vocab)}}
    model.update(model_changes)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": "[PAD]", "special": True}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None,
                       "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": model,
    }


def json_seeds(shared):
    t = "json"
    clean(t)
    # copies of the real files (tiny)
    if shared:
        copies = [
            ("models/bert-mini-sentiment/config.json", "sentiment_config.json"),
            ("models/bert-mini-mlm/config.json", "mlm_config.json"),
            ("models/bert-mini-embed/config.json", "embed_config.json"),
            ("models/bert-mini-embed/tokenizer_config.json", "embed_tokenizer_config.json"),
            ("models/bert-mini-embed/modules.json", "embed_modules.json"),
            ("models/bert-mini-embed/1_Pooling/config.json", "embed_pooling_config.json"),
            ("models/bert-mini-embed/sentence_bert_config.json", "embed_sentence_bert_config.json"),
            ("models/bert-mini-embed/special_tokens_map.json", "special_tokens_map.json"),
            ("testmodels/bert-tiny-random/config.json", "tiny_config.json"),
            ("testmodels/bert-tiny-random/tokenizer_config.json", "tiny_tokenizer_config.json"),
            ("testmodels/bert-tiny-random-cls/config.json", "tiny_cls_config.json"),
            ("testmodels/bert-tiny-random-pretrain/config.json", "tiny_pretrain_config.json"),
            ("testmodels/bert-tiny-random-ner/config.json", "tiny_ner_config.json"),
            ("testmodels/bert-tiny-random-qa/config.json", "tiny_qa_config.json"),
            ("testmodels/distilbert-tiny-random-cls/config.json", "distilbert_cls_config.json"),
        ]
        for src, name in copies:
            p = os.path.join(shared, src)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out(t, "copy_" + name, f.read())
        # the real tokenizer.json without most of its 30,522 tokens
        p = os.path.join(shared, "models/bert-mini-sentiment/tokenizer.json")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                tj = json.load(f)
            items = list(tj["model"]["vocab"].items())
            keep = items[:110] + items[1996:2100] + items[-60:]
            tj["model"]["vocab"] = {k: i for i, (k, _) in enumerate(keep)}
            out(t, "copy_tokenizer_json_cut.json", js(tj))

    # config.json variants
    out(t, "config_minimal_model_type.json", '{"model_type": "bert"}')
    out(t, "config_distil_model_type.json", '{"model_type": "distilbert", "dim": 8, "n_heads": 2}')
    out(t, "config_unknown_arch.json", cfg(architectures=["RobertaModel"]))
    out(t, "config_long_arch.json", cfg(architectures=["B" * 300]))
    out(t, "config_arch_not_list.json", cfg(architectures="BertModel"))
    out(t, "config_arch_empty.json", cfg(architectures=[], model_type="gpt2"))
    out(t, "config_arch_number.json", cfg(architectures=[1], model_type=3))
    for arch in ("BertForMaskedLM", "DistilBertModel", "DistilBertForMaskedLM",
                 "DistilBertForQuestionAnswering"):
        out(t, "config_arch_%s.json" % arch, cfg(architectures=[arch]))
    out(t, "config_distil_full.json", js({
        "architectures": ["DistilBertForTokenClassification"], "dim": 64,
        "n_layers": 2, "n_heads": 4, "hidden_dim": 128, "activation": "relu",
        "max_position_embeddings": 128, "vocab_size": 100,
        "id2label": {str(i): "L%d" % i for i in range(9)}}))
    out(t, "config_hidden_string.json", cfg(hidden_size="256"))
    out(t, "config_hidden_float.json", cfg(hidden_size=256.5))
    out(t, "config_hidden_exponent.json", '{"model_type":"bert","hidden_size":2.56e2,"num_attention_heads":4e0}')
    out(t, "config_hidden_zero.json", cfg(hidden_size=0))
    out(t, "config_hidden_negative.json", cfg(hidden_size=-32))
    out(t, "config_hidden_huge.json", '{"model_type":"bert","hidden_size":1e400}')
    out(t, "config_hidden_bigint.json", '{"model_type":"bert","hidden_size":99999999999999999999999}')
    out(t, "config_hidden_max.json", cfg(hidden_size=65536, num_attention_heads=65536))
    out(t, "config_heads_not_divisor.json", cfg(num_attention_heads=5))
    out(t, "config_layers_too_many.json", cfg(num_hidden_layers=257))
    out(t, "config_vocab_too_big.json", cfg(vocab_size=(1 << 24) + 1))
    out(t, "config_positions_one.json", cfg(max_position_embeddings=1))
    out(t, "config_type_vocab_zero.json", cfg(type_vocab_size=0))
    out(t, "config_eps_zero.json", cfg(layer_norm_eps=0))
    out(t, "config_eps_negative.json", cfg(layer_norm_eps=-1e-5))
    out(t, "config_eps_tiny.json", '{"model_type":"bert","layer_norm_eps":1e-50}')
    # config_eps_float_overflow (1e39) is crash-layer_norm_eps_float_overflow.json
    out(t, "config_eps_double_overflow.json", '{"model_type":"bert","layer_norm_eps":1e400}')
    out(t, "config_eps_string.json", cfg(layer_norm_eps="1e-12"))
    out(t, "config_eps_minus_zero.json", '{"model_type":"bert","layer_norm_eps":-0.0}')
    for act in ("gelu_pytorch_tanh", "relu", "silu"):
        out(t, "config_act_%s.json" % (act or "empty"), cfg(hidden_act=act))
    out(t, "config_act_number.json", cfg(hidden_act=1))
    out(t, "config_pos_relative.json", cfg(position_embedding_type="relative_key"))
    out(t, "config_id2label_none_numlabels.json", cfg(id2label=DELETE, num_labels=5))
    out(t, "config_id2label_null_numlabels_zero.json", cfg(id2label=None, num_labels=0))
    out(t, "config_id2label_numlabels_big.json", cfg(id2label=DELETE, num_labels=1025))
    out(t, "config_id2label_numlabels_string.json", cfg(id2label=DELETE, num_labels="2"))
    out(t, "config_id2label_array.json", cfg(id2label=["NEG", "POS"]))
    out(t, "config_id2label_empty.json", cfg(id2label={}))
    out(t, "config_id2label_gap.json", cfg(id2label={"0": "A", "2": "C"}))
    out(t, "config_id2label_dup.json", '{"architectures":["BertForSequenceClassification"],'
        '"id2label":{"0":"A","0":"B"}}')
    out(t, "config_id2label_odd_keys.json", cfg(id2label={" 1": "A", "00": "B"}))
    out(t, "config_id2label_neg.json", cfg(id2label={"-1": "A", "0": "B"}))
    out(t, "config_id2label_bigkey.json", cfg(id2label={"99999999999999999999": "A", "1": "B"}))
    out(t, "config_id2label_value_number.json", cfg(id2label={"0": 0, "1": 1}))
    out(t, "config_id2label_unicode.json", cfg(id2label={"0": "n\u00e9gatif \U0001F600", "1": "pos"}))
    out(t, "config_id2label_ner.json", cfg(architectures=["BertForTokenClassification"],
                                           id2label={str(i): l for i, l in enumerate(
                                               ["O", "B-PER", "I-PER", "B-ORG", "I-ORG",
                                                "B-LOC", "I-LOC", "B-MISC", "I-MISC"])}))
    out(t, "config_duplicate_keys.json", '{"architectures":["RobertaModel"],"model_type":"bert",'
        '"architectures":["BertModel"],"hidden_size":7,"hidden_size":64}')
    out(t, "config_escaped_keys.json", '{"\\u0061rchitectures":["\\u0042ertModel"],'
        '"hidden_\\u0073ize":64,"num_attention_heads":8}')

    # tokenizer_config.json variants
    tc = {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
          "model_max_length": 128}
    def tcfg(**changes):
        c = dict(tc)
        c.update(changes)
        return js(c)
    out(t, "tokcfg_cased.json", tcfg(do_lower_case=False))
    out(t, "tokcfg_strip_true_cased.json", tcfg(do_lower_case=False, strip_accents=True))
    out(t, "tokcfg_strip_false.json", tcfg(strip_accents=False))
    out(t, "tokcfg_strip_string.json", tcfg(strip_accents="yes"))
    out(t, "tokcfg_lower_string.json", tcfg(do_lower_case="true"))
    out(t, "tokcfg_chinese_false.json", tcfg(tokenize_chinese_chars=False))
    out(t, "tokcfg_maxlen_huge.json", tcfg(model_max_length=1000000000000000019884624838656))
    out(t, "tokcfg_maxlen_1e30.json", '{"model_max_length": 1e30}')
    out(t, "tokcfg_maxlen_one.json", tcfg(model_max_length=1))
    out(t, "tokcfg_maxlen_frac.json", tcfg(model_max_length=2.9))
    out(t, "tokcfg_maxlen_neg.json", tcfg(model_max_length=-5))
    out(t, "tokcfg_maxlen_string.json", tcfg(model_max_length="512"))
    out(t, "tokcfg_maxlen_int_max.json", tcfg(model_max_length=2147483648))

    # tokenizer.json variants
    out(t, "tokjson_small.json", js(tokenizer_json()))
    out(t, "tokjson_cased.json", js(dict(tokenizer_json(), normalizer={
        "type": "BertNormalizer", "lowercase": False, "strip_accents": True,
        "handle_chinese_chars": False})))
    out(t, "tokjson_prefix_15.json", js(tokenizer_json(continuing_subword_prefix="@" * 15)))
    out(t, "tokjson_prefix_16.json", js(tokenizer_json(continuing_subword_prefix="@" * 16)))
    out(t, "tokjson_prefix_empty.json", js(tokenizer_json(continuing_subword_prefix="")))
    out(t, "tokjson_prefix_unicode.json", js(tokenizer_json(continuing_subword_prefix="\u00b7\u00b7")))
    out(t, "tokjson_maxchars_zero.json", js(tokenizer_json(max_input_chars_per_word=0)))
    out(t, "tokjson_maxchars_limit.json", js(tokenizer_json(max_input_chars_per_word=1 << 20)))
    out(t, "tokjson_maxchars_over.json", js(tokenizer_json(max_input_chars_per_word=(1 << 20) + 1)))
    out(t, "tokjson_type_bpe.json", js(tokenizer_json(type="BPE")))
    out(t, "tokjson_no_unk.json", js(tokenizer_json([t for t in SMALL_VOCAB if t != "[UNK]"])))
    out(t, "tokjson_no_mask.json", js(tokenizer_json([t for t in SMALL_VOCAB if t != "[MASK]"])))
    out(t, "tokjson_only_specials.json", js(tokenizer_json(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])))
    out(t, "tokjson_vocab_empty.json", js(tokenizer_json([])))
    out(t, "tokjson_vocab_array.json", js(tokenizer_json(vocab=None) | {"model": {"type": "WordPiece", "vocab": ["[PAD]"]}}))
    out(t, "tokjson_long_token.json", js(tokenizer_json(SMALL_VOCAB + ["x" * 1024, "y" * 1025])))
    v = {tok: i for i, tok in enumerate(SMALL_VOCAB)}
    def tj_raw(vocab_text):
        return ('{"normalizer":{"lowercase":true},"model":{"type":"WordPiece",'
                '"vocab":' + vocab_text + '}}')
    body = ",".join('%s:%d' % (json.dumps(k), i) for k, i in v.items())
    out(t, "tokjson_dup_ids.json", tj_raw("{" + body + ',"extra":3}'))
    out(t, "tokjson_dup_tokens.json", tj_raw("{" + body + ',"[UNK]":%d}' % len(v)))
    out(t, "tokjson_id_out_of_range.json", tj_raw("{" + body.replace(":0", ":%d" % len(v), 1) + "}"))
    out(t, "tokjson_id_negative.json", tj_raw("{" + body.replace(":0", ":-1", 1) + "}"))
    out(t, "tokjson_id_fraction.json", tj_raw("{" + body.replace(":1,", ":0.5,", 1) + "}"))
    out(t, "tokjson_id_string.json", tj_raw("{" + body.replace(":1,", ':"1",', 1) + "}"))
    out(t, "tokjson_id_huge.json", tj_raw("{" + body.replace(":1,", ":1e308,", 1) + "}"))
    out(t, "tokjson_escaped_tokens.json", tj_raw(
        '{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"\\u005bMASK]":4,"\\ud83d\\ude00":5,'
        '"\\t":6,"\\"":7,"\\\\":8,"##\\u00e9":9,"caf":10}'))

    # modules.json variants
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    out(t, "modules_no_normalize.json", js(mods[:2]))
    out(t, "modules_empty.json", "[]")
    out(t, "modules_object.json", js({"modules": mods}))
    for bad in ("../1_Pooling", "/etc", "", "a/../b"):
        out(t, "modules_path_%s.json" % (bad.replace("/", "_").replace(".", "d") or "empty"),
            js([dict(mods[1], path=bad)]))
    out(t, "modules_path_null.json", js([dict(mods[1], path=None)]))
    out(t, "modules_type_number.json", js([dict(mods[1], type=7)]))
    out(t, "modules_items_scalars.json", '[1, "x", null, [], {"type": null}]')
    out(t, "modules_two_poolings.json", js([mods[1], dict(mods[1], path="p2"), mods[2]]))

    # 1_Pooling/config.json variants
    pool = {"word_embedding_dimension": 256, "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False}
    out(t, "pooling_cls.json", js(dict(pool, pooling_mode_cls_token=True)))
    out(t, "pooling_max.json", js(dict(pool, pooling_mode_max_tokens=True)))
    out(t, "pooling_none.json", js(pool))
    out(t, "pooling_two.json", js(dict(pool, pooling_mode_cls_token=True, pooling_mode_mean_tokens=True)))
    out(t, "pooling_sqrt.json", js(dict(pool, pooling_mode_mean_sqrt_len_tokens=True)))
    out(t, "pooling_string.json", js(dict(pool, pooling_mode_cls_token="true")))
    out(t, "pooling_null.json", js(dict(pool, pooling_mode_cls_token=None, pooling_mode_max_tokens=True)))

    # sentence_bert_config.json variants
    for name, v in (("small", 16), ("one", 1), ("frac", 64.7), ("huge", 1e300),
                    ("string", "128")):
        out(t, "sbert_%s.json" % name, js({"max_seq_length": v, "do_lower_case": False}))

    # everything at once: one tree read as every file
    everything = dict(BASE_CONFIG)
    everything.update(tokenizer_json())
    everything.update(dict(pool, pooling_mode_cls_token=True))
    everything.update({"max_seq_length": 64, "do_lower_case": False, "model_max_length": 100})
    out(t, "all_in_one.json", js(everything))

    # JSON syntax edges
    out(t, "empty.json", "")
    out(t, "whitespace.json", " \t\r\n ")
    out(t, "scalar_number.json", "42")
    out(t, "scalar_string.json", '"bert"')
    out(t, "scalar_null.json", "null")
    out(t, "empty_object.json", "{}")
    out(t, "empty_array.json", "[]")
    out(t, "trailing_garbage.json", '{"model_type":"bert"} x')
    out(t, "two_roots.json", '{}{}')
    out(t, "trailing_comma.json", '{"a":1,}')
    out(t, "unterminated_string.json", '{"a":"abc')
    out(t, "unterminated_object.json", '{"a":{"b":[1,2')
    out(t, "nul_byte.json", b'{"model_type":"bert\x00"}')
    out(t, "nul_escape.json", '{"model_type":"\\u0000bert"}')
    out(t, "nul_escape_key.json", '{"\\u0000":1}')
    out(t, "unicode_escapes.json", '{"s":"\\u00e9\\u4e2d\\ud83d\\ude00\\n\\t\\"\\\\\\/\\b\\f\\r"}')
    out(t, "lone_high_surrogate.json", '{"s":"\\ud83d"}')
    out(t, "lone_low_surrogate.json", '{"s":"\\ude00"}')
    out(t, "bad_unicode_escape.json", '{"s":"\\u12G4"}')
    out(t, "bad_escape.json", '{"s":"\\x41"}')
    out(t, "raw_control.json", b'{"s":"a\x01b"}')
    out(t, "invalid_utf8.json", b'{"s":"\xc3\x28\xff\xfe","\xed\xa0\x80":1}')
    out(t, "utf8_bom.json", b'\xef\xbb\xbf{"model_type":"bert"}')
    out(t, "numbers.json", '[0,-0,1.5e-3,1E+2,-1e-400,1e400,123456789012345678901234567890,'
        '0.000000000000000000000000000001,-9223372036854775809,18446744073709551616]')
    out(t, "bad_numbers.json", '[01, 1., .5, +1, 0x10, NaN, Infinity, -]')
    out(t, "depth_64.json", "[" * 64 + "]" * 64)
    out(t, "depth_65.json", "[" * 65 + "]" * 65)
    out(t, "depth_64_objects.json", '{"a":' * 64 + "1" + "}" * 64)
    out(t, "depth_brackets_in_strings.json", '["' + "[" * 100 + '", "\\"[[[["]')
    out(t, "depth_unbalanced_close.json", "]" * 70 + "[" * 70)
    out(t, "depth_escaped_quote.json", '["\\\\", ' + "[" * 63 + "]" * 63 + "]")
    out(t, "wide_array.json", "[" + ",".join("0" for _ in range(3000)) + "]")
    out(t, "wide_object.json", "{" + ",".join('"k%d":%d' % (i, i) for i in range(1000)) + "}")
    out(t, "long_key.json", '{"' + "k" * 8000 + '":1}')
    out(t, "long_string.json", '{"model_type":"' + "b" * 8000 + '"}')


# --------------------------------------------------------------------------
# tokenizer texts
# --------------------------------------------------------------------------

def tokenizer_seeds(shared):
    t = "tokenizer"
    clean(t)
    texts = {
        "plain": "Hello, world! This movie was surprisingly good.",
        "mask": "The capital of France is [MASK]. [MASK][MASK] [SEP] [CLS]x[PAD][UNK]",
        "partial_specials": "[MASK [MAS] [mask] [ MASK] [[MASK]] ]MASK[ [SEP",
        "contractions": "I can't, won't, don't; it's rock 'n' roll -- isn't it?",
        "accents": "Crème brûlée, naïve café, Ångström, façade, Zoë, São Paulo, Dvořák.",
        "cjk": "東京は日本の首都です。你好，世界！한국어 텍스트. 𠀀𪜀 (ext-B).",
        "sigma": "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ. ΑΣ' ΑΣ-Σ Σa aΣ ΑΣ\u0301 ΑΣ\u00ad ΑΣ[MASK]",
        "turkish_i": "İSTANBUL İi ıI \u0130\u0301",
        "ligatures_fullwidth": "ﬁne ﬂow Ｆｕｌｌｗｉｄｔｈ ＡＢＣ ①②③ ㎏ ẞ ß ǅ ǈ",
        "combining": "a\u0301\u0327\u0301\u0316\u0300 e\u0345\u0301 o\u0308\u0304 x" + "\u0300" * 120,
        "combining_only": "\u0301\u0302\u0303 \u0345\u0345",
        # spacing marks with a combining class (kept by accent stripping,
        # reordered by NFD): classes 226, 224, 216, 9, 6 out of order
        "mc_reorder": "x\U0001d16d\u302e\U0001d165\u1b44\U00016ff0 y\U00016ff0\u1b44\U0001d165"
                      "\u302e\U0001d16d\u0301 z\U0001d16d\u0301\U0001d165\u0316\u302f "
                      + "a" + "\U0001d16d\U0001d165" * 30,
        "devanagari_thai_arabic": "क्षत्रिय नमस्ते ภาษาไทย العَرَبِيَّة שָׁלוֹם",
        "hangul_jamo": "\u1100\u1161\u11a8 \uac00\ub098 \u3131\u314f",
        "emoji": "👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 😀😀😀 ☃",
        "whitespace": "a\u00a0b\u2028c\u2029d\u3000e\u1680f\u2000g\u200bh\u202fi\u205fj\u0085k\tl\nm\rn\x0bo\x0cp",
        "controls": "a\x00b\x01c\x1fd\x7fe\u200ef\u200fg\u202eh\ufeffi\ufffdj\ue000k\U000f0000l",
        "unassigned": "\u0378\u0379 \U000e0001\U000e007f \U0010ffff \ufdd0 \uffff",
        "long_word_101": "a" * 101 + " ok",
        "long_word_100": "b" * 100 + " ok",
        "long_word_mixed": "un" * 60 + " " + "\u00e9" * 150,
        "punct": "!!!...???,,,;;;:::'''\"\"\"((()))[[[]]]{{{}}}---___+++===***&&&^^^%%%$$$###@@@~~~```|||\\\\\\///<<<>>>",
        "unicode_punct": "«»„“”‘’‹›—–…¡¿·•†‡※〈〉《》「」『』【】〔〕",
        "numbers": "3.14159 1,000,000 42nd ½ ⅔ ² ³ ١٢٣ ໑໒",
        "review": "it 's a charming and often affecting journey .",
        "wordpiece_unk": "xqzvk qqqqqq ##ing ## #",
        "pair_simple": "How old are you?\xffI am six years old.",
        "pair_empty_a": "\xffonly the second text",
        "pair_empty_b": "only the first text\xff",
        "pair_both_empty": "\xff",
        "pair_two_ff": "first\xffsecond\xffthird",
        "pair_long": ("word " * 200) + "\xff" + ("other " * 100),
        "empty": "",
        "space": " ",
        "nul_only": "\x00",
    }
    for name, text in texts.items():
        data = text.encode("utf-8", "surrogatepass") if "\xff" not in text else \
            b"\xff".join(p.encode("utf-8") for p in text.split("\xff"))
        out(t, name + ".txt", data)
    # invalid UTF-8
    out(t, "invalid_utf8.txt", b"ok \xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xe2\x82\x28 \xf0\x28\x8c\xbc "
        b"\xf0\x90\x28\xbc \xf8\xa1\xa1\xa1\xa1 \xfc\xa1\xa1\xa1\xa1\xa1 end")
    out(t, "overlong.txt", b"\xc0\xaf \xc1\xbf \xe0\x80\xaf \xe0\x9f\xbf \xf0\x80\x80\xaf \xf0\x8f\xbf\xbf x")
    out(t, "surrogates.txt", b"\xed\xa0\x80\xed\xb0\x80 \xed\x9f\xbf \xee\x80\x80 x")
    out(t, "beyond_max.txt", b"\xf4\x90\x80\x80 \xf5\x80\x80\x80 \xf4\x8f\xbf\xbf x")
    out(t, "truncated_seq_at_end.txt", b"abc \xe2\x82")
    out(t, "truncated_4_at_end.txt", b"abc \xf0\x9f\x98")
    out(t, "lone_continuations.txt", b"\x80\x81\xbf abc\x80def")
    if shared:
        p = os.path.join(shared, "data/reviews/sst2_dev.tsv")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                lines = [l.rstrip("\n").split("\t", 1)[1] for l in f][:40]
            out(t, "copy_sst2_lines.txt", " ".join(lines[:10]))
            out(t, "copy_sst2_pair.txt", lines[10].encode() + b"\xff" + lines[11].encode())
        p = os.path.join(shared, "data/stsb/sts-dev.tsv")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                cols = f.readline().rstrip("\n").split("\t")
            if len(cols) >= 3:
                out(t, "copy_stsb_pair.txt", cols[1].encode() + b"\xff" + cols[2].encode())


# --------------------------------------------------------------------------
# vocab.txt images
# --------------------------------------------------------------------------

def vocab_seeds(shared):
    t = "vocab"
    clean(t)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    out(t, "minimal.txt", "\n".join(specials) + "\n")
    out(t, "minimal_no_mask.txt", "\n".join(specials[:4]) + "\n")
    out(t, "no_unk.txt", "[PAD]\n[CLS]\n[SEP]\n[MASK]\nhello\n")
    out(t, "no_pad.txt", "[UNK]\n[CLS]\n[SEP]\nhello\n")
    out(t, "crlf.txt", "\r\n".join(specials + ["hello", "##s", "world"]) + "\r\n")
    out(t, "no_final_newline.txt", "\n".join(specials + ["hello", "##s", "world"]))
    out(t, "empty.txt", "")
    out(t, "one_newline.txt", "\n")
    out(t, "empty_lines.txt", "\n\n" + "\n".join(specials) + "\n\n\n##\n#\n")
    out(t, "duplicates.txt", "\n".join(specials + ["a", "a", "[UNK]", "##a", "##a"]) + "\n")
    out(t, "cr_only.txt", "\r".join(specials) + "\r")
    out(t, "nul_in_token.txt", "\n".join(specials).encode() + b"\nab\x00cd\n\x00\n[MASK]\x00\n")
    out(t, "long_tokens.txt", "\n".join(specials + ["x" * 1024, "##" + "y" * 1022]) + "\n")
    out(t, "too_long_token.txt", "\n".join(specials + ["z" * 1025]) + "\n")
    out(t, "unicode_tokens.txt", "\n".join(specials + [
        "東", "京", "##京", "σ", "ς", "i", "##̇", "naive", "cafe", "##é", "é", "e", "##\u0301",
        "\ufffd", "\U0001F600", "\u00a0", " ", "##", "a b", "\t"]) + "\n")
    out(t, "invalid_utf8_tokens.txt", "\n".join(specials).encode() + b"\n\xc3\x28\n\xff\xfe\n##\x80\n")
    out(t, "specials_with_spaces.txt", " [PAD]\n[UNK] \n[CLS]\r\n[SEP]\n[MASK]\n[UNK]\n")
    out(t, "wordpieces.txt", "\n".join(specials + [
        "un", "##aff", "##able", "play", "##ing", "##ed", "##s", "the", "hello", "world",
        ",", ".", "!", "'", "t", "can", "##n", "##'", "a", "##a", "##b", "ab", "abc"]) + "\n")
    if shared:
        p = os.path.join(shared, "models/bert-mini-sentiment/vocab.txt")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                lines = f.read().split("\n")[:-1]
            # specials, unused, single characters, frequent words, ## pieces
            sample = lines[:1100] + lines[1996:2600] + lines[-400:]
            out(t, "copy_bert_sample.txt", "\n".join(sample) + "\n")


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")
    if not os.path.isdir(shared):
        print("make_seeds: %s not found; seeds copied from it are left as they are" % shared)
        shared = None
        global KEEP_COPIES
        KEEP_COPIES = True
    safetensors_seeds()
    json_seeds(shared)
    tokenizer_seeds(shared)
    vocab_seeds(shared)
    total = 0
    for target in sorted(os.listdir(CORPUS)):
        d = os.path.join(CORPUS, target)
        files = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, n)) for n in files)
        total += size
        print("%-12s %4d files %8d bytes" % (target, len(files), size))
    print("%-12s %4s       %8d bytes" % ("total", "", total))


if __name__ == "__main__":
    main()
