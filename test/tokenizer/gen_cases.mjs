// Writes the tokenizer parity cases, deterministically (seeded PRNG).
//
//   node gen_cases.mjs SHARED_DIR PROPS_FILE OUT_DIR
//
// SHARED_DIR  the repository's ../shared (data/ is read from it)
// PROPS_FILE  output of `tokcheck --dump-props`: the tokenizer's Unicode
//             classes and mappings per code point (utf8proc's Unicode)
// OUT_DIR     receives
//               cases.jsonl  {"text":..[,"text_pair":..]} per line, for the oracle
//               cases.hex    the same inputs as UTF-8 bytes in hex (TAB before
//                            the pair), for tokcheck; random byte strings go
//                            here raw and to the oracle decoded with U+FFFD
//               cases.kinds  the generator that made each line
//               ext.*        the same for cases run with an extended vocabulary,
//               ext_tokenizer.json, ext_vocab.txt  the model's vocabulary plus
//                            spacing marks that make NFD ordering visible, and
//                            max_input_chars_per_word 250 (tokcheck --max-chars)
//               propdiff.txt differences of Unicode properties that Unicode
//                            versions do not explain (counted as failures)
//               fuzz.hex     random byte strings for the sanitizer run only
//
// The oracle (Node's ICU) and utf8proc do not know the same Unicode version.
// Code points where the tokenizer's classes, lower-case or NFD mapping differ
// between the two are listed on stderr and left out of the random text.
import fs from "fs";
import path from "path";

const [SHARED, PROPS, OUT] = process.argv.slice(2);
if (!OUT) {
  console.error("usage: node gen_cases.mjs SHARED_DIR PROPS_FILE OUT_DIR");
  process.exit(2);
}

// ---------------------------------------------------------------------------
// seeded PRNG (mulberry32)
let seed = 0x5eed1234;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rand() * n); // 0..n-1
const pick = (a) => a[ri(a.length)];
const chance = (p) => rand() < p;
const S = (cp) => String.fromCodePoint(cp);

// ---------------------------------------------------------------------------
// Unicode version skew between utf8proc and the oracle
const MAXCP = 0x110000;
const isSurrogate = (cp) => cp >= 0xd800 && cp <= 0xdfff;
const cBits = new Int16Array(MAXCP).fill(-1);
const cLower = new Map();
const cNfd = new Map();
for (const line of fs.readFileSync(PROPS, "utf8").split("\n")) {
  if (!line) continue;
  const f = line.split(" ");
  if (f[0] === "R") {
    const a = parseInt(f[1], 16), b = parseInt(f[2], 16), bits = +f[3];
    for (let cp = a; cp <= b; cp++) cBits[cp] = bits;
  } else if (f[0] === "L") {
    cLower.set(parseInt(f[1], 16), f.slice(2).map((x) => parseInt(x, 16)));
  } else if (f[0] === "D") {
    cNfd.set(parseInt(f[1], 16), f.slice(2).map((x) => parseInt(x, 16)));
  }
}

// the oracle's own definitions (BertNormalizer, BertPreTokenizer, ICU)
const reRemoved = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const reSpace = /^\s$/u;
const rePunct = /^[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]$/u;
const reMn = /^\p{Mn}$/u;
const reCased = /^\p{Cased}$/u;
const reIgn = /^\p{Case_Ignorable}$/u;
const reUnassigned = /^\p{Cn}$/u;
function jsBits(cp) {
  const ch = S(cp);
  let bits = 0;
  const removed = cp === 0 || cp === 0xfffd ||
    (cp !== 9 && cp !== 10 && cp !== 13 && reRemoved.test(ch));
  const ign = reIgn.test(ch);
  if (removed) bits |= 1;
  if (!removed && reSpace.test(ch)) bits |= 2;
  if (rePunct.test(ch)) bits |= 4;
  if (reMn.test(ch)) bits |= 8;
  if (!ign && reCased.test(ch)) bits |= 16;
  if (ign) bits |= 32;
  if (!reUnassigned.test(ch)) bits |= 64;
  return bits;
}
const sameSeq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const cps = (s) => Array.from(s, (c) => c.codePointAt(0));

