#!/usr/bin/env python3
"""K-quant test vectors from llama.cpp's own quantizers.

Builds quantize_ref.c (this directory) against an existing llama.cpp build, generates random and
adversarial float32 rows, and has ggml quantize them to Q2_K Q3_K Q4_K Q5_K Q6_K (with and without
importance weights) and Q8_K. Writes, beside this script:

  cases.txt         one line per case: name, values per row, rows (in the order of inputs.f32)
  inputs.f32        every case's rows, float32 little-endian, concatenated
  imatrix.f32       one importance weight per column for each case, concatenated
  TYPE.bin          ggml_quantize_chunk(TYPE, rows, imatrix = NULL) for every case, concatenated
  TYPE.imatrix.bin  the same with the case's importance weights (not for q8_k)

Tests/GGUFFormatTests/KQuantVectorsTests checks WeightKit's encoders against them block by block.

  python3 Fixtures/kquants/make_vectors.py --llama-src DIR --llama-build DIR [--seed N]
  python3 Fixtures/kquants/make_vectors.py --llama-src DIR --llama-build DIR --bench [--wk-bench PATH]
      speed only: ggml's quantizers (without imatrix, one thread) on 64 rows of 4096 values, and
      WeightKit's on the same values when given a release-built wk-bench

DIR of --llama-src holds ggml/include/ggml.h; --llama-build holds bin/libggml-base.so.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TYPES = ['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K', 'q8_K']
WEIGHTED = ['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K']


def build(src, build_dir, out):
    lib = os.path.join(build_dir, 'bin')
    subprocess.check_call(['cc', '-O2', '-o', out, os.path.join(HERE, 'quantize_ref.c'),
                           '-I', os.path.join(src, 'ggml', 'include'), '-L', lib, '-lggml-base',
                           '-Wl,-rpath,' + lib])


def cases(rng):
    """(name, rows as a 2-D float32 array) pairs."""
    f = np.float32
    out = []
    def add(name, rows):
        out.append((name, np.ascontiguousarray(rows, dtype=f)))
    add('normal-1024', rng.standard_normal((8, 1024)))
    add('scaled-512', rng.standard_normal((16, 512)) * (10.0 ** rng.uniform(-3, 2, (16, 1))))
    add('laplace-512', rng.laplace(size=(8, 512)))
    add('llm-like-1024', np.where(rng.random((8, 1024)) < 0.002, rng.standard_normal((8, 1024)) * 0.5,
                                  rng.standard_normal((8, 1024)) * 0.02))
    add('positive-256', rng.uniform(0.1, 2, (4, 256)))
    add('negative-256', -rng.uniform(0.1, 2, (4, 256)))
    add('skewed-256', rng.standard_normal((4, 256)) + rng.uniform(-3, 3, (4, 1)))
    const = np.array([0.0, 1.0, -1.0, 0.37, -1e-3, 1e-20, 65504.0, 3.0e38], f)
    add('constant-256', np.repeat(const[:, None], 256, axis=1))
    huge = rng.standard_normal((6, 256)) * 0.01
    for r, v in enumerate([1e4, -1e4, 1e20, -1e30, 3.0e38, 65504.0]):
        huge[r, rng.integers(0, 256)] = v
    add('one-huge-256', huge)
    sub = np.empty((4, 256), f)
    sub[0] = (rng.standard_normal(256) * 1e-40).astype(f)                     # all subnormal
    sub[1] = np.where(rng.random(256) < 0.5, rng.standard_normal(256) * 1e-40, rng.standard_normal(256))
    sub[2] = rng.standard_normal(256) * 1e-20                                  # tiny normals
    sub[3] = rng.standard_normal(256) * 1e-10
    add('subnormal-256', sub)
    zeros = np.zeros((3, 256), f)
    zeros[1, 17] = 1.0
    zeros[2, 200] = -1e-3
    add('zeros-256', zeros)
    mixed = np.empty((5, 256), f)
    mixed[0] = np.where(np.arange(256) % 2 == 0, 1.0, -1.0) * rng.uniform(0.5, 1, 256)
    mixed[1] = rng.integers(-8, 8, 256)                                       # exact levels, ties
    mixed[2] = rng.integers(-40, 40, 256) / 2                                 # halves
    mixed[3] = np.where(rng.random(256) < 0.9, 0.0, rng.standard_normal(256))  # sparse
    mixed[4] = np.concatenate([np.full(128, 5.0), np.full(128, -5.0)])
    add('mixed-256', mixed)
    add('rows-of-2048', rng.standard_normal((1, 2048)) * 0.05)
    return out


def importance(rng, name, n):
    w = np.exp(rng.standard_normal(n)).astype(np.float32)
    if name.startswith('zeros') or name.startswith('mixed'):
        w[rng.random(n) < 0.2] = 0                                            # unused columns
    if name.startswith('constant'):
        w[:] = 1
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--llama-src', required=True)
    ap.add_argument('--llama-build', required=True)
    ap.add_argument('--seed', type=int, default=12)
    ap.add_argument('--bench', action='store_true', help='time ggml single-threaded instead of writing vectors')
    ap.add_argument('--wk-bench', help='with --bench: a wk-bench executable to time WeightKit on the same values')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='wk-kq-')
    exe = os.path.join(tmp, 'quantize_ref')
    build(args.llama_src, args.llama_build, exe)
    if args.bench:
        x = (np.random.default_rng(1).standard_normal((64, 4096)) * 0.02).astype(np.float32)
        x.tofile(os.path.join(tmp, 'bench.f32'))
        for t in TYPES:
            s = float(subprocess.check_output([exe, 'bench', t, '4096', '64', os.path.join(tmp, 'bench.f32'), '5']))
            print(f'{t.lower()}: {x.size / s / 1e6:.1f} M values/s ({s * 1e3:.1f} ms for {x.size} values, ggml, 1 thread)')
        if args.wk_bench:
            subprocess.check_call([args.wk_bench, 'quantize', os.path.join(tmp, 'bench.f32'), '--runs', '5'])
        return
    rng = np.random.default_rng(args.seed)
    all_cases = cases(rng)
    with open(os.path.join(HERE, 'cases.txt'), 'w') as f:
        f.write('# name values_per_row rows (inputs.f32 and imatrix.f32 in this order; see make_vectors.py)\n')
        for name, rows in all_cases:
            f.write(f'{name} {rows.shape[1]} {rows.shape[0]}\n')
    np.concatenate([r.reshape(-1) for _, r in all_cases]).tofile(os.path.join(HERE, 'inputs.f32'))
    weights = [importance(rng, name, rows.shape[1]) for name, rows in all_cases]
    np.concatenate(weights).tofile(os.path.join(HERE, 'imatrix.f32'))
    for t in TYPES:
        for weighted in ([False, True] if t in WEIGHTED else [False]):
            blobs = []
            for (name, rows), w in zip(all_cases, weights):
                inp = os.path.join(tmp, 'in.f32')
                rows.tofile(inp)
                out = os.path.join(tmp, 'out.bin')
                cmd = [exe, 'quantize', t, str(rows.shape[1]), str(rows.shape[0]), inp, out]
                if weighted:
                    w.tofile(os.path.join(tmp, 'w.f32'))
                    cmd.append(os.path.join(tmp, 'w.f32'))
                subprocess.check_call(cmd)
                blobs.append(open(out, 'rb').read())
            path = os.path.join(HERE, t.lower() + ('.imatrix' if weighted else '') + '.bin')
            with open(path, 'wb') as f:
                f.write(b''.join(blobs))
    total = sum(os.path.getsize(os.path.join(HERE, p)) for p in os.listdir(HERE))
    print(f'{len(all_cases)} cases, {sum(r.size for _, r in all_cases)} values; Fixtures/kquants holds {total} bytes')


if __name__ == '__main__':
    sys.exit(main())
