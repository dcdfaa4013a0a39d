'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Profiler, Profile, ProfileManager, profile, WtfperfError } = require('..');
const { throwsStatus } = require('./helpers');
const native = require('../lib/native');

/** ~`ms` of CPU work that also holds a few MB of memory. */
function workload(ms) {
  const keep = [];
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    keep.push(Buffer.alloc(64 * 1024, 1));
    if (keep.length > 256) keep.shift();
    for (let i = 0; i < 10000; i++) x += Math.sqrt(i);
  }
  return x + keep.length;
}

test('profile a workload: samples, figures, scopes, JSON and Chrome trace', () => {
  const profiler = new Profiler({ sampleIntervalS: 0.01 });
  profiler.start();
  const r = profiler.scope('busy-work', () => workload(300));
  assert.ok(r > 0);
  const p = profiler.stop();
  profiler.close();
  try {
    assert.ok(p instanceof Profile);
    assert.ok(p.durationS >= 0.25 && p.durationS < 30, `duration ${p.durationS}`);
    assert.ok(p.peakMemoryMb > 1, `peak ${p.peakMemoryMb}`);
    assert.ok(p.avgMemoryMb > 1 && p.avgMemoryMb <= p.peakMemoryMb + 1e-9);
    assert.ok(p.avgCpuPercent > 0, `cpu ${p.avgCpuPercent}`);
    assert.ok(p.sampleCount >= 5, `samples ${p.sampleCount}`);
    const samples = p.samples();
    assert.equal(samples.length, p.sampleCount);
    for (const s of samples) {
      assert.equal(typeof s.tS, 'number');
      assert.ok(s.rssBytes > 0);
      assert.ok(s.cpuPercent >= 0);
      assert.equal(typeof s.heapBytes, 'number');
    }
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i].tS >= samples[i - 1].tS);
    assert.deepEqual(p.sample(0), samples[0]);
    const json = p.toJSON();
    assert.equal(typeof json, 'object');
    assert.match(p.toJSONString(), /busy-work/);
    assert.deepEqual(JSON.parse(JSON.stringify(p)), json);
    const trace = JSON.parse(p.toChromeTrace());
    assert.match(JSON.stringify(trace), /busy-work/);
    throwsStatus(assert, () => p.sample(p.sampleCount), 'WTFPERF_ERR_INVALID');
  } finally {
    p.close();
  }
});

test('running, sampleNow, cpu time and exact peak', () => {
  const profiler = new Profiler({ sampleIntervalS: 0.05, maxSamples: 16 });
  assert.equal(profiler.running, false);
  throwsStatus(assert, () => profiler.sampleNow(), 'WTFPERF_ERR_STATE', /not running/);
  profiler.start();
  assert.equal(profiler.running, true);
  workload(60);
  const s = profiler.sampleNow();
  assert.ok(s.rssBytes > 0 && s.tS >= 0);
  const p = profiler.stop();
  assert.equal(profiler.running, false);
  assert.ok(p.cpuTimeS > 0, `cpu time ${p.cpuTimeS}`);
  assert.equal(typeof p.peakIsExact, 'boolean');
  assert.ok(p.samples().some((x) => x.tS === s.tS), 'sampleNow is recorded in the timeline');
  p.close();
  profiler.close();
  throwsStatus(assert, () => new Profiler({ maxSamples: 1 }), 'WTFPERF_ERR_INVALID');
});

test('profiler errors are WtfperfErrors', () => {
  throwsStatus(assert, () => new Profiler({ sampleIntervalS: 0 }), 'WTFPERF_ERR_INVALID');
  const profiler = new Profiler({ sampleIntervalS: 0.05 });
  throwsStatus(assert, () => profiler.stop(), 'WTFPERF_ERR_STATE');
  profiler.start();
  throwsStatus(assert, () => profiler.start(), 'WTFPERF_ERR_STATE');
  profiler.stop().close();
  profiler.close();
});