const skew = new Uint8Array(MAXCP); // 1 = left out of random text
const jsB = new Uint8Array(MAXCP);
let skewNew = 0;
const skewOld = [];
for (let cp = 0; cp < MAXCP; cp++) {
  if (isSurrogate(cp)) continue;
  const jb = jsBits(cp);
  jsB[cp] = jb;
  const cb = cBits[cp];
  const ch = S(cp);
  const why = [];
  if (cb < 0) why.push("missing from dump");
  else if ((cb & 63) !== (jb & 63)) why.push(`classes C=${cb & 63} JS=${jb & 63}`);
  if (!sameSeq(cLower.get(cp) ?? [cp], cps(ch.toLowerCase()))) why.push("lower-case");
  if (!sameSeq(cNfd.get(cp) ?? [cp], cps(ch.normalize("NFD")))) why.push("NFD");
  if (why.length === 0) continue;
  skew[cp] = 1;
  if (!(cb & 64) && (jb & 64)) skewNew++; // assigned after utf8proc's Unicode
  else skewOld.push(`U+${cp.toString(16).toUpperCase().padStart(4, "0")} (${why.join(", ")})`);
}
console.error(`gen_cases: ${skewNew} code points assigned after utf8proc's Unicode ` +
  `version behave differently in the oracle (Unicode ${process.versions.unicode}); left out of random text`);
// characters whose properties Unicode changed after utf8proc's version
const knownChanges = new Map([
  [0x0295, "U+0295 LATIN LETTER PHARYNGEAL VOICED FRICATIVE: Ll -> Lo in Unicode 16"],
  [0x1171e, "U+1171E AHOM CONSONANT SIGN MEDIAL RA: Mn -> Mc in Unicode 16"],
]);
const unexpected = skewOld.filter((d) => !knownChanges.has(parseInt(d.slice(2), 16)));
console.error(`gen_cases: ${skewOld.length - unexpected.length} characters changed by Unicode after ` +
  `utf8proc's version; left out`);
// anything else is a difference between the tokenizer's derived properties
// and the oracle's: compare.mjs counts each as a failure
const propdiff = unexpected.map((d) => `property difference ${d}`);

// pools of code points by class, without skew
const pools = { all: [], mn: [], mnNonzero: [], mc: [], me: [], cf: [], co: [], cc: [], zs: [],
  punct: [], cased: [], ign: [], lu: [], lt: [], nd: [], so: [], lo: [], cn: [] };
const gcRe = {};
for (const gc of ["Mn", "Mc", "Me", "Cf", "Co", "Cc", "Zs", "Lu", "Lt", "Nd", "So", "Lo", "Cn"])
  gcRe[gc] = new RegExp(`^\\p{gc=${gc}}$`, "u");
for (let cp = 0; cp < MAXCP; cp++) {
  if (isSurrogate(cp) || skew[cp]) continue;
  if (cp >= 0x30000 && cp < 0xe0000 && (cp & 0xff) !== 0) continue; // thin out empty planes
  const ch = S(cp);
  const jb = jsB[cp];
  if (jb & 4) pools.punct.push(cp);
  if (jb & 16) pools.cased.push(cp);
  if (jb & 32) pools.ign.push(cp);
  for (const gc of Object.keys(gcRe)) {
    if (gcRe[gc].test(ch)) {
      const k = gc.toLowerCase();
      if (k === "mn" && (cNfd.get(cp) === undefined)) pools.mn.push(cp);
      else if (k !== "mn") pools[k].push(cp);
      break;
    }
  }
}
// marks with a non-zero combining class reorder under NFD next to U+0301
// (class 230) or U+0334 (class 1)
const reorders = (m) => ("a\u0301" + S(m)).normalize("NFD") !== "a\u0301" + S(m) ||
  ("a" + S(m) + "\u0334").normalize("NFD") !== "a" + S(m) + "\u0334";
pools.mnNonzero = pools.mn.filter(reorders);
const mcReorder = pools.mc.filter(reorders);

