// The git commit the weightkit binary was built from, recorded at build time by
// scripts/stamp-build (run by scripts/install, scripts/test and scripts/demo).
#ifndef WEIGHTKIT_BUILD_INFO_H
#define WEIGHTKIT_BUILD_INFO_H

/// The commit as `git describe`-like text ("3f2c1a9b7d10", "3f2c1a9b7d10-modified"), "" when the
/// source was not a git checkout, or NULL when no script recorded it (a plain `swift build`).
const char *wk_build_commit(void);

#endif