test('close is idempotent and use after close throws', () => {
  const profiler = new Profiler();
  assert.equal(profiler.closed, false);
  profiler.close();
  profiler.close();
  assert.equal(profiler.closed, true);
  const e = throwsStatus(assert, () => profiler.start(), 'WTFPERF_ERR_STATE', /closed/);
  assert.ok(e instanceof WtfperfError);
  throwsStatus(assert, () => profiler.scopeEnter('x'), 'WTFPERF_ERR_STATE');
});

test('scope tokens and async scopes', async () => {
  const profiler = new Profiler({ sampleIntervalS: 0.01 });
  profiler.start();
  const t = profiler.scopeEnter('outer');
  const v = await profiler.scope('inner-async', async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return 7;
  });
  assert.equal(v, 7);
  assert.throws(() => profiler.scope('throws', () => {
    throw new RangeError('in scope');
  }), RangeError);
  profiler.scopeExit(t);
  const p = profiler.stop();
  const text = p.toJSONString();
  for (const name of ['outer', 'inner-async', 'throws']) assert.match(text, new RegExp(name));
  p.close();
  profiler.close();
});

test('scope: the body\'s throw wins over a failing scope exit', () => {
  class BodyError extends Error {}
  const profiler = new Profiler();
  profiler.start();
  assert.throws(() => profiler.scope('sync', () => {
    profiler.close();
    throw new BodyError('sync body');
  }), (e) => e instanceof BodyError && e.message === 'sync body');
});

test('scope: the body\'s rejection wins over a failing scope exit', async () => {
  class BodyError extends Error {}
  const profiler = new Profiler();
  profiler.start();
  await assert.rejects(profiler.scope('async', async () => {
    profiler.close();
    throw new BodyError('async body');
  }), (e) => e instanceof BodyError && e.message === 'async body');
});

test('scope: a failing scope exit is thrown when the body succeeds', async () => {
  const profiler = new Profiler();
  profiler.start();
  throwsStatus(assert, () => profiler.scope('sync', () => {
    profiler.close();
    return 1;
  }), 'WTFPERF_ERR_STATE', /closed/);

  const asyncProfiler = new Profiler();
  asyncProfiler.start();
  await assert.rejects(asyncProfiler.scope('async', async () => {
    asyncProfiler.close();
    return 1;
  }), (e) => e instanceof WtfperfError && e.status === 'WTFPERF_ERR_STATE' && /closed/.test(e.message));
});

test('profile() helper and ProfileManager summary', async () => {
  const manager = new ProfileManager();
  for (let i = 0; i < 2; i++) {
    const { result, profile: p } = profile(() => workload(40), { sampleIntervalS: 0.01 });
    assert.ok(result > 0);
    manager.add('sync-run', p);
    p.close();
  }
  const { result, profile: p } = await profile(async () => 'done', { sampleIntervalS: 0.01 });
  assert.equal(result, 'done');
  manager.add('async-run', p);
  p.close();
  assert.throws(() => manager.add('x', {}), TypeError);
  throwsStatus(assert, () => manager.add('closed', p), 'WTFPERF_ERR_STATE');
  const summary = manager.summary();
  const text = JSON.stringify(summary);
  assert.match(text, /sync-run/);
  assert.match(text, /async-run/);
  assert.throws(() => profile(() => {
    throw new SyntaxError('inside');
  }), SyntaxError);
  manager.close();
  manager.close();
});

test('interned scope ids', { skip: !native.declared.get('wtfperf_profiler_scope_id') && 'library without scope ids' }, () => {
  const profiler = new Profiler({ sampleIntervalS: 0.05 });
  const id = profiler.scopeId('hot-loop');
  assert.equal(profiler.scopeId('hot-loop'), id);
  profiler.start();
  for (let i = 0; i < 100; i++) profiler.scopeExit(profiler.scopeEnterId(id));
  throwsStatus(assert, () => profiler.scopeEnterId(id + 1000), 'WTFPERF_ERR_INVALID');
  const p = profiler.stop();
  assert.match(p.toJSONString(), /hot-loop/);
  p.close();
  profiler.close();
});