// a random code point of a plane, never a surrogate nor skewed
function randCp(plane) {
  for (;;) {
    const cp = plane * 0x10000 + ri(0x10000);
    if (!isSurrogate(cp) && !skew[cp]) return cp;
  }
}
function randPlane() {
  const r = rand();
  if (r < 0.35) return 0;
  if (r < 0.55) return 1;
  if (r < 0.65) return 2;
  if (r < 0.72) return 3;
  if (r < 0.80) return 4 + ri(10); // 4..13: unassigned
  if (r < 0.88) return 14; // tags, variation selectors supplement
  return 15 + ri(2); // private use
}

// ---------------------------------------------------------------------------
// real text
function readTsv(file) {
  return fs.readFileSync(path.join(SHARED, "data", file), "utf8").split("\n").filter((l) => l.length)
    .map((l) => l.split("\t"));
}
const sst2 = readTsv("reviews/sst2_dev.tsv").map((f) => f[1]);
const imdb = readTsv("reviews/imdb_test_5000.tsv").map((f) => f[1]);
const sts = readTsv("stsb/sts-dev.tsv").map((f) => [f[1], f[2]]);
const words = [];
for (const s of sst2.concat(sts.flat())) for (const w of s.split(" ")) if (w) words.push(w);

// ---------------------------------------------------------------------------
// output
const cases = [];
function add(kind, text, pair) {
  if (pair === "") throw new Error("empty text_pair: the JS oracle reads it as no pair");
  cases.push({ kind, text, pair });
}
function addBytes(kind, bytes, pair) {
  cases.push({ kind, text: new TextDecoder().decode(bytes), pair, raw: Buffer.from(bytes) });
}

for (const s of sst2) add("sst2", s);
for (const s of imdb) add("imdb", s);
for (const [a, b] of sts) {
  add("sts-a", a);
  add("sts-b", b);
  add("sts-pair", a, b);
}

