#!/usr/bin/env python3
"""Runs every file of the hostile corpora through weightkit and checks that each run ends cleanly.

For each input (a file, or a directory holding one weight file and its config.json):
  inspect IN; inspect IN --json; inspect IN --tensor NAME for each tensor inspect listed (at most
  --max-tensors, plus the names in the case's cmd.txt; a made-up name when inspect refused the file);
  run IN --tokens 1,2,3 when the file came with a config.json or inspect recognised a model;
  convert IN OUT/out.safetensors and convert IN OUT/out.gguf.
Each run gets a copy of the input in a scratch directory, its own empty TMPDIR, a wall-clock timeout
and an address-space limit (RLIMIT_AS, set in the child before exec). A run is clean when it
  - exits 0 (a clean read), or exits 2 with exactly one line on stderr that names the input, and
  - was not killed by a signal, did not time out, stayed under the memory limits, and
  - left the scratch directory as it found it (apart from a committed output on exit 0) and TMPDIR empty.
Prints one line per run that is not clean and a summary per corpus; exits 1 when any run is not clean.

  python3 scripts/hostile-corpus.py --weightkit .build/debug/weightkit ../shared/peer-data/hdf5-cve ../shared/hostile-found
"""
import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WEIGHT_NAMES = (".h5", ".hdf5", ".safetensors", ".gguf", ".bin", ".pt", ".pth", ".zst")


def inputs_of(corpus):
    """(case name, directory to copy or None, input file name) for each case in a corpus folder."""
    cases = []
    for name in sorted(os.listdir(corpus)):
        p = os.path.join(corpus, name)
        if os.path.isdir(p):
            weights = [f for f in sorted(os.listdir(p)) if f.endswith(WEIGHT_NAMES)]
            for w in weights:
                cases.append((name, p, w))
        elif name not in ("COPYING", "README.md", "README") and not name.endswith((".txt", ".md", ".json")):
            cases.append((name, None, name))
    return cases


def tensor_names_from_cmd(case_dir):
    names = []
    if case_dir is None:
        return names
    cmd = os.path.join(case_dir, "cmd.txt")
    if not os.path.exists(cmd):
        return names
    for line in open(cmd, encoding="utf-8", errors="replace"):
        if line.startswith("#") or "--tensor" not in line:
            continue
        rest = line.split("--tensor", 1)[1].strip()
        if rest.startswith("'"):
            names.append(rest[1:].split("'", 1)[0])
        elif rest:
            names.append(rest.split()[0])
    return names


def listing(d):
    out = set()
    for root, dirs, files in os.walk(d):
        for f in files + dirs:
            out.add(os.path.relpath(os.path.join(root, f), d))
    return out


