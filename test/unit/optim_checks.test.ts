// Each optimizer checks its hyper-parameters with one validator: the constructor's
// defaults, each param group, and every step() (users and schedulers change groups).
import test from 'ava';
import { Adam, AdamW, SGD } from '../../src/optim';
import { randn } from '../../src/tensor';

test('SGD: defaults, groups and step() give the same check, named where the value is', (t) => {
  const w = randn([2]);
  const b = randn([2]);
  t.throws(() => new SGD([w], { momentum: -1 }), { message: 'Expected number >= 0 for momentum but received -1 of type number' });
  t.throws(() => new SGD([{ params: [w] }, { params: [b], momentum: -1 }]), { message: 'Expected number >= 0 for params[1].momentum but received -1 of type number' });
  t.throws(() => new SGD([w], { nesterov: true }), { message: 'SGD: Nesterov momentum requires a momentum and zero dampening' });
  const opt = new SGD([{ params: [w] }, { params: [b], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
  t.deepEqual(opt.paramGroups.map((g) => [g.lr, g.momentum]), [[0.1, 0.9], [0.5, 0.9]], 'a group takes the defaults it does not set');
  opt.paramGroups[1].lr = -2;
  t.throws(() => opt.step(), { message: 'Expected number >= 0 for paramGroups[1].lr but received -2 of type number' });
  opt.paramGroups[1].lr = 0.5;
  opt.paramGroups[0].nesterov = true;
  opt.paramGroups[0].dampening = 0.1;
  t.throws(() => opt.step(), { message: 'SGD: Nesterov momentum requires a momentum and zero dampening' });
  opt.dispose();
});

test('Adam and AdamW: the same for betas, eps and weight decay', (t) => {
  const w = randn([2]);
  t.throws(() => new Adam([w], { betas: [0.9, 1] }), { message: 'Expected number in [0, 1) for betas[1] but received 1 of type number' });
  t.throws(() => new AdamW([{ params: [w], eps: -1 }]), { message: 'Expected number >= 0 for params[0].eps but received -1 of type number' });
  const opt = new AdamW([w]);
  t.is(opt.defaults.weightDecay, 1e-2, "AdamW's own default");
  (opt.paramGroups[0] as { betas: unknown }).betas = [0.9];
  t.throws(() => opt.step(), { message: 'Expected [beta1, beta2] for paramGroups[0].betas but received [0.9] of type array' });
  opt.dispose();
});
