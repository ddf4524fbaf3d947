#!/usr/bin/env python3
"""Writes npu_ops.txt: the aten ops that torch_npu implements for the NPU
(PrivateUse1) at a given torch version, from two files of Ascend's sources:

  op_plugin/config/op_plugin_functions.yaml   (Ascend/op-plugin)
  torch_npu/csrc/aten/npu_native_functions.yaml (Ascend/pytorch)

Usage: make_op_list.py OP_PLUGIN_CHECKOUT OP_PLUGIN_COMMIT TORCH_NPU_CHECKOUT TORCH_NPU_COMMIT [--torch v2.13]

An op counts when its acl_op or op_api entry covers the version, read as
op-plugin's own codegen reads it (torchnpugen/op_codegen_utils.get_version).
"""
import argparse
import os
import subprocess
import yaml


def versions(ver, all_version):
    if ver is None:
        return []
    if isinstance(ver, list):
        start = all_version.index(str(ver[0]).strip())
        end = None if str(ver[1]).strip() == 'newest' else all_version.index(str(ver[1]).strip())
        return all_version[start:] if end is None else all_version[start:end + 1]
    if ver == 'all_version':
        return all_version
    return [v.strip() for v in str(ver).replace(', ', ',').split(',')]


def op_name(func):
    return func.split('(', 1)[0].strip()


def show(checkout, commit, path):
    return subprocess.run(['git', '--git-dir', checkout, 'show', f'{commit}:{path}'],
                          check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('op_plugin_git')
    ap.add_argument('op_plugin_commit')
    ap.add_argument('torch_npu_git')
    ap.add_argument('torch_npu_commit')
    ap.add_argument('--torch', default='v2.13')
    ap.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'npu_ops.txt'))
    a = ap.parse_args()

    plugin = yaml.safe_load(show(a.op_plugin_git, a.op_plugin_commit, 'op_plugin/config/op_plugin_functions.yaml'))
    all_version = plugin['all_version']
    ops = set()
    for section in ('official', 'symint'):
        for entry in plugin.get(section) or []:
            if any(a.torch in versions(entry.get(k), all_version) for k in ('acl_op', 'op_api')):
                ops.add(op_name(entry['func']))
    native = yaml.safe_load(show(a.torch_npu_git, a.torch_npu_commit, 'torch_npu/csrc/aten/npu_native_functions.yaml'))
    for entry in native.get('supported') or []:
        ops.add(op_name(entry['func'] if isinstance(entry, dict) else entry))

    with open(a.out + '.tmp', 'w') as f:
        f.write(f'# aten ops that torch_npu implements for the NPU at torch {a.torch}, one "name.overload" a line.\n')
        f.write(f'# Ascend/op-plugin {a.op_plugin_commit} op_plugin/config/op_plugin_functions.yaml\n')
        f.write(f'# Ascend/pytorch {a.torch_npu_commit} torch_npu/csrc/aten/npu_native_functions.yaml\n')
        f.write('# Made by make_op_list.py; the npu stand-in admits these and no others.\n')
        for op in sorted(ops):
            f.write(op + '\n')
    os.replace(a.out + '.tmp', a.out)
    print(f'{len(ops)} ops -> {a.out}')


if __name__ == '__main__':
    main()