// ---------------------------------------------------------------------------
// hand-written hostile text
const fixed = [
  "", " ", "   \t\n  ", "a", "A", ".", "##", "## ##", "#", "###", "a##b", "##a", "un##able", "# # #",
  "[MASK]", "[SEP]", "[CLS]", "[PAD]", "[UNK]", "[cls]", "[mask]", "[MASK][MASK]", "x[MASK]y",
  "[MASK", "MASK]", "[[MASK]]", "[ MASK ]", "[MASK]]", "[[SEP]", "The [MASK] sat on the [MASK].",
  "ΑΣ[MASK]", "ΑΣ[MASK]Α", "é[MASK]\u0301", "[MASK]\u0301a", "a\u200b[MASK]\u200bb", "[SEP][CLS][PAD][UNK][MASK]",
  "[Mask]", "[MASKED]", "[MAS K]", "\u0000[MASK]\u0000", "[\u200bMASK]", "\uff3bMASK\uff3d",
  "ΟΔΟΣ", "ΟΔΟΣ.", "ΟΔΟΣ'Α", "ΟΔΟΣ Α", "Σ", "ΑΣ", "ΑΣΑ", "ΑΣ\u0301", "ΑΣ\u0301Α", "ΑΣ\u200bΑ", "ΑΣ\u200b",
  "ΑΣ中", "ΑΣ1", "ʰΣ", "ªΣ", "ⒶΣ", "🄰Σ", "aΣ", "a:Σ", "a.Σ.", "a'Σ'b", "ΣΣ", "ΣΣΣ", "ΑΣΣ", "ΑΣ\u00adΑ",
  "ΑΣ\tΑ", "ΑΣ\u00a0Α", "ΑΣ\u0085Α", "ΑΣ\ufeffΑ", "ΑΣ\u0000Α", "ΑΣ\ufffdΑ", "Α\ufffdΣ", "ΑΣ\ue000Α", "ΑΣ\u{e0041}Α",
  "ΤΟ ΟΝΟΜΑ ΜΟΥ ΕΙΝΑΙ ΟΔΥΣΣΕΥΣ.", "ΣΊΣΥΦΟΣ", "ὈΔΥΣΣΕΎΣ", "ᾼΣ", "ᾈΣ",
  "İstanbul", "İ", "ıiIİ", "DİYARBAKIR", "i̇", "İ\u0301", "ẞ straße STRASSE", "ẞ", "ß", "ǅ ǈ ǋ ǲ", "ǄǇǊǱ",
  "Café", "Cafe\u0301", "naïve", "nai\u0308ve", "résumé", "Ångström", "Å", "Å", "Ω", "K", "Crème brûlée",
  "Tiếng Việt có dấu", "Tie\u0302\u0301ng Vie\u0323\u0302t", "Zoë Saldaña", "façade", "Øresund", "Łódź", "Đà Nẵng",
  "Ǖ ǖ Ǘ", "ṩ", "s\u0307\u0323", "s\u0323\u0307", "a\u0316\u0301", "a\u0301\u0316", "q\u0307\u0323",
  "\u0301", "\u0301\u0301", " \u0301 ", "a \u0301b", "ab\u034fc", "a\u0301\u034f\u0316", "\u1fef", "a\u1fefb",
  "a\u037eb", "a\u0387b", "\u212b\u2126\u212a", "\u2000\u2001\u2002x\u2003y", "\u00a8\u00b4",
  "ＦＵＬＬ ｗｉｄｔｈ！ １２３ ＡＢＣ？", "ｶﾀｶﾅ ﾊﾝｶｸ", "①②③ ⅠⅡⅢ ⅰⅱⅲ", "Ⓐⓑ", "ﬁ ﬂ ﬃ", "㎏ ㍿",
  "مرحبا بالعالم", "שָׁלוֹם עוֹלָם", "سلام\u200cدنیا", "\u200fRTL\u200e mark", "\u202eevil\u202c", "ܫܠܡܐ", "ދިވެހި",
  "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "1️⃣ #️⃣", "🇺🇸🇯🇵", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩🏾‍💻 and 🧑‍🤝‍🧑", "❤️ ♥ ☺️", "😀😃😄",
  "中文字符", "日本語のテキスト", "한국어 텍스트", "漢字かな交じり文", "豈 更 車", "\u{2f800}\u{2f801}", "𠀀𠀁", "𪜀", "𫝀", "𫠠", "𬺰", "\u{30000}",
  "\u200b\ufeff\u00ad\u0085\v\f", "a\u200bb", "a\ufeffb", "a\u00adb", "a\u0085b", "a\vb", "a\fb", "a\u2028b", "a\u2029b",
  "a\u00a0b", "a\u3000b", "a\u180eb", "a\u2060b", "a\ue000b", "a\ufffdb", "a\ufffeb", "a\uffffb", "a\u{e0001}b", "a\u0000b",
  "a\u001fb", "a\u007fb", "a\u0080b", "a\u009fb", "\t\n\r", "x\r\ny",
  "$100 ^caret^ `tick` ~tilde~ |pipe| \\back\\", "¿Qué? ¡Sí!", "«quotes» „low“ ‘single’ “double”", "em—dash en–dash",
  "e.g. U.S.A. i.e.", "can't won't it's", "http://example.com/a?b=c&d=e#f", "foo@bar.com", "1,000,000.50", "3.14159",
  "Ꭰ ꭰ Ꭵ", "𐐀𐐁 𐐨", "𞤀𞤢", "Ა Ⴀ ა", "ΑΒΓ αβγ", "ПРИВЕТ мир", "Աբգ", "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝", "ǰ̌", "ΐ",
  "Hello, world!", "unaffable", "UNAFFABLE", "don't", "The quick brown fox jumps over the lazy dog.",
];
for (const s of fixed) add("fixed", s);

// words of 99/100/101 characters, with and without accents
for (const n of [1, 2, 99, 100, 101, 102, 150, 200]) {
  add("long", "a".repeat(n));
  add("long", "x " + "a".repeat(n) + " y");
  add("long", "ab".repeat(n >> 1) + (n & 1 ? "a" : ""));
  add("long", "1".repeat(n) + ".");
  add("long", "é".repeat(n));
  add("long", "e\u0301".repeat(n));
  add("long", "a".repeat(n - 1) + "e\u0301"); // n+1 code points before stripping, n after
  add("long", "A".repeat(n - 1) + "İ");
  add("long", "un" + "believable".repeat(Math.ceil(n / 10)).slice(0, Math.max(0, n - 2)));
  add("long", "Σ".repeat(n));
  add("long", "\u200b".repeat(n) + "a" + "\u200b".repeat(n));
  add("long", "한".repeat(Math.ceil(n / 3)));
}
add("long", "a".repeat(99) + "\u200b" + "a");
add("long", "a".repeat(100) + "," + "a".repeat(100));
add("long", "word ".repeat(3000));
add("long", imdb.slice(0, 40).join(" "));

