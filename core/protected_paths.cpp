// The protected set, computed from the configuration once per process.
#include "core/protected_paths.h"

#include "core/paths.h"
#include "core/wake_channel.h"

#include <dirent.h>
#include <sys/stat.h>

#include <memory>

namespace tr {
namespace {

// Where a file is or would be: its directory resolved, its name kept.
std::string resolved_file(const std::string &path) {
    std::string absolute = absolute_path(path, "/");
    const std::optional<std::string> directory = real_directory(parent_directory(absolute));
    const std::string name = absolute.substr(absolute.rfind('/') + 1);
    if (!directory)
        return absolute;
    return (*directory == "/" ? "" : *directory) + "/" + name;
}

void add_unique(std::vector<std::string> &list, std::string path) {
    for (const std::string &existing : list)
        if (existing == path)
            return;
    list.push_back(std::move(path));
}

// Every *.cfg next to the loaded file: the other shipped configurations say as much.
std::vector<std::string> configuration_files(const Config &config) {
    std::vector<std::string> files;
    if (config.file.empty())
        return files;
    add_unique(files, resolved_file(config.file));
    std::unique_ptr<DIR, int (*)(DIR *)> dir(::opendir(config.directory.c_str()), ::closedir);
    if (!dir)
        return files;
    while (const dirent *entry = ::readdir(dir.get())) {
        const std::string name = entry->d_name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".cfg") == 0)
            add_unique(files, resolved_file(config.directory + "/" + name));
    }
    return files;
}

} // namespace

bool has_git_component(std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos)
            slash = path.size();
        if (path.substr(start, slash - start) == ".git")
            return true;
        start = slash + 1;
    }
    return false;
}

bool ProtectedPaths::is_secret(std::string_view resolved) const {
    for (const std::string &file : secret_files)
        if (resolved == file)
            return true;
    return is_within_any(resolved, secret_directories);
}

bool ProtectedPaths::is_read_only(std::string_view resolved) const {
    return is_secret(resolved) || is_within_any(resolved, read_only) || has_git_component(resolved);
}

bool ProtectedPaths::is_secret_file(int fd) const {
    struct stat opened {};
    if (::fstat(fd, &opened) != 0)
        return false;
    for (const std::string &file : secret_files) {
        struct stat secret {};
        if (::stat(file.c_str(), &secret) == 0 && secret.st_dev == opened.st_dev &&
            secret.st_ino == opened.st_ino)
            return true;
    }
    return false;
}

ProtectedPaths protected_paths(const Config &config, const std::string &run_dir,
                               const std::string &program_dir) {
    ProtectedPaths paths;
    const std::string database = resolved_file(config.storage.database);
    for (const char *suffix : {"", "-wal", "-shm", "-journal"})
        add_unique(paths.secret_files, database + suffix);
    // The runners' wake-up sockets: a task that could write to one would only wake a runner,
    // but nothing of the service's is a task's to touch.
    add_unique(paths.secret_directories, wake_directory(config.storage.database));
    for (std::string &file : configuration_files(config))
        add_unique(paths.secret_files, std::move(file));
    if (!run_dir.empty())
        paths.secret_directories.push_back(real_directory(run_dir).value_or(run_dir));
    if (!config.storage.run_dir.empty())
        add_unique(paths.secret_directories,
                   real_directory(config.storage.run_dir).value_or(config.storage.run_dir));
    if (!program_dir.empty())
        paths.read_only.push_back(real_directory(program_dir).value_or(program_dir));
    return paths;
}

std::vector<std::string> protected_paths_in_grants(const ProtectedPaths &paths,
                                                   const Config &config) {
    std::vector<std::string> roots = resolve_roots(config.tools.allowed_paths);
    const std::vector<std::string> writable = resolve_roots(config.tools.writable_paths);
    roots.insert(roots.end(), writable.begin(), writable.end());
    std::vector<std::string> found;
    for (const std::string &file : paths.secret_files) {
        struct stat info {};
        if (is_within_any(file, roots) && ::stat(file.c_str(), &info) == 0)
            add_unique(found, file + " (hidden from tasks)");
    }
    for (const std::string &directory : paths.secret_directories)
        if (is_within_any(directory, roots))
            add_unique(found, directory + " (hidden from tasks)");
    for (const std::string &directory : paths.read_only)
        if (is_within_any(directory, roots))
            add_unique(found, directory + " (read-only for tasks)");
    for (const std::string &root : roots)
        if (path_exists(root + "/.git"))
            add_unique(found, root + "/.git (read-only for tasks)");
    return found;
}

} // namespace tr
