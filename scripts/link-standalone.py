#!/usr/bin/env python3
"""Links an executable of the release build once more with the Swift runtime inside it (scripts/install).

    python3 scripts/link-standalone.py EXE OUT MANIFEST

EXE is the executable SwiftPM linked (.build/x86_64-unknown-linux-gnu/release/weightkit), MANIFEST the build's
llbuild manifest (.build/release.yaml). The link command is SwiftPM's own for EXE, from the manifest, with the
output renamed to OUT, the RUNPATH ($ORIGIN) left out and -static-stdlib added, so no module is compiled again.
"""

import json
import subprocess
import sys

exe, out, manifest = sys.argv[1:]
# The link command is the `args:` of the node whose outputs are [EXE]; the manifest is YAML whose lists are JSON.
lines = open(manifest).read().splitlines()
for i, line in enumerate(lines):
    if line.strip() == "outputs: " + json.dumps([exe]):
        args = next(json.loads(l.strip()[len("args: "):]) for l in lines[i:i + 4] if l.strip().startswith("args: "))
        break
else:
    sys.exit(f"link-standalone: no link command for {exe} in {manifest}")
args[args.index("-o") + 1] = out
while "-rpath=$ORIGIN" in args:  # -Xlinker -rpath=$ORIGIN: nothing is loaded from beside the binary
    j = args.index("-rpath=$ORIGIN")
    del args[j - 1 : j + 1]
# The objects were compiled against the toolchain's shared modules, whose link entries name only libFoundation;
# its static archive needs the libraries behind it too (listed twice: gold reads archives in order, and they
# refer to each other).
static = ["-lFoundation", "-lCoreFoundation", "-l_FoundationCShims", "-l_FoundationCollections",
          "-lFoundationEssentials", "-lFoundationInternationalization", "-l_FoundationICU", "-lswiftSynchronization",
          "-lswiftDispatch", "-ldispatch", "-lBlocksRuntime"]
subprocess.run(args + ["-static-stdlib"] + static + static, check=True)