// every White_Space character and some punctuation between words
for (const cp of [0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
  0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0x180e, 0x200b, 0xfeff]) {
  add("space", `hello${S(cp)}world${S(cp)}`);
}
for (const cp of pools.punct) {
  if (chance(0.15)) add("punct", `word${S(cp)}word ${S(cp)}${S(cp)}`);
}

// CJK of every block
const cjkBlocks = [[0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f], [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf], [0x2ceb0, 0x2ebef], [0x2ebf0, 0x2ee5f], [0x30000, 0x3134f], [0x31350, 0x323af],
  [0xf900, 0xfaff], [0x2f800, 0x2fa1f], [0x2f00, 0x2fdf], [0x2e80, 0x2eff], [0x3000, 0x303f], [0x3040, 0x30ff],
  [0x31f0, 0x31ff], [0xac00, 0xd7a3], [0x1100, 0x11ff], [0x3130, 0x318f], [0xff00, 0xffef], [0x3200, 0x33ff]];
for (const [a, b] of cjkBlocks) {
  for (let i = 0; i < 40; i++) {
    let s = "";
    const n = 1 + ri(8);
    for (let j = 0; j < n; j++) {
      let cp;
      do cp = a + ri(b - a + 1); while (skew[cp]);
      s += S(cp);
      if (chance(0.3)) s += pick(["a", "Σ", " ", "\u0301", "ab", "AB", ".", "\u200b"]);
    }
    add("cjk", s);
  }
}

// Greek final sigma in every context
for (let i = 0; i < 600; i++) {
  const before = [pick(pools.cased), pick(pools.ign), pick(pools.lo), 0x20, pick(pools.mn), 0x391, pick(pools.cf)];
  const after = [pick(pools.cased), pick(pools.ign), pick(pools.lo), 0x20, pick(pools.mn), 0x391, pick(pools.cf),
    pick(pools.punct), pick(pools.nd)];
  let s = "";
  for (let k = ri(3); k > 0; k--) s += S(pick(before));
  s += "Σ";
  for (let k = ri(3); k > 0; k--) s += S(pick(after));
  add("sigma", pick(["", "ΟΔΟ", "Α"]) + s + pick(["", "Α", " λ", "[MASK]Α", "."]));
}

// combining marks, canonical reordering, NFC/NFD/NFKC/NFKD variants
for (let i = 0; i < 500; i++) {
  let s = "";
  const n = 1 + ri(6);
  for (let j = 0; j < n; j++) {
    s += pick(["a", "E", "ı", "İ", "Σ", "ß", "o", "u", "Å", "ᾈ", "ǅ", "ε", "и", "ü", "x"]);
    for (let k = ri(4); k > 0; k--) {
      s += S(pick(chance(0.5) ? pools.mnNonzero : chance(0.5) ? pools.mn : chance(0.5) ? pools.mc : pools.me));
    }
    if (chance(0.2) && mcReorder.length) s += S(pick(mcReorder)) + S(pick(pools.mnNonzero));
  }
  add("marks", s);
  add("marks", s.normalize(pick(["NFC", "NFD", "NFKC", "NFKD"])));
}
for (let i = 0; i < 400; i++) {
  const w = pick(words);
  add("norm", pick([w.normalize("NFD"), w.normalize("NFKD"), w.toUpperCase(), w.toUpperCase().normalize("NFD")]) +
    " " + pick(fixed));
}

// emoji with ZWJ sequences, skin tones, variation selectors, tags
const emojiBase = [0x1f468, 0x1f469, 0x1f9d1, 0x1f44d, 0x270b, 0x1f3f3, 0x2764, 0x1f600, 0x1f914, 0x1f1fa, 0x1f1f8];
for (let i = 0; i < 200; i++) {
  let s = "";
  for (let j = 1 + ri(4); j > 0; j--) {
    s += S(pick(emojiBase));
    if (chance(0.5)) s += S(0x1f3fb + ri(5));
    if (chance(0.4)) s += "\ufe0f";
    if (chance(0.4)) s += "\u200d";
    if (chance(0.1)) s += S(0xe0020 + ri(0x60));
    if (chance(0.3)) s += pick([" ", "a", "!", "Σ"]);
  }
  add("emoji", s);
}

