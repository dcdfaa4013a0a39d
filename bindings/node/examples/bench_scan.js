'use strict';
// Measures what a Node host gets from wtfperf: scan and analyze through the
// binding against a plain-Node peer (recursive readdir + readFileSync +
// crypto sha1 on the JS thread) over the same generated project and the same
// files (ignore files off, hidden files skipped by both), in one run.
//
//   node examples/bench_scan.js [files=3000] [runs=5]
//
// Prints the median wall time of each variant and its ratio to the peer.
// Timings are noisy on a shared machine: compare ratios, not absolute times.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { benchGenerate, scan, analyze, Cache } = require('..');

const files = Number(process.argv[2] ?? 3000);
const runs = Number(process.argv[3] ?? 5);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, r };
}

/** The peer: what a Node analyzer does without wtfperf (no ignore rules, so it sees more). */
function nodeWalk(root) {
  let n = 0;
  let bytes = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop();
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      const p = path.join(dir, d.name);
      if (d.isDirectory()) stack.push(p);
      else if (d.isFile()) {
        const st = fs.statSync(p);
        if (st.size > 10 * 1024 * 1024) continue;
        const content = fs.readFileSync(p);
        crypto.createHash('sha1').update(content).digest();
        n += 1;
        bytes += content.length;
      }
    }
  }
  return { n, bytes };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wtfperf-node-bench-'));
try {
  const root = path.join(work, 'project');
  const expected = benchGenerate(root, files, { seed: 42 });
  const cacheDir = path.join(work, 'cache');
  const cache = new Cache({ dir: cacheDir });
  // The peer knows no ignore rules: make wtfperf walk the same files.
  const opts = { respectIgnoreFiles: false };
  const todo = (f) => String((f.content.toString('latin1').match(/TODO/g) ?? []).length);
  analyze(root, opts, cache, 'warmup', todo); // fills the page cache and the analysis table once

  const variants = {
    'node peer (readdir+read+sha1)': () => nodeWalk(root).n,
    'wtfperf scan, onFile (content copied)': () => {
      let n = 0;
      scan(root, opts, { onFile: () => void (n += 1) });
      return n;
    },
    'wtfperf scan, no callbacks': () => scan(root, opts).filesScanned,
    'wtfperf analyze, warm cache': () => {
      const s = analyze(root, opts, cache, 'warmup', todo);
      return s.cacheHits;
    },
  };
  const results = {};
  const counts = {};
  for (const name of Object.keys(variants)) results[name] = [];
  for (let i = 0; i < runs; i++) {
    for (const [name, fn] of Object.entries(variants)) {
      const { ms, r } = time(fn);
      results[name].push(ms);
      counts[name] = r;
    }
  }
  cache.close();
  const peer = median(results['node peer (readdir+read+sha1)']);
  console.log(`project: ${expected} files (generated, seed 42); ${runs} runs each, interleaved; ${os.cpus().length} CPUs`);
  for (const [name, ms] of Object.entries(results)) {
    const m = median(ms);
    console.log(
      `${name.padEnd(40)} median ${m.toFixed(1).padStart(8)} ms   ${(peer / m).toFixed(2)}x vs peer   (${counts[name]} files)`,
    );
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
