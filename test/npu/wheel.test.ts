// The npu path on the wheel route (pip's torch_npu, imported through Python), on the stand-in.
import test from 'ava';
import { buildNpu, runChild } from './helpers/build';
import { npuSuite } from './helpers/suite';

npuSuite('wheel');

test('wheel: a libpython that does not load is a clear error, not a crash', (t) => {
  const r = runChild(buildNpu('wheel'), 'devices', ['npu'], { TORCHBRIDGE_LIBPYTHON: '/nonexistent/libpython3.so' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.result[0].error, /initDevice: cannot load libpython for torch_npu: .*nonexistent.*TORCHBRIDGE_LIBPYTHON/);
});

test('wheel: a python without torch_npu is a clear error, not a crash', (t) => {
  const b = buildNpu('wheel');
  const withoutStandin = (b.env.PYTHONPATH ?? '').split(':').filter((p) => p !== b.standin).join(':');
  const r = runChild(b, 'devices', ['npu', 'npu'], { PYTHONPATH: withoutStandin });
  t.is(r.status, 0, r.stderr);
  t.regex(r.result[0].error, /import torch_npu failed in .*python.*: ModuleNotFoundError: No module named 'torch_npu'/);
  t.regex(r.result[1].error, /import torch_npu failed/, 'a second try fails the same way');
});