def run_one(weightkit, args, workdir, timeout, address_space, max_rss_mb):
    """Runs weightkit in `workdir`; returns a dict with rc, signal, timing, stderr, stdout, rss."""
    tmp = os.path.join(workdir, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = dict(os.environ, TMPDIR=tmp)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()

    start = time.monotonic()
    p = subprocess.Popen([weightkit] + args, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, preexec_fn=limit)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    # The child's own peak RSS: wait4 is done by Popen, so read it from /proc is impossible now;
    # use the difference of RUSAGE_CHILDREN's maximum, which only grows: a bound, not exact.
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(rc=p.returncode, timed_out=timed_out, seconds=time.monotonic() - start,
                stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"), rss_mb=rss_mb,
                tmp_left=sorted(os.listdir(tmp)))


def judge(r, input_name, before, workdir, output_allowed, output_name=None):
    """'' when clean, else why not."""
    problems = []
    if r["timed_out"]:
        problems.append("timed out after %.1f s" % r["seconds"])
    elif r["rc"] < 0:
        problems.append("killed by %s" % signal.Signals(-r["rc"]).name)
    elif r["rc"] not in (0, 2):
        problems.append("exit %d" % r["rc"])
    lines = r["stderr"].splitlines()
    if r["rc"] == 2:
        if len(lines) != 1:
            problems.append("%d lines on stderr" % len(lines))
        elif input_name not in lines[0] and not (output_name and output_name in lines[0]):
            # convert may refuse what the output format cannot hold, naming the output.
            problems.append("the error does not name %s" % input_name)
    if r["tmp_left"]:
        problems.append("left in TMPDIR: %s" % ", ".join(r["tmp_left"]))
    after = listing(workdir) - {"tmp"}
    # A committed conversion writes OUT and, beside it, the config and tokenizer files.
    new = sorted(f for f in after - before if not (output_allowed and r["rc"] == 0 and f.startswith("out/")))
    if new:
        problems.append("left behind: %s" % ", ".join(new))
    return "; ".join(problems)


def run_case(weightkit, corpus, case, opts):
    name, case_dir, input_name = case
    results = []
    with tempfile.TemporaryDirectory(prefix="wk-hostile-") as work:
        src = os.path.join(corpus, name) if case_dir is None else os.path.join(case_dir, input_name)
        shutil.copyfile(src, os.path.join(work, input_name))
        if case_dir is not None:
            for f in os.listdir(case_dir):
                if f.endswith(".json") or f in ("tokenizer.model", "merges.txt"):
                    shutil.copyfile(os.path.join(case_dir, f), os.path.join(work, f))
        os.makedirs(os.path.join(work, "out"))
        base = listing(work)

        def go(args, output=None):
            for f in os.listdir(os.path.join(work, "out")):
                p = os.path.join(work, "out", f)
                shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
            before = listing(work) - {"tmp"}
            r = run_one(weightkit, args, work, opts.timeout, opts.address_space, opts.max_rss_mb)
            why = judge(r, input_name, before, work, {output} if output else None, output)
            results.append(dict(corpus=os.path.basename(os.path.normpath(corpus)), case=name, args=args, rc=r["rc"],
                                seconds=round(r["seconds"], 2), problem=why,
                                stderr=r["stderr"].strip().splitlines()[:1]))
            return r

        inp = "./" + input_name
        go(["inspect", inp])
        j = go(["inspect", inp, "--json"])
        names, model = [], os.path.exists(os.path.join(work, "config.json"))
        if j["rc"] == 0:
            try:
                doc = json.loads(j["stdout"])
                names = [t["name"] for t in doc.get("tensors", [])]
                model = model or bool(doc.get("architecture"))
            except (ValueError, KeyError, TypeError):
                pass
        wanted = names[: opts.max_tensors]
        for n in tensor_names_from_cmd(case_dir):
            if n not in wanted:
                wanted.append(n)
        if not wanted:
            wanted = ["weight"]
        for n in wanted:
            go(["inspect", inp, "--tensor", n])
        if model:
            go(["run", inp, "--tokens", "1,2,3"])
        go(["convert", inp, "out/out.safetensors"], "out/out.safetensors")
        go(["convert", inp, "out/out.gguf"], "out/out.gguf")
        del base
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--weightkit", required=True)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per run (default 20)")
    ap.add_argument("--address-space", type=int, default=4 << 30, help="RLIMIT_AS per run in bytes (default 4 GiB)")
    ap.add_argument("--max-rss-mb", type=int, default=2048)
    ap.add_argument("--max-tensors", type=int, default=4, help="tensors read with inspect --tensor per file")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--json", help="write every run to this file")
    ap.add_argument("--only", help="cases whose name contains this")
    opts = ap.parse_args()
    weightkit = os.path.abspath(opts.weightkit)
    work = []
    for c in opts.corpora:
        for case in inputs_of(c):
            if opts.only and opts.only not in case[0]:
                continue
            work.append((c, case))
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as ex:
        for rs in ex.map(lambda w: run_case(weightkit, w[0], w[1], opts), work):
            for r in rs:
                results.append(r)
                if r["problem"]:
                    print("NOT CLEAN %s/%s: weightkit %s: %s | %s" % (r["corpus"], r["case"], " ".join(r["args"]),
                                                                    r["problem"], " ".join(r["stderr"])[:200]),
                          flush=True)
    by = {}
    for r in results:
        s = by.setdefault(r["corpus"], dict(files=set(), runs=0, read=0, refused=0, bad=0))
        s["files"].add(r["case"])
        s["runs"] += 1
        if r["problem"]:
            s["bad"] += 1
        elif r["rc"] == 0:
            s["read"] += 1
        else:
            s["refused"] += 1
    for c, s in by.items():
        print("%s: %d files, %d runs: %d clean reads, %d clean refusals, %d not clean" %
              (c, len(s["files"]), s["runs"], s["read"], s["refused"], s["bad"]))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(1 if any(r["problem"] for r in results) else 0)


if __name__ == "__main__":
    main()