// random code points from every plane, alone and mixed into real sentences
for (let i = 0; i < 3000; i++) {
  let s = "";
  const n = 1 + ri(30);
  for (let j = 0; j < n; j++) {
    const r = rand();
    if (r < 0.5) s += S(randCp(randPlane()));
    else if (r < 0.7) s += pick(["a", "b", "e", "Σ", "İ", "1", " ", " ", ".", "'", "##"]);
    else if (r < 0.8) s += S(pick(pools.mn));
    else if (r < 0.85) s += S(pick(pools.cased));
    else if (r < 0.9) s += S(pick(pools.punct));
    else if (r < 0.95) s += S(pick(pools.ign));
    else s += S(pick(pools.cf.concat(pools.zs, pools.cc, pools.co)));
  }
  add("random", s);
}
const hostileChars = () => pick([S(randCp(randPlane())), S(pick(pools.mn)), S(pick(pools.cf)), S(pick(pools.zs)),
  S(pick(pools.punct)), S(pick(pools.cased)), S(pick(pools.ign)), S(pick(pools.lt)), S(pick(pools.lu)),
  "\u0000", "\ufffd", "[MASK]", "Σ", "İ", "##", "\u200d", "\ufe0f", S(pick(pools.mnNonzero))]);
for (let i = 0; i < 2000; i++) {
  const base = Array.from(chance(0.5) ? pick(sst2) : pick(sts)[ri(2)]);
  for (let k = 1 + ri(5); k > 0; k--) base.splice(ri(base.length + 1), 0, hostileChars());
  add("mixed", base.join(""));
}

// pairs: real, hostile, one side empty or only removed characters
for (let i = 0; i < 800; i++) {
  const gen = () => {
    const r = rand();
    if (r < 0.3) return pick(sst2);
    if (r < 0.5) return Array.from(pick(imdb)).slice(0, 200 + ri(3000)).join("");
    if (r < 0.6) return pick(fixed) || "x";
    if (r < 0.7) return "\u200b";
    if (r < 0.8) return "[SEP] " + pick(sst2);
    let s = "";
    for (let j = 1 + ri(10); j > 0; j--) s += hostileChars() + pick(["", " "]);
    return s;
  };
  add("pair", chance(0.05) ? "" : gen(), gen());
}

// random bytes, raw to tokcheck and decoded (U+FFFD) to the oracle
for (let i = 0; i < 800; i++) {
  const n = ri(60);
  const bytes = new Uint8Array(n);
  const mode = ri(3);
  for (let j = 0; j < n; j++) {
    if (mode === 0) bytes[j] = ri(256);
    else if (mode === 1) bytes[j] = chance(0.8) ? 0x61 + ri(26) : ri(256);
    else bytes[j] = pick([0xc0, 0xc1, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x80, 0xbf, 0xa0, 0x9f, 0x8f,
      0x90, 0x61, 0x20, 0x5b]);
  }
  addBytes("bytes", bytes);
}
// valid sequences cut short and broken up
for (let i = 0; i < 300; i++) {
  const s = Buffer.from(pick(sst2) + " " + pick(fixed) + " ΑΣ 中 é", "utf8");
  const b = Array.from(s);
  for (let k = 1 + ri(4); k > 0; k--) b.splice(ri(b.length), 1);
  addBytes("bytes", Uint8Array.from(b));
}

