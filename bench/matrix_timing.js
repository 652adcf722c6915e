// Times QRAuthEncoder.matrix(url) under Node: the browser-side path of the
// animated code. Prints the best of several repeats, in ms per matrix.
// Usage: node matrix_timing.js <qrcode.js> <url>
"use strict";

const [encoderPath, url] = process.argv.slice(2);
const QRAuthEncoder = require(encoderPath);

const PER_REPEAT = 200;
const REPEATS = 7;

for (let i = 0; i < PER_REPEAT; i++) QRAuthEncoder.matrix(url); // warm up the JIT

let best = Infinity;
for (let repeat = 0; repeat < REPEATS; repeat++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < PER_REPEAT; i++) QRAuthEncoder.matrix(url);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / PER_REPEAT;
  best = Math.min(best, ms);
}
console.log(best.toFixed(4));
