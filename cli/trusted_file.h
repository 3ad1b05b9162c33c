// Whether a file the CLI takes settings from, or keeps state in, is under the user's control
// alone, as ssh insists for its own files: another user who can write the file, or replace it
// in its directory, could point the user's key at their own server or have the user's process
// overwrite a file of the user's choosing.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

namespace tr::cli {

// Why a directory may not hold the user's files, or "" when it may: it must be a directory
// owned by the effective user or root and not writable by group or others, except a sticky one
// (/tmp), where others cannot rename or remove what they do not own.
std::string untrusted_directory(const struct stat &directory);

// Why an opened file may not be trusted, or "" when it may: a regular file owned by the
// effective user or root, not writable by group or others.
std::string untrusted_file(const struct stat &file);

struct TrustedContent {
    std::string text;
    mode_t mode = 0; // the file's permission bits, as the one descriptor read them
};

// Reads `path` through one descriptor opened without following a symbolic link, so what was
// checked is what is read. nullopt when it does not exist. Throws InputError naming the path
// when it cannot be opened or read, is a symbolic link, or it or its directory is not trusted.
std::optional<TrustedContent> read_trusted_file(const std::string &path);

} // namespace tr::cli
