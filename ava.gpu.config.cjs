// `npm run test:gpu` (test/gpu/run.ts): the checks that need a CUDA build of the
// addon on a machine with an NVIDIA GPU. `npm test` leaves test/gpu/ out.
module.exports = {
  files: ['dist/test/gpu/**/*.test.js'],
  timeout: '10m',
  concurrency: 1,
  workerThreads: false,
};
