import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Publishes a set of files the way the kubelet updates a ConfigMap volume, so that readers going through
/// `..data` always see one complete generation. One writer per directory.
public struct AtomicDirectoryWriter: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Publishes `files` (key -> bytes) as the complete new content of `directory`, exactly the way the
    /// kubelet's atomic_writer does: compare with current content under ..data (identical -> return false,
    /// nothing written); mkdir `..<UTC yyyy_MM_dd_HH_mm_ss>.<random>` (0755), write each file (0644) and
    /// fsync it, fsync the dir; symlink(<tsdir name>, ..data_tmp); rename(..data_tmp, ..data); create per-key
    /// relative symlinks `key -> ..data/key` for new keys; remove symlinks of keys that are gone; remove the
    /// old timestamped dir. Return true.
    /// Creates `directory` if missing. Keys must be plain names (no "/", not starting with ".."): throw otherwise.
    @discardableResult
    public func write(_ files: [String: Data]) throws -> Bool {
        for key in files.keys {
            try Self.validate(key)
        }
        try Self.makeDirectories(directory)
        // An unreadable ..data (say, dangling after a crash) is repaired by publishing anew.
        let hasData = KeyedDirectoryReader.readLink(directory + "/..data").code != ENOENT
        if hasData, let current = try? read(), current == files {
            return false
        }
        let dataTmp = directory + "/..data_tmp"
        try Self.removeIfPresent(dataTmp)  // left by a crash between symlink and rename
        let generation = try createGeneration(files)
        try Self.check(symlink(generation, dataTmp), "symlink", dataTmp)
        try Self.check(rename(dataTmp, directory + "/..data"), "rename", dataTmp)
        for key in files.keys {
            try linkKey(key)
        }
        try removeStale(keeping: generation, keys: files)
        return true
    }

    /// Current content as seen through ..data (empty if none).
    public func read() throws -> [String: Data] {
        do {
            return try KeyedDirectoryReader.read(directory: directory, kubeletOnly: true).files
        } catch let error as DirectoryReadError where error.code == ENOENT && error.path == directory {
            return [:]
        }
    }

    private static func validate(_ key: String) throws {
        guard !key.isEmpty, key != ".", !key.hasPrefix(".."), !key.contains("/"), !key.contains("\0") else {
            throw AtomicDirectoryWriterError(
                path: key, operation: "validate key", reason: "a key must be a plain file name not starting with \"..\"")
        }
    }

    private func createGeneration(_ files: [String: Data]) throws -> String {
        let name = try makeGenerationDirectory()
        let path = directory + "/" + name
        for (key, data) in files {
            try Self.writeFile(path + "/" + key, data)
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try Self.check(fd, "open", path)
        defer { close(fd) }
        try Self.check(fsync(fd), "fsync", path)
        return name
    }

    private func makeGenerationDirectory() throws -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y_%m_%d_%H_%M_%S", &parts)
        let stamp = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        while true {
            let suffix = String((0..<8).map { _ in alphabet.randomElement()! })
            let name = "..\(stamp).\(suffix)"
            let path = directory + "/" + name
            if mkdir(path, 0o755) == 0 {
                try Self.check(chmod(path, 0o755), "chmod", path)  // mkdir's mode is masked by the umask
                return name
            }
            if errno != EEXIST {
                throw AtomicDirectoryWriterError(path: path, operation: "mkdir", code: errno)
            }
        }
    }

    private static func writeFile(_ path: String, _ data: Data) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        try check(fd, "open", path)
        var closed = false
        defer { if !closed { close(fd) } }
        try check(fchmod(fd, 0o644), "fchmod", path)
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 && errno == EINTR { continue }
                try check(count < 0 ? -1 : 0, "write", path)
                offset += count
            }
        }
        try check(fsync(fd), "fsync", path)
        closed = true
        try check(close(fd), "close", path)
    }

    /// `key -> ..data/key`; anything else under that name is replaced.
    private func linkKey(_ key: String) throws {
        let path = directory + "/" + key
        let want = "..data/" + key
        let existing = KeyedDirectoryReader.readLink(path)
        if existing.target == want { return }
        if existing.code != ENOENT {
            try Self.check(unlink(path), "unlink", path)
        }
        try Self.check(symlink(want, path), "symlink", path)
    }

    /// Removes per-key symlinks of keys that are gone, and every generation directory but `generation`:
    /// the previous one and orphans of writes that crashed before their swap.
    private func removeStale(keeping generation: String, keys: [String: Data]) throws {
        for name in try KeyedDirectoryReader.listNames(directory) {
            let path = directory + "/" + name
            if name.hasPrefix("..") {
                guard name != "..data", name != "..data_tmp", name != generation else { continue }
                var info = stat()
                if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                    try Self.removeTree(path)
                }
            } else if keys[name] == nil, KeyedDirectoryReader.readLink(path).target == "..data/" + name {
                try Self.removeIfPresent(path)
            }
        }
    }

    private static func removeTree(_ path: String) throws {
        for name in try KeyedDirectoryReader.listNames(path) {
            let child = path + "/" + name
            var info = stat()
            try check(lstat(child, &info), "lstat", child)
            if (info.st_mode & S_IFMT) == S_IFDIR {
                try removeTree(child)
            } else {
                try removeIfPresent(child)
            }
        }
        if rmdir(path) != 0 && errno != ENOENT {
            throw AtomicDirectoryWriterError(path: path, operation: "rmdir", code: errno)
        }
    }

    private static func removeIfPresent(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw AtomicDirectoryWriterError(path: path, operation: "unlink", code: errno)
        }
    }

    private static func makeDirectories(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw AtomicDirectoryWriterError(path: path, operation: "mkdir", code: errno)
        }
        try makeDirectories(String(path[..<slash]))
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw AtomicDirectoryWriterError(path: path, operation: "mkdir", code: errno)
        }
    }

    private static func check<T: BinaryInteger>(_ result: T, _ operation: String, _ path: String) throws {
        if result < 0 {
            throw AtomicDirectoryWriterError(path: path, operation: operation, code: errno)
        }
    }
}
