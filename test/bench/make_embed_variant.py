"""Turn a random BertForSequenceClassification directory (make_random_model.py)
into a sentence-transformers embedding model of the same size, laid out as
all-MiniLM-L6-v2 or bge-base are on the Hub: BertModel, tensor names without
the `bert.` prefix, pooler kept, classifier dropped, modules.json with mean
pooling and Normalize.

  python3 make_embed_variant.py SRC_DIR OUT_DIR [MAX_SEQ_LENGTH]
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "shared", "tools", "ref"))
import bertref as R  # noqa: E402

src, out = sys.argv[1], sys.argv[2]
max_seq = int(sys.argv[3]) if len(sys.argv) > 3 else 512
tmp = out + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(os.path.join(tmp, "1_Pooling"))
cfg = json.load(open(os.path.join(src, "config.json")))
if cfg["architectures"][0] != "BertForSequenceClassification":
    sys.exit("expected a BertForSequenceClassification directory")
sd = R.load_safetensors(os.path.join(src, "model.safetensors"))
sd = {k[5:]: v for k, v in sd.items() if k.startswith("bert.")}
R.save_safetensors(sd, os.path.join(tmp, "model.safetensors"), {"format": "pt"})
for k in ("id2label", "label2id"):
    cfg.pop(k, None)
cfg["architectures"] = ["BertModel"]
json.dump(cfg, open(os.path.join(tmp, "config.json"), "w"), indent=2)
for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
    if os.path.exists(os.path.join(src, f)):
        shutil.copy(os.path.join(src, f), tmp)
json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
           {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
          open(os.path.join(tmp, "modules.json"), "w"), indent=2)
json.dump({"word_embedding_dimension": cfg["hidden_size"], "pooling_mode_cls_token": False,
           "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
           "pooling_mode_mean_sqrt_len_tokens": False},
          open(os.path.join(tmp, "1_Pooling", "config.json"), "w"), indent=2)
json.dump({"max_seq_length": max_seq, "do_lower_case": False},
          open(os.path.join(tmp, "sentence_bert_config.json"), "w"), indent=2)
shutil.rmtree(out, ignore_errors=True)
os.rename(tmp, out)
print("wrote", out)
