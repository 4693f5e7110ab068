// ONNX Runtime peer: rows/s of an exported model over a text file, with
// tokenization (Hugging Face's tokenizer, @huggingface/tokenizers) and, for
// an embedding model, mean pooling + L2 normalisation included in the timing,
// as they are for the extension.
//
//   node ort_bench.mjs MODEL.onnx TOKENIZER.json TEXTS MAX_LEN BATCH RUNS [embed]
//
// TEXTS: one text per line.  MAX_LEN: inputs are cut there ([SEP] kept last),
// as the extension and torch_bench.py cut them.  BATCH 1 runs one sequence
// per call; a larger batch pads to the longest sequence of the batch with an
// attention mask.  One intra-op and one inter-op thread, sequential
// execution, all graph optimisations.  The npm packages are resolved from
// $BENCH_NPM_DIR (a scratch folder with onnxruntime-node and
// @huggingface/tokenizers installed).  Prints one JSON line with the seconds
// of every run after an untimed warm-up batch.
import fs from "fs";
import path from "path";
import { createRequire } from "module";

const require = createRequire(path.join(process.env.BENCH_NPM_DIR || process.cwd(), "package.json"));
const ort = require("onnxruntime-node");
const { Tokenizer } = require("@huggingface/tokenizers");

const [onnxPath, tokPath, textsPath, maxLenArg, batchArg, runsArg, kind] = process.argv.slice(2);
const maxLen = parseInt(maxLenArg, 10);
const batch = parseInt(batchArg, 10);
const runs = parseInt(runsArg, 10);
const embed = kind === "embed";

const tj = JSON.parse(fs.readFileSync(tokPath, "utf8"));
delete tj.truncation;
delete tj.padding;
const tok = new Tokenizer(tj, { do_lower_case: true, model_max_length: 100000 });
const sepId = tok.encode("").ids.at(-1);
const texts = fs.readFileSync(textsPath, "utf8").split("\n").filter((l) => l.length > 0);

const session = await ort.InferenceSession.create(onnxPath, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});
const needTypes = session.inputNames.includes("token_type_ids");
const outName = session.outputNames[0];

function encode(t) {
  let ids = Array.from(tok.encode(t).ids);
  if (ids.length > maxLen) ids = ids.slice(0, maxLen - 1).concat([sepId]);
  return ids;
}

let checksum = 0;
let tokens = 0;
async function runBatch(chunk) {
  const enc = chunk.map(encode);
  for (const e of enc) tokens += e.length;
  const n = Math.max(...enc.map((e) => e.length));
  const b = enc.length;
  const ids = new BigInt64Array(b * n);
  const mask = new BigInt64Array(b * n);
  enc.forEach((e, i) => e.forEach((v, j) => {
    ids[i * n + j] = BigInt(v);
    mask[i * n + j] = 1n;
  }));
  const feeds = {
    input_ids: new ort.Tensor("int64", ids, [b, n]),
    attention_mask: new ort.Tensor("int64", mask, [b, n]),
  };
  if (needTypes) feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(b * n), [b, n]);
  const out = (await session.run(feeds))[outName];
  if (embed) {
    // mean over each sequence's real tokens, then L2 normalisation
    const h = out.dims[2];
    const d = out.data;
    for (let i = 0; i < b; i++) {
      const v = new Float32Array(h);
      for (let j = 0; j < enc[i].length; j++)
        for (let k = 0; k < h; k++) v[k] += d[(i * n + j) * h + k];
      let s = 0;
      for (let k = 0; k < h; k++) s += v[k] * v[k];
      checksum += v[0] / Math.sqrt(s);
    }
  } else {
    checksum += out.data[0];
  }
}

async function pass() {
  tokens = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < texts.length; k += batch) await runBatch(texts.slice(k, k + batch));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

await runBatch(texts.slice(0, batch));
const seconds = [];
for (let r = 0; r < runs; r++) seconds.push(await pass());
console.log(JSON.stringify({
  peer: "onnxruntime-node", version: ort.env.versions?.common ?? null, batch, rows: texts.length,
  tokens, threads: 1, seconds, checksum: Number.isFinite(checksum),
}));
