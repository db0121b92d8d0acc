// The files a run names on its command line, checked before any of them is
// opened: an input that is not a regular file (a FIFO blocks the open forever,
// a device or directory is no data) is refused, and so is an output that would
// overwrite an input or another output, or replace something that is not a
// regular file (a device node, a directory, a FIFO).
#pragma once

#include <string>
#include <vector>

namespace hpcb {

// One path with the option that named it, for messages ("--out: ...").
struct NamedPath {
  std::string option;
  std::string path;
};

// Throws DataError (exit 1) unless every input is an existing regular file
// (symbolic links followed); the message names the real cause (a symbolic
// link loop, a permission, a FIFO).
void check_inputs(const std::vector<NamedPath>& inputs);

// Throws UsageError (exit 2) when an output exists and is not a regular file,
// or when an output and an input, or two outputs, are the same file: the same
// device and inode for existing files (through symbolic and hard links), the
// same canonical parent folder and name for files not yet there.
void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

}  // namespace hpcb
