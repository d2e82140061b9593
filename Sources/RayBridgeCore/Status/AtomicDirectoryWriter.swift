import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        if !Self.isMissing(FileSystemCalls.readLink(directory + "/..data")), let current = try? read(), current == files {
            return false
        }
        let dataTmp = directory + "/..data_tmp"
        try Self.removeIfPresent(dataTmp)  // left by a crash between symlink and rename
        let generation = try createGeneration(files)
        try FileSystemCalls.createSymbolicLink(at: dataTmp, pointingTo: generation)
        try FileSystemCalls.rename(dataTmp, to: directory + "/..data")
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
        } catch let error as SystemCallError where error.errno == .noSuchFileOrDirectory && error.path == directory {
            return [:]
        }
    }

    /// Other uids (the job's containers) read the status files: the modes are set past the umask.
    private static let fileMode: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    private static let directoryMode: FilePermissions = [.ownerReadWriteExecute, .groupReadExecute, .otherReadExecute]

    private static func validate(_ key: String) throws {
        guard !key.isEmpty, key != ".", !key.hasPrefix(".."), !key.contains("/"), !key.contains("\0") else {
            throw InvalidKeyError(key: key)
        }
    }

    private func createGeneration(_ files: [String: Data]) throws -> String {
        let name = try makeGenerationDirectory()
        let path = directory + "/" + name
        for (key, data) in files {
            try FileDescriptor.writeWholeFile(data, to: path + "/" + key, permissions: Self.fileMode, replacing: false)
        }
        try FileDescriptor.syncDirectory(path)
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
            do {
                try FileSystemCalls.makeDirectory(path, permissions: Self.directoryMode)
            } catch let error as SystemCallError where error.errno == .fileExists {
                continue
            }
            try FileSystemCalls.changePermissions(path, to: Self.directoryMode)
            return name
        }
    }

    /// `key -> ..data/key`; anything else under that name is replaced.
    private func linkKey(_ key: String) throws {
        let path = directory + "/" + key
        let want = "..data/" + key
        let existing = FileSystemCalls.readLink(path)
        if (try? existing.get()) == want { return }
        if !Self.isMissing(existing) {
            try FileSystemCalls.removeFile(path)
        }
        try FileSystemCalls.createSymbolicLink(at: path, pointingTo: want)
    }

    /// Removes per-key symlinks of keys that are gone, and every generation directory but `generation`:
    /// the previous one and orphans of writes that crashed before their swap.
    private func removeStale(keeping generation: String, keys: [String: Data]) throws {
        for name in try FileSystemCalls.listNames(directory) {
            let path = directory + "/" + name
            if name.hasPrefix("..") {
                guard name != "..data", name != "..data_tmp", name != generation else { continue }
                if (try? FileSystemCalls.fileType(path, followingSymlink: false)) == .directory {
                    try Self.removeTree(path)
                }
            } else if keys[name] == nil, (try? FileSystemCalls.readLink(path).get()) == "..data/" + name {
                try Self.removeIfPresent(path)
            }
        }
    }

    private static func removeTree(_ path: String) throws {
        for name in try FileSystemCalls.listNames(path) {
            let child = path + "/" + name
            if try FileSystemCalls.fileType(child, followingSymlink: false) == .directory {
                try removeTree(child)
            } else {
                try removeIfPresent(child)
            }
        }
        do {
            try FileSystemCalls.removeDirectory(path)
        } catch let error as SystemCallError where error.errno == .noSuchFileOrDirectory {}
    }

    private static func removeIfPresent(_ path: String) throws {
        do {
            try FileSystemCalls.removeFile(path)
        } catch let error as SystemCallError where error.errno == .noSuchFileOrDirectory {}
    }

    /// Creates `path` and its missing parents, their mode left to the umask; only the generations, which
    /// other uids read through, get theirs forced.
    private static func makeDirectories(_ path: String) throws {
        do {
            try FileSystemCalls.makeDirectory(path, permissions: directoryMode)
        } catch let error as SystemCallError where error.errno == .fileExists {
            return
        } catch let error as SystemCallError where error.errno == .noSuchFileOrDirectory {
            guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { throw error }
            try makeDirectories(String(path[..<slash]))
            do {
                try FileSystemCalls.makeDirectory(path, permissions: directoryMode)
            } catch let error as SystemCallError where error.errno == .fileExists {}
        }
    }

    private static func isMissing(_ link: Result<String, SystemCallError>) -> Bool {
        if case .failure(let error) = link, error.errno == .noSuchFileOrDirectory { true } else { false }
    }
}

/// `AtomicDirectoryWriter` refused a key: not a system call that failed, but input it will not publish.
public struct InvalidKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var key: String

    public var description: String {
        "invalid key \"\(key)\": a key must be a plain file name not starting with \"..\""
    }
}
