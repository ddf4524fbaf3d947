// The API reference's gate: every symbol exported from 'torchbridge' and
// 'torchbridge/train' has a TSDoc comment, and every {@link} resolves. This is
// TypeDoc's own validation with the project's typedoc.json (what `npm run docs`
// runs), on a conversion kept in memory: nothing is written.
import test from 'ava';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/paths';

// The little of TypeDoc's API used here. TypeDoc is an ES module; this test compiles
// to CommonJS, where TypeScript would turn import() into require() and cannot read
// TypeDoc's types (they resolve only under moduleResolution node16 or bundler).
interface CommentPart { kind: string; text: string; tag?: string }
interface Reflection {
  comment?: { summary: CommentPart[] };
  getChildByName(name: string): Reflection | undefined;
}
interface App {
  logger: { log(message: string, level: number): void };
  options: { getValue(name: string): unknown };
  convert(): Promise<Reflection | undefined>;
  validate(project: Reflection): void;
}
interface TypeDoc {
  Application: { bootstrapWithPlugins(options: object, readers: object[]): Promise<App> };
  TypeDocReader: new () => object;
  PackageJsonReader: new () => object;
  TSConfigReader: new () => object;
  LogLevel: { Warn: number };
}
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<TypeDoc>;

/** Runs TypeDoc's validation on the project and returns its warnings and errors. */
type Validate = (project: Reflection) => string[];

async function convert(): Promise<{ project: Reflection; validate: Validate; options: App['options'] }> {
  const root = packageRoot();
  const td = await importModule(pathToFileURL(require.resolve('typedoc')).href);
  const app = await td.Application.bootstrapWithPlugins(
    { options: path.join(root, 'typedoc.json') },
    [new td.TypeDocReader(), new td.PackageJsonReader(), new td.TSConfigReader()],
  );
  const messages: string[] = [];
  app.logger.log = (message, level) => {
    if (level >= td.LogLevel.Warn) messages.push(message.replace(/\x1b\[[0-9;]*m/g, '')); // without the console's colours
  };
  const project = await app.convert();
  if (!project) throw new Error(`TypeDoc could not convert the project:\n${messages.join('\n')}`);
  const validate: Validate = (p) => {
    messages.length = 0;
    app.validate(p);
    return messages.slice();
  };
  return { project, validate, options: app.options };
}

// One conversion (the slow part, 10-20 s) serves both tests, which run in order.
const converted = convert();

test.serial('typedoc.json fails the docs on a missing comment or a broken link', async (t) => {
  const { options } = await converted;
  const validation = options.getValue('validation') as Record<string, boolean>;
  t.true(validation.notDocumented);
  t.true(validation.invalidLink);
  t.true(validation.notExported);
  t.true(options.getValue('treatValidationWarningsAsErrors') as boolean);
  t.deepEqual(options.getValue('entryPoints'), ['src/index.ts', 'src/train/index.ts'].map((f) => path.join(packageRoot(), f)));
});

test.serial('every exported symbol has a comment and every link resolves', async (t) => {
  const { project, validate } = await converted;
  const problems = validate(project);
  t.deepEqual(problems, [], 'write the missing comments or fix the links (npm run docs lists them too)');
});

// The control: the same validation must catch a comment taken away and a link to nothing.
test.serial('the check catches a missing comment and a broken link', async (t) => {
  const { project, validate } = await converted;
  const tensor = project.getChildByName('torchbridge.Tensor');
  const scaler = project.getChildByName('torchbridge.GradScaler');
  if (!tensor?.comment || !scaler?.comment) return t.fail('expected the classes torchbridge.Tensor and torchbridge.GradScaler, with comments');
  const comment = tensor.comment;
  tensor.comment = undefined;
  scaler.comment.summary.push({ kind: 'inline-tag', tag: '@link', text: 'noSuchSymbol' });
  try {
    const problems = validate(project).join('\n');
    t.regex(problems, /torchbridge\.Tensor \(Class\).* does not have any documentation/);
    t.regex(problems, /Failed to resolve link to "noSuchSymbol" in comment for torchbridge\.GradScaler/);
  } finally {
    tensor.comment = comment;
    scaler.comment.summary.pop();
  }
});