// ---------------------------------------------------------------------------
// Extended vocabulary: the tokens of the model plus the spacing marks that
// survive accent stripping and reorder under NFD, so that canonical ordering
// shows in the ids.  Run on the generated text only.
const MODEL = path.join(SHARED, "models", "bert-mini-sentiment");
const EXT_MAX_CHARS = 250; // tokcheck --max-chars 250 in run.sh
const extTokens = [];
for (const m of mcReorder) extTokens.push(S(m), "##" + S(m));
const tj = JSON.parse(fs.readFileSync(path.join(MODEL, "tokenizer.json"), "utf8"));
const baseVocab = fs.readFileSync(path.join(MODEL, "vocab.txt"), "utf8").replace(/\n$/, "").split("\n");
extTokens.forEach((t, i) => { tj.model.vocab[t] = baseVocab.length + i; });
tj.model.max_input_chars_per_word = EXT_MAX_CHARS; // words longer than the default buffer
const extCases = [];
for (let i = 0; i < 600; i++) {
  let s = "";
  for (let j = 1 + ri(4); j > 0; j--) {
    s += pick(["a", "E", "Σ", "İ", " ", "ΑΣ", "o", S(pick(mcReorder))]);
    for (let k = ri(5); k > 0; k--) {
      const r = rand();
      s += S(r < 0.4 ? pick(mcReorder) : r < 0.7 ? pick(pools.mnNonzero) : r < 0.8 ? pick(pools.mn) :
        r < 0.9 ? pick(pools.cf) : 0x034f);
    }
  }
  extCases.push({ kind: "ext-marks", text: s });
}
// a mark of class 0 (dropped later) still stops reordering across it
const mnStarters = pools.mn.filter((m) => !pools.mnNonzero.includes(m));
for (let i = 0; i < 150; i++) {
  extCases.push({ kind: "ext-marks", text: "a" + S(pick(mcReorder)) +
    S(chance(0.5) ? 0x034f : pick(mnStarters)) + S(pick(mcReorder)) + pick(["", "b", " a"]) });
}
for (let n = EXT_MAX_CHARS - 2; n <= EXT_MAX_CHARS + 2; n++) {
  extCases.push({ kind: "ext-long", text: "ab".repeat(n >> 1) + (n & 1 ? "a" : "") });
  extCases.push({ kind: "ext-long", text: "x" + "e\u0301".repeat(n - 1) + " y" });
  extCases.push({ kind: "ext-long", text: "Σ".repeat(n) + "\u{1d16d}\u{1d165}" });
}
for (const c of cases) {
  if (c.kind === "marks" || c.kind === "random" || c.kind === "long") extCases.push({ ...c, kind: "ext-" + c.kind });
}

// ---------------------------------------------------------------------------
function writeSet(prefix, list) {
  const jsonl = [];
  const hex = [];
  const kinds = [];
  const toHex = (s) => Buffer.from(s, "utf8").toString("hex");
  for (const c of list) {
    jsonl.push(JSON.stringify(c.pair !== undefined ? { text: c.text, text_pair: c.pair } : { text: c.text }));
    const h = c.raw ? c.raw.toString("hex") : toHex(c.text);
    hex.push(c.pair !== undefined ? `${h}\t${toHex(c.pair)}` : h);
    kinds.push(c.kind);
  }
  fs.writeFileSync(path.join(OUT, prefix + ".jsonl"), jsonl.join("\n") + "\n");
  fs.writeFileSync(path.join(OUT, prefix + ".hex"), hex.join("\n") + "\n");
  fs.writeFileSync(path.join(OUT, prefix + ".kinds"), kinds.join("\n") + "\n");
}
fs.mkdirSync(OUT, { recursive: true });
writeSet("cases", cases);
writeSet("ext", extCases);
fs.writeFileSync(path.join(OUT, "ext_tokenizer.json"), JSON.stringify(tj));
fs.writeFileSync(path.join(OUT, "ext_vocab.txt"), baseVocab.concat(extTokens).join("\n") + "\n");
fs.writeFileSync(path.join(OUT, "propdiff.txt"), propdiff.map((l) => l + "\n").join(""));

// random byte strings and pairs for the sanitizer run (no oracle)
const fuzz = [];
for (let i = 0; i < 3000; i++) {
  const one = () => {
    const b = Buffer.alloc(ri(i < 2000 ? 40 : 400));
    for (let j = 0; j < b.length; j++) b[j] = chance(0.5) ? ri(256) : pick([0x5b, 0x5d, 0x23, 0xce, 0xa3, 0xcc, 0x81, 0x20]);
    return b.toString("hex");
  };
  fuzz.push(chance(0.3) ? `${one()}\t${one()}` : one());
}
fs.writeFileSync(path.join(OUT, "fuzz.hex"), fuzz.join("\n") + "\n");
console.error(`gen_cases: ${cases.length} cases, ${extCases.length} with the extended vocabulary`);
