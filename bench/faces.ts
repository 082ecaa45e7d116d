/**
 * `npm run bench:faces [-- --json] [--latency N]`
 *
 * The face matcher on the labelled set of src/testing/faces (22 people of face-api's MIT demo photos, 8 derived
 * captures each): templates are computed once through the worker pool, then every genuine pair (two captures of one
 * person) and every impostor pair (captures of two people) is scored. Prints the set, FMR and FNMR at the configured
 * threshold, ROC points, the EER, then the speed of one selfie-vs-chip-photo comparison through the pool (p50/p99,
 * comparisons per second, one at a time and with the pool saturated), and the p99 of a cheap HTTP GET served by this
 * same process while the pool is saturated: the event loop must keep answering.
 *
 * What the set measures: robustness to capture and encoding variation (crop, size, light, greyscale, mirror,
 * rotation, JPEG and JPEG 2000 compression) and separation between different people. Every genuine capture comes
 * from one photo, so it says nothing about ageing, pose or another camera: real FNMR is higher. Prints, never fails.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { createFaceMatcher, faceSimilarity } from '../src/faces/matcher.js';
import type { TemplateResult } from '../src/faces/types.js';
import { labelledFaceSet } from '../src/testing/faces/index.js';

const { values: args } = parseArgs({
  options: { json: { type: 'boolean', default: false }, latency: { type: 'string', default: '30' } },
});
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const settings = loadConfig(process.env).faces;
log(`face matcher: ${settings.workers} worker(s) on ${availableParallelism()} cores, threshold ${settings.threshold}`);

let started = performance.now();
const set = await labelledFaceSet();
log(`set: ${set.description.source}`);
log(
  `     ${set.description.people} people x ${set.description.capturesPerPerson} captures = ${set.description.images} images (built in ${round((performance.now() - started) / 1000, 1)} s)`,
);

const matcher = createFaceMatcher(settings);
started = performance.now();
const info = await matcher.start();
log(`model: ${info.model} sha256 ${info.modelHash.slice(0, 16)}… (loaded in ${round((performance.now() - started) / 1000, 1)} s)`);

// ---- enrolment: one template per capture --------------------------------------------------------------------------
started = performance.now();
// As many at once as there are workers: no job waits in the queue, so the time limit measures the work alone.
const captures = set.people.flatMap((person) => person.captures.map((capture) => ({ person: person.name, ...capture })));
const enrolled: Array<{ person: string; recipe: string; result: TemplateResult }> = [];
const enrolErrors: string[] = [];
const enrol = async () => {
  for (let next = captures.shift(); next; next = captures.shift()) {
    const { person, recipe } = next;
    await matcher.template(next.image).then(
      (result) => enrolled.push({ person, recipe, result }),
      (error: Error) => enrolErrors.push(`${person} "${recipe}": ${error.message}`),
    );
  }
};
await Promise.all(Array.from({ length: settings.workers }, enrol));
const enrolSeconds = (performance.now() - started) / 1000;
const failures = enrolled.filter((e) => !e.result.template);
log(`templates: ${enrolled.length} in ${round(enrolSeconds, 1)} s (${round(enrolled.length / enrolSeconds, 1)}/s); no usable face in ${failures.length}`);
for (const f of failures) log(`  ${f.person} "${f.recipe}": ${f.result.quality.flags.join(', ')}`);
for (const e of enrolErrors) log(`  failed (left out of the pairs): ${e}`);

// ---- scores --------------------------------------------------------------------------------------------------------
const usable = enrolled.flatMap((e) => (e.result.template ? [{ person: e.person, descriptor: e.result.template.descriptor }] : []));
const genuine: number[] = [];
const impostor: number[] = [];
for (let i = 0; i < usable.length; i++) {
  for (let j = i + 1; j < usable.length; j++) {
    const a = usable[i] as (typeof usable)[number];
    const b = usable[j] as (typeof usable)[number];
    (a.person === b.person ? genuine : impostor).push(faceSimilarity(a.descriptor, b.descriptor));
  }
}
const fmr = (t: number) => impostor.filter((s) => s >= t).length / impostor.length;
const fnmr = (t: number) => genuine.filter((s) => s < t).length / genuine.length;
const pct = (x: number) => `${round(x * 100, 2)} %`;
log(`pairs: ${genuine.length} genuine, ${impostor.length} impostor`);
log(
  `scores: genuine min ${Math.min(...genuine)} p5 ${percentile(genuine, 5)} median ${percentile(genuine, 50)}; impostor median ${percentile(impostor, 50)} p99 ${percentile(impostor, 99)} max ${Math.max(...impostor)}`,
);
log(`at threshold ${settings.threshold}: FMR ${pct(fmr(settings.threshold))}, FNMR ${pct(fnmr(settings.threshold))}`);
const roc = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6].map((t) => ({ threshold: t, fmr: fmr(t), fnmr: fnmr(t) }));
log('ROC:  threshold   FMR        FNMR');
for (const point of roc) log(`      ${point.threshold.toFixed(2)}        ${pct(point.fmr).padEnd(10)} ${pct(point.fnmr)}`);
const eer = equalErrorRate(genuine, impostor);
log(`EER ${pct(eer.rate)} at threshold ${eer.threshold}`);

// ---- speed: one selfie against one chip photo ----------------------------------------------------------------------
const timed = matcher;
const people = set.people;
const pairOf = (i: number) => {
  const person = people[i % people.length] as (typeof people)[number];
  return { chip: person.captures[0]?.image as Buffer, selfie: person.captures[1]?.image as Buffer };
};
const latencies: number[] = [];
const count = Number(args.latency);
for (let i = 0; i < count; i++) {
  const { chip, selfie } = pairOf(i);
  const t0 = performance.now();
  const done = await timed.compare(chip, selfie).then(
    () => true,
    (error: Error) => log(`  comparison failed: ${error.message}`),
  );
  if (done) latencies.push(performance.now() - t0);
}
const sequentialRate = latencies.length / (latencies.reduce((a, b) => a + b, 0) / 1000);
log(
  `one comparison (selfie 480x640 JPEG vs chip photo 240x320 JPEG), one at a time: p50 ${round(percentile(latencies, 50))} ms, p99 ${round(percentile(latencies, 99))} ms, ${round(sequentialRate)} comparisons/s`,
);

// ---- the event loop while the pool is saturated ---------------------------------------------------------------------
const app = Fastify();
app.get('/ping', async () => ({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
const url = `http://127.0.0.1:${address.port}/ping`;
const idle = await getLatencies(url, () => false, 300);
let busy = true;
// Keep the pool full (workers + queue) with comparisons while the GETs run; refused ones (busy) are counted.
let compared = 0;
let refused = 0;
const saturate = async () => {
  for (let i = 0; busy; i++) {
    const { chip, selfie } = pairOf(i);
    await timed.compare(chip, selfie).then(
      () => compared++,
      () => refused++,
    );
  }
};
const loadStarted = performance.now();
const drivers = Array.from({ length: Math.max(1, Math.floor((settings.workers + settings.queue) / 2)) }, saturate);
const during = await getLatencies(url, () => performance.now() - loadStarted > 15_000, 100_000);
busy = false;
await Promise.all(drivers);
const loadSeconds = (performance.now() - loadStarted) / 1000;
log(
  `saturated pool: ${round(compared / loadSeconds)} comparisons/s (${compared} in ${round(loadSeconds, 1)} s, ${refused} refused busy); GET /ping p50 ${round(percentile(during, 50))} ms, p99 ${round(percentile(during, 99))} ms (idle p99 ${round(percentile(idle, 99))} ms, ${during.length} GETs)`,
);
await app.close();
await timed.close();

if (args.json) {
  console.log(
    JSON.stringify(
      {
        set: set.description,
        model: info,
        threshold: settings.threshold,
        workers: settings.workers,
        pairs: { genuine: genuine.length, impostor: impostor.length },
        failuresToEnrol: failures.length,
        atThreshold: { fmr: fmr(settings.threshold), fnmr: fnmr(settings.threshold) },
        roc,
        eer,
        comparison: {
          p50Ms: round(percentile(latencies, 50)),
          p99Ms: round(percentile(latencies, 99)),
          perSecondSequential: round(sequentialRate),
          perSecondSaturated: round(compared / loadSeconds),
        },
        getDuringMatching: { p50Ms: round(percentile(during, 50)), p99Ms: round(percentile(during, 99)), idleP99Ms: round(percentile(idle, 99)) },
      },
      null,
      2,
    ),
  );
}

/** Sequential GETs, one every 10 ms (a client polling, not a flood competing for the CPU), until `stop()` or `max`. */
async function getLatencies(target: string, stop: () => boolean, max: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < max && !stop(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const t0 = performance.now();
    const response = await fetch(target);
    await response.arrayBuffer();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** The threshold where FMR and FNMR cross (scanned in steps of 0.005), and their mean there. */
function equalErrorRate(genuineScores: number[], impostorScores: number[]): { threshold: number; rate: number } {
  let best = { threshold: 0, rate: 1, gap: 2 };
  for (let t = 0; t <= 1; t = round(t + 0.005, 3)) {
    const a = impostorScores.filter((s) => s >= t).length / impostorScores.length;
    const b = genuineScores.filter((s) => s < t).length / genuineScores.length;
    if (Math.abs(a - b) < best.gap) best = { threshold: t, rate: (a + b) / 2, gap: Math.abs(a - b) };
  }
  return { threshold: best.threshold, rate: best.rate };
}
