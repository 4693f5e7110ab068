// Compares tokcheck's output with the oracle's, case by case.
//
//   node compare.mjs CASES_DIR MAX_SHOWN SET ORACLE_OUT TOKCHECK_OUT [SET ...]
//
// SET names CASES_DIR/SET.{jsonl,kinds}; ORACLE_OUT holds one JSON object
// per case with "ids" and "type_ids"; TOKCHECK_OUT one "ids<TAB>type_ids"
// line per case.  Each line of CASES_DIR/propdiff.txt (a Unicode property
// where the tokenizer and the oracle disagree) is a failure too.  Prints
// each difference (up to MAX_SHOWN, then a count) and ends with the line
// "tokenizer parity: N passed, M failed"; exits 1 when M > 0.
import fs from "fs";
import path from "path";

const [DIR, MAX, ...sets] = process.argv.slice(2);
const lines = (f) => {
  const t = fs.readFileSync(f, "utf8");
  const a = t.split("\n");
  if (a[a.length - 1] === "") a.pop();
  return a;
};
const cases = [];
const kinds = [];
const oracle = [];
const ours = [];
for (let i = 0; i + 2 < sets.length; i += 3) {
  const c = lines(path.join(DIR, sets[i] + ".jsonl"));
  const o = lines(sets[i + 1]);
  const t = lines(sets[i + 2]);
  if (o.length !== c.length || t.length !== c.length) {
    console.log(`set ${sets[i]}: ${c.length} cases, oracle ${o.length} lines, tokcheck ${t.length} lines`);
  }
  for (let k = 0; k < c.length; k++) {
    cases.push(c[k]);
    oracle.push(o[k]);
    ours.push(t[k]);
  }
  kinds.push(...lines(path.join(DIR, sets[i] + ".kinds")));
}
const propdiff = fs.existsSync(path.join(DIR, "propdiff.txt")) ? lines(path.join(DIR, "propdiff.txt")) : [];

const clip = (s, n = 300) => (s.length > n ? s.slice(0, n) + `... (${s.length} chars)` : s);
const nums = (s) => (s === "" ? [] : s.split(" ").map(Number));
let passed = 0;
let failed = 0;
const byKind = {};
for (let i = 0; i < cases.length; i++) {
  let why = null;
  let exp = null;
  let got = null;
  if (oracle[i] === undefined || ours[i] === undefined) {
    why = "missing output";
  } else {
    exp = JSON.parse(oracle[i]);
    const [ids, tt] = ours[i].split("\t");
    got = { ids: nums(ids), type_ids: nums(tt ?? "") };
    const isPair = JSON.parse(cases[i]).text_pair !== undefined;
    const firstDiff = (a, b) => {
      for (let k = 0; k < Math.max(a.length, b.length); k++) if (a[k] !== b[k]) return k;
      return -1;
    };
    const d = firstDiff(exp.ids, got.ids);
    if (d >= 0) why = `ids differ at position ${d}`;
    else if (isPair) {
      const dt = firstDiff(exp.type_ids, got.type_ids);
      if (dt >= 0) why = `token_type_ids differ at position ${dt}`;
    }
  }
  if (why === null) {
    passed++;
    continue;
  }
  failed++;
  byKind[kinds[i]] = (byKind[kinds[i]] ?? 0) + 1;
  if (failed <= +MAX) {
    console.log(`case ${i + 1} (${kinds[i]}): ${why}`);
    console.log(`  input:    ${clip(cases[i])}`);
    if (exp) {
      console.log(`  oracle:   ${clip(JSON.stringify(exp.ids))}  types ${clip(JSON.stringify(exp.type_ids ?? []), 120)}`);
      console.log(`  tokcheck: ${clip(JSON.stringify(got.ids))}  types ${clip(JSON.stringify(got.type_ids), 120)}`);
    }
  }
}
for (const d of propdiff) {
  failed++;
  byKind.property = (byKind.property ?? 0) + 1;
  if (failed <= +MAX) console.log(d);
}
if (failed > +MAX) console.log(`... and ${failed - +MAX} more differences`);
if (failed > 0) console.log(`failures by kind: ${JSON.stringify(byKind)}`);
console.log(`tokenizer parity: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
