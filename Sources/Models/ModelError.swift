// Errors of mapping a checkpoint onto a model: config values, missing or misshapen weights. The same
// type as the error of opening one (CheckpointCore's CheckpointError), under the name that reads
// right where a layout throws it.

import CheckpointCore

/// A checkpoint that does not map onto a model, as one line naming the file and what is wrong.
public typealias ModelError = CheckpointError
