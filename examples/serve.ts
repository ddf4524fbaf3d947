// A small HTTP service that labels uploaded images with trained CIFAR-10 weights.
//
//   npx ts-node examples/serve.ts --checkpoint alexnet.pt [--port 8080] [--host 127.0.0.1]
//   curl --data-binary @cat.png -H 'Content-Type: image/png' 'http://127.0.0.1:8080/predict?topk=3'
//
// POST /predict takes the raw image bytes (PNG, JPEG or WebP) as the body and
// answers {"predictions": [{"label", "index", "probability"}, ...]}, best first.
// Errors are JSON too: {"error": "..."} with 400 (not a readable image, bad topk),
// 404, 405, 413 (body over 4 MiB) or 415 (Content-Type not image/*).
// --port 0 picks a free port; the service prints its URL once it listens.
// (In an app, import from 'torchbridge'.)
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { Classifier, ImageError } from '../src';

const MAX_BYTES = 4 * 1024 * 1024;

/** An answer to send: a status and a JSON body. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** The request body, refused with 413 as soon as it grows past MAX_BYTES. */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = new HttpError(413, `The image is larger than ${MAX_BYTES} bytes`);
    if (Number(req.headers['content-length']) > MAX_BYTES) return reject(tooLarge);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BYTES) {
        req.removeAllListeners('data');
        reject(tooLarge);
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(clf: Classifier, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/predict') throw new HttpError(404, `No ${url.pathname} here: POST an image to /predict`);
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    throw new HttpError(405, `Use POST for /predict, not ${req.method}`);
  }
  const type = (req.headers['content-type'] ?? '').toLowerCase(); // MIME types ignore case
  if (!type.startsWith('image/')) throw new HttpError(415, `Expected Content-Type image/png, image/jpeg or image/webp but received '${type}'`);
  const body = await readBody(req);
  if (body.length === 0) throw new HttpError(400, 'The body is empty: send the image bytes');
  // ?topk=3 as a number; anything else goes to the library as text, which it refuses by name.
  const topk = url.searchParams.get('topk');
  const options = topk === null ? {} : { topk: /^-?\d+$/.test(topk) ? Number(topk) : topk };
  try {
    send(res, 200, { predictions: await clf.predict(body, options as { topk?: number }) });
  } catch (e) {
    // A body that is not an image, or a bad topk, is the client's mistake.
    if (e instanceof ImageError || e instanceof TypeError) throw new HttpError(400, e.message);
    throw e;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const port = Number(values.port);
  if (!values.checkpoint) throw new Error('serve needs --checkpoint <file>');
  if (!/^\d+$/.test(values.port) || port > 65535) throw new Error(`Expected a port from 0 to 65535 for --port but received '${values.port}'`);

  const clf = await Classifier.load(values.checkpoint);
  const server = http.createServer((req, res) => {
    handle(clf, req, res).catch((e: Error) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) console.error(e);
      // A refused body may still be arriving: drop it, so that the client, done sending, reads the answer.
      req.resume();
      send(res, status, { error: status === 500 ? 'Internal error' : e.message });
    });
  });
  server.listen(port, values.host, () => {
    const { address, port: bound } = server.address() as { address: string; port: number };
    console.log(`Listening on http://${address.includes(':') ? `[${address}]` : address}:${bound}/predict`);
  });

  // Stop taking connections, let running requests finish, then free the model.
  const stop = (signal: string) => {
    console.log(`${signal}: closing`);
    server.close(() => {
      clf.dispose();
      console.log('Closed');
    });
    server.closeIdleConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
